// Parsers: check a received frame layer by layer and say where its headers
// are. Each returns kPass or the DropReason to count; none reads past the
// first segment's data_len (headers that cross a segment are refused as
// split_headers, never read). Offsets are from the start of the frame.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include <bypass/net/net_drops.hpp>

namespace bypass {

struct ParseLimits {
  uint8_t max_vlans = 2;        // 802.1Q / 802.1ad tags in front of the payload
  uint8_t max_ext_headers = 8;  // IPv6 extension headers in one chain
  // Accept a UDP checksum field that holds only the pseudo-header sum: what a
  // Linux sender leaves for a transmit offload that a veth never performs.
  // Only for links that never leave the host (veth); see docs/running.md.
  bool udp_checksum_partial_ok = false;
};

struct Parsed {
  uint16_t ethertype = 0;  // host order, after VLAN tags
  uint8_t vlans = 0;
  uint8_t proto = 0;               // transport protocol (IPv4 protocol / IPv6 last next-header)
  uint16_t l3_off = 0;             // start of ARP / IPv4 / IPv6
  uint16_t l4_off = 0;             // start of the transport header
  uint32_t l4_len = 0;             // transport header + payload, per the IP length fields
  uint16_t vlan_tci = 0;           // outermost tag, host order
  bool udp_cksum_partial = false;  // UDP checksum was the pseudo-header sum only (accepted)
};

// Ethernet and VLAN tags. Sets ethertype, vlans, vlan_tci and l3_off.
DropReason parse_ethernet(const rte_mbuf* m, Parsed& p, const ParseLimits& lim = {});
// ARP for IPv4 over Ethernet (sizes, types, opcode 1 or 2).
DropReason parse_arp(const rte_mbuf* m, const Parsed& p);
// IPv4 header, options, lengths, checksum (skipped when the device verified
// it), TTL, fragments, martian sources. Sets proto, l4_off, l4_len.
DropReason parse_ipv4(const rte_mbuf* m, Parsed& p);
// An IPv4 source no host can have: 0/8, loopback, multicast, broadcast, class E (network order).
bool martian_v4(uint32_t src_be);
// IPv6 header and extension-header chain. Sets proto, l4_off, l4_len.
DropReason parse_ipv6(const rte_mbuf* m, Parsed& p, const ParseLimits& lim = {});
// UDP length and checksum (IPv4: 0 means none; IPv6: 0 is invalid). Trims
// l4_len to the UDP length. With `partial_ok`, a checksum that holds only the
// pseudo-header sum passes and sets p.udp_cksum_partial.
DropReason parse_udp(const rte_mbuf* m, Parsed& p, bool v6, bool partial_ok = false);
// ICMP (IPv4): length and checksum.
DropReason parse_icmp(const rte_mbuf* m, const Parsed& p);
// ICMPv6: length and checksum (with the pseudo-header).
DropReason parse_icmp6(const rte_mbuf* m, const Parsed& p);

// Whole frame up to the transport layer: Ethernet, then ARP, IPv4 or IPv6 and
// UDP/ICMP/ICMPv6 checks. The fuzz targets and the Endpoint use this.
DropReason parse_frame(const rte_mbuf* m, Parsed& p, const ParseLimits& lim = {});

}  // namespace bypass
