// RequestLimiter: bounds on connection requests, in fixed memory. Each
// request costs the server a 1 KB decrypt, so a source that floods them
// costs CPU even though it gets nothing back. Two bounds, each a table of
// buckets holding a GCRA ("virtual scheduling") limiter of `per_second`
// requests with bursts of `burst`, 8 bytes a bucket, no allocation after
// construction, no eviction:
//   - per address (address and port): a tight bound;
//   - per host (an IPv4 address, or an IPv6 /64): a wide one, so that one
//     host cycling through its ports is bounded too, while many clients
//     behind one NAT are not.
// A request is charged only when both bounds allow it: one refused by
// either uses up neither, so a host cycling through its ports (or its /64)
// past its host bound cannot go on filling the address table. Two sources
// sharing a bucket share its rate, so the tables are sized well above the
// number of sources expected in one second.
//
// Keyed, so that no peer can aim at another's bucket: the host's bucket is a
// SipHash-2-4 of the host under a random key; the address's bucket is that
// hash (secret, unlike the address) mixed with the rest of the address and
// the port by a fixed 64-bit finalizer (full avalanche, so consecutive ports
// spread like random ones). To aim at an address's bucket on another host a
// peer would need that host's SipHash; a peer on the same host already
// shares its host bound. One SipHash a request instead of two. (A flood of
// forged sources still charges random buckets: docs/connections.md.)
#pragma once

#include <cstdint>
#include <vector>

#include <bypass/conn/keyed_hash.hpp>
#include <bypass/conn/netcode_address.hpp>

namespace bypass::conn {

class RequestLimiter {
 public:
  struct Bound {
    uint32_t per_second = 0;
    uint32_t burst = 0;
  };
  enum class Verdict : uint8_t { kAllowed, kAddressLimited, kHostLimited };
  struct Buckets {
    uint64_t* address;
    uint64_t* host;
  };

  // `buckets` per table is rounded up to a power of two; 65,536 by default
  // (512 KB a table): a real client whose bucket a flooding source shares
  // gets through only now and then, so sources should rarely share.
  // crypto_init() must have run.
  RequestLimiter(Bound per_address, Bound per_host, uint32_t buckets = 65536);

  // Whether a request from `from` at `now_ns` (monotonic) may go on, and
  // charges it if so.
  Verdict allow(const NetcodeAddress& from, uint64_t now_ns) {
    return allow_at(buckets(from), now_ns);
  }

  // The same in two steps, for a batch: each source's buckets found and
  // fetched into cache first (tables this size miss the cache), then
  // allow_at() on them.
  // Out of line: the service's receive loop inlines it into every packet's
  // path otherwise, and payload packets (most of them) paid for that.
  Buckets buckets(const NetcodeAddress& from);
  Verdict allow_at(Buckets b, uint64_t now_ns) {
    const uint64_t address_start = address_.start(*b.address, now_ns);
    const uint64_t host_start = host_.start(*b.host, now_ns);
    if (!address_.within(address_start, now_ns)) return Verdict::kAddressLimited;
    if (!host_.within(host_start, now_ns)) return Verdict::kHostLimited;
    *b.address = address_start + address_.interval_ns;
    *b.host = host_start + host_.interval_ns;
    return Verdict::kAllowed;
  }

 private:
  struct Table {
    Table(Bound bound, uint32_t buckets);
    // When a request now would be due in `bucket`'s schedule, and whether
    // that is soon enough to let it through.
    static uint64_t start(uint64_t bucket, uint64_t now_ns) {
      return bucket > now_ns ? bucket : now_ns;
    }
    bool within(uint64_t start, uint64_t now_ns) const { return start - now_ns <= tolerance_ns; }
    std::vector<uint64_t> next;  // per bucket: when its next request is due
    uint64_t mask = 0;
    uint64_t interval_ns = 0;
    uint64_t tolerance_ns = 0;
  };

  KeyedHash host_hash_;
  Table address_, host_;
};

}  // namespace bypass::conn
