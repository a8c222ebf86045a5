// NetDrop: the reasons the network layer (frame parser and Endpoint) drops a
// packet for, owned by the Endpoint module that counts them. Names are what
// reports, JSON and metrics show.
#pragma once

#include <bypass/core/drop_reasons.hpp>

// clang-format off
#define BYPASS_NET_DROPS(X)                                                       \
  /* Ethernet */                                                                  \
  X(kRunt, "runt")                           /* shorter than its headers */       \
  X(kSplitHeaders, "split_headers")          /* headers cross an mbuf segment */  \
  X(kVlanTooDeep, "vlan_too_deep")           /* more VLAN tags than allowed */    \
  X(kNotIp, "not_ip")                        /* ethertype not handled */          \
  X(kNotForUs, "not_for_us")                 /* unicast to another MAC or IP */   \
  X(kMacMartian, "mac_martian")              /* source MAC a group or zero */     \
  /* ARP */                                                                       \
  X(kArpBad, "arp_bad")                      /* wrong sizes, types or opcode */   \
  X(kArpNotOurs, "arp_not_ours")             /* asks for an address not ours */   \
  /* IPv4 */                                                                      \
  X(kIpVersion, "ip_version")                /* version field wrong */            \
  X(kIpHeaderLength, "ip_header_length")     /* IHL < 5 or past the data */       \
  X(kIpTotalLength, "ip_total_length")       /* total length vs frame */          \
  X(kIpChecksum, "ip_checksum")              /* header checksum wrong */          \
  X(kIpOptions, "ip_options")                /* malformed options */              \
  X(kIpTtl, "ip_ttl")                        /* TTL / hop limit 0 */              \
  X(kIpFragment, "ip_fragment")              /* fragments are not reassembled */  \
  X(kIpMartian, "ip_martian")                /* impossible source address */      \
  X(kIpSourceOurs, "ip_source_ours")         /* source is one of our addresses */ \
  X(kIpProtocol, "ip_protocol")              /* transport we do not serve */      \
  /* IPv6 */                                                                      \
  X(kIp6PayloadLength, "ip6_payload_length") /* payload length vs frame */        \
  X(kIp6ExtHeader, "ip6_ext_header")         /* malformed or too long chain */    \
  X(kIp6RoutingType0, "ip6_routing_type0")   /* deprecated RH0 */                 \
  X(kIp6Multicast, "ip6_multicast")          /* multicast where not expected */   \
  /* ICMP / ICMPv6 / NDP */                                                       \
  X(kIcmpBad, "icmp_bad")                    /* short or bad checksum */          \
  X(kIcmpIgnored, "icmp_ignored")            /* types we do not answer */         \
  X(kNdpBad, "ndp_bad")                      /* malformed neighbour discovery */  \
  /* UDP */                                                                       \
  X(kUdpLength, "udp_length")                /* length < 8 or past IP payload */  \
  X(kUdpChecksum, "udp_checksum")            /* checksum wrong (or 0 on IPv6) */  \
  X(kUdpSourcePort, "udp_source_port")       /* source port 0: nothing can answer */ \
  /* neighbours */                                                                \
  X(kNoNeighbor, "no_neighbor")              /* resolution failed, queue full */ \
  X(kTooBig, "too_big")                      /* answer does not fit the buffer */ \
  /* the host stage of bypass-fwd and bypass-gen */                               \
  X(kUdpNotServed, "udp_not_served")         /* UDP for us: neither serves UDP */
// clang-format on

namespace bypass {

BYPASS_DROP_TABLE(NetDrop, BYPASS_NET_DROPS)

}  // namespace bypass
