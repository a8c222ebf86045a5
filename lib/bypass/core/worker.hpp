/// @file
/// Workers: one thread per worker core, launched on its EAL lcore. A worker runs
/// its pollers in a loop; each poll reports whether it did work, and the idle
/// policy (busy poll, pause, or sleep when nothing was done) lives only here.
/// Stopping is cooperative: the loop ends after the current burst, then every
/// poller's finish() runs on the worker so it can flush or free what it holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <bypass/core/clock.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/core/status.hpp>
#include <bypass/core/timer.hpp>

namespace bypass {

class Worker;

/// Something a worker polls: a port queue, a ring, a timer wheel.
class Poller {
 public:
  virtual ~Poller() = default;
  /// One burst of work; returns true if it did any. One virtual call per burst.
  virtual bool poll(Worker& w) = 0;
  /// Runs once on the worker after the loop ends.
  virtual void finish(Worker&) {}
};

/// One worker: its loop, pollers, counters, clock and timers; see the file's description.
class Worker {
 public:
  /// `clock`: the worker's time source (tests pass a ManualClock); nullptr for
  /// the TSC. It must outlive the worker.
  Worker(unsigned index, const WorkerConfig& cfg, Clock* clock = nullptr);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Adds `p` to what it polls, before run() starts (swap_pollers() after).
  void add(Poller* p) { pollers_.push_back(p); }
  /// From another thread (the control plane): between two iterations of run(),
  /// the worker runs `at_swap` on itself, then polls `pollers` instead of the
  /// ones it had; returns when that is done. When the worker is not running,
  /// both happen here and now. The caller keeps the old pollers alive until
  /// this returns. `at_swap` is destroyed here, after the worker ran it, not
  /// on the worker. One caller at a time (the control thread).
  void swap_pollers(std::vector<Poller*> pollers, std::function<void(Worker&)> at_swap);
  /// Runs `f` on the worker between two iterations (here and now when it is
  /// not running) and returns when it has: how the control thread hands a
  /// module new state (a rule table) without a lock on the fast path.
  void run_on(std::function<void(Worker&)> f) { swap_pollers(pollers_, std::move(f)); }
  /// The loop: polls until `stop` is set. Returns the number of loop iterations.
  uint64_t run(const std::atomic<bool>& stop);

  unsigned index() const { return index_; }            ///< its index among the workers
  const WorkerConfig& config() const { return cfg_; }  ///< its config
  /// Its counters, which only this worker writes.
  WorkerCounters& counters() { return counters_; }
  /// Counts a drop in the worker's totals and in the module running now.
  void drop(DropReason r, uint64_t n = 1) {
    counters_.dropped.add(n);
    if (active_) active_->drop(r, n);
  }
  /// The module running now (graph/module.hpp sets it around each call).
  ModuleTally* active() const { return active_; }
  /// Makes `t` the module running now; returns the one before.
  ModuleTally* set_active(ModuleTally* t) {
    ModuleTally* prev = active_;
    active_ = t;
    return prev;
  }
  /// Whether this iteration samples the cycles each module spends (1 in 16).
  bool profiling() const { return profiling_; }
  /// Sets profiling() (run() does, each iteration).
  void set_profiling(bool on) { profiling_ = on; }
  /// Its counters.
  const WorkerCounters& counters() const { return counters_; }
  Clock& clock() { return *clock_; }     ///< its time source
  uint64_t now() const { return now_; }  ///< the clock at the start of this iteration
  /// Reads the clock into now(): what run() does at the start of each
  /// iteration, for code (tests) that polls outside run().
  void sample_clock() { now_ = clock_->now(); }
  /// This worker's timers (core/timer.hpp), run at the start of each iteration
  /// of run() on now(); resolution 100 us of the worker's clock.
  TimerWheel& timers() { return timers_; }
  /// Runs the timers due at now(), as run() does; returns how many ran.
  unsigned run_timers() { return timers_.run(*this, now_); }

 private:
  void idle();

  unsigned index_;
  WorkerConfig cfg_;
  void take_swap();

  std::vector<Poller*> pollers_;
  // A swap handed over by swap_pollers(): set last, with release, by the
  // control thread; taken and cleared by the worker between iterations.
  std::vector<Poller*> next_pollers_;
  std::function<void(Worker&)> at_swap_;
  std::atomic<bool> swap_pending_{false};
  std::mutex run_mutex_;  // held while run() runs (not per iteration)
  bool running_ = false;  // under run_mutex_
  WorkerCounters counters_;
  TscClock tsc_;
  Clock* clock_;
  uint64_t now_ = 0;
  TimerWheel timers_;
  ModuleTally* active_ = nullptr;
  bool profiling_ = false;
};

/// Launches workers on their lcores and stops them.
class WorkerGroup {
 public:
  /// A group of `workers`, which must outlive it.
  explicit WorkerGroup(std::vector<Worker*> workers) : workers_(std::move(workers)) {}
  ~WorkerGroup() { stop(); }  ///< stops the workers
  /// Starts each worker on its config's lcore, or the i-th on Eal::worker_lcore(i).
  Status launch();
  /// Sets the stop flag and waits for every worker to return.
  void stop();
  bool running() const { return launched_ > 0; }  ///< launched and not yet stopped
  /// The workers' counters, summed.
  CounterTotals totals() const;
  /// The flag the workers' loops stop on.
  const std::atomic<bool>& stop_flag() const { return stop_; }

 private:
  unsigned lcore_of(size_t i) const;
  std::vector<Worker*> workers_;
  std::atomic<bool> stop_{false};
  size_t launched_ = 0;  // workers launched, in order
};

}  // namespace bypass
