// bypass-port-filter: forwards between two ports, dropping UDP/TCP to the
// ports given with --block. An example of an appliance on bypass: Runtime for
// the setup, a WorkerGraph per worker with PortRx -> PortFilter -> PortTx per
// RX queue, and Runtime::run as the main loop (a signal, -t or a device reset
// stops it; a reset exits 1).
//   bypass-port-filter -c config/fwd-null.toml --block 53 --block 123 -t 5
#include <rte_cycles.h>

#include <CLI/CLI.hpp>

#include <bypass/control/cli_flags.hpp>
#include <cstdio>

#include <bypass/control/report.hpp>
#include <bypass/control/runtime.hpp>
#include <bypass/core/run.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/graph/port_modules.hpp>

#include "port_filter.hpp"

int main(int argc, char** argv) {
  using namespace bypass;
  CLI::App app{
      "bypass-port-filter: forward between ports 0 and 1, dropping UDP/TCP to blocked ports."};
  std::string config_path;
  std::vector<uint16_t> blocked;
  double duration = 0;
  app.add_option("-c,--config", config_path, "TOML config with two [[port]]s and [[worker]]s")
      ->required();
  app.add_option("--block", blocked, "a destination port to drop (repeat for more)");
  app.add_option("-t,--duration", duration, "seconds (default: until SIGINT/SIGTERM)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return bypass::apps::cli_parse_error(app, e);
  }
  auto cfg = load_config(config_path);
  if (!cfg) return std::fprintf(stderr, "bypass-port-filter: %s\n", cfg.error().c_str()), 2;
  if (Status s = check_top_level(*cfg, {}); !s)
    return std::fprintf(stderr, "bypass-port-filter: %s\n", s.message().c_str()), 2;
  if (cfg->ports.size() != 2)
    return std::fprintf(stderr, "bypass-port-filter: the config must name exactly two ports.\n"), 2;
  if (Status s = Runtime::check(*cfg); !s)
    return std::fprintf(stderr, "bypass-port-filter: %s\n", s.message().c_str()), 2;
  auto rt = Runtime::start(*cfg, "bypass-port-filter");
  if (!rt) return std::fprintf(stderr, "bypass-port-filter: %s\n", rt.error().c_str()), 2;
  const std::vector<Port*>& ports = (*rt)->ports().ports();
  bool lost_port = false;
  {
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::unique_ptr<WorkerGraph>> graphs;
    std::vector<Worker*> raw;
    for (size_t w = 0; w < cfg->workers.size(); ++w) {
      workers.push_back(std::make_unique<Worker>(static_cast<unsigned>(w), cfg->workers[w]));
      graphs.push_back(std::make_unique<WorkerGraph>(*workers.back()));
      WorkerGraph& g = *graphs.back();
      for (const QueueRef& q : cfg->workers[w].rx) {
        const std::string sfx = ".p" + std::to_string(q.port) + "q" + std::to_string(q.queue);
        auto& tx = g.make<PortTx>("tx" + sfx, *ports[q.port ^ 1], static_cast<uint16_t>(w));
        auto& filter = g.make<examples::PortFilter>("filter" + sfx);
        for (uint16_t b : blocked) filter.block(b);
        filter.connect(0, &tx);
        g.add_source(std::make_unique<PortRx>(*ports[q.port], q.queue, &filter));
      }
      if (Status s = g.start(); !s)
        return std::fprintf(stderr, "bypass-port-filter: %s\n", s.message().c_str()), 2;
      raw.push_back(workers.back().get());
    }
    std::vector<const Worker*> ws;
    for (auto& w : workers) ws.push_back(w.get());
    std::vector<const WorkerGraph*> gs;
    for (auto& g : graphs) gs.push_back(g.get());
    StatsCollector stats(ws, ports, gs);
    ReportOptions ro;
    ro.quiet = true;  // the final report only; a device reset stops the run
    auto run = (*rt)->run(raw, stats, duration, ro);
    if (!run) return std::fprintf(stderr, "bypass-port-filter: %s\n", run.error().c_str()), 2;
    if (!run->stopped.empty()) lost_port = true;
  }
  if ((*rt)->finish()) return 3;
  return lost_port ? 1 : 0;
}
