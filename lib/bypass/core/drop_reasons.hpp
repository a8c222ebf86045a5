// DropReason: every reason a packet may be dropped, with its name in stats and
// metrics. One list for the whole framework, so that totals can be summed
// across workers and every drop shows up under a name.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bypass {

#define BYPASS_DROP_REASONS(X)                                                  \
  /* graph and ports */                                                         \
  X(kRingFull, "ring_full") /* hand-off ring had no room */                     \
  X(kTxFull, "tx_full")     /* TX queue took fewer */                           \
  X(kNoRoute, "no_route")   /* module gate with nothing connected */            \
  X(kLinkDown, "link_down") /* TX while the link is down */                     \
  X(kStopping, "stopping")  /* in flight at shutdown */                         \
  X(kFiltered, "filtered")  /* refused by a policy module */                    \
  /* Ethernet */                                                                \
  X(kRunt, "runt")                  /* shorter than its headers */              \
  X(kSplitHeaders, "split_headers") /* headers cross an mbuf segment */         \
  X(kVlanTooDeep, "vlan_too_deep")  /* more VLAN tags than allowed */           \
  X(kNotIp, "not_ip")               /* ethertype not handled */                 \
  X(kNotForUs, "not_for_us")        /* unicast to another MAC or IP */          \
  /* ARP */                                                                     \
  X(kArpBad, "arp_bad")          /* wrong sizes, types or opcode */             \
  X(kArpNotOurs, "arp_not_ours") /* asks for an address we do not own */        \
  /* IPv4 */                                                                    \
  X(kIpVersion, "ip_version")            /* version field wrong */              \
  X(kIpHeaderLength, "ip_header_length") /* IHL < 5 or past the data */         \
  X(kIpTotalLength, "ip_total_length")   /* total length vs frame */            \
  X(kIpChecksum, "ip_checksum")          /* header checksum wrong */            \
  X(kIpOptions, "ip_options")            /* malformed options */                \
  X(kIpTtl, "ip_ttl")                    /* TTL / hop limit 0 */                \
  X(kIpFragment, "ip_fragment")          /* fragments are not reassembled */    \
  X(kIpMartian, "ip_martian")            /* impossible source address */        \
  X(kIpSourceOurs, "ip_source_ours")     /* source is one of our addresses */   \
  X(kIpProtocol, "ip_protocol")          /* transport we do not serve */        \
  /* IPv6 */                                                                    \
  X(kIp6PayloadLength, "ip6_payload_length") /* payload length vs frame */      \
  X(kIp6ExtHeader, "ip6_ext_header")         /* malformed or too long chain */  \
  X(kIp6RoutingType0, "ip6_routing_type0")   /* deprecated RH0 */               \
  X(kIp6Multicast, "ip6_multicast")          /* multicast where not expected */ \
  /* ICMP / ICMPv6 / NDP */                                                     \
  X(kIcmpBad, "icmp_bad")                  /* short or bad checksum */          \
  X(kIcmpIgnored, "icmp_ignored")          /* types we do not answer */         \
  X(kNdpBad, "ndp_bad")                    /* malformed neighbour discovery */  \
  X(kIcmpRateLimited, "icmp_rate_limited") /* error reply suppressed */         \
  /* UDP */                                                                     \
  X(kUdpLength, "udp_length")          /* length < 8 or past the IP payload */  \
  X(kUdpChecksum, "udp_checksum")      /* checksum wrong (or 0 on IPv6) */      \
  X(kUdpPortClosed, "udp_port_closed") /* no handler bound (ICMP sent) */       \
  X(kHandlerDrop, "handler_drop")      /* the handler consumed without reply */ \
  /* neighbours and sending */                                                  \
  X(kNoNeighbor, "no_neighbor") /* resolution failed or queue full */           \
  X(kNoBuffer, "no_buffer")     /* pool empty when building a packet */         \
  X(kTooBig, "too_big")         /* reply larger than the MTU / buffer */

enum class DropReason : uint8_t {
#define BYPASS_X(id, name) id,
  BYPASS_DROP_REASONS(BYPASS_X)
#undef BYPASS_X
      kCount
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);
// Returned by checks that found nothing wrong.
inline constexpr DropReason kPass = DropReason::kCount;
// Returned by handlers that used a packet up without a reply (an ARP reply
// learned): freed, not counted as a drop.
inline constexpr DropReason kConsumed = static_cast<DropReason>(kDropReasonCount + 1);

constexpr std::string_view drop_reason_name(DropReason r) {
  constexpr std::array<std::string_view, kDropReasonCount> kNames = {
#define BYPASS_X(id, name) name,
      BYPASS_DROP_REASONS(BYPASS_X)
#undef BYPASS_X
  };
  return kNames[static_cast<size_t>(r)];
}

}  // namespace bypass
