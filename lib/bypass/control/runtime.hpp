/// @file
/// Runtime: what every DPDK program of bypass does around its own work, for
/// the programs in apps/ and for appliances that embed bypass. check() tests a
/// config against itself and the machine (one sentence per mistake); start()
/// blocks SIGINT/SIGTERM for every thread, starts EAL, makes the packet pool
/// and opens the ports; finish() stops and closes the ports and reports the
/// mbufs still out of the pool (0 unless something leaked). attach() does the
/// same on an EAL the embedding program started itself.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bypass/control/control_server.hpp>
#include <bypass/control/journal.hpp>
#include <bypass/control/stats.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/eal.hpp>
#include <bypass/core/mempool.hpp>
#include <bypass/core/pool_watch.hpp>
#include <bypass/core/run.hpp>
#include <bypass/core/signals.hpp>
#include <bypass/io/ports.hpp>

namespace bypass {

/// What run_and_report does besides running the workers.
struct ReportOptions {
  bool quiet = false;      ///< no line a second
  std::string stats_json;  ///< a file for one JSON snapshot a second and a final one
  /// Asked once a second; a sentence stops the run (logged as an error).
  std::function<std::string()> stop_check;
  /// Served while the run waits between ticks (bypassctl, /metrics); the
  /// built-in commands are added here, the program's own before the call.
  ControlServer* control = nullptr;
  std::string program = "bypass";   ///< the program's name in `bypassctl top` and /metrics
  Journal* journal = nullptr;       ///< kept by the control thread while it runs
  std::function<void()> on_hangup;  ///< SIGHUP: a reload (without it SIGHUP stops the run)
  /// Runs once the workers have stopped, before the final snapshot (free
  /// and count what hand-off rings still hold).
  std::function<void()> after_stop;
  bool telemetry = true;  ///< with `control`: /bypass/* on DPDK's telemetry socket
  /// Its count of looks that found the pool empty goes into every snapshot
  /// ("pool.empty_looks"), and a run that saw it says once how to size the
  /// pool. Runtime::run sets it, armed on the run's workers.
  const PoolWatch* pool_watch = nullptr;
};

/// The EAL, packet pool, ports and signals of one program; see the file's description.
class Runtime {
 public:
  /// The config against the machine, and the ports' fault plans; warnings are logged.
  static Status check(const Config& c);
  /// Blocks the signals, starts EAL, makes the packet pool and opens the ports.
  static Expected<std::unique_ptr<Runtime>> start(const Config& c, const std::string& program);

  /// For a program that embeds bypass: what bypass may do to the process.
  struct Embedding {
    /// The EAL lcores of the workers, in order (else each [[worker]]'s own
    /// `lcore`); each must be an enabled lcore other than the main one.
    std::vector<unsigned> lcores;
    /// Take SIGINT/SIGTERM/SIGHUP (else only request_stop() stops): the
    /// program must have blocked them before rte_eal_init().
    bool signals = false;
    bool seccomp = false;  ///< confine the worker threads ([eal] worker_seccomp)
  };
  /// Like start() on an EAL the program already runs (rte_eal_init() done):
  /// bypass starts no EAL and leaves it running. The [eal] table is ignored
  /// but for the memory; `c`'s workers get their lcores and seccomp from `e`.
  /// Telemetry is the program's: run_and_report registers /bypass/* only for
  /// a ReportOptions with a control server and telemetry on.
  static Expected<std::unique_ptr<Runtime>> attach(Config& c, const std::string& program,
                                                   const Embedding& e);
  /// Closes the ports, frees the pool and stops EAL, if it started it.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  PortSet& ports() { return *ports_; }          ///< the ports
  rte_mempool* pool() { return pool_->get(); }  ///< the packet pool
  StopSignals& signals() { return *signals_; }  ///< how the run learns to stop
  /// run_and_report() on these signals, stopped also by a device reset on
  /// any port (checked before `opts.stop_check`; the sentence names the port).
  Expected<RunResult> run(const std::vector<Worker*>& workers, const StatsCollector& stats,
                          double duration, ReportOptions opts);
  /// Stops and closes the ports (call once the workers and whatever holds
  /// packets are gone), prints the exit check and returns the mbufs leaked.
  unsigned finish();

 private:
  Runtime() = default;
  Status open(const Config& c, const std::string& program);
  std::unique_ptr<StopSignals> signals_;  // destroyed last
  std::optional<Eal> eal_;
  std::optional<PktPool> pool_;
  std::optional<PoolWatch> pool_watch_;  // looks at pool_ from the workers run() runs
  std::optional<PortSet> ports_;
  bool finished_ = false;
  double eal_ms_ = 0;  // start-up time of EAL (0 when attached)
};

/// Runs `workers` until a signal or `duration` seconds. Every second it takes
/// a snapshot from `stats`: a line on stdout (unless quiet) and a JSON line in
/// opts.stats_json; at the end the final report and a last JSON line marked
/// final, from one snapshot taken after the workers stopped (the ports still
/// run when their stats are read).
Expected<RunResult> run_and_report(const std::vector<Worker*>& workers, const StatsCollector& stats,
                                   StopSignals& signals, double duration,
                                   const ReportOptions& opts);

}  // namespace bypass
