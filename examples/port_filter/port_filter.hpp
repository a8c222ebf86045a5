// PortFilter: a small appliance built on bypass's public API, as an example of
// embedding it. Frames pass between two ports; IPv4/IPv6 UDP and TCP to a
// blocked destination port are dropped under `port_blocked`, their fragments
// under `fragment`, IP whose ports cannot be found under `unjudged`;
// everything else passes. One PacketModule, one inline function per packet.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>

#include <bitset>
#include <cstring>

#include <bypass/graph/module.hpp>

namespace bypass::examples {

// The filter's own drop reasons, named in reports.
#define PORT_FILTER_DROPS(X)                                                              \
  X(kRunt, "runt")            /* shorter than an Ethernet header */                       \
  X(kBlocked, "port_blocked") /* to a blocked destination port */                         \
  X(kUnjudged, "unjudged")    /* IP whose ports cannot be found, or past two VLAN tags */ \
  X(kFragment, "fragment")    /* UDP/TCP in fragments: a later one has no ports to judge */
BYPASS_DROP_TABLE(PortFilterDrop, PORT_FILTER_DROPS)

class PortFilter final : public PacketModule<PortFilter> {
 public:
  PortFilter() : PacketModule("PortFilter") {}
  DropTable drop_table() const override { return PortFilterDrop::table(); }
  void block(uint16_t port) { blocked_.set(port); }

  // Fails closed: an IP packet whose ports it cannot find (an IPv4 header
  // shorter than 20 bytes, an IPv6 extension chain it cannot walk) is
  // dropped, not passed; so is a frame past two VLAN tags (802.1Q, 802.1ad,
  // the older 0x9100) or cut short in them. UDP and TCP fragments, first or later, are dropped:
  // a later one has no ports, and without it the first is of no use. (An IPv6
  // atomic fragment, offset 0 and no more to come, is judged whole.)
  Verdict handle(Worker&, rte_mbuf* m) {
    const uint32_t len = m->data_len;
    if (len < sizeof(rte_ether_hdr)) return Verdict::drop(PortFilterDrop::kRunt);
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    uint32_t l3 = 14;
    uint16_t type = static_cast<uint16_t>(p[12] << 8 | p[13]);
    for (;
         type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ || type == RTE_ETHER_TYPE_QINQ1;
         l3 += 4) {
      if (l3 == 22 || len < l3 + 4) return Verdict::drop(PortFilterDrop::kUnjudged);
      type = static_cast<uint16_t>(p[l3 + 2] << 8 | p[l3 + 3]);
    }
    uint32_t l4;
    uint8_t proto;
    if (type == RTE_ETHER_TYPE_IPV4) {
      if (len < l3 + 20 || (p[l3] & 0x0f) < 5) return Verdict::drop(PortFilterDrop::kUnjudged);
      proto = p[l3 + 9];
      l4 = l3 + (p[l3] & 0x0f) * 4u;
      if (((p[l3 + 6] & 0x3f) | p[l3 + 7]) && ours(proto))  // more fragments, or an offset
        return Verdict::drop(PortFilterDrop::kFragment);
    } else if (type == RTE_ETHER_TYPE_IPV6) {
      if (len < l3 + 40) return Verdict::drop(PortFilterDrop::kUnjudged);
      proto = p[l3 + 6];
      l4 = l3 + 40;
      // Hop-by-hop, routing, destination options, fragment, AH: at most 8.
      for (int k = 0; k < 8 && extension(proto); ++k) {
        if (len < l4 + 8) return Verdict::drop(PortFilterDrop::kUnjudged);
        const uint8_t next = p[l4];
        if (proto == 44 && (p[l4 + 2] | (p[l4 + 3] & 0xf9)) != 0)  // an offset, or more
          return ours(next) || extension(next) ? Verdict::drop(PortFilterDrop::kFragment)
                                               : Verdict::to(0);
        l4 += proto == 44 ? 8u : proto == 51 ? (p[l4 + 1] + 2u) * 4u : (p[l4 + 1] + 1u) * 8u;
        proto = next;
      }
      if (extension(proto)) return Verdict::drop(PortFilterDrop::kUnjudged);
    } else {
      return Verdict::to(0);  // not IP: not ours to judge
    }
    if (!ours(proto)) return Verdict::to(0);
    if (len < l4 + 4) return Verdict::drop(PortFilterDrop::kUnjudged);
    const uint16_t dport = static_cast<uint16_t>(p[l4 + 2] << 8 | p[l4 + 3]);
    return blocked_.test(dport) ? Verdict::drop(PortFilterDrop::kBlocked) : Verdict::to(0);
  }

 private:
  static bool ours(uint8_t proto) { return proto == IPPROTO_UDP || proto == IPPROTO_TCP; }
  static bool extension(uint8_t nh) {
    return nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51;
  }
  std::bitset<65536> blocked_;
};

}  // namespace bypass::examples
