// Streams of the traffic generator. A Stream says what one stream sends:
// Ethernet/IPv4 or IPv6/UDP frames whose addresses and ports are fixed or
// ranges, whose sizes are fixed, a range or a weighted mix (IMIX), with a
// payload pattern and a GenHeader. It is parsed from a [[gen.stream]] TOML
// table or a command-line string, then expanded once into a StreamTable of
// flow templates that the TX fast path walks in order (TemplateCursor); the
// table keeps the first 64 (or 128) bytes of every entry's frame prebuilt, so
// the per-packet emit() is a copy, a stamp and an incremental checksum;
// build() writes a frame from scratch, and gen_header.hpp's restamp() updates
// a built frame.
//
// Keys, the same in TOML and on the command line ("dst=198.18.0.2 dport=7
// size=64 sport=1000-1999", key=value separated by spaces):
//   dst        address or range "first-last", IPv4 or IPv6          (required)
//   src        address or range         default 198.18.0.1 / 2001:2::1
//   sport      port or range "1000-1999"                           default 1024
//   dport      port or range                                       default 9
//   size       frame bytes with FCS: 64, a range "64-1518", or "imix" (simple
//              IMIX, 7:4:1 of 64/594/1518 bytes)   default: the smallest the
//              headers fit in: 64 for IPv4, 82 for IPv6 (GenHeader), +4 with VLAN
//   imix       a custom mix instead of size: [[64, 7], [594, 4], [1518, 1]] or
//              "64:7,594:4,1518:1" (weights are reduced by their gcd)
//   src_order, dst_order, sport_order, dport_order, size_order:
//              "increment" or "random" (seeded; a random mix keeps its
//              proportions exact per cycle)                        default increment
//   payload    "zeros", "increment", "random" (seeded bytes, the same in every
//              packet of the stream) or one byte 0..255 repeated   default zeros
//   stamp      true: a GenHeader starts the payload                default true
//   src_mac, dst_mac  "02:00:00:00:00:01"; absent: zero, for the program to fill
//   vlan       802.1Q VLAN id 0..4095 (absent: untagged); vlan_pcp 0..7
//   ttl        IPv4 TTL / IPv6 hop limit 1..255 (64); tos: IPv4 TOS / IPv6 class
//   pps        packets per second, or percent: of the port's line rate (absent:
//              max rate)
//   name, id   how reports name it; id: 0..65535, unique, default its
//              position (bypass-gen stamps a flow number of its own per worker)
//   seed       of the random orders and payload                    default 1
//   table      most flow templates, 1..1048576                     default 65536
//
// Fields vary independently: template i uses value i mod count of each
// incrementing range. The table holds one whole cycle (the least common
// multiple of the ranges' counts and the size cycle) when that fits; otherwise
// as many whole size cycles as fit, and complete() is false. An incrementing
// range may not have more values than `table`; a random one may.
#pragma once

#include <rte_mbuf.h>
#include <rte_memcpy.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bypass/core/config_value.hpp>
#include <bypass/core/status.hpp>
#include <bypass/gen/gen_header.hpp>
#include <bypass/gen/pacer.hpp>
#include <bypass/net/addr.hpp>

namespace bypass::gen {

inline constexpr uint16_t kMinFrame = 64;
inline constexpr uint16_t kMaxFrame = 9216;
inline constexpr uint16_t kFcsLen = 4;  // counted in frame sizes, appended by the NIC
inline constexpr uint32_t kDefaultTableEntries = 65536;
inline constexpr uint32_t kMaxTableEntries = 1u << 20;

enum class Order : uint8_t { kIncrement, kRandom };
enum class SizeMode : uint8_t { kFixed, kRange, kMix };
enum class PayloadKind : uint8_t { kZeros, kIncrement, kRandom, kFixed };

struct IpRange {
  IpAddr first, last;  // equal: a fixed address
  Order order = Order::kIncrement;
  uint64_t count() const;  // addresses in the range; 0 if last < first or families differ
};

struct PortRange {
  uint16_t first = 0, last = 0;
  Order order = Order::kIncrement;
  uint32_t count() const { return last >= first ? last - first + 1u : 0; }
};

struct SizeWeight {
  uint16_t size = 0;
  uint32_t weight = 0;
  bool operator==(const SizeWeight&) const = default;
};
// Simple IMIX: 7 x 64, 4 x 594 and 1 x 1518 bytes (mean 361.83 bytes).
inline constexpr SizeWeight kSimpleImix[] = {{64, 7}, {594, 4}, {1518, 1}};

struct FrameSizes {
  SizeMode mode = SizeMode::kFixed;
  uint16_t min = 64, max = 64;  // fixed: min
  Order order = Order::kIncrement;
  std::vector<SizeWeight> mix;  // kMix
};

struct Stream {
  std::string name;
  uint16_t id = 0;
  MacAddr src_mac, dst_mac;
  std::optional<uint16_t> vlan;
  uint8_t vlan_pcp = 0;
  IpRange src, dst;
  PortRange sport{1024, 1024}, dport{9, 9};
  FrameSizes size;
  PayloadKind payload = PayloadKind::kZeros;
  uint8_t fill = 0;  // kFixed
  bool stamp = true;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint64_t seed = 1;
  double pps = 0;      // > 0: this rate
  double percent = 0;  // > 0: of line rate
  uint32_t table = kDefaultTableEntries;

