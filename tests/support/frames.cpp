#include "frames.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <bypass/net/checksum.hpp>
#include <bypass/net/wire.hpp>

namespace bypass::test {
namespace {

constexpr uint8_t kRouting = 43, kFragment = 44, kAh = 51, kNoNext = 59;
constexpr uint8_t kUdp = 17, kIcmp = 1, kIcmp6 = 58;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
void set16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
// resize + memcpy rather than insert: GCC 12 warns falsely (-Warray-bounds) on
// inlined vector inserts into small vectors.
void put_raw(Bytes& b, const uint8_t* p, size_t n) {
  const size_t at = b.size();
  b.resize(at + n);
  if (n) std::memcpy(b.data() + at, p, n);
}
void put_mac(Bytes& b, const MacAddr& m) {
  put_raw(b, m.b.data(), m.b.size());
}
void put(Bytes& b, const Bytes& more) {
  put_raw(b, more.data(), more.size());
}

// The bytes of an extension header; its next-header byte is filled by the caller.
Bytes ext_bytes(const Ip6ExtSpec& e) {
  Bytes b{0, 0};
  put(b, e.body);
  const size_t unit = e.type == kAh ? 4 : 8;
  if (!e.len) {
    while (b.size() < unit || b.size() % unit) b.push_back(0);
    b[1] = static_cast<uint8_t>(e.type == kAh ? b.size() / 4 - 2 : b.size() / 8 - 1);
  } else {
    b[1] = *e.len;
  }
  return b;
}

// The checksum field of a layer-4 message once the rest is final.
uint16_t l4_checksum(const Packet& pk, const Bytes& l4, uint8_t proto) {
  size_t len = l4.size();
  if (proto == kUdp) len = std::min<size_t>(len, be16(l4, 4));
  uint32_t start = 0;
  if (const auto* v4 = std::get_if<Ip4Spec>(&pk.l3); v4 && proto != kIcmp) {
    start = (v4->src >> 16) + (v4->src & 0xffff) + (v4->dst >> 16) + (v4->dst & 0xffff) + proto +
            static_cast<uint32_t>(len);
  } else if (const auto* v6 = std::get_if<Ip6Spec>(&pk.l3)) {
    Bytes ph;
    put_raw(ph, v6->src.data(), 16);
    put_raw(ph, v6->dst.data(), 16);
    put32(ph, static_cast<uint32_t>(len));
    put32(ph, proto);
    start = ones_sum(ph.data(), ph.size());
  }
  return static_cast<uint16_t>(~ones_sum(l4.data(), len, start));
}

}  // namespace

Ip6 ip6(std::string_view text) {
  auto a = IpAddr::parse(text);
  if (!a || !a->is_v6()) {
    std::fprintf(stderr, "frames: \"%.*s\" is not an IPv6 address\n", static_cast<int>(text.size()),
                 text.data());
    std::abort();
  }
  Ip6 r;
  std::memcpy(r.data(), a->v6_bytes(), 16);
  return r;
}

Ip6 solicited_node(const Ip6& a) {
  Ip6 r = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13], a[14], a[15]};
  return r;
}

MacAddr multicast_mac(const Ip6& g) {
  return MacAddr{{0x33, 0x33, g[12], g[13], g[14], g[15]}};
}

Ip6ExtSpec ext_options(uint8_t type, size_t body) {
  return Ip6ExtSpec{type, Bytes(body, 0), {}, {}};  // Pad1 options
}

Ip6ExtSpec ext_routing(uint8_t routing_type, uint8_t segments_left) {
  Bytes body{routing_type, segments_left, 0, 0, 0, 0};
  if (segments_left) body.resize(body.size() + 16u * segments_left, 0x20);  // addresses
  return Ip6ExtSpec{kRouting, body, {}, {}};
}

