// Wire formats DPDK 22.11 does not define: ICMPv6, neighbour discovery and its
// options, and the protocol numbers and limits the network layer uses. The
// Ethernet, ARP, IPv4, IPv6, UDP and ICMP headers are DPDK's own (rte_*.h).
#pragma once

#include <rte_byteorder.h>
#include <rte_common.h>

#include <cstdint>

namespace bypass {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmp6 = 58;
inline constexpr uint8_t kIp6HopByHop = 0;
inline constexpr uint8_t kIp6Routing = 43;
inline constexpr uint8_t kIp6Fragment = 44;
inline constexpr uint8_t kIp6Esp = 50;
inline constexpr uint8_t kIp6Ah = 51;
inline constexpr uint8_t kIp6NoNext = 59;
inline constexpr uint8_t kIp6DestOpts = 60;
inline constexpr uint8_t kIp6Mobility = 135;

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreachable = 3;
inline constexpr uint8_t kIcmpPortUnreachable = 3;  // code
inline constexpr uint8_t kIcmpEchoRequest = 8;

inline constexpr uint8_t kIcmp6DestUnreachable = 1;
inline constexpr uint8_t kIcmp6PortUnreachable = 4;  // code
inline constexpr uint8_t kIcmp6EchoRequest = 128;
inline constexpr uint8_t kIcmp6EchoReply = 129;
inline constexpr uint8_t kNdpRouterSolicit = 133;
inline constexpr uint8_t kNdpRouterAdvert = 134;
inline constexpr uint8_t kNdpNeighborSolicit = 135;
inline constexpr uint8_t kNdpNeighborAdvert = 136;
inline constexpr uint8_t kNdpOptSourceLinkAddr = 1;
inline constexpr uint8_t kNdpOptTargetLinkAddr = 2;

struct Icmp6Hdr {
  uint8_t type;
  uint8_t code;
  rte_be16_t cksum;
} __rte_packed;

// Echo request/reply (ICMPv4 and ICMPv6 share the layout).
struct EchoHdr {
  uint8_t type;
  uint8_t code;
  rte_be16_t cksum;
  rte_be16_t id;
  rte_be16_t seq;
} __rte_packed;

// Neighbour solicitation and advertisement (RFC 4861 4.3, 4.4).
struct NdpHdr {
  uint8_t type;
  uint8_t code;
  rte_be16_t cksum;
  rte_be32_t flags;  // NA: R (router) 0x80000000, S (solicited) 0x40000000, O (override) 0x20000000
  uint8_t target[16];
} __rte_packed;

inline constexpr uint32_t kNaRouter = 0x80000000u;
inline constexpr uint32_t kNaSolicited = 0x40000000u;
inline constexpr uint32_t kNaOverride = 0x20000000u;

// A link-layer address option for Ethernet (8 bytes).
struct NdpLinkAddrOpt {
  uint8_t type;
  uint8_t len;  // in units of 8 bytes: 1
  uint8_t mac[6];
} __rte_packed;

struct Ip6ExtHdr {
  uint8_t next;
  uint8_t len;  // in 8-byte units, not counting the first 8 bytes
} __rte_packed;

struct Ip6RoutingHdr {
  uint8_t next;
  uint8_t len;
  uint8_t type;
  uint8_t segments_left;
} __rte_packed;

}  // namespace bypass
