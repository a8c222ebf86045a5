// bypass-udpd's main: a UDP server on its own cores and NIC queues. Hosts
// can ARP, ping (IPv4 and IPv6) and exchange UDP with it; the same handlers
// also run over Linux sockets (backend = "sockets"), the kernel baseline.
#include <bypass/udpd/udpd_main.hpp>

#include <rte_cycles.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <utility>

#include <spdlog/spdlog.h>

#include <bypass/control/control_server.hpp>
#include <bypass/control/report.hpp>
#include <bypass/control/runtime.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/run.hpp>
#include <bypass/io/iface_watch.hpp>
#include <bypass/io/ports.hpp>

#include <bypass/control/cli_flags.hpp>
#include <bypass/udpd/server.hpp>
#include <bypass/udpd/sockets.hpp>

namespace {

using namespace bypass;

int fail(const std::string& msg) {
  std::fprintf(stderr, "bypass-udpd: %s\n", msg.c_str());
  return 2;
}

// A config file read as at the start: the command line's flags applied.
using Loaded = std::pair<Config, udpd::UdpdOptions>;
using Loader = std::function<Expected<Loaded>(const std::string& path, bool live)>;

int run_dpdk(Config& c, udpd::UdpdOptions& o, double duration, bool quiet, bool check_only,
             bool print_graph, const std::string& stats_json, const std::string& config_path,
             const Loader& load, const UdpdPlugins& plugins) {
  ModuleRegistry reg = udpd::udpd_modules();
  if (plugins.modules) plugins.modules(reg);
  if (Status s = Runtime::check(c); !s) return fail(s.message());
  if (Status s = udpd::check_modules(c, o, reg); !s) return fail(s.message());
  if (check_only) {
    std::printf("config ok\n");
    return 0;
  }
  auto rt = Runtime::start(c, "bypass-udpd");
  if (!rt) return fail(rt.error());
  auto control = ControlServer::open(c.control, "bypass-udpd");
  if (!control) return fail(control.error());
  PortSet& ports = (*rt)->ports();
  bool lost_port = false;
  const std::vector<Port*>& pp = ports.ports();
  {
    auto server = udpd::DpdkServer::build(c, o, reg, ports, (*rt)->pool());
    if (!server) return fail(server.error());
    if (print_graph) std::printf("graph\n%s", (*server)->describe().c_str());
    auto workers = (*server)->workers();
    std::string addrs, svcs;
    for (const auto& p : c.ports)
      for (const auto& a : p.addresses) addrs += " " + a;
    for (const auto& s : o.services) svcs += " " + std::to_string(s.port) + "/" + s.handler;
    spdlog::info("serving UDP{} on{} with {} worker(s) (DPDK)", svcs, addrs, workers.size());
    StatsCollector stats(std::vector<const Worker*>(workers.begin(), workers.end()), pp,
                         (*server)->graphs());
    stats.add_counters([&s = **server](auto& out) { s.counters(out); });
    rte_mempool* pool = (*rt)->pool();
    stats.add_gauge("pool.in_use",
                    [pool] { return static_cast<double>(rte_mempool_in_use_count(pool)); });
    const IfaceWatch watch = IfaceWatch::of(c);
    (*control)->add_view("conns", "the open connections, paged (--offset, --limit)",
                         [&s = **server](const CommandRequest& r) {
                           std::vector<ConnectionRow> rows;
                           s.connections(rows);
                           return udpd::conns_reply(std::move(rows), r);
                         });
    (*server)->on_swap([&] {
      stats.retire((*server)->take_retired_modules());  // their counts stay in the stats
      stats.set_graphs((*server)->graphs());
    });
    auto capture = udpd::add_capture_command(**control, **server, reg);
    (*control)->add_view("graph", "each worker's module graph",
                         [&s = **server](const CommandRequest&) {
                           return CommandReply{true, s.describe()};
                         });
    auto journal = Journal::open({c.control.journal, uint64_t{c.control.journal_rotate_mb} << 20});
    if (!journal) return fail(journal.error());
    (*server)->set_journal(**journal);
    (*journal)->record_config("started from " + config_path);
    stats.add_counters([&j = **journal](auto& out) {
      out.emplace_back("journal.entries", j.written());
      out.emplace_back("journal.dropped", j.dropped());
    });
    // Live reload: `reload [FILE]` on the control socket, and SIGHUP (the
    // file it started from). Either way the whole new config is checked first;
    // what the machine check looks at (ports, workers, EAL) cannot change live.
    auto reload = [&](const std::string& path) -> CommandReply {
      auto next = load(path, /*live=*/true);
      if (!next) return CommandReply::error(next.error() + " (nothing changed)");
      if (next->second.backend != "dpdk")
        return CommandReply::error(
            "the new config asks for the sockets backend, which applies only at a restart: "
            "nothing changed.");
      auto done = (*server)->reload(next->first, next->second, reg);
      if (!done) return CommandReply::error(done.error());
      (*journal)->record_config("reloaded from " + path + ": " + *done);
      spdlog::info("reloaded from {}: {}", path, *done);
      return CommandReply{true, "reloaded: " + *done + "\n"};
    };
    (*control)->add_command("reload", "apply a config file (default: the one it started from)",
                            [&](const CommandRequest& r) {
                              if (r.args.size() > 1)
                                return CommandReply::error("reload takes one config file at most.");
                              return reload(r.args.empty() ? config_path : r.args[0]);
                            });
    ReportOptions ro{quiet, stats_json, nullptr, control->get(), "bypass-udpd", journal->get()};
    ro.on_hangup = [&] {
      CommandReply r = reload(config_path);
      if (!r.ok) spdlog::error("SIGHUP: {}", r.body);
    };
    // A port lost (its interface gone, or its device reset) stops the run.
    ro.stop_check = [&watch] { return watch.check().value_or(""); };
    ro.after_stop = [&] { (*server)->drop_left_in_rings(); };
    auto run = (*rt)->run(workers, stats, duration, ro);
    if (!run) return fail(run.error());
    std::printf("%s", (*server)->report().c_str());
    std::printf("%s", drain_fault_reports(ports).c_str());
    lost_port = !run->stopped.empty();
  }  // handlers and their static blobs are gone
  if ((*rt)->finish()) return 3;
  return lost_port ? 1 : 0;
}

}  // namespace

