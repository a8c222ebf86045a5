#include <bypass/conn/request_limiter.hpp>

#include <algorithm>

namespace bypass::conn {

RequestLimiter::Table::Table(Bound bound, uint32_t buckets) {
  uint64_t n = 1;
  while (n < std::max<uint32_t>(buckets, 1)) n <<= 1;
  next.assign(n, 0);
  mask = n - 1;
  interval_ns = 1'000'000'000ull / std::max<uint32_t>(bound.per_second, 1);
  // A fresh bucket lets `burst` requests through at once: the first is due
  // now, the last (burst - 1) intervals ahead.
  tolerance_ns = interval_ns * (std::max<uint32_t>(bound.burst, 1) - 1);
}

RequestLimiter::RequestLimiter(Bound per_address, Bound per_host, uint32_t buckets)
    : address_(per_address, buckets), host_(per_host, buckets) {}

}  // namespace bypass::conn
