// Frame helpers: conversions between our MacAddr and DPDK's, swapping link
// addresses for a reply, and builders for the frames a host sends on its own
// (gratuitous ARP, ARP request, neighbour solicitation and advertisement).
// Builders fill an empty mbuf and return false if it has no room.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstring>

#include <bypass/net/addr.hpp>

namespace bypass {

inline MacAddr to_mac(const rte_ether_addr& e) {
  MacAddr m;
  std::memcpy(m.b.data(), e.addr_bytes, 6);
  return m;
}
inline rte_ether_addr to_ether(const MacAddr& m) {
  rte_ether_addr e;
  std::memcpy(e.addr_bytes, m.b.data(), 6);
  return e;
}
// For a reply: the frame goes back to its sender, from us.
inline void swap_macs_from(rte_ether_hdr* eth, const MacAddr& ours) {
  eth->dst_addr = eth->src_addr;
  eth->src_addr = to_ether(ours);
}
// 33:33:xx:xx:xx:xx for an IPv6 multicast address (RFC 2464 7).
inline MacAddr ipv6_multicast_mac(const IpAddr& a) {
  return {{0x33, 0x33, a.b[12], a.b[13], a.b[14], a.b[15]}};
}

// Ethernet's smallest frame, less its FCS: shorter ones are padded with zeros.
inline constexpr uint16_t kMinFrameBytes = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;

// ARP frames are padded with zeros to 60 bytes, the Ethernet minimum.
// ARP request with sender = target = ip, to broadcast.
bool build_garp(rte_mbuf* m, const MacAddr& mac, uint32_t ip_be);
// ARP request for `target` from (mac, ip); to `dst` (broadcast, or unicast to re-probe).
bool build_arp_request(rte_mbuf* m, const MacAddr& mac, uint32_t ip_be, uint32_t target_be,
                       const MacAddr& dst);
// Neighbour advertisement of `ip` to all nodes, override flag set (RFC 4861 7.2.6).
bool build_unsolicited_na(rte_mbuf* m, const MacAddr& mac, const IpAddr& ip);
// Neighbour solicitation for `target` from `src` (ours), to its solicited-node
// group, or unicast to `dst_mac` when given (re-probe).
bool build_ns(rte_mbuf* m, const MacAddr& mac, const IpAddr& src, const IpAddr& target,
              const MacAddr* dst_mac = nullptr);

}  // namespace bypass
