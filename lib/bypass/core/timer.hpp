/// @file
/// Timers of one worker, on the worker's Clock: a hashed timing wheel of
/// intrusive Timer entries (no allocation when arming), checked once per loop
/// iteration. A timer runs on its worker, between bursts, never concurrently
/// with that worker's modules. Announcements, neighbour upkeep, pacing and
/// connection keep-alives and timeouts run on these, not inside pollers.
/// A clock that jumps forward runs every timer that came due once (periodic
/// ones are not run once per missed period); a clock that goes backwards
/// delays timers, it never runs them early.
#pragma once

#include <cstdint>
#include <vector>

namespace bypass {

class Worker;
class TimerWheel;

/// An entry of a TimerWheel: what to run, and when once armed. It must not move while armed.
class Timer {
 public:
  /// What a timer runs, on its worker, with the context it was given.
  using Fn = void (*)(void* ctx, Worker& w);
  /// A timer with nothing to run yet: set() it before arming.
  Timer() = default;
  /// A timer that runs `fn(ctx, worker)`.
  Timer(Fn fn, void* ctx) : fn_(fn), ctx_(ctx) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer();  ///< cancels itself if armed

  /// Sets what it runs.
  void set(Fn fn, void* ctx) {
    fn_ = fn;
    ctx_ = ctx;
  }
  bool armed() const { return armed_; }        ///< whether it is armed
  uint64_t due() const { return due_; }        ///< when it runs next, in clock ticks
  uint64_t period() const { return period_; }  ///< clock ticks between runs; 0: runs once

 private:
  friend class TimerWheel;
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  TimerWheel* wheel_ = nullptr;  // where it is armed or waits to run
  uint64_t due_ = 0;             // clock ticks
  uint64_t period_ = 0;          // 0: runs once
  // The list it is on: a slot of the wheel while armed, the wheel's list of
  // timers about to run while a pass is under way.
  Timer* next_ = nullptr;
  Timer** prev_ = nullptr;  // the pointer that points at this timer
  bool armed_ = false;
  bool running_ = false;  // on the list of this pass, not yet run
};

/// The timers of one worker; see the file's description.
class TimerWheel {
 public:
  /// `resolution`: clock ticks per slot (timers run at most this late);
  /// `slots`: a power of two.
  explicit TimerWheel(uint64_t resolution = 1, unsigned slots = 256);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  /// Disarms the timers still armed (they forget the wheel).
  ~TimerWheel();

  /// Before any timer is armed.
  void set_resolution(uint64_t ticks) { resolution_ = ticks ? ticks : 1; }
  uint64_t resolution() const { return resolution_; }  ///< clock ticks per slot

  /// Arms `t` to run at `due` (clock ticks), then every `period` ticks if
  /// period > 0. Re-arming an armed timer moves it.
  void arm(Timer& t, uint64_t due, uint64_t period = 0);
  /// Disarms `t`; cancelled (or destroyed) by a callback, a timer due in
  /// the same pass does not run.
  void cancel(Timer& t);

  /// Runs every timer due at `now`; returns how many ran. Cheap when none is.
  unsigned run(Worker& w, uint64_t now) {
    if (armed_ == 0 || now < next_check_) return 0;
    return run_due(w, now);
  }
  unsigned armed() const { return armed_; }  ///< timers armed now

 private:
  unsigned run_due(Worker& w, uint64_t now);
  void insert(Timer& t);
  static void detach(Timer& t);
  void unlink(Timer& t);
  void take_pending(Timer& t);
  uint64_t slot_of(uint64_t due) const { return (due / resolution_) & mask_; }

  uint64_t resolution_;
  uint64_t mask_;
  std::vector<Timer*> slots_;
  unsigned armed_ = 0;
  uint64_t next_check_ = 0;   // no timer is due before this
  uint64_t cursor_ = 0;       // the slot time (now / resolution) run last
  Timer* pending_ = nullptr;  // the timers of the pass under way, in the order they run
  bool started_ = false;
};

}  // namespace bypass
