// Clock: the time source of a worker. TscClock reads the CPU's time-stamp
// counter; ManualClock is driven by tests (skewed, jumped, run backwards).
// Code that needs time takes a Clock& per burst, never per packet.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace bypass {

// CPU cycles (the TSC), for measuring what code costs, not for time: the one
// place outside the clocks that reads the counter.
inline uint64_t cpu_cycles() {
  return rte_rdtsc();
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t now() = 0;  // ticks
  virtual uint64_t hz() const = 0;

  uint64_t ms_to_ticks(uint64_t ms) const { return hz() / 1000 * ms; }
  uint64_t us_to_ticks(uint64_t us) const { return hz() / 1000000 * us; }
};

class TscClock final : public Clock {
 public:
  TscClock() : hz_(rte_get_tsc_hz()) {}
  uint64_t now() override { return rte_rdtsc(); }
  uint64_t hz() const override { return hz_; }

 private:
  uint64_t hz_;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(uint64_t hz = 1000000000, uint64_t start = 0) : hz_(hz), now_(start) {}
  uint64_t now() override { return now_; }
  uint64_t hz() const override { return hz_; }
  void set(uint64_t t) { now_ = t; }
  void advance(int64_t d) { now_ = static_cast<uint64_t>(static_cast<int64_t>(now_) + d); }

 private:
  uint64_t hz_;
  uint64_t now_;
};

}  // namespace bypass
