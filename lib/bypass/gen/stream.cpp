#include <bypass/gen/stream.hpp>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_memcpy.h>
#include <rte_udp.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include <bypass/net/checksum.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/net/wire.hpp>

namespace bypass::gen {
namespace {

// An IPv6 address as a 128-bit number, and back (two byte-swapped halves).
Uint128 to_u128(const IpAddr& a) {
  uint64_t hi, lo;
  std::memcpy(&hi, a.b.data(), 8);
  std::memcpy(&lo, a.b.data() + 8, 8);
  return Uint128{rte_be_to_cpu_64(hi)} << 64 | rte_be_to_cpu_64(lo);
}

void put_u128(uint8_t* p, Uint128 v) {
  uint64_t hi = rte_cpu_to_be_64(static_cast<uint64_t>(v >> 64));
  uint64_t lo = rte_cpu_to_be_64(static_cast<uint64_t>(v));
  std::memcpy(p, &hi, 8);
  std::memcpy(p + 8, &lo, 8);
}

uint32_t host_v4(const IpAddr& a) {
  return rte_be_to_cpu_32(a.v4_be());
}

// Deterministic pseudo-random numbers (the splitmix64 mixer), one generator
// per field so that changing one field's order leaves the others' alone.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t field) : s_(seed ^ (field * 0xD1B54A32D192ED03ull)) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (multiply-high; bias below 2^-32 for n <= 2^32).
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((Uint128{next()} * n) >> 64); }

 private:
  uint64_t s_;
};

// lcm, saturating at UINT64_MAX.
uint64_t lcm_sat(uint64_t a, uint64_t b) {
  if (a == UINT64_MAX || b == UINT64_MAX) return UINT64_MAX;
  Uint128 l = Uint128{a} / std::gcd(a, b) * b;
  return l >> 64 ? UINT64_MAX : static_cast<uint64_t>(l);
}

// One cycle of a weighted mix, interleaved smoothly: at each slot the size
// furthest behind its share goes next, so 7:4:1 does not send 7 x 64 in a row.
std::vector<uint16_t> mix_cycle(const std::vector<SizeWeight>& mix) {
  uint32_t g = 0;
  for (const auto& m : mix) g = std::gcd(g, m.weight);
  uint64_t total = 0;
  for (const auto& m : mix) total += m.weight / g;
  std::vector<int64_t> credit(mix.size(), 0);
  std::vector<uint16_t> out;
  out.reserve(total);
  for (uint64_t slot = 0; slot < total; ++slot) {
    size_t best = 0;
    for (size_t k = 0; k < mix.size(); ++k) {
      credit[k] += mix[k].weight / g;
      if (credit[k] > credit[best]) best = k;
    }
    credit[best] -= static_cast<int64_t>(total);
    out.push_back(mix[best].size);
  }
  return out;
}

std::string range_text(const IpRange& r) {
  return r.first == r.last ? r.first.str() : r.first.str() + "-" + r.last.str();
}

Status check_ip(const Stream& s, const IpRange& r, const char* key) {
  auto fam = s.dst.first.family;
  if (r.first.family != fam || r.last.family != fam)
    return Status::error(std::string(key) + " " + range_text(r) + " and dst " + range_text(s.dst) +
                         " are of different IP families: give both as IPv4 or both as IPv6.");
  uint64_t n = r.count();
  if (n == 0)
    return Status::error(std::string(key) + " range " + range_text(r) +
                         " goes backwards: put the lower address first.");
  if (n > (uint64_t{1} << 32))
    return Status::error(std::string(key) + " range " + range_text(r) +
                         " has more than 2^32 addresses: narrow it.");
  if (r.order == Order::kIncrement && n > s.table)
    return Status::error(std::string(key) + " range " + range_text(r) + " has " +
                         std::to_string(n) + " addresses, more than the " +
                         std::to_string(s.table) + " flow templates of the stream: narrow it, " +
                         "raise table (up to 1048576) or set " + key + "_order = \"random\".");
  return Status::ok();
}

Status check_ports(const Stream& s, const PortRange& r, const char* key) {
  if (r.count() == 0)
    return Status::error(std::string(key) + " range " + std::to_string(r.first) + "-" +
                         std::to_string(r.last) + " goes backwards: put the lower port first.");
  if (r.order == Order::kIncrement && r.count() > s.table)
    return Status::error(std::string(key) + " range has " + std::to_string(r.count()) +
                         " ports, more than the " + std::to_string(s.table) +
                         " flow templates of the stream: narrow it, raise table or set " + key +
                         "_order = \"random\".");
  return Status::ok();
}

