/// @file
/// Clock: the time source of a worker. TscClock reads the CPU's time-stamp
/// counter; ManualClock is driven by tests (skewed, jumped, run backwards).
/// Code that needs time takes a Clock& per burst, never per packet.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace bypass {

/// CPU cycles (the TSC), for measuring what code costs, not for time: the one
/// place outside the clocks that reads the counter.
inline uint64_t cpu_cycles() {
  return rte_rdtsc();
}

/// A time source counted in ticks of hz() a second.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now() = 0;       ///< ticks
  virtual uint64_t hz() const = 0;  ///< ticks a second

  /// `ms` milliseconds in ticks.
  uint64_t ms_to_ticks(uint64_t ms) const { return hz() / 1000 * ms; }
  /// `us` microseconds in ticks.
  uint64_t us_to_ticks(uint64_t us) const { return hz() / 1000000 * us; }
};

/// The CPU's time-stamp counter (DPDK's TSC rate, measured when EAL started).
class TscClock final : public Clock {
 public:
  /// Reads the TSC's rate from DPDK (needs EAL).
  TscClock() : hz_(rte_get_tsc_hz()) {}
  uint64_t now() override { return rte_rdtsc(); }
  uint64_t hz() const override { return hz_; }

 private:
  uint64_t hz_;
};

/// A clock that moves only when told: for tests.
class ManualClock final : public Clock {
 public:
  /// Starts at `start` ticks, at `hz` ticks a second (nanoseconds by default).
  explicit ManualClock(uint64_t hz = 1000000000, uint64_t start = 0) : hz_(hz), now_(start) {}
  uint64_t now() override { return now_; }
  uint64_t hz() const override { return hz_; }
  void set(uint64_t t) { now_ = t; }  ///< jumps to `t` ticks, backwards too
  /// Moves by `d` ticks; a negative `d` runs it backwards.
  void advance(int64_t d) { now_ = static_cast<uint64_t>(static_cast<int64_t>(now_) + d); }

 private:
  uint64_t hz_;
  uint64_t now_;
};

}  // namespace bypass
