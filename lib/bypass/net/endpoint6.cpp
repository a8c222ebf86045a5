// Endpoint: IPv6, ICMPv6 echo and neighbour discovery (RFC 4861).
#include <rte_ether.h>
#include <rte_ip.h>

#include <bypass/net/checksum.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/net/wire.hpp>

namespace bypass {
namespace {

constexpr uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

bool is_unspecified(const uint8_t* a) {
  for (int i = 0; i < 16; ++i)
    if (a[i]) return false;
  return true;
}

uint16_t icmp6_cksum(const rte_ipv6_hdr* ip, const void* l4, uint32_t len) {
  return finish_cksum(pseudo_sum_v6(ip, len, kProtoIcmp6) + ones_sum(l4, len));
}

}  // namespace

const IfAddr* Endpoint::find_v6(const uint8_t* a) const {
  for (const auto& x : cfg_.addrs)
    if (x.ip.is_v6() && std::memcmp(x.ip.v6_bytes(), a, 16) == 0) return &x;
  return nullptr;
}

DropReason Endpoint::handle_ipv6(Worker& w, rte_mbuf* m, Parsed& p, Batch& tx, UdpBatch& udp) {
  if (DropReason r = parse_ipv6(m, p, cfg_.limits); r != kPass) return r;
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, p.l3_off);
  bool group = false;  // sent to a multicast group we are in
  if (!find_v6(ip->dst_addr)) {
    if (ip->dst_addr[0] != 0xff) return NetDrop::kNotForUs;
    bool ours = std::memcmp(ip->dst_addr, kAllNodes, 16) == 0;
    for (const auto& a : cfg_.addrs)
      if (a.ip.is_v6() && std::memcmp(a.ip.solicited_node().v6_bytes(), ip->dst_addr, 16) == 0)
        ours = true;
    if (!ours) return NetDrop::kIp6Multicast;
    group = true;
  }
  // Our own address as the source: a spoof or a loop (duplicate address
  // detection uses ::, not the address it tests).
  if (find_v6(ip->src_addr)) return NetDrop::kIpSourceOurs;
  // The unspecified source (::) is only for duplicate address detection:
  // neighbour solicitations, whose type is read once parse_icmp6() has made
  // sure the header is there.
  static constexpr uint8_t kUnspecified[16] = {};
  const bool unspecified = std::memcmp(ip->src_addr, kUnspecified, 16) == 0;
  if (unspecified && p.proto != kProtoIcmp6) return NetDrop::kIpMartian;
  if (p.proto == kProtoUdp) {
    if (group) return NetDrop::kIp6Multicast;
    if (DropReason r = parse_udp(m, p, true, cfg_.limits.udp_checksum_partial_ok); r != kPass)
      return r;
    if (p.udp_cksum_partial) counters_.udp_checksum_partial.add();
    parsed(m) = p;
    udp.pkts.push(m);
    counters_.udp_delivered.add();
    return kPass;
  }
  if (p.proto != kProtoIcmp6) return NetDrop::kIpProtocol;
  if (DropReason r = parse_icmp6(m, p); r != kPass) return r;
  if (unspecified && *rte_pktmbuf_mtod_offset(m, const uint8_t*, p.l4_off) != kNdpNeighborSolicit)
    return NetDrop::kIpMartian;
  return handle_icmp6(m, p, group, tx, w.now());
}

DropReason Endpoint::handle_icmp6(rte_mbuf* m, const Parsed& p, bool group, Batch& tx,
                                  uint64_t now) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, p.l3_off);
  auto* h = rte_pktmbuf_mtod_offset(m, Icmp6Hdr*, p.l4_off);
  switch (h->type) {
    case kIcmp6EchoRequest: {
      if (group) return NetDrop::kIp6Multicast;  // no answers to group pings
      if (h->code != 0) return NetDrop::kIcmpBad;
      h->type = kIcmp6EchoReply;
      h->cksum = cksum_update16(h->cksum, rte_cpu_to_be_16(kIcmp6EchoRequest << 8),
                                rte_cpu_to_be_16(kIcmp6EchoReply << 8));
      if (h->cksum == 0) h->cksum = 0xffff;
      uint8_t tmp[16];
      std::memcpy(tmp, ip->src_addr, 16);
      std::memcpy(ip->src_addr, ip->dst_addr, 16);
      std::memcpy(ip->dst_addr, tmp, 16);
      ip->hop_limits = cfg_.ttl;
      swap_macs_from(rte_pktmbuf_mtod(m, rte_ether_hdr*), cfg_.mac);
      m->ol_flags = 0;
      tx.push(m);
      counters_.echo6.add();
      return kPass;
    }
    case kNdpNeighborSolicit:
      return reply_ns(m, p, tx, now);
    case kNdpNeighborAdvert: {
      if (ip->hop_limits != 255 || h->code != 0 || p.l4_len < sizeof(NdpHdr) || m->nb_segs != 1)
        return NetDrop::kNdpBad;  // one segment, as for a solicitation: the target is read whole
      const auto* na = rte_pktmbuf_mtod_offset(m, const NdpHdr*, p.l4_off);
      if (na->target[0] == 0xff) return NetDrop::kNdpBad;
      const uint8_t* tlla;
      if (!ndp_link_addr(m, p, kNdpOptTargetLinkAddr, &tlla)) return NetDrop::kNdpBad;
      const uint32_t flags = rte_be_to_cpu_32(na->flags);
      if (tlla)
        learn(IpAddr::v6(na->target), tlla, now,
              (flags & kNaSolicited) ? LearnKind::kReply : LearnKind::kUnsolicited,
              (flags & kNaOverride) != 0);
      counters_.na_received.add();
      return kConsumed;
    }
    default:
      return NetDrop::kIcmpIgnored;  // router discovery, MLD, errors
  }
}

