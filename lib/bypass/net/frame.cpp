#include <bypass/net/frame.hpp>

#include <cstring>

#include <rte_arp.h>
#include <rte_ip.h>

#include <bypass/net/checksum.hpp>
#include <bypass/net/wire.hpp>

namespace bypass {
namespace {

uint8_t* start(rte_mbuf* m, uint16_t len) {
  return reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
}

rte_ether_hdr* eth_at(uint8_t* p, const MacAddr& src, const MacAddr& dst, uint16_t type) {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->src_addr = to_ether(src);
  eth->dst_addr = to_ether(dst);
  eth->ether_type = rte_cpu_to_be_16(type);
  return eth;
}

// An ARP frame is 42 bytes; it goes out padded with zeros to Ethernet's
// 60-byte minimum (before the FCS), as a PMD or NIC that does not pad would
// otherwise put a runt on the wire.
constexpr uint16_t kArpBytes = sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr);

bool arp(rte_mbuf* m, const MacAddr& mac, uint32_t sip, uint32_t tip, const MacAddr& dst) {
  uint8_t* p = start(m, kMinFrameBytes);
  if (!p) return false;
  std::memset(p + kArpBytes, 0, kMinFrameBytes - kArpBytes);
  eth_at(p, mac, dst, RTE_ETHER_TYPE_ARP);
  auto* a = reinterpret_cast<rte_arp_hdr*>(p + sizeof(rte_ether_hdr));
  a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  a->arp_hlen = 6;
  a->arp_plen = 4;
  a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  a->arp_data.arp_sha = to_ether(mac);
  a->arp_data.arp_sip = sip;
  std::memset(&a->arp_data.arp_tha, 0, 6);
  a->arp_data.arp_tip = tip;
  return true;
}

// ICMPv6 NS or NA with one link-layer address option.
bool ndp(rte_mbuf* m, const MacAddr& mac, const MacAddr& dst_mac, const IpAddr& src,
         const IpAddr& dst, uint8_t type, uint32_t flags, const IpAddr& target) {
  const uint16_t l4 = sizeof(NdpHdr) + sizeof(NdpLinkAddrOpt);
  uint8_t* p = start(m, sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + l4);
  if (!p) return false;
  eth_at(p, mac, dst_mac, RTE_ETHER_TYPE_IPV6);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p + sizeof(rte_ether_hdr));
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(l4);
  ip->proto = kProtoIcmp6;
  ip->hop_limits = 255;
  std::memcpy(ip->src_addr, src.v6_bytes(), 16);
  std::memcpy(ip->dst_addr, dst.v6_bytes(), 16);
  auto* n = reinterpret_cast<NdpHdr*>(ip + 1);
  n->type = type;
  n->code = 0;
  n->cksum = 0;
  n->flags = rte_cpu_to_be_32(flags);
  std::memcpy(n->target, target.v6_bytes(), 16);
  auto* o = reinterpret_cast<NdpLinkAddrOpt*>(n + 1);
  o->type = type == kNdpNeighborSolicit ? kNdpOptSourceLinkAddr : kNdpOptTargetLinkAddr;
  o->len = 1;
  std::memcpy(o->mac, mac.b.data(), 6);
  n->cksum = finish_cksum(pseudo_sum_v6(ip, l4, kProtoIcmp6) + ones_sum(n, l4));
  return true;
}

}  // namespace

bool build_garp(rte_mbuf* m, const MacAddr& mac, uint32_t ip_be) {
  return arp(m, mac, ip_be, ip_be, MacAddr::broadcast());
}

bool build_arp_request(rte_mbuf* m, const MacAddr& mac, uint32_t ip_be, uint32_t target_be,
                       const MacAddr& dst) {
  return arp(m, mac, ip_be, target_be, dst);
}

bool build_unsolicited_na(rte_mbuf* m, const MacAddr& mac, const IpAddr& ip) {
  IpAddr all_nodes = *IpAddr::parse("ff02::1");
  return ndp(m, mac, ipv6_multicast_mac(all_nodes), ip, all_nodes, kNdpNeighborAdvert, kNaOverride,
             ip);
}

bool build_ns(rte_mbuf* m, const MacAddr& mac, const IpAddr& src, const IpAddr& target,
              const MacAddr* dst_mac) {
  IpAddr dst = dst_mac ? target : target.solicited_node();
  return ndp(m, mac, dst_mac ? *dst_mac : ipv6_multicast_mac(dst), src, dst, kNdpNeighborSolicit, 0,
             target);
}

}  // namespace bypass
