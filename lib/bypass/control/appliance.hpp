/// @file
/// appliance_main: the whole main() of a simple appliance, so that an
/// example is its modules and little else. It reads `-c CONFIG` (and `-t
/// SECONDS`, `-q`, `--stats-json FILE`), lets the appliance read its own
/// table, starts the runtime, builds one chain of the appliance's modules
/// per RX queue of each worker (sending on the other port, or on the same
/// one when the config has one port), runs with the control socket and the
/// reports until SIGINT/SIGTERM or the duration, and prints the rate in
/// Mpps. SIGHUP reads the config file again and hands it to `reload`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <bypass/control/stats.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/graph.hpp>

namespace bypass {

/// What an appliance adds to appliance_main.
struct Appliance {
  std::string name;   ///< the program's name ("bypass-firewall")
  std::string about;  ///< one line for --help
  /// Reads the appliance's own table of the config, before EAL starts; a
  /// mistake is one sentence that says what to change.
  std::function<Status(const Config&)> configure;
  /// Runs once EAL is up, before the first chain (optional): what needs
  /// DPDK's memory (tables, pools).
  std::function<Status()> start;
  /// Builds the modules for one RX queue of `worker` in `g` and returns the
  /// one the queue feeds; `out` sends to the output port.
  std::function<Module*(WorkerGraph& g, Module& out, unsigned worker)> chain;
  /// The appliance's own counters, for the reports and /metrics (optional).
  StatsCollector::CounterFn counters;
  /// SIGHUP: the config file read anew and the running workers (optional;
  /// without it SIGHUP stops the run). A failure keeps what runs and is logged.
  std::function<Status(const Config&, const std::vector<Worker*>&)> reload;
};

/// Runs `a` as the program's main(); returns its exit status (0, 1 for a
/// leak, 2 for a mistake in the command line or the config).
int appliance_main(int argc, char** argv, Appliance& a);

}  // namespace bypass