bool Endpoint::ndp_link_addr(const rte_mbuf* m, const Parsed& p, uint8_t type,
                             const uint8_t** mac) {
  *mac = nullptr;
  for (uint32_t off = sizeof(NdpHdr); off < p.l4_len;) {
    if (off + 2 > p.l4_len) return false;
    const uint8_t* o = rte_pktmbuf_mtod_offset(m, const uint8_t*, p.l4_off + off);
    if (o[1] == 0 || off + o[1] * 8u > p.l4_len) return false;
    if (o[0] == type && o[1] == 1 && !*mac) *mac = o + 2;
    off += o[1] * 8u;
  }
  return true;
}

DropReason Endpoint::reply_ns(rte_mbuf* m, const Parsed& p, Batch& tx, uint64_t now) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, p.l3_off);
  // RFC 4861 7.1.1: hop limit 255, code 0, at least 24 bytes, target not multicast,
  // every option of non-zero length inside the message.
  if (ip->hop_limits != 255 || p.l4_len < sizeof(NdpHdr)) return NetDrop::kNdpBad;
  if (p.l4_off != p.l3_off + sizeof(rte_ipv6_hdr) || m->nb_segs != 1) return NetDrop::kNdpBad;
  auto* ns = rte_pktmbuf_mtod_offset(m, NdpHdr*, p.l4_off);
  if (ns->code != 0 || ns->target[0] == 0xff) return NetDrop::kNdpBad;
  const bool dad = is_unspecified(ip->src_addr);
  const uint8_t* slla;
  if (!ndp_link_addr(m, p, kNdpOptSourceLinkAddr, &slla)) return NetDrop::kNdpBad;
  const bool has_slla = slla != nullptr;
  if (dad && (has_slla || ip->dst_addr[0] != 0xff)) return NetDrop::kNdpBad;
  if (!find_v6(ns->target)) return NetDrop::kNotForUs;
  counters_.ns_received.add();
  if (!dad && has_slla) learn(IpAddr::v6(ip->src_addr), slla, now, LearnKind::kRequest);
  // The advertisement takes the place of the solicitation: same size or 8 bytes more.
  const uint32_t l4 = sizeof(NdpHdr) + sizeof(NdpLinkAddrOpt);
  const uint32_t want = p.l4_off + l4;
  if (m->data_len < want &&
      rte_pktmbuf_append(m, static_cast<uint16_t>(want - m->data_len)) == nullptr)
    return NetDrop::kTooBig;
  if (m->data_len > want) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - want));
  ns = rte_pktmbuf_mtod_offset(m, NdpHdr*, p.l4_off);
  ns->type = kNdpNeighborAdvert;
  ns->code = 0;
  ns->flags = rte_cpu_to_be_32(dad ? kNaOverride : (kNaSolicited | kNaOverride));
  auto* opt = reinterpret_cast<NdpLinkAddrOpt*>(ns + 1);
  opt->type = kNdpOptTargetLinkAddr;
  opt->len = 1;
  std::memcpy(opt->mac, cfg_.mac.b.data(), 6);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  if (dad) {  // to all nodes (RFC 4861 7.2.4)
    std::memcpy(ip->dst_addr, kAllNodes, 16);
    eth->dst_addr = to_ether(ipv6_multicast_mac(IpAddr::v6(kAllNodes)));
  } else {
    std::memcpy(ip->dst_addr, ip->src_addr, 16);
    eth->dst_addr = eth->src_addr;
  }
  eth->src_addr = to_ether(cfg_.mac);
  std::memcpy(ip->src_addr, ns->target, 16);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4));
  ip->hop_limits = 255;
  ns->cksum = 0;
  ns->cksum = icmp6_cksum(ip, ns, l4);
  m->ol_flags = 0;
  tx.push(m);
  counters_.na_sent.add();
  return kPass;
}

}  // namespace bypass