  bool is_v6() const { return dst.first.is_v6(); }
  // Bytes before the UDP payload: Ethernet (+ VLAN), IP, UDP.
  uint16_t header_len() const;
  // The smallest frame (with FCS) the headers and GenHeader fit in, >= 64.
  uint16_t min_frame() const;
};

// Everything wrong with a stream, as the first mistake found.
Status validate(const Stream& s);

// One [[gen.stream]] table; `where` names it in messages. Validated.
Expected<Stream> parse_stream(const ConfigValue& t, const std::string& where, uint16_t default_id);
// Every [[gen.stream]] of a config document (Config::app); ids must differ.
Expected<std::vector<Stream>> parse_streams(const ConfigValue& doc);
// "dst=198.18.0.2 dport=7 size=64 sport=1000-1999". Validated.
Expected<Stream> parse_stream_arg(std::string_view text, uint16_t default_id = 0);

// The stream's rate on a link of link_mbps (its mean frame size for percent).
Rate stream_rate(const Stream& s, uint64_t link_mbps);

// Header fields and size of one packet of a stream.
struct FlowTemplate {
  uint32_t src = 0;  // offset into the src range
  uint32_t dst = 0;  // offset into the dst range
  uint16_t sport = 0, dport = 0;
  uint16_t frame = 0;  // bytes with FCS; the mbuf holds frame - 4
  uint16_t reserved = 0;
};
static_assert(sizeof(FlowTemplate) == 16);

class StreamTable {
 public:
  static Expected<StreamTable> expand(const Stream& s);

  uint32_t size() const { return static_cast<uint32_t>(entries_.size()); }
  const FlowTemplate& operator[](uint32_t i) const { return entries_[i]; }
  std::span<const FlowTemplate> entries() const { return entries_; }
  const Stream& stream() const { return s_; }
  // True when the table is a whole cycle of every incrementing field.
  bool complete() const { return complete_; }
  // Packets after which all incrementing fields repeat (saturates at 2^64 - 1).
  uint64_t cycle() const { return cycle_; }
  // Sum of the frame sizes of the table (for Rate::line with size() frames).
  uint64_t table_bytes() const { return table_bytes_; }
  IpAddr src_ip(const FlowTemplate& e) const;
  IpAddr dst_ip(const FlowTemplate& e) const;
  // Where the GenHeader starts in a frame (0 when the stream has no stamp).
  uint16_t gen_offset() const { return s_.stamp ? hdr_len_ : 0; }
  uint16_t header_len() const { return hdr_len_; }
  // The program's MACs (port, neighbour) for frames built from now on.
  void set_macs(const MacAddr& src, const MacAddr& dst);

  // Writes the frame of entry i (frame - 4 bytes) into a one-segment mbuf,
  // replacing its data, with the GenHeader {id, seq, tx_tsc} and correct IP
  // and UDP checksums (no offload flags). False if the mbuf has no room.
  bool build(rte_mbuf* m, uint32_t i, uint64_t seq = 0, uint64_t tx_tsc = 0) const;