Ip6ExtSpec ext_fragment(uint16_t offset_units, bool more, uint32_t id) {
  Bytes body{0};
  put16(body, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
  put32(body, id);
  return Ip6ExtSpec{kFragment, body, uint8_t{0}, {}};
}

Bytes lla_option(uint8_t type, const MacAddr& mac) {
  Bytes b{type, 1};
  put_mac(b, mac);
  return b;
}

Bytes Packet::build() const {
  // Layer 4 and payload.
  Bytes l4b;
  uint8_t proto = 255;
  if (const auto* u = std::get_if<UdpSpec>(&l4)) {
    proto = kUdp;
    put16(l4b, u->sport);
    put16(l4b, u->dport);
    put16(l4b, u->length.value_or(static_cast<uint16_t>(8 + payload.size())));
    put16(l4b, 0);
  } else if (const auto* ic = std::get_if<IcmpSpec>(&l4)) {
    proto = std::holds_alternative<Ip6Spec>(l3) ? kIcmp6 : kIcmp;
    l4b = {ic->type, ic->code, 0, 0};
    put32(l4b, ic->rest);
  }
  put(l4b, payload);
  if (const auto* u = std::get_if<UdpSpec>(&l4)) {
    uint16_t c = u->checksum.value_or(0);
    if (!u->checksum) {
      c = l4_checksum(*this, l4b, proto);
      if (c == 0) c = 0xffff;
    }
    set16(l4b, 6, c ^ u->checksum_xor);
  } else if (const auto* ic = std::get_if<IcmpSpec>(&l4)) {
    uint16_t c = ic->checksum ? *ic->checksum : l4_checksum(*this, l4b, proto);
    set16(l4b, 2, c ^ ic->checksum_xor);
  }

  // Layer 3.
  Bytes l3b;
  uint16_t type = 0x88b5;  // local experimental, for frames without layer 3
  if (const auto* a = std::get_if<ArpSpec>(&l3)) {
    type = 0x0806;
    put16(l3b, a->htype);
    put16(l3b, a->ptype);
    l3b.push_back(a->hlen);
    l3b.push_back(a->plen);
    put16(l3b, a->op);
    put_mac(l3b, a->sha);
    put32(l3b, a->sip);
    put_mac(l3b, a->tha);
    put32(l3b, a->tip);
    put(l3b, l4b);
  } else if (const auto* v4 = std::get_if<Ip4Spec>(&l3)) {
    type = 0x0800;
    Bytes opts = v4->options;
    while (opts.size() % 4) opts.push_back(0);
    const uint8_t ihl = v4->ihl.value_or(static_cast<uint8_t>((20 + opts.size()) / 4));
    l3b.push_back(static_cast<uint8_t>(v4->version << 4 | (ihl & 0x0f)));
    l3b.push_back(v4->tos);
    put16(l3b, v4->total_length.value_or(static_cast<uint16_t>(20 + opts.size() + l4b.size())));
    put16(l3b, v4->id);
    put16(l3b, v4->frag);
    l3b.push_back(v4->ttl);
    l3b.push_back(v4->proto.value_or(proto));
    put16(l3b, 0);
    put32(l3b, v4->src);
    put32(l3b, v4->dst);
    put(l3b, opts);
    uint16_t c =
        v4->checksum ? *v4->checksum : static_cast<uint16_t>(~ones_sum(l3b.data(), l3b.size()));
    set16(l3b, 10, c ^ v4->checksum_xor);
    put(l3b, l4b);
  } else if (const auto* v6 = std::get_if<Ip6Spec>(&l3)) {
    type = 0x86dd;
    Bytes chain;
    for (size_t i = 0; i < v6->ext.size(); ++i) {
      Bytes e = ext_bytes(v6->ext[i]);
      uint8_t follow =
          i + 1 < v6->ext.size() ? v6->ext[i + 1].type : (proto == 255 ? kNoNext : proto);
      e[0] = v6->ext[i].next.value_or(follow);
      put(chain, e);
    }
    put32(l3b, static_cast<uint32_t>(v6->version) << 28 | static_cast<uint32_t>(v6->tclass) << 20 |
                   (v6->flow & 0xfffff));
    put16(l3b, v6->payload_length.value_or(static_cast<uint16_t>(chain.size() + l4b.size())));
    l3b.push_back(
        v6->next.value_or(v6->ext.empty() ? (proto == 255 ? kNoNext : proto) : v6->ext[0].type));
    l3b.push_back(v6->hop_limit);
    put_raw(l3b, v6->src.data(), 16);
    put_raw(l3b, v6->dst.data(), 16);
    put(l3b, chain);
    put(l3b, l4b);
  } else {
    put(l3b, l4b);
  }

  // Link layer.
  Bytes f;
  put_mac(f, eth.dst);
  put_mac(f, eth.src);
  for (size_t i = 0; i < eth.tags.size(); ++i) {
    put16(f, i == 0 ? eth.outer_tpid : 0x8100);
    put16(f, eth.tags[i]);
  }
  put16(f, eth.type.value_or(type));
  put(f, l3b);
  put(f, trailer);
  if (f.size() < min_frame) f.resize(min_frame, 0);
  return f;
}

Packet udp4(Bytes payload, uint16_t sport, uint16_t dport) {
  Packet p;
  p.l3 = Ip4Spec{};
  p.l4 = UdpSpec{sport, dport, {}, {}, 0};
  p.payload = std::move(payload);
  return p;
}

Packet udp6(Bytes payload, uint16_t sport, uint16_t dport) {
  Packet p = udp4(std::move(payload), sport, dport);
  p.l3 = Ip6Spec{};
  return p;
}

Packet echo4(uint16_t id, uint16_t seq, Bytes payload) {
  Packet p;
  p.l3 = Ip4Spec{};
  p.l4 = IcmpSpec{8, 0, {}, 0, static_cast<uint32_t>(id) << 16 | seq};
  p.payload = std::move(payload);
  return p;
}

Packet echo6(uint16_t id, uint16_t seq, Bytes payload) {
  Packet p = echo4(id, seq, std::move(payload));
  p.l3 = Ip6Spec{};
  p.icmp().type = 128;
  return p;
}

Packet arp_request(uint32_t tip, uint32_t sip, MacAddr sha) {
  Packet p;
  p.eth.dst = MacAddr::broadcast();
  p.eth.src = sha;
  ArpSpec a;
  a.sha = sha;
  a.sip = sip;
  a.tip = tip;
  p.l3 = a;
  p.min_frame = 60;
  return p;
}

Packet ns(const Ip6& target, const Ip6& src) {
  Packet p;
  Ip6Spec ip;
  ip.src = src;
  ip.dst = solicited_node(target);
  ip.hop_limit = 255;
  p.l3 = ip;
  p.eth.dst = multicast_mac(ip.dst);
  p.l4 = IcmpSpec{135, 0, {}, 0, 0};
  put_raw(p.payload, target.data(), 16);
  if (src != kUnspecified) put(p.payload, lla_option(1, kPeerMac));
  return p;
}

Packet na(const Ip6& target, uint32_t flags, const Ip6& dst) {
  Packet p;
  Ip6Spec ip;
  ip.src = target;
  ip.dst = dst;
  ip.hop_limit = 255;
  p.l3 = ip;
  p.eth.dst = dst[0] == 0xff ? multicast_mac(dst) : kOurMac;
  p.l4 = IcmpSpec{136, 0, {}, 0, flags};
  put_raw(p.payload, target.data(), 16);
  put(p.payload, lla_option(2, kPeerMac));
  return p;
}

Bytes cat(Bytes a, const Bytes& b) {
  put(a, b);
  return a;
}

rte_mbuf* to_mbuf(rte_mempool* mp, const Bytes& frame, const std::vector<uint32_t>& cuts) {
  rte_mbuf* head = nullptr;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t to = i < cuts.size() ? std::min<size_t>(cuts[i], frame.size()) : frame.size();
    const size_t n = to > from ? to - from : 0;
    rte_mbuf* seg = rte_pktmbuf_alloc(mp);
    char* dst = seg ? rte_pktmbuf_append(seg, static_cast<uint16_t>(n)) : nullptr;
    if (!seg || (n && !dst)) {
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      return nullptr;
    }
    if (n) std::memcpy(dst, frame.data() + from, n);
    if (!head) {
      head = seg;
    } else if (rte_pktmbuf_chain(head, seg) != 0) {
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      return nullptr;
    }
    from = std::max(from, to);
  }
  return head;
}

