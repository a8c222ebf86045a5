// Internet checksums (RFC 1071) in software, and the incremental update of
// RFC 1624 for replies that only change a few fields. Used where the device
// has no checksum offload, and always for ICMP and neighbour discovery.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace bypass {

// Folds a 32-bit one's-complement sum to 16 bits.
inline uint16_t fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The sum of the IPv4 or IPv6 pseudo-header for an upper-layer length and protocol.
inline uint32_t pseudo_sum_v4(const rte_ipv4_hdr* ip, uint32_t l4_len, uint8_t proto) {
  uint32_t s = rte_raw_cksum(&ip->src_addr, 8);
  return s + rte_cpu_to_be_16(static_cast<uint16_t>(l4_len)) + rte_cpu_to_be_16(proto);
}
inline uint32_t pseudo_sum_v6(const rte_ipv6_hdr* ip, uint32_t l4_len, uint8_t proto) {
  uint32_t s = rte_raw_cksum(ip->src_addr, 32);
  uint32_t len_be = rte_cpu_to_be_32(l4_len);
  uint32_t proto_be = rte_cpu_to_be_32(proto);
  return s + rte_raw_cksum(&len_be, 4) + rte_raw_cksum(&proto_be, 4);
}

// Sum of `len` bytes at `off` in the packet, across segments. A segment that
// starts at an odd position of the summed range has its folded sum byte-swapped
// (RFC 1071 2(B)); DPDK 22.11's rte_raw_cksum_mbuf loses carries there.
inline uint32_t packet_sum(const rte_mbuf* m, uint32_t off, uint32_t len) {
  if (off + len <= m->data_len)
    return rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const uint8_t*, off), len);
  uint32_t sum = 0, done = 0;
  for (const rte_mbuf* seg = m; seg && done < len; seg = seg->next) {
    if (off >= seg->data_len) {
      off -= seg->data_len;
      continue;
    }
    const uint32_t n = std::min<uint32_t>(seg->data_len - off, len - done);
    uint16_t s = rte_raw_cksum(rte_pktmbuf_mtod_offset(seg, const uint8_t*, off), n);
    if (done & 1) s = static_cast<uint16_t>((s << 8) | (s >> 8));
    sum += s;
    done += n;
    off = 0;
  }
  return sum;
}

// The checksum to store for `sum` (the one's complement, 0 sent as 0xffff for UDP).
inline uint16_t finish_cksum(uint32_t sum) {
  uint16_t c = static_cast<uint16_t>(~fold(sum));
  return c;
}
inline uint16_t finish_udp_cksum(uint32_t sum) {
  uint16_t c = finish_cksum(sum);
  return c == 0 ? 0xffff : c;
}
// True when data that carries its own checksum sums to all ones.
inline bool sum_is_valid(uint32_t sum) {
  return fold(sum) == 0xffff;
}

// RFC 1624 eqn. 3: the new checksum after a 16-bit field changed from old to new.
inline uint16_t cksum_update16(uint16_t cksum, uint16_t old_be, uint16_t new_be) {
  uint32_t s = static_cast<uint16_t>(~cksum) + static_cast<uint16_t>(~old_be) + new_be;
  return static_cast<uint16_t>(~fold(s));
}

// The IPv4 header checksum over its full length (options included).
inline uint16_t ipv4_header_cksum(const rte_ipv4_hdr* ip) {
  return finish_cksum(rte_raw_cksum(ip, (ip->version_ihl & 0x0f) * 4u));
}

}  // namespace bypass