Status check_size(const Stream& s, uint32_t v) {
  if (v < s.min_frame()) {
    // Would the frame fit without the GenHeader?
    bool unstamped_fits = s.stamp && v >= kMinFrame && v + kGenHeaderSize >= s.min_frame();
    return Status::error("frame size " + std::to_string(v) + " is below the " +
                         std::to_string(s.min_frame()) + " bytes this stream's headers need (" +
                         (s.is_v6() ? "IPv6" : "IPv4") + (s.vlan ? ", VLAN" : "") +
                         (s.stamp ? ", the 16-byte GenHeader" : "") + " and the FCS): raise it" +
                         (unstamped_fits ? " or set stamp = false." : "."));
  }
  if (v > kMaxFrame)
    return Status::error("frame size " + std::to_string(v) + " is above the largest, " +
                         std::to_string(kMaxFrame) + " bytes: lower it.");
  return Status::ok();
}

}  // namespace

uint64_t IpRange::count() const {
  if (first.family != last.family || first.family == IpAddr::Family::kNone) return 0;
  if (first.is_v4()) {
    uint32_t a = host_v4(first), b = host_v4(last);
    return b >= a ? uint64_t{b} - a + 1 : 0;
  }
  Uint128 a = to_u128(first), b = to_u128(last);
  if (b < a) return 0;
  Uint128 d = b - a;
  return d >= UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(d) + 1;
}

uint16_t Stream::header_len() const {
  return static_cast<uint16_t>(14 + (vlan ? 4 : 0) + (is_v6() ? 40 : 20) + 8);
}

uint16_t Stream::min_frame() const {
  unsigned n = header_len() + (stamp ? kGenHeaderSize : 0) + kFcsLen;
  return static_cast<uint16_t>(std::max<unsigned>(n, kMinFrame));
}

Status validate(const Stream& s) {
  if (!s.dst.first.is_v4() && !s.dst.first.is_v6())
    return Status::error(
        "dst is required: give an IPv4 or IPv6 address or a range, like dst = \"198.18.0.2\".");
  if (s.src.first.family == IpAddr::Family::kNone)
    return Status::error(
        "src is missing: give the source address or range, like src = "
        "\"198.18.0.1\".");
  if (s.table < 1 || s.table > kMaxTableEntries)
    return Status::error("table must be from 1 to 1048576 flow templates, not " +
                         std::to_string(s.table) + ".");
  if (Status st = check_ip(s, s.dst, "dst"); !st) return st;
  if (Status st = check_ip(s, s.src, "src"); !st) return st;
  if (Status st = check_ports(s, s.sport, "sport"); !st) return st;
  if (Status st = check_ports(s, s.dport, "dport"); !st) return st;
  if (s.vlan && *s.vlan > 4095)
    return Status::error("vlan must be a VLAN id from 0 to 4095, not " + std::to_string(*s.vlan) +
                         ".");
  if (s.vlan_pcp > 7) return Status::error("vlan_pcp must be a priority from 0 to 7.");
  if (s.ttl == 0) return Status::error("ttl must be from 1 to 255.");
  if (s.pps < 0 || !(s.pps == s.pps))
    return Status::error("pps must be a positive number of packets per second.");
  if (s.percent < 0 || s.percent > 100 || !(s.percent == s.percent))
    return Status::error("percent must be a share of the line rate from 0 to 100.");
  if (s.pps > 0 && s.percent > 0)
    return Status::error("pps and percent both set a rate: keep one of them.");
  const FrameSizes& z = s.size;
  switch (z.mode) {
    case SizeMode::kFixed:
      return check_size(s, z.min);
    case SizeMode::kRange:
      if (z.min > z.max)
        return Status::error("size range " + std::to_string(z.min) + "-" + std::to_string(z.max) +
                             " goes backwards: put the smaller size first.");
      if (Status st = check_size(s, z.min); !st) return st;
      if (Status st = check_size(s, z.max); !st) return st;
      if (z.order == Order::kIncrement && z.max - z.min + 1u > s.table)
        return Status::error("size range has more sizes than the stream's " +
                             std::to_string(s.table) + " flow templates: raise table.");
      return Status::ok();
    case SizeMode::kMix: {
      if (z.mix.empty() || z.mix.size() > 256)
        return Status::error("imix must list 1 to 256 [size, weight] pairs.");
      uint32_t g = 0;
      for (const auto& m : z.mix) {
        if (m.weight == 0)
          return Status::error("imix weight of size " + std::to_string(m.size) +
                               " is 0: give it a weight of 1 or more, or leave it out.");
        if (Status st = check_size(s, m.size); !st) return st;
        g = std::gcd(g, m.weight);
      }
      uint64_t total = 0;
      for (const auto& m : z.mix) total += m.weight / g;
      if (total > s.table)
        return Status::error("imix weights add up to " + std::to_string(total) +
                             " frames per cycle, more than the stream's " +
                             std::to_string(s.table) + " flow templates: use smaller weights.");
      return Status::ok();
    }
  }
  return Status::ok();
}

