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

namespace {

// A bijective 64-bit finalizer with full avalanche (the xor-shift-multiply
// rounds of splitmix64): every input bit flips each output bit with odds of
// about one half, so inputs that differ in a few bits land far apart.
uint64_t finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

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
  const uint64_t address = finalize(finalize(host ^ low) ^ (type | uint64_t{from.port} << 8));
  const Buckets b{&address_.next[address & address_.mask], &host_.next[host & host_.mask]};
  __builtin_prefetch(b.address, 1);
  __builtin_prefetch(b.host, 1);
  return b;
}

}  // namespace bypass::conn
