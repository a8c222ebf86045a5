// DeviceClock: maps a device's receive timestamps (the mbuf timestamp dynamic
// field, in the device's own clock) to the TSC, so that bypass-gen can take
// the receive time of a packet at the wire rather than when its worker reads
// it. The mapping is a line: its slope from the first sample to the latest
// (a long baseline keeps the rate error small), its offset from the latest
// sample (so drift between the clocks does not build up). The RX worker takes
// a sample every `interval` TSC ticks; a sample is the device clock read
// between two TSC readings, placed at their midpoint.
#pragma once

#include <cstdint>

#include <bypass/core/clock.hpp>

namespace bypass::gen {

class DeviceClock {
 public:
  // read(ctx, &now) reads the device clock; false if it cannot.
  using ReadFn = bool (*)(const void* ctx, uint64_t* now);

  DeviceClock(ReadFn read, const void* ctx, uint64_t interval_tsc)
      : read_(read), ctx_(ctx), interval_(interval_tsc) {}

  // Takes a sample if `interval` has passed since `tsc`, the last time it tried.
  void maybe_sample(Clock& clock, uint64_t tsc) {
    if (tsc - last_try_ >= interval_ || !tried_) [[unlikely]] {
      tried_ = true;
      last_try_ = tsc;
      sample(clock);
    }
  }
  // Reads the device clock now, between two readings of `clock` (the worker's).
  void sample(Clock& clock);
  // A sample taken elsewhere (tests, or a caller with its own readings).
  void add_sample(uint64_t tsc, uint64_t device);

  // True once two samples far enough apart give a slope.
  bool ready() const { return tsc_per_tick_ > 0; }
  // The TSC at which the device clock showed `device`.
  uint64_t to_tsc(uint64_t device) const {
    const double d = static_cast<double>(static_cast<int64_t>(device - last_dev_));
    return last_tsc_ + static_cast<uint64_t>(static_cast<int64_t>(d * tsc_per_tick_));
  }
  double tsc_per_tick() const { return tsc_per_tick_; }
  uint64_t samples() const { return samples_; }
  uint64_t failed_reads() const { return failed_; }

 private:
  ReadFn read_;
  const void* ctx_;
  uint64_t interval_;
  uint64_t last_try_ = 0;
  bool tried_ = false;
  uint64_t first_tsc_ = 0, first_dev_ = 0;
  uint64_t last_tsc_ = 0, last_dev_ = 0;
  double tsc_per_tick_ = 0;
  uint64_t samples_ = 0, failed_ = 0;
};

}  // namespace bypass::gen