Rate stream_rate(const Stream& s, uint64_t link_mbps) {
  if (s.pps > 0) return Rate::pps(s.pps);
  if (!(s.percent > 0)) return Rate::max();
  switch (s.size.mode) {
    case SizeMode::kFixed:
      return Rate::line(link_mbps, s.size.min, s.percent);
    case SizeMode::kRange:
      return Rate::line(link_mbps, uint64_t{s.size.min} + s.size.max, s.percent, 2);
    case SizeMode::kMix: {
      uint64_t bytes = 0, frames = 0;
      for (const auto& m : s.size.mix) {
        bytes += uint64_t{m.size} * m.weight;
        frames += m.weight;
      }
      return Rate::line(link_mbps, bytes, s.percent, frames);
    }
  }
  return Rate::max();
}

Expected<StreamTable> StreamTable::expand(const Stream& s) {
  if (Status st = validate(s); !st) return st;
  StreamTable t;
  t.s_ = s;
  const uint64_t cap = s.table;

  // Cycle: lcm of the incrementing fields' counts and the size cycle.
  bool any_random = false;
  uint64_t cycle = 1;
  auto field = [&](uint64_t n, Order o) {
    if (n <= 1) return;
    if (o == Order::kRandom)
      any_random = true;
    else
      cycle = lcm_sat(cycle, n);
  };
  field(s.src.count(), s.src.order);
  field(s.dst.count(), s.dst.order);
  field(s.sport.count(), s.sport.order);
  field(s.dport.count(), s.dport.order);
  std::vector<uint16_t> mix;
  uint64_t size_cycle = 1;
  const FrameSizes& z = s.size;
  if (z.mode == SizeMode::kRange) {
    field(z.max - z.min + 1u, z.order);
    if (z.order == Order::kIncrement) size_cycle = z.max - z.min + 1u;
  } else if (z.mode == SizeMode::kMix) {
    mix = mix_cycle(z.mix);
    size_cycle = mix.size();
    cycle = lcm_sat(cycle, size_cycle);
    any_random |= z.order == Order::kRandom && mix.size() > 1;
  }
  uint64_t n;
  if (cycle <= cap) {
    n = any_random ? cycle * (cap / cycle) : cycle;
  } else {
    n = size_cycle * (cap / size_cycle);
    t.complete_ = false;
  }
  t.cycle_ = cycle;

  Rng r_src(s.seed, 1), r_dst(s.seed, 2), r_sport(s.seed, 3), r_dport(s.seed, 4), r_size(s.seed, 5);
  auto pick = [](uint64_t i, uint64_t count, Order o, Rng& r) -> uint64_t {
    if (count <= 1) return 0;
    return o == Order::kRandom ? r.below(count) : i % count;
  };
  std::vector<uint16_t> shuffled = mix;
  t.entries_.resize(n);
  uint16_t largest = 0;
  for (uint64_t i = 0; i < n; ++i) {
    FlowTemplate& e = t.entries_[i];
    e.src = static_cast<uint32_t>(pick(i, s.src.count(), s.src.order, r_src));
    e.dst = static_cast<uint32_t>(pick(i, s.dst.count(), s.dst.order, r_dst));
    e.sport =
        static_cast<uint16_t>(s.sport.first + pick(i, s.sport.count(), s.sport.order, r_sport));
    e.dport =
        static_cast<uint16_t>(s.dport.first + pick(i, s.dport.count(), s.dport.order, r_dport));
    switch (z.mode) {
      case SizeMode::kFixed:
        e.frame = z.min;
        break;
      case SizeMode::kRange:
        e.frame = static_cast<uint16_t>(z.min + pick(i, z.max - z.min + 1u, z.order, r_size));
        break;
      case SizeMode::kMix:
        if (z.order == Order::kRandom && i % mix.size() == 0) {  // a new cycle, shuffled
          shuffled = mix;
          for (size_t k = shuffled.size(); k > 1; --k)
            std::swap(shuffled[k - 1], shuffled[r_size.below(k)]);
        }
        e.frame = shuffled[i % mix.size()];
        break;
    }
    largest = std::max(largest, e.frame);
    t.table_bytes_ += e.frame;
  }
  t.make_prototype();
  t.make_pattern(largest);
  t.make_heads();
  return t;
}

