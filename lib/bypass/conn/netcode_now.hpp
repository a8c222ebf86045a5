/// @file
/// The time a netcode state machine is told, never reads: unix seconds for
/// connect token expiry (the backend's clock), and a monotonic nanosecond count
/// for send pacing, keep-alives and timeouts. The caller reads its clocks once
/// per batch and passes the same Now to every call of that batch; a state
/// machine keeps its own monotonic time from it (SteadyTime).
#pragma once

#include <chrono>
#include <cstdint>

namespace bypass::conn {

/// The time now, read by the caller from its two clocks (see the file comment).
struct Now {
  uint64_t unix_seconds = 0;  ///< wall clock: compared with connect token timestamps
  uint64_t mono_ns = 0;       ///< monotonic: only differences matter
};

/// Now from this host's clocks: the system clock's unix seconds and the
/// steady clock's nanoseconds. For a program on real time; tests pass a
/// manual Now instead.
inline Now system_now() {
  using namespace std::chrono;
  return {
      static_cast<uint64_t>(duration_cast<seconds>(system_clock::now().time_since_epoch()).count()),
      static_cast<uint64_t>(
          duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count())};
}

/// Nanoseconds in a second.
inline constexpr uint64_t kNanosPerSecond = 1'000'000'000ULL;

/// The monotonic time a state machine keeps from what it is told: a step back
/// is ignored (time goes on from there at the source's rate, so keep-alives
/// and timeouts neither stall nor fire for it), a step forward counts as time
/// that passed. Told the same source time twice, it answers the same: a call
/// made from inside a call may pass its caller's `now` on.
class SteadyTime {
 public:
  /// `n` with its mono_ns replaced by the time kept (the first call starts it
  /// at n.mono_ns); unix_seconds passes through as told.
  Now operator()(Now n) {
    if (!started_) {
      started_ = true;
      source_ = n.mono_ns;
      kept_ = n.mono_ns;
    } else if (n.mono_ns != source_) {
      if (n.mono_ns > source_) kept_ += n.mono_ns - source_;
      source_ = n.mono_ns;
    }
    n.mono_ns = kept_;
    return n;
  }

 private:
  bool started_ = false;
  uint64_t source_ = 0;  ///< the last time told
  uint64_t kept_ = 0;    ///< the time kept
};

}  // namespace bypass::conn
