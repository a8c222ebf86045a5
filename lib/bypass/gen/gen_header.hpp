// GenHeader: the 16-byte signature the generator puts at the start of each
// UDP payload, so the receiving side can tell its stream, sequence number and
// send time. 16 bytes is what a 64-byte IPv4 frame has room for (14 + 20 + 8 +
// 16 + 4 FCS = 62), so the sequence number and timestamp are 48 bits on the
// wire: 21 days of sequence numbers at 148.8 Mpps, and a latency up to 2^47
// ticks (12 hours at 3.2 GHz) from the low 48 bits of two TSC readings.
//
// Wire layout, big-endian:  0 magic (16)  2 seq (48)  8 stream (16)  10 tx_tsc (48)
//
// restamp() is the per-packet update of a frame that was built once: it writes
// a new sequence number and timestamp and fixes the UDP checksum incrementally
// (RFC 1624) over the two changed 64-bit words instead of recomputing it.
#pragma once

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

namespace bypass::gen {

inline constexpr uint16_t kGenMagic = 0xB9E7;
inline constexpr size_t kGenHeaderSize = 16;
inline constexpr uint64_t kGenFieldMask = (uint64_t{1} << 48) - 1;  // seq and tx_tsc on the wire

struct GenHeader {
  uint16_t magic = kGenMagic;
  uint16_t stream = 0;
  uint64_t seq = 0;     // 48 bits on the wire
  uint64_t tx_tsc = 0;  // low 48 bits on the wire
};

inline void write_gen_header(void* p, const GenHeader& h) {
  uint64_t w0 = rte_cpu_to_be_64(uint64_t{h.magic} << 48 | (h.seq & kGenFieldMask));
  uint64_t w1 = rte_cpu_to_be_64(uint64_t{h.stream} << 48 | (h.tx_tsc & kGenFieldMask));
  std::memcpy(p, &w0, 8);
  std::memcpy(static_cast<uint8_t*>(p) + 8, &w1, 8);
}

// False (and *h unspecified) if the magic is not ours.
inline bool read_gen_header(const void* p, GenHeader* h) {
  uint64_t w0, w1;
  std::memcpy(&w0, p, 8);
  std::memcpy(&w1, static_cast<const uint8_t*>(p) + 8, 8);
  w0 = rte_be_to_cpu_64(w0);
  w1 = rte_be_to_cpu_64(w1);
  h->magic = static_cast<uint16_t>(w0 >> 48);
  h->seq = w0 & kGenFieldMask;
  h->stream = static_cast<uint16_t>(w1 >> 48);
  h->tx_tsc = w1 & kGenFieldMask;
  return h->magic == kGenMagic;
}

// Ticks from a 48-bit tx timestamp to an rx TSC reading (either width).
// A result above 2^47 means rx came before tx: clocks not in step.
inline uint64_t gen_tsc_delta(uint64_t rx_tsc, uint64_t tx_tsc) {
  return (rx_tsc - tx_tsc) & kGenFieldMask;
}
inline constexpr uint64_t kGenNegativeDelta = uint64_t{1} << 47;

namespace detail {
// One's-complement sum of 64-bit words: the same, folded, as the sum of their
// 16-bit lanes (2^16 = 1 modulo 2^16 - 1).
inline uint64_t add_ones(uint64_t a, uint64_t b) {
  uint64_t s = a + b;
  return s + (s < a);
}
inline uint16_t fold_ones(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return static_cast<uint16_t>(s);
}
}  // namespace detail

// Rewrites seq and tx_tsc of the GenHeader at `gen` (magic and stream kept)
// and updates the UDP checksum at `udp_cksum` (memory order, as stored) to
// match. A zero checksum (IPv4 "none") stays zero.
inline void restamp(uint8_t* gen, uint8_t* udp_cksum, uint64_t seq, uint64_t tx_tsc) {
  // The first two bytes of each word (magic, stream) as they lie in memory.
  const uint64_t keep = rte_cpu_to_be_64(uint64_t{0xffff} << 48);
  uint64_t o0, o1;
  std::memcpy(&o0, gen, 8);
  std::memcpy(&o1, gen + 8, 8);
  uint64_t n0 = (o0 & keep) | rte_cpu_to_be_64(seq & kGenFieldMask);
  uint64_t n1 = (o1 & keep) | rte_cpu_to_be_64(tx_tsc & kGenFieldMask);
  std::memcpy(gen, &n0, 8);
  std::memcpy(gen + 8, &n1, 8);
  uint16_t ck;
  std::memcpy(&ck, udp_cksum, 2);
  if (ck == 0) return;
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over all four changed words.
  uint64_t s = static_cast<uint16_t>(~ck);
  s = detail::add_ones(s, ~o0);
  s = detail::add_ones(s, n0);
  s = detail::add_ones(s, ~o1);
  s = detail::add_ones(s, n1);
  ck = static_cast<uint16_t>(~detail::fold_ones(s));
  ck = ck ? ck : 0xffff;  // UDP sends a computed 0 as all ones
  std::memcpy(udp_cksum, &ck, 2);
}

// The same on a frame whose GenHeader is at `gen_offset`, right after the UDP
// header (StreamTable::gen_offset()).
inline void restamp(rte_mbuf* m, uint16_t gen_offset, uint64_t seq, uint64_t tx_tsc) {
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  restamp(f + gen_offset, f + gen_offset - 2, seq, tx_tsc);
}

}  // namespace bypass::gen
