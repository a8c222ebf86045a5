// PortFilter: a small appliance built on bypass's public API, as an example of
// embedding it. Frames pass between two ports; IPv4/IPv6 UDP and TCP to a
// blocked destination port are dropped under `port_blocked`, IP whose ports
// cannot be found under `unjudged`; everything else passes. One PacketModule,
// one inline function per packet.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>

#include <bitset>
#include <cstring>

#include <bypass/graph/module.hpp>

namespace bypass::examples {

// The filter's own drop reasons, named in reports.
#define PORT_FILTER_DROPS(X)                                        \
  X(kRunt, "runt")            /* shorter than an Ethernet header */ \
  X(kBlocked, "port_blocked") /* to a blocked destination port */   \
  X(kUnjudged, "unjudged")    /* IP whose ports cannot be found: refused */
BYPASS_DROP_TABLE(PortFilterDrop, PORT_FILTER_DROPS)

class PortFilter final : public PacketModule<PortFilter> {
 public:
  PortFilter() : PacketModule("PortFilter") {}
  DropTable drop_table() const override { return PortFilterDrop::table(); }
  void block(uint16_t port) { blocked_.set(port); }

  // Fails closed: an IP packet whose ports it cannot find (an IPv4 header
  // shorter than 20 bytes, a first fragment too short for the ports, an IPv6
  // extension chain it cannot walk) is dropped, not passed. One VLAN tag is
  // looked through; IPv6 extension headers are walked to the transport.
  // A later fragment carries no ports: it passes (its first one was judged).
  Verdict handle(Worker&, rte_mbuf* m) {
    const uint32_t len = m->data_len;
    if (len < sizeof(rte_ether_hdr)) return Verdict::drop(PortFilterDrop::kRunt);
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    uint32_t l3 = 14;
    uint16_t type = static_cast<uint16_t>(p[12] << 8 | p[13]);
    if (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) {
      if (len < 18) return Verdict::drop(PortFilterDrop::kRunt);
      type = static_cast<uint16_t>(p[16] << 8 | p[17]);
      l3 = 18;
    }
    uint32_t l4;
    uint8_t proto;
    if (type == RTE_ETHER_TYPE_IPV4) {
      if (len < l3 + 20 || (p[l3] & 0x0f) < 5) return Verdict::drop(PortFilterDrop::kUnjudged);
      proto = p[l3 + 9];
      l4 = l3 + (p[l3] & 0x0f) * 4u;
      const uint16_t frag = static_cast<uint16_t>((p[l3 + 6] & 0x1f) << 8 | p[l3 + 7]);
      if (frag != 0) return Verdict::to(0);  // a later fragment: no ports in it
    } else if (type == RTE_ETHER_TYPE_IPV6) {
      if (len < l3 + 40) return Verdict::drop(PortFilterDrop::kUnjudged);
      proto = p[l3 + 6];
      l4 = l3 + 40;
      // Hop-by-hop, routing, destination options, fragment, AH: at most 8.
      for (int k = 0; k < 8; ++k) {
        if (proto != 0 && proto != 43 && proto != 60 && proto != 44 && proto != 51) break;
        if (len < l4 + 8) return Verdict::drop(PortFilterDrop::kUnjudged);
        const uint8_t next = p[l4];
        if (proto == 44) {
          if ((p[l4 + 2] << 8 | (p[l4 + 3] & 0xf8)) != 0)
            return Verdict::to(0);  // a later fragment
          l4 += 8;
        } else {
          l4 += proto == 51 ? (p[l4 + 1] + 2u) * 4u : (p[l4 + 1] + 1u) * 8u;
        }
        proto = next;
      }
      if (proto == 0 || proto == 43 || proto == 60 || proto == 44 || proto == 51)
        return Verdict::drop(PortFilterDrop::kUnjudged);
    } else {
      return Verdict::to(0);  // not IP: not ours to judge
    }
    if (proto != IPPROTO_UDP && proto != IPPROTO_TCP) return Verdict::to(0);
    if (len < l4 + 4) return Verdict::drop(PortFilterDrop::kUnjudged);
    const uint16_t dport = static_cast<uint16_t>(p[l4 + 2] << 8 | p[l4 + 3]);
    return blocked_.test(dport) ? Verdict::drop(PortFilterDrop::kBlocked) : Verdict::to(0);
  }

 private:
  std::bitset<65536> blocked_;
};

}  // namespace bypass::examples
