#include <bypass/control/appliance.hpp>

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>

#include <bypass/control/control_server.hpp>
#include <bypass/control/runtime.hpp>
#include <bypass/graph/port_modules.hpp>

namespace bypass {

namespace {

struct Args {
  std::string config, stats_json;
  double duration = 0;
  bool quiet = false;
};

// The few flags every appliance takes; one sentence for a mistake.
Expected<Args> parse_args(int argc, char** argv, const Appliance& a) {
  Args r;
  for (int i = 1; i < argc; ++i) {
    const std::string_view f = argv[i];
    Status missing = Status::ok();
    auto value = [&](const char* what, std::string* out) {
      if (i + 1 >= argc) {
        missing = Status::error(std::string(f) + " needs " + what + ".");
        return false;
      }
      *out = argv[++i];
      return true;
    };
    if (f == "-h" || f == "--help") {
      std::printf("%s: %s\nusage: %s -c CONFIG [-t SECONDS] [-q] [--stats-json FILE]\n",
                  a.name.c_str(), a.about.c_str(), a.name.c_str());
      std::exit(0);
    } else if (f == "-c" || f == "--config") {
      if (!value("a TOML file", &r.config)) return missing;
    } else if (f == "--stats-json") {
      if (!value("a file name", &r.stats_json)) return missing;
    } else if (f == "-q" || f == "--quiet") {
      r.quiet = true;
    } else if (f == "-t" || f == "--duration") {
      std::string s;
      if (!value("a number of seconds", &s)) return missing;
      char* end = nullptr;
      r.duration = std::strtod(s.c_str(), &end);
      if (s.empty() || *end || !std::isfinite(r.duration) || r.duration < 0)
        return Status::error("-t takes a number of seconds (0: until stopped), not '" + s + "'.");
    } else {
      return Status::error("unknown option '" + std::string(f) + "': see --help.");
    }
  }
  if (r.config.empty()) return Status::error("give the config file with -c FILE.");
  return r;
}

}  // namespace

int appliance_main(int argc, char** argv, Appliance& a) {
  auto fail = [&](const std::string& msg) {
    std::fprintf(stderr, "%s: %s\n", a.name.c_str(), msg.c_str());
    return 2;
  };
  auto args = parse_args(argc, argv, a);
  if (!args) return fail(args.error());
  auto cfg = load_config(args->config);
  if (!cfg) return fail(cfg.error());
  const Config& c = *cfg;
  if (Status s = check_top_level(c, a.tables); !s) {
    if (!a.tables.empty()) return fail(s.message());
    spdlog::warn("{} (an appliance that reads it lists it in Appliance::tables)", s.message());
  }
  if (c.ports.empty() || c.ports.size() > 2)
    return fail("the config must name one or two [[port]]s (in and out).");
  if (Status s = a.configure(c); !s) return fail(s.message());
  if (Status s = Runtime::check(c); !s) return fail(s.message());
  auto rt = Runtime::start(c, a.name);
  if (!rt) return fail(rt.error());
  auto control = ControlServer::open(c.control, a.name);
  if (!control) return fail(control.error());
  const std::vector<Port*>& ports = (*rt)->ports().ports();
  bool lost_port = false;
  if (a.start)
    if (Status s = a.start(); !s) return fail(s.message());
  // a.stop runs on every way out from here, before the runtime stops EAL.
  struct Stop {
    explicit Stop(const Appliance& x) : a(x) {}
    Stop(const Stop&) = delete;
    ~Stop() {
      if (a.stop) a.stop();
    }
    const Appliance& a;
  };
  std::optional<Stop> stop;
  stop.emplace(a);
  {
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::unique_ptr<WorkerGraph>> graphs;
    std::vector<Worker*> ws;
    for (size_t w = 0; w < c.workers.size(); ++w) {
      workers.push_back(std::make_unique<Worker>(static_cast<unsigned>(w), c.workers[w]));
      graphs.push_back(std::make_unique<WorkerGraph>(*workers.back()));
      WorkerGraph& g = *graphs.back();
      for (const QueueRef& q : c.workers[w].rx) {
        const std::string sfx = ".p" + std::to_string(q.port) + "q" + std::to_string(q.queue);
        Port& out = *ports[ports.size() == 2 ? q.port ^ 1 : q.port];
        Module& tx = g.make<PortTx>("tx" + sfx, out, static_cast<uint16_t>(w));
        Module* first = a.chain(g, tx);
        g.add_source(std::make_unique<PortRx>(*ports[q.port], q.queue, first));
      }
      if (Status s = g.start(); !s) return fail(s.message());
      ws.push_back(workers.back().get());
    }
    std::vector<const WorkerGraph*> gs;
    for (auto& g : graphs) gs.push_back(g.get());
    StatsCollector stats(std::vector<const Worker*>(ws.begin(), ws.end()), ports, gs);
    if (a.counters) stats.add_counters(a.counters);
    ReportOptions opts;
    opts.quiet = args->quiet;
    opts.stats_json = args->stats_json;
    opts.control = control->get();
    opts.program = a.name;
    if (a.reload)
      opts.on_hangup = [&] {
        auto next = load_config(args->config, /*live=*/true);
        Status s = !next              ? Status::error(next.error())
                   : a.tables.empty() ? Status::ok()
                                      : check_top_level(*next, a.tables);
        if (s) s = a.configure(*next);
        if (s) s = a.reload();
        if (!s)
          spdlog::error("reload: {} (the running config stays)", s.message());
        else
          spdlog::info("reload: {} applied", args->config);
      };
    auto run = (*rt)->run(ws, stats, args->duration, opts);  // a device reset stops it
    if (!run) return fail(run.error());
    lost_port = !run->stopped.empty();
    const StatsSnapshot last = stats.take(run->seconds);
    for (const auto& [name, n] : last.counters)
      std::printf("  %s: %llu\n", name.c_str(), static_cast<unsigned long long>(n));
    const CounterTotals t = last.totals();
    const double secs = run->seconds > 0 ? run->seconds : 1;
    std::printf("%s: %.2f Mpps in, %.2f Mpps out, on %zu worker(s) over %.1f s\n", a.name.c_str(),
                static_cast<double>(t.rx_packets) / secs / 1e6,
                static_cast<double>(t.tx_packets) / secs / 1e6, ws.size(), secs);
  }
  stop.reset();
  return (*rt)->finish() || lost_port ? 1 : 0;
}

}  // namespace bypass
