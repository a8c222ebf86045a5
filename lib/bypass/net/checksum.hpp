// Internet checksums (RFC 1071) in software, and the incremental update of
// RFC 1624 for replies that only change a few fields. Used where the device
// has no checksum offload, and always for ICMP and neighbour discovery.
#pragma once

#include <rte_byteorder.h>
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

// The one's-complement sum of `len` bytes as native 16-bit words (an odd last
// byte as the first byte of a zero-padded word), folded to 16 bits: the value
// rte_raw_cksum gives, read eight bytes at a time with end-around carry
// (2^16 = 1 modulo 2^16 - 1, so 32- and 64-bit words sum like their 16-bit
// lanes).
static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "ones_sum() assembles its tail little-endian");
inline uint16_t ones_sum(const void* data, size_t len) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t s = 0, w;
  auto add = [&s](uint64_t v) {
    s += v;
    s += s < v;
  };
  if (len >= 64) {
    // Long data: 32-bit words into a 64-bit sum, which the compiler turns
    // into vector adds (no carry chain).
    uint64_t acc = 0;
    const size_t words = len / 4;
    for (size_t i = 0; i < words; ++i) {
      uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      acc += v;
    }
    add(acc);
    p += 4 * words;
    len -= 4 * words;
  }
  for (; len >= 8; p += 8, len -= 8) {
    std::memcpy(&w, p, 8);
    add(w);
  }
  if (len) {
    // The last 1-7 bytes as a zero-padded word, assembled in registers (a
    // word read back from a buffer just filled piecewise would stall on
    // store forwarding).
    uint64_t t = 0;
    unsigned k = 0;
    if (len & 4) {
      uint32_t v;
      std::memcpy(&v, p, 4);
      t = v;
      k = 4;
    }
    if (len & 2) {
      uint16_t v;
      std::memcpy(&v, p + k, 2);
      t |= uint64_t{v} << (8 * k);
      k += 2;
    }
    if (len & 1) t |= uint64_t{p[k]} << (8 * k);
    add(t);
  }
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  return fold(static_cast<uint32_t>(s));
}

// The sum of the IPv4 or IPv6 pseudo-header for an upper-layer length and protocol.
inline uint32_t pseudo_sum_v4(const rte_ipv4_hdr* ip, uint32_t l4_len, uint8_t proto) {
  uint32_t s = ones_sum(&ip->src_addr, 8);
  return s + rte_cpu_to_be_16(static_cast<uint16_t>(l4_len)) + rte_cpu_to_be_16(proto);
}
inline uint32_t pseudo_sum_v6(const rte_ipv6_hdr* ip, uint32_t l4_len, uint8_t proto) {
  uint32_t s = ones_sum(ip->src_addr, 32);
  // The 32-bit length and the zero-padded next header, as 16-bit words.
  return s + rte_cpu_to_be_16(static_cast<uint16_t>(l4_len >> 16)) +
         rte_cpu_to_be_16(static_cast<uint16_t>(l4_len)) + rte_cpu_to_be_16(proto);
}

// Sum of `len` bytes at `off` in the packet, across segments. A segment that
// starts at an odd position of the summed range has its folded sum byte-swapped
// (RFC 1071 2(B)); DPDK 22.11's rte_raw_cksum_mbuf loses carries there.
inline uint32_t packet_sum(const rte_mbuf* m, uint32_t off, uint32_t len) {
  if (off + len <= m->data_len)
    return ones_sum(rte_pktmbuf_mtod_offset(m, const uint8_t*, off), len);
  uint32_t sum = 0, done = 0;
  for (const rte_mbuf* seg = m; seg && done < len; seg = seg->next) {
    if (off >= seg->data_len) {
      off -= seg->data_len;
      continue;
    }
    const uint32_t n = std::min<uint32_t>(seg->data_len - off, len - done);
    uint16_t s = ones_sum(rte_pktmbuf_mtod_offset(seg, const uint8_t*, off), n);
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
  return finish_cksum(ones_sum(ip, (ip->version_ihl & 0x0f) * 4u));
}

}  // namespace bypass