  // The TX fast path: the same frame as build(), from the prebuilt head of
  // entry i (one or two cache lines: headers, GenHeader, payload start) plus
  // the payload's tail, with seq and tx_tsc stamped and the UDP checksum
  // updated incrementally. m comes from rte_pktmbuf_alloc_bulk on a pool whose
  // data room holds max_write() bytes after the headroom (checked once, by
  // fits()). Returns the frame's bytes on the wire (with FCS).
  uint16_t emit(rte_mbuf* m, uint32_t i, uint64_t seq, uint64_t tx_tsc) const {
    const FlowTemplate& e = entries_[i];
    const uint16_t len = static_cast<uint16_t>(e.frame - kFcsLen);
    const uint8_t* h = heads_.data() + size_t{i} * stride_;
    uint8_t* f = static_cast<uint8_t*>(m->buf_addr) + m->data_off;
    if (stride_ == 64)
      std::memcpy(f, h, 64);
    else
      std::memcpy(f, h, 128);
    if (len > stride_) rte_memcpy(f + stride_, pattern_.data() + tail_off_, len - stride_);
    if (s_.stamp) {
      // The head was built with seq and tx_tsc 0: their bits only add to the
      // 16-bit lanes of the sum (RFC 1624 with m = 0).
      const uint64_t seq_be = rte_cpu_to_be_64(seq & kGenFieldMask);
      const uint64_t tsc_be = rte_cpu_to_be_64(tx_tsc & kGenFieldMask);
      uint8_t* g = f + hdr_len_;
      const uint64_t w0 = head_w0_ | seq_be, w1 = head_w1_ | tsc_be;
      std::memcpy(g, &w0, 8);
      std::memcpy(g + 8, &w1, 8);
      uint16_t ck;
      std::memcpy(&ck, h + hdr_len_ - 2, 2);
      uint64_t sum = static_cast<uint16_t>(~ck);
      sum = detail::add_ones(sum, seq_be);
      sum = detail::add_ones(sum, tsc_be);
      ck = static_cast<uint16_t>(~detail::fold_ones(sum));
      ck = ck ? ck : 0xffff;
      std::memcpy(g - 2, &ck, 2);
    }
    m->data_len = len;
    m->pkt_len = len;
    m->tx_offload = tx_offload_;
    m->packet_type = ptype_;
    return e.frame;
  }
  // Bytes emit() may write after data_off, and whether a pool's mbufs hold them.
  uint16_t max_write() const { return std::max<uint16_t>(stride_, max_len_); }
  bool fits(rte_mempool* pool) const;

 private:
  StreamTable() = default;
  void make_prototype();
  void make_pattern(uint16_t max_frame);
  void make_heads();
  void write_frame(uint8_t* f, const FlowTemplate& e, uint64_t seq, uint64_t tx_tsc) const;

  Stream s_;
  std::vector<FlowTemplate> entries_;
  bool complete_ = true;
  uint64_t cycle_ = 1;
  uint64_t table_bytes_ = 0;
  uint16_t hdr_len_ = 0;  // Ethernet (+ VLAN) + IP + UDP
  uint16_t l2_len_ = 0;
  uint32_t ip4_fixed_sum_ = 0;             // IPv4 header sum without length and addresses
  Uint128 src_first_ = 0, dst_first_ = 0;  // range starts, as numbers (IPv4: host order)
  uint8_t proto_[14 + 4 + 40 + 8] = {};    // headers with the fixed fields
  std::vector<uint8_t> pattern_;           // payload after the GenHeader
  std::vector<uint32_t> pattern_sum_;      // [n]: unfolded checksum sum of pattern_[0, n)
  // emit(): entry i's first stride_ bytes at heads_[i * stride_], stamped with
  // seq 0 and tx_tsc 0; the payload from byte stride_ on; mbuf fields.
  std::vector<uint8_t> heads_;
  uint16_t stride_ = 64;
  uint16_t max_len_ = 0;                // largest frame without FCS
  uint16_t tail_off_ = 0;               // where pattern_ holds frame byte stride_
  uint64_t head_w0_ = 0, head_w1_ = 0;  // GenHeader words with seq and tx_tsc 0, as stored
  uint64_t tx_offload_ = 0;
  uint32_t ptype_ = 0;
};

// Walks a table's entries in order, wrapping without a division.
class TemplateCursor {
 public:
  explicit TemplateCursor(uint32_t size, uint32_t start = 0)
      : n_(size ? size : 1), i_(start % n_) {}
  uint32_t next() {
    uint32_t r = i_;
    i_ = i_ + 1 == n_ ? 0 : i_ + 1;
    return r;
  }
  uint32_t position() const { return i_; }

 private:
  uint32_t n_;
  uint32_t i_;
};

}  // namespace bypass::gen
