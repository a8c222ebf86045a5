#include <bypass/conn/request_limiter.hpp>

#include <algorithm>
#include <cstring>

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

RequestLimiter::Buckets RequestLimiter::buckets(const NetcodeAddress& from) {
  uint64_t host_bits = 0, low = 0;
  if (from.type == AddressType::kIpv4) {
    uint32_t v4;
    std::memcpy(&v4, from.ipv4.data(), 4);
    host_bits = v4;
  } else if (from.type == AddressType::kIpv6) {
    std::memcpy(&host_bits, from.ipv6.data(), 8);
    std::memcpy(&low, from.ipv6.data() + 4, 8);
  }
  const uint64_t type = static_cast<uint8_t>(from.type);
  const uint64_t host = host_hash_.words(host_bits, type);
  const Buckets b{
      &address_
           .next[address_mix_.words(host, low, type | uint64_t{from.port} << 8) & address_.mask],
      &host_.next[host & host_.mask]};
  __builtin_prefetch(b.address, 1);
  __builtin_prefetch(b.host, 1);
  return b;
}

}  // namespace bypass::conn