void StreamTable::make_prototype() {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(proto_);
  eth->dst_addr = to_ether(s_.dst_mac);
  eth->src_addr = to_ether(s_.src_mac);
  uint16_t l3_type = s_.is_v6() ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
  l2_len_ = sizeof(rte_ether_hdr);
  if (s_.vlan) {
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
    auto* v = reinterpret_cast<rte_vlan_hdr*>(proto_ + l2_len_);
    v->vlan_tci = rte_cpu_to_be_16(static_cast<uint16_t>(s_.vlan_pcp << 13 | *s_.vlan));
    v->eth_proto = rte_cpu_to_be_16(l3_type);
    l2_len_ += sizeof(rte_vlan_hdr);
  } else {
    eth->ether_type = rte_cpu_to_be_16(l3_type);
  }
  if (s_.is_v6()) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(proto_ + l2_len_);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | uint32_t{s_.tos} << 20);
    ip->proto = kProtoUdp;
    ip->hop_limits = s_.ttl;
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(proto_ + l2_len_);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = s_.tos;
    ip->time_to_live = s_.ttl;
    ip->next_proto_id = kProtoUdp;
    ip4_fixed_sum_ = rte_raw_cksum(ip, sizeof(rte_ipv4_hdr));  // length, addresses, sum: 0
  }
  hdr_len_ = s_.header_len();
  src_first_ = s_.is_v6() ? to_u128(s_.src.first) : host_v4(s_.src.first);
  dst_first_ = s_.is_v6() ? to_u128(s_.dst.first) : host_v4(s_.dst.first);
}

void StreamTable::make_pattern(uint16_t max_frame) {
  size_t len = max_frame - kFcsLen - hdr_len_ - (s_.stamp ? kGenHeaderSize : 0);
  pattern_.assign(len, 0);
  Rng r(s_.seed, 6);
  for (size_t k = 0; k < len; ++k) {
    switch (s_.payload) {
      case PayloadKind::kZeros:
        break;
      case PayloadKind::kIncrement:
        pattern_[k] = static_cast<uint8_t>(k);
        break;
      case PayloadKind::kRandom:
        pattern_[k] = static_cast<uint8_t>(r.next());
        break;
      case PayloadKind::kFixed:
        pattern_[k] = s_.fill;
        break;
    }
  }
  // Sums as rte_raw_cksum forms them: native 16-bit loads, an odd last byte
  // as the first byte of a zero-padded word.
  pattern_sum_.assign(len + 1, 0);
  uint32_t even = 0;
  for (size_t n = 1; n <= len; ++n) {
    uint16_t w = 0;
    if (n % 2 == 0) {
      std::memcpy(&w, &pattern_[n - 2], 2);
      even += w;
      pattern_sum_[n] = even;
    } else {
      std::memcpy(&w, &pattern_[n - 1], 1);
      pattern_sum_[n] = even + w;
    }
  }
}

IpAddr StreamTable::src_ip(const FlowTemplate& e) const {
  if (s_.src.first.is_v4()) return IpAddr::v4(rte_cpu_to_be_32(host_v4(s_.src.first) + e.src));
  uint8_t b[16];
  put_u128(b, to_u128(s_.src.first) + e.src);
  return IpAddr::v6(b);
}

IpAddr StreamTable::dst_ip(const FlowTemplate& e) const {
  if (s_.dst.first.is_v4()) return IpAddr::v4(rte_cpu_to_be_32(host_v4(s_.dst.first) + e.dst));
  uint8_t b[16];
  put_u128(b, to_u128(s_.dst.first) + e.dst);
  return IpAddr::v6(b);
}

void StreamTable::set_macs(const MacAddr& src, const MacAddr& dst) {
  s_.src_mac = src;
  s_.dst_mac = dst;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(proto_);
  eth->src_addr = to_ether(src);
  eth->dst_addr = to_ether(dst);
  make_heads();
}

bool StreamTable::build(rte_mbuf* m, uint32_t i, uint64_t seq, uint64_t tx_tsc) const {
  const FlowTemplate& e = entries_[i];
  const uint16_t len = e.frame - kFcsLen;
  if (m->nb_segs != 1 || uint32_t{m->data_off} + len > m->buf_len) return false;
  write_frame(static_cast<uint8_t*>(m->buf_addr) + m->data_off, e, seq, tx_tsc);
  m->data_len = len;
  m->pkt_len = len;
  m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
  m->tx_offload = tx_offload_;
  m->packet_type = ptype_;
  return true;
}

