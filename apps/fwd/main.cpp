// bypass-fwd: an L2 forwarder/reflector in the manner of testpmd's io, macswap
// and 5tswap modes, over any ports the config names.
#include <rte_cycles.h>

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include <bypass/control/control_server.hpp>
#include <bypass/control/report.hpp>
#include <bypass/control/runtime.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/eal.hpp>
#include <bypass/core/log.hpp>
#include <bypass/core/run.hpp>
#include <bypass/core/signals.hpp>
#include <bypass/io/fault_config.hpp>
#include <bypass/io/ports.hpp>
#include <bypass/net/source_blocklist.hpp>

#include <bypass/control/cli_flags.hpp>
#include "forwarder.hpp"

namespace {

using namespace bypass;

// With no --config: two net_null ports (they make packets from nothing and
// swallow what is sent), one worker on the last CPU, huge pages if reserved.
std::string demo_config(const SystemFacts& sys) {
  unsigned ctl = sys.allowed_cpus.empty() ? 0 : sys.allowed_cpus.front();
  unsigned wrk = sys.allowed_cpus.empty() ? 0 : sys.allowed_cpus.back();
  bool huge = sys.hugetlbfs_mounted && sys.hugepages_free * sys.hugepage_bytes >= (256ull << 20);
  return fmt::format(R"([eal]
control_cpu = {}
huge_pages = {}
[memory]
pool_size = 8191
[[port]]
name = "p0"
device = "net_null0"
[[port]]
name = "p1"
device = "net_null1"
[[worker]]
cpu = {}
[fwd]
mode = "5tswap"
)",
                     ctl, huge ? "true" : "false", wrk);
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "bypass-fwd: %s\n", msg.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bypass-fwd: forward or reflect packets between DPDK ports (io, macswap, 5tswap)."};
  apps::CommonFlags flags;
  std::string mode;
  flags.add_to(app, "TOML config file (default: a built-in demo on two net_null ports)", false);
  app.add_option("-m,--mode", mode,
                 "forwarding mode: io, macswap or 5tswap (overrides [fwd].mode)");
  bool print_graph = false;
  app.add_flag("--graph", print_graph, "print each worker's module graph at start");
  app.allow_extras(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return apps::cli_parse_error(app, e);
  }
  flags.apply_logging();
  if (Status s = flags.check_eal_args(argc, argv, "bypass-fwd"); !s) return fail(s.message());
  if (print_graph && flags.check_only)
    return fail(
        "--graph prints the graph a run builds, and --check starts none: drop --check (add -t 1 "
        "for a short run).");

  const SystemFacts sys = SystemFacts::read();
  Expected<Config> cfg = flags.config_path.empty()
                             ? parse_config(demo_config(sys), "built-in demo config")
                             : load_config(flags.config_path);
  if (!cfg) return fail(cfg.error());
  Config& c = *cfg;
  if (Status s = check_top_level(c, {"fwd"}); !s) return fail(s.message());
  flags.apply(c);
  if (Status s = flags.check_outputs(); !s) return fail(s.message());
  auto opts = fwd::read_fwd_options(c);
  if (!opts) return fail(opts.error());
  if (app.get_option("--mode")->count() > 0) {
    auto m = fwd::parse_mode(mode);
    if (!m) return fail(m.error());
    opts->mode = *m;
  }
  if (Status s = fwd::check_port_addresses(c, opts->mode); !s) return fail(s.message());
  ModuleRegistry reg;
  add_graph_modules(reg);
  add_net_modules(reg);
  if (Status s = Runtime::check(c); !s) return fail(s.message());
  if (Status s = reg.check(c.modules, fwd::fwd_points()); !s) return fail(s.message());
  if (opts->pipeline && c.workers.size() < 2)
    return fail(
        "[fwd].pipeline = true needs at least two [[worker]]s: add one or set pipeline = false.");
  if (opts->pipeline) {
    // Each RX queue's packets go to the next worker through a ring of
    // [memory] ring_size, which a slow consumer may leave full: counted in
    // the pool as Runtime::check() counts a [[handoff]]'s rings.
    uint64_t rings = 0;
    for (const auto& w : c.workers) rings += w.rx.size();
    const uint64_t need = c.mbufs_needed() + rings * c.memory.ring_size;
    if (c.memory.pool_size < need)
      return fail("[memory].pool_size = " + std::to_string(c.memory.pool_size) +
                  " is too small for the pipeline: the ports' descriptor rings, the workers' "
                  "caches and its " +
                  std::to_string(rings) + " rings of " + std::to_string(c.memory.ring_size) +
                  " hold up to " + std::to_string(need) + " mbufs; raise pool_size to at least " +
                  std::to_string(need) + " or lower [memory] ring_size.");
  }
  if (flags.check_only) {
    std::printf("config ok\n");
    return 0;
  }
  auto rt = Runtime::start(c, "bypass-fwd");
  if (!rt) return fail(rt.error());
  auto control = ControlServer::open(c.control, "bypass-fwd");
  if (!control) return fail(control.error());
  PortSet& ports = (*rt)->ports();
  const std::vector<Port*>& pp = ports.ports();
  bool lost_port = false;
  {
    auto f = fwd::Forwarder::build(c, *opts, reg, pp);
    if (!f) return fail(f.error());
    if (print_graph) std::printf("graph\n%s", (*f)->describe().c_str());
    auto workers = (*f)->workers();
    spdlog::info("forwarding in {} mode{} on {} port(s) with {} worker(s); {}",
                 fwd::mode_name(opts->mode), opts->pipeline ? " (pipeline)" : "", pp.size(),
                 workers.size(), c.eal.huge_pages ? "huge pages" : "no huge pages");
    StatsCollector stats(std::vector<const Worker*>(workers.begin(), workers.end()), pp,
                         (*f)->graphs());
    rte_mempool* pool = (*rt)->pool();
    stats.add_gauge("pool.in_use",
                    [pool] { return static_cast<double>(rte_mempool_in_use_count(pool)); });
    stats.add_counters([&fw = **f](auto& out) { fw.counters(out); });
    (*control)->add_view("graph", "each worker's module graph", [&fw = **f](const CommandRequest&) {
      return CommandReply{true, fw.describe()};
    });
    ReportOptions ro{flags.quiet, flags.stats_json, nullptr, control->get(), "bypass-fwd"};
    ro.after_stop = [&fw = **f] {
      fw.drop_left_in_rings();
      for (const std::string& s : fw.arp_advice())
        spdlog::warn("{}", s);  // asked in the last second
    };
    // Asked once a second: what a port was asked by ARP and cannot answer, said once.
    ro.stop_check = [&fw = **f] {
      for (const std::string& s : fw.arp_advice()) spdlog::warn("{}", s);
      return std::string();
    };
    auto run = (*rt)->run(workers, stats, flags.duration, ro);  // a device reset stops it
    if (!run) return fail(run.error());
    lost_port = !run->stopped.empty();
    // What the plans still hold is freed (drained) first, so that the
    // counts add up: delivered = packets - dropped + duplicated - hold_full - drained.
    std::printf("%s", drain_fault_reports(ports).c_str());
  }  // the forwarder's rings are drained
  if ((*rt)->finish()) return 3;
  return lost_port ? 1 : 0;
}
