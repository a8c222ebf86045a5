#include <bypass/gen/device_clock.hpp>

namespace bypass::gen {

void DeviceClock::sample(Clock& clock) {
  uint64_t dev = 0;
  const uint64_t t0 = clock.now();
  const bool ok = read_(ctx_, &dev);
  const uint64_t t1 = clock.now();
  if (!ok) {
    ++failed_;
    return;
  }
  add_sample(t0 + (t1 - t0) / 2, dev);
}

void DeviceClock::add_sample(uint64_t tsc, uint64_t device) {
  if (samples_++ == 0) {
    first_tsc_ = tsc;
    first_dev_ = device;
  } else if (device != first_dev_ && tsc != first_tsc_) {
    tsc_per_tick_ = static_cast<double>(static_cast<int64_t>(tsc - first_tsc_)) /
                    static_cast<double>(static_cast<int64_t>(device - first_dev_));
  }
  last_tsc_ = tsc;
  last_dev_ = device;
}

}  // namespace bypass::gen