namespace bypass {

int udpd_main(int argc, char** argv, const UdpdPlugins& plugins) {
  CLI::App app{
      "bypass-udpd: a UDP server (echo, discard, static content) on DPDK ports or Linux sockets."};
  apps::CommonFlags f;
  std::string backend;
  f.add_to(app, "TOML config file", true);
  app.add_option("-b,--backend", backend, "dpdk or sockets (overrides [udpd].backend)");
  bool print_graph = false;
  app.add_flag("--graph", print_graph, "print each worker's module graph at start");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return apps::cli_parse_error(app, e);
  }
  f.apply_logging();
  if (Status s = f.check_eal_args(argc, argv, "bypass-udpd"); !s) return fail(s.message());
  SystemFacts sys = SystemFacts::read();
  if (app.get_option("--backend")->count() > 0 && backend != "dpdk" && backend != "sockets")
    return fail("--backend must be dpdk or sockets.");
  if (print_graph && f.check_only)
    return fail(
        "--graph prints the graph a run builds, and --check starts none: drop --check (add -t 1 "
        "for a short run).");
  const Loader load = [&f, &backend, &plugins](const std::string& path,
                                               bool live) -> Expected<Loaded> {
    auto cfg = load_config(path, live);
    if (!cfg) return cfg.status();
    BYPASS_TRY(check_top_level(*cfg, {"udpd"}));
    f.apply(*cfg);
    auto opts = udpd::read_udpd_options(*cfg, &plugins.handlers);
    if (!opts) return opts.status();
    if (!backend.empty()) opts->backend = backend;
    if (opts->backend == "sockets" && !cfg->control.journal.empty())
      return Status::error(
          "[control] journal applies to the DPDK backend only (the sockets backend keeps no "
          "journal): remove it, or use backend = \"dpdk\".");
    return Loaded{std::move(*cfg), std::move(*opts)};
  };
  auto loaded = load(f.config_path, /*live=*/false);
  if (!loaded) return fail(loaded.error());
  Config& c = loaded->first;
  auto opts = &loaded->second;
  if (Status s = f.check_outputs(); !s) return fail(s.message());
  if (opts->backend == "sockets" && print_graph)
    return fail(
        "--graph prints the DPDK backend's module graph, and the sockets backend has none: drop "
        "--graph.");
  if (opts->backend == "sockets")
    return udpd::run_sockets(c, *opts, sys, f.duration, f.quiet, f.check_only, f.stats_json);
  return run_dpdk(c, *opts, f.duration, f.quiet, f.check_only, print_graph, f.stats_json,
                  f.config_path, load, plugins);
}

}  // namespace bypass
