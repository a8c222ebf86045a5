// bypass-udpd: a UDP server on its own cores and NIC queues. Hosts can ARP,
// ping (IPv4 and IPv6) and exchange UDP with it; the same handlers also run
// over Linux sockets (backend = "sockets"), the kernel baseline.
#include <rte_cycles.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include <spdlog/spdlog.h>

#include <bypass/control/report.hpp>
#include <bypass/control/runtime.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/run.hpp>
#include <bypass/io/ports.hpp>

#include "server.hpp"
#include "sockets.hpp"

namespace {

using namespace bypass;

int fail(const std::string& msg) {
  std::fprintf(stderr, "bypass-udpd: %s\n", msg.c_str());
  return 2;
}

int run_dpdk(Config& c, udpd::UdpdOptions& o, double duration, bool quiet, bool check_only) {
  if (Status s = Runtime::check(c); !s) return fail(s.message());
  if (check_only) {
    std::printf("config ok\n");
    return 0;
  }
  auto rt = Runtime::start(c, "bypass-udpd");
  if (!rt) return fail(rt.error());
  PortSet& ports = (*rt)->ports();
  const std::vector<Port*>& pp = ports.ports();
  {
    auto server = udpd::DpdkServer::build(c, o, ports, (*rt)->pool());
    if (!server) return fail(server.error());
    auto workers = (*server)->workers();
    std::string addrs, svcs;
    for (const auto& p : c.ports)
      for (const auto& a : p.addresses) addrs += " " + a;
    for (const auto& s : o.services) svcs += " " + std::to_string(s.port) + "/" + s.handler;
    spdlog::info("serving UDP{} on{} with {} worker(s) (DPDK)", svcs, addrs, workers.size());
    auto run = run_and_report(workers, pp, (*rt)->signals(), duration, quiet);
    if (!run) return fail(run.error());
    std::printf("%s", (*server)->report().c_str());
  }  // handlers and their static blobs are gone
  return (*rt)->finish() ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "bypass-udpd: a UDP server (echo, discard, static content) on DPDK ports or Linux sockets."};
  std::string config_path, backend, log_level = "info";
  double duration = 0;
  bool no_huge = false, quiet = false, check_only = false;
  std::vector<std::string> eal_extra;
  app.add_option("-c,--config", config_path, "TOML config file")->required();
  app.add_option("-b,--backend", backend, "dpdk or sockets (overrides [udpd].backend)");
  app.add_option("-t,--duration", duration,
                 "stop after this many seconds (default: run until SIGINT/SIGTERM)");
  app.add_flag("--no-huge", no_huge, "run without huge pages (overrides [eal].huge_pages)");
  app.add_flag("-q,--quiet", quiet, "no per-second stats line");
  app.add_flag("--check", check_only, "check the config and exit");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.add_option("eal", eal_extra, "after --: arguments passed to DPDK's EAL unchanged");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%^%l%$: %v");
  SystemFacts sys = SystemFacts::read();
  auto cfg = load_config(config_path);
  if (!cfg) return fail(cfg.error());
  Config& c = *cfg;
  if (no_huge) c.eal.huge_pages = false;
  c.eal.args.insert(c.eal.args.end(), eal_extra.begin(), eal_extra.end());
  auto opts = udpd::read_udpd_options(c);
  if (!opts) return fail(opts.error());
  if (!backend.empty()) {
    if (backend != "dpdk" && backend != "sockets")
      return fail("--backend must be dpdk or sockets.");
    opts->backend = backend;
  }
  if (opts->backend == "sockets")
    return udpd::run_sockets(c, *opts, sys, duration, quiet, check_only);
  return run_dpdk(c, *opts, duration, quiet, check_only);
}
