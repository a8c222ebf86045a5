// PortFilter: a small appliance built on bypass's public API, as an example of
// embedding it. Frames pass between two ports; IPv4/IPv6 UDP and TCP to a
// blocked destination port are dropped under the `filtered` reason, everything
// else passes. One PacketModule, one inline function per packet.
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
  X(kBlocked, "port_blocked") /* to a blocked destination port */
BYPASS_DROP_TABLE(PortFilterDrop, PORT_FILTER_DROPS)

class PortFilter final : public PacketModule<PortFilter> {
 public:
  PortFilter() : PacketModule("PortFilter") {}
  DropTable drop_table() const override { return PortFilterDrop::table(); }
  void block(uint16_t port) { blocked_.set(port); }

  Verdict handle(Worker&, rte_mbuf* m) {
    const uint32_t len = m->data_len;
    if (len < sizeof(rte_ether_hdr)) return Verdict::drop(PortFilterDrop::kRunt);
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint16_t type = static_cast<uint16_t>(p[12] << 8 | p[13]);
    uint32_t l4;
    uint8_t proto;
    if (type == RTE_ETHER_TYPE_IPV4 && len >= 14 + 20) {
      proto = p[14 + 9];
      l4 = 14 + (p[14] & 0x0f) * 4u;
    } else if (type == RTE_ETHER_TYPE_IPV6 && len >= 14 + 40) {
      proto = p[14 + 6];
      l4 = 14 + 40;
    } else {
      return Verdict::to(0);  // not IP: not ours to judge
    }
    if ((proto != IPPROTO_UDP && proto != IPPROTO_TCP) || len < l4 + 4) return Verdict::to(0);
    const uint16_t dport = static_cast<uint16_t>(p[l4 + 2] << 8 | p[l4 + 3]);
    return blocked_.test(dport) ? Verdict::drop(PortFilterDrop::kBlocked) : Verdict::to(0);
  }

 private:
  std::bitset<65536> blocked_;
};

}  // namespace bypass::examples