bool StreamTable::fits(rte_mempool* pool) const {
  return uint32_t{rte_pktmbuf_data_room_size(pool)} >= uint32_t{RTE_PKTMBUF_HEADROOM} + max_write();
}

void StreamTable::make_heads() {
  const uint16_t gen = s_.stamp ? kGenHeaderSize : 0;
  stride_ = hdr_len_ + gen <= 64 ? 64 : 128;
  tail_off_ = static_cast<uint16_t>(stride_ - hdr_len_ - gen);
  max_len_ = 0;
  for (const FlowTemplate& e : entries_)
    max_len_ = std::max<uint16_t>(max_len_, static_cast<uint16_t>(e.frame - kFcsLen));
  std::vector<uint8_t> frame(std::max<uint16_t>(max_len_, stride_));
  heads_.assign(entries_.size() * stride_, 0);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const FlowTemplate& e = entries_[i];
    std::fill(frame.begin(), frame.end(), 0);
    write_frame(frame.data(), e, 0, 0);
    std::memcpy(&heads_[i * stride_], frame.data(), stride_);
  }
  if (s_.stamp) {
    head_w0_ = rte_cpu_to_be_64(uint64_t{kGenMagic} << 48);
    head_w1_ = rte_cpu_to_be_64(uint64_t{s_.id} << 48);
  }
  rte_mbuf shape{};
  shape.l2_len = l2_len_;
  shape.l3_len = s_.is_v6() ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  tx_offload_ = shape.tx_offload;
  ptype_ =
      RTE_PTYPE_L2_ETHER | RTE_PTYPE_L4_UDP | (s_.is_v6() ? RTE_PTYPE_L3_IPV6 : RTE_PTYPE_L3_IPV4);
}

void StreamTable::write_frame(uint8_t* f, const FlowTemplate& e, uint64_t seq,
                              uint64_t tx_tsc) const {
  const uint16_t len = e.frame - kFcsLen;
  std::memcpy(f, proto_, hdr_len_);
  const uint16_t l3_len = s_.is_v6() ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  const uint16_t udp_len = static_cast<uint16_t>(len - l2_len_ - l3_len);
  uint32_t sum;
  if (s_.is_v6()) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(f + l2_len_);
    ip->payload_len = rte_cpu_to_be_16(udp_len);
    put_u128(ip->src_addr, src_first_ + e.src);
    put_u128(ip->dst_addr, dst_first_ + e.dst);
    sum = pseudo_sum_v6(ip, udp_len, kProtoUdp);
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + l2_len_);
    const uint16_t total_be = rte_cpu_to_be_16(static_cast<uint16_t>(len - l2_len_));
    const uint32_t src_be = rte_cpu_to_be_32(static_cast<uint32_t>(src_first_) + e.src);
    const uint32_t dst_be = rte_cpu_to_be_32(static_cast<uint32_t>(dst_first_) + e.dst);
    ip->total_length = total_be;
    ip->src_addr = src_be;
    ip->dst_addr = dst_be;
    // The fixed fields' sum was taken once; add what changes. The addresses
    // are in the UDP pseudo-header too.
    const uint32_t addr_sum =
        (src_be & 0xffff) + (src_be >> 16) + (dst_be & 0xffff) + (dst_be >> 16);
    ip->hdr_checksum = finish_cksum(ip4_fixed_sum_ + total_be + addr_sum);
    sum = addr_sum + rte_cpu_to_be_16(kProtoUdp) + rte_cpu_to_be_16(udp_len);
  }
  auto* udp = reinterpret_cast<rte_udp_hdr*>(f + l2_len_ + l3_len);
  udp->src_port = rte_cpu_to_be_16(e.sport);
  udp->dst_port = rte_cpu_to_be_16(e.dport);
  udp->dgram_len = rte_cpu_to_be_16(udp_len);
  udp->dgram_cksum = 0;
  sum += uint32_t{udp->src_port} + udp->dst_port + udp->dgram_len;
  uint8_t* pay = f + hdr_len_;
  size_t gen = 0;
  if (s_.stamp) {
    write_gen_header(pay, GenHeader{kGenMagic, s_.id, seq, tx_tsc});
    sum += rte_raw_cksum(pay, kGenHeaderSize);
    gen = kGenHeaderSize;
  }
  size_t pat_len = len - hdr_len_ - gen;
  rte_memcpy(pay + gen, pattern_.data(), pat_len);
  sum += pattern_sum_[pat_len];
  udp->dgram_cksum = finish_udp_cksum(sum);
}

}  // namespace bypass::gen
