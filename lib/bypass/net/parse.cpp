#include <bypass/net/parse.hpp>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include <bypass/net/checksum.hpp>
#include <bypass/net/wire.hpp>

namespace bypass {
namespace {

// Headers must lie in the first segment; a frame that has the bytes only in
// later segments is refused as split rather than read across segments.
inline DropReason need(const rte_mbuf* m, uint32_t end) {
  if (end <= m->data_len) [[likely]]
    return kPass;
  return end <= m->pkt_len ? NetDrop::kSplitHeaders : NetDrop::kRunt;
}

template <typename T>
inline const T* at(const rte_mbuf* m, uint32_t off) {
  return rte_pktmbuf_mtod_offset(m, const T*, off);
}

DropReason check_ipv4_options(const uint8_t* opt, uint32_t len) {
  uint32_t i = 0;
  while (i < len) {
    uint8_t type = opt[i];
    if (type == 0) break;  // end of options
    if (type == 1) {       // no-op
      ++i;
      continue;
    }
    if (i + 1 >= len) return NetDrop::kIpOptions;
    uint8_t olen = opt[i + 1];
    if (olen < 2 || i + olen > len) return NetDrop::kIpOptions;
    i += olen;
  }
  return kPass;
}

}  // namespace

bool martian_v4(uint32_t src_be) {
  uint32_t s = rte_be_to_cpu_32(src_be);
  uint8_t first = static_cast<uint8_t>(s >> 24);
  return first == 0 || first == 127 ||
         first >= 224;  // this-net, loopback, multicast/broadcast/class E
}

DropReason parse_ethernet(const rte_mbuf* m, Parsed& p, const ParseLimits& lim) {
  uint32_t off = sizeof(rte_ether_hdr);
  if (DropReason r = need(m, off); r != kPass) return r;
  uint16_t type = rte_be_to_cpu_16(at<rte_ether_hdr>(m, 0)->ether_type);
  p.vlans = 0;
  while (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) {
    if (p.vlans == lim.max_vlans) return NetDrop::kVlanTooDeep;
    if (DropReason r = need(m, off + sizeof(rte_vlan_hdr)); r != kPass) return r;
    const auto* v = at<rte_vlan_hdr>(m, off);
    if (p.vlans == 0) p.vlan_tci = rte_be_to_cpu_16(v->vlan_tci);
    type = rte_be_to_cpu_16(v->eth_proto);
    off += sizeof(rte_vlan_hdr);
    ++p.vlans;
  }
  p.ethertype = type;
  p.l3_off = static_cast<uint16_t>(off);
  return kPass;
}

DropReason parse_arp(const rte_mbuf* m, const Parsed& p) {
  if (DropReason r = need(m, p.l3_off + sizeof(rte_arp_hdr)); r != kPass) return r;
  const auto* a = at<rte_arp_hdr>(m, p.l3_off);
  if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || a->arp_hlen != 6 ||
      a->arp_plen != 4)
    return NetDrop::kArpBad;
  uint16_t op = rte_be_to_cpu_16(a->arp_opcode);
  if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) return NetDrop::kArpBad;
  return kPass;
}

