// RequestLimiter: a bound on connection requests per source, in fixed memory.
// Each request costs the server a 1 KB decrypt, so a source that floods them
// costs CPU even though it gets nothing back. Sources hash (keyed, so a peer
// cannot aim at one) onto a fixed table of buckets, each a GCRA ("virtual
// scheduling") limiter of `rate` requests a second with bursts of `burst`:
// 8 bytes a bucket, no allocation after construction, no eviction. Two
// sources sharing a bucket share its rate, so the table is sized well above
// the number of sources expected to connect in one second.
//
// A source is an address and port, or (Keying::kHost) the host alone: an
// IPv4 address, or an IPv6 /64. The netcode service has one of each: a
// tight bound per address, and a wide one per host, so that one host cycling
// through its ports is bounded too while many clients behind one NAT are not.
#pragma once

#include <cstdint>
#include <vector>

#include <bypass/conn/keyed_hash.hpp>
#include <bypass/conn/netcode_address.hpp>

namespace bypass::conn {

class RequestLimiter {
 public:
  enum class Keying : uint8_t { kAddress, kHost };

  // `buckets` is rounded up to a power of two. crypto_init() must have run.
  // 65,536 by default (512 KB): a real client whose bucket a flooding source
  // shares gets through only now and then, so sources should rarely share.
  RequestLimiter(uint32_t rate_per_second, uint32_t burst, uint32_t buckets = 65536,
                 Keying keying = Keying::kAddress);

  // Whether a request from `from` at `now_ns` (monotonic) may go on.
  bool allow(const NetcodeAddress& from, uint64_t now_ns) { return allow_at(bucket(from), now_ns); }

  // The same in two steps, for a batch: each source's bucket found and
  // fetched into cache first (a table this size misses the cache), then
  // allow_at() on it.
  uint64_t* bucket(const NetcodeAddress& from) {
    uint64_t* b = &next_[hash_.address(keying_ == Keying::kHost ? host_of(from) : from) & mask_];
    __builtin_prefetch(b, 1);
    return b;
  }
  bool allow_at(uint64_t* bucket, uint64_t now_ns) {
    const uint64_t start = *bucket > now_ns ? *bucket : now_ns;
    if (start - now_ns > tolerance_ns_) return false;
    *bucket = start + interval_ns_;
    return true;
  }

 private:
  // The address with its port, and an IPv6 address's last 64 bits, cleared.
  static NetcodeAddress host_of(NetcodeAddress a) {
    a.port = 0;
    for (size_t i = 4; i < a.ipv6.size(); ++i) a.ipv6[i] = 0;
    return a;
  }

  KeyedHash hash_;
  Keying keying_;
  std::vector<uint64_t> next_;  // per bucket: when its next request is due
  uint64_t mask_ = 0;
  uint64_t interval_ns_ = 0;
  uint64_t tolerance_ns_ = 0;
};

}  // namespace bypass::conn
