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
#include <utility>
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
  /// The config's top-level tables the appliance reads besides bypass's own
  /// ({"firewall"}): any other is refused at start as a misspelling. Left
  /// empty (an appliance written before this existed), an unknown name is
  /// only warned about.
  std::vector<std::string> tables;
  /// Reads the appliance's own table of the config, before EAL starts; a
  /// mistake is one sentence that says what to change.
  std::function<Status(const Config&)> configure;
  /// Runs once EAL is up, before the first chain (optional): what needs
  /// DPDK's memory (tables, pools).
  std::function<Status()> start;
  /// Runs after the workers and their graphs are gone and before EAL stops
  /// (optional): frees what `start` made.
  std::function<void()> stop;
  /// Builds the modules for one RX queue in `g` (one worker's graph) and
  /// returns the one the queue feeds; `out` sends to the output port.
  std::function<Module*(WorkerGraph& g, Module& out)> chain;
  /// The appliance's own counters, for the reports and /metrics (optional).
  StatsCollector::CounterFn counters;
  /// SIGHUP, after `configure` took the config file read anew (optional;
  /// without it SIGHUP stops the run). A failure keeps what runs and is logged.
  std::function<Status()> reload;
};

/// The modules of one class that an appliance's chains made, each with the
/// worker it runs on: for counters summed over them, and to hand each new
/// state (a rule table) on its own worker between two bursts.
template <class M>
class ModuleSet {
 public:
  /// Keeps `m`, made in `g`, and returns it.
  M& add(M& m, WorkerGraph& g) {
    items_.emplace_back(&m, &g.worker());
    return m;
  }
  size_t size() const { return items_.size(); }  ///< how many
  /// Runs `f(module)` on each module's worker (Worker::run_on); returns when all have.
  template <class F>
  void run_on_each(F f) const {
    for (auto [m, w] : items_) w->run_on([&](Worker&) { f(*m); });
  }
  /// The sum of `f(module)` over the modules.
  template <class F>
  uint64_t sum(F f) const {
    uint64_t n = 0;
    for (auto [m, w] : items_) n += f(*m);
    return n;
  }

 private:
  std::vector<std::pair<M*, Worker*>> items_;
};

/// Runs `a` as the program's main(); returns its exit status (0, 1 for a
/// leak or a port whose device was reset, 2 for a mistake in the command
/// line or the config).
int appliance_main(int argc, char** argv, Appliance& a);

}  // namespace bypass