DropReason parse_ipv4(const rte_mbuf* m, Parsed& p) {
  const uint32_t off = p.l3_off;
  if (DropReason r = need(m, off + sizeof(rte_ipv4_hdr)); r != kPass) return r;
  const auto* ip = at<rte_ipv4_hdr>(m, off);
  if ((ip->version_ihl >> 4) != 4) return NetDrop::kIpVersion;
  const uint32_t hlen = (ip->version_ihl & 0x0f) * 4u;
  if (hlen < sizeof(rte_ipv4_hdr)) return NetDrop::kIpHeaderLength;
  if (DropReason r = need(m, off + hlen); r != kPass)
    return r == NetDrop::kRunt ? NetDrop::kIpHeaderLength : r;
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if (total < hlen || off + total > m->pkt_len) return NetDrop::kIpTotalLength;
  const uint64_t csum = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (csum == RTE_MBUF_F_RX_IP_CKSUM_BAD) return NetDrop::kIpChecksum;
  if (csum != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !sum_is_valid(ones_sum(ip, hlen)))
    return NetDrop::kIpChecksum;
  if (hlen > sizeof(rte_ipv4_hdr)) {
    if (DropReason r = check_ipv4_options(reinterpret_cast<const uint8_t*>(ip + 1),
                                          hlen - sizeof(rte_ipv4_hdr));
        r != kPass)
      return r;
  }
  if (ip->time_to_live == 0) return NetDrop::kIpTtl;
  if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
    return NetDrop::kIpFragment;
  if (martian_v4(ip->src_addr)) return NetDrop::kIpMartian;
  p.proto = ip->next_proto_id;
  p.l4_off = static_cast<uint16_t>(off + hlen);
  p.l4_len = total - hlen;
  return kPass;
}

DropReason parse_ipv6(const rte_mbuf* m, Parsed& p, const ParseLimits& lim) {
  const uint32_t off = p.l3_off;
  if (DropReason r = need(m, off + sizeof(rte_ipv6_hdr)); r != kPass) return r;
  const auto* ip = at<rte_ipv6_hdr>(m, off);
  if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6) return NetDrop::kIpVersion;
  const uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
  // 0 announces a jumbogram, which Ethernet cannot carry.
  if (plen == 0 || off + sizeof(rte_ipv6_hdr) + plen > m->pkt_len)
    return NetDrop::kIp6PayloadLength;
  if (ip->hop_limits == 0) return NetDrop::kIpTtl;
  static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  // IPv4-mapped addresses (::ffff:0:0/96) stand for IPv4 hosts inside a
  // host's socket API; on the wire they are spoofs (RFC 4291 2.5.5.2), and
  // Linux drops them too. They would slip past the IPv4 martian checks.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip->src_addr[0] == 0xff || std::memcmp(ip->src_addr, kLoopback, 16) == 0 ||
      std::memcmp(ip->src_addr, kMapped, 12) == 0)
    return NetDrop::kIpMartian;
  uint8_t next = ip->proto;
  uint32_t pos = off + sizeof(rte_ipv6_hdr);
  const uint32_t end = pos + plen;
  for (unsigned n = 0;; ++n) {
    if (next != kIp6HopByHop && next != kIp6Routing && next != kIp6Fragment &&
        next != kIp6DestOpts && next != kIp6Mobility && next != kIp6Ah)
      break;
    if (n == lim.max_ext_headers) return NetDrop::kIp6ExtHeader;
    if (next == kIp6HopByHop && n != 0) return NetDrop::kIp6ExtHeader;  // only first
    if (next == kIp6Fragment) return NetDrop::kIpFragment;
    if (pos + 8 > end) return NetDrop::kIp6ExtHeader;
    if (DropReason r = need(m, pos + 8); r != kPass) return r;
    const auto* e = at<Ip6ExtHdr>(m, pos);
    // AH counts its length in 4-byte units (RFC 4302), the rest in 8-byte units.
    uint32_t len = next == kIp6Ah ? (e->len + 2u) * 4u : (e->len + 1u) * 8u;
    if (pos + len > end) return NetDrop::kIp6ExtHeader;
    if (DropReason r = need(m, pos + len); r != kPass) return r;
    if (next == kIp6Routing && at<Ip6RoutingHdr>(m, pos)->type == 0)
      return NetDrop::kIp6RoutingType0;
    next = e->next;
    pos += len;
  }
  if (next == kIp6NoNext) return NetDrop::kIpProtocol;
  p.proto = next;
  p.l4_off = static_cast<uint16_t>(pos);
  p.l4_len = end - pos;
  return kPass;
}

