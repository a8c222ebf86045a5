#include <bypass/conn/request_limiter.hpp>

#include <algorithm>

namespace bypass::conn {

RequestLimiter::RequestLimiter(uint32_t rate_per_second, uint32_t burst, uint32_t buckets,
                               Keying keying)
    : keying_(keying) {
  uint64_t n = 1;
  while (n < std::max<uint32_t>(buckets, 1)) n <<= 1;
  next_.assign(n, 0);
  mask_ = n - 1;
  interval_ns_ = 1'000'000'000ull / std::max<uint32_t>(rate_per_second, 1);
  // A fresh bucket lets `burst` requests through at once: the first is due
  // now, the last (burst - 1) intervals ahead.
  tolerance_ns_ = interval_ns_ * (std::max<uint32_t>(burst, 1) - 1);
}

}  // namespace bypass::conn