Bytes bytes_of(const rte_mbuf* m) {
  Bytes b;
  for (const rte_mbuf* s = m; s; s = s->next) {
    const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
    put_raw(b, p, s->data_len);
  }
  return b;
}

uint16_t ones_sum(const uint8_t* p, size_t n, uint32_t start) {
  uint64_t s = start;
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

uint16_t be16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>(b.at(off) << 8 | b.at(off + 1));
}

uint32_t be32(const Bytes& b, size_t off) {
  return static_cast<uint32_t>(be16(b, off)) << 16 | be16(b, off + 2);
}

bool ipv4_header_ok(const Bytes& f, size_t l3) {
  const size_t hl = (f.at(l3) & 0x0f) * 4u;
  return hl >= 20 && l3 + hl <= f.size() && ones_sum(f.data() + l3, hl) == 0xffff;
}

bool l4_checksum_ok(const Bytes& f, size_t l3, size_t l4, size_t len, uint8_t proto) {
  if (l4 + len > f.size()) return false;
  uint32_t start = 0;
  if (proto != kIcmp) {
    if ((f.at(l3) >> 4) == 4) {
      start = ones_sum(f.data() + l3 + 12, 8) + proto + static_cast<uint32_t>(len);
    } else {
      Bytes ph;
      put_raw(ph, f.data() + l3 + 8, 32);
      put32(ph, static_cast<uint32_t>(len));
      put32(ph, proto);
      start = ones_sum(ph.data(), ph.size());
    }
  }
  return ones_sum(f.data() + l4, len, start) == 0xffff;
}

void make_udp_checksum_partial(Bytes& f, size_t l3, size_t l4, bool v6) {
  const uint32_t ulen = static_cast<uint32_t>(f[l4 + 4] << 8 | f[l4 + 5]);
  const uint32_t pseudo =
      v6 ? pseudo_sum_v6(reinterpret_cast<const rte_ipv6_hdr*>(f.data() + l3), ulen, kProtoUdp)
         : pseudo_sum_v4(reinterpret_cast<const rte_ipv4_hdr*>(f.data() + l3), ulen, kProtoUdp);
  const uint16_t partial = fold(pseudo);
  std::memcpy(f.data() + l4 + 6, &partial, 2);
}

}  // namespace bypass::test