DropReason parse_udp(const rte_mbuf* m, Parsed& p, bool v6, bool partial_ok) {
  if (p.l4_len < sizeof(rte_udp_hdr)) return NetDrop::kUdpLength;
  if (DropReason r = need(m, p.l4_off + sizeof(rte_udp_hdr)); r != kPass) return r;
  const auto* u = at<rte_udp_hdr>(m, p.l4_off);
  const uint32_t ulen = rte_be_to_cpu_16(u->dgram_len);
  if (ulen < sizeof(rte_udp_hdr) || ulen > p.l4_len) return NetDrop::kUdpLength;
  // Port 0 is reserved: an answer could not be addressed to it (the kernel
  // refuses such a send; the sockets backend drops these as martians).
  if (u->src_port == 0) return NetDrop::kUdpSourcePort;
  p.l4_len = ulen;
  const uint64_t csum = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (csum == RTE_MBUF_F_RX_L4_CKSUM_BAD) return NetDrop::kUdpChecksum;
  if (u->dgram_cksum == 0) return v6 ? NetDrop::kUdpChecksum : kPass;
  if (csum == RTE_MBUF_F_RX_L4_CKSUM_GOOD) return kPass;
  const uint32_t pseudo = v6 ? pseudo_sum_v6(at<rte_ipv6_hdr>(m, p.l3_off), ulen, kProtoUdp)
                             : pseudo_sum_v4(at<rte_ipv4_hdr>(m, p.l3_off), ulen, kProtoUdp);
  if (sum_is_valid(pseudo + packet_sum(m, p.l4_off, ulen))) return kPass;
  // A sender that left the checksum to an offload stored the folded
  // pseudo-header sum there (Linux, CHECKSUM_PARTIAL); a veth passes it on as is.
  if (partial_ok && fold(pseudo) == u->dgram_cksum) {
    p.udp_cksum_partial = true;
    return kPass;
  }
  return NetDrop::kUdpChecksum;
}

DropReason parse_icmp(const rte_mbuf* m, const Parsed& p) {
  if (p.l4_len < 8) return NetDrop::kIcmpBad;
  if (DropReason r = need(m, p.l4_off + 8); r != kPass) return r;
  return sum_is_valid(packet_sum(m, p.l4_off, p.l4_len)) ? kPass : NetDrop::kIcmpBad;
}

DropReason parse_icmp6(const rte_mbuf* m, const Parsed& p) {
  if (p.l4_len < 8) return NetDrop::kIcmpBad;
  if (DropReason r = need(m, p.l4_off + 8); r != kPass) return r;
  uint32_t sum = pseudo_sum_v6(at<rte_ipv6_hdr>(m, p.l3_off), p.l4_len, kProtoIcmp6);
  sum += packet_sum(m, p.l4_off, p.l4_len);
  return sum_is_valid(sum) ? kPass : NetDrop::kIcmpBad;
}

DropReason parse_frame(const rte_mbuf* m, Parsed& p, const ParseLimits& lim) {
  if (DropReason r = parse_ethernet(m, p, lim); r != kPass) return r;
  switch (p.ethertype) {
    case RTE_ETHER_TYPE_ARP:
      return parse_arp(m, p);
    case RTE_ETHER_TYPE_IPV4:
      if (DropReason r = parse_ipv4(m, p); r != kPass) return r;
      if (p.proto == kProtoUdp) return parse_udp(m, p, false, lim.udp_checksum_partial_ok);
      if (p.proto == kProtoIcmp) return parse_icmp(m, p);
      return NetDrop::kIpProtocol;
    case RTE_ETHER_TYPE_IPV6:
      if (DropReason r = parse_ipv6(m, p, lim); r != kPass) return r;
      if (p.proto == kProtoUdp) return parse_udp(m, p, true, lim.udp_checksum_partial_ok);
      if (p.proto == kProtoIcmp6) return parse_icmp6(m, p);
      return NetDrop::kIpProtocol;
    default:
      return NetDrop::kNotIp;
  }
}

}  // namespace bypass
