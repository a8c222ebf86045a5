// Reflector modules, as testpmd's forwarding modes: Io passes batches through,
// MacSwap swaps Ethernet addresses, FiveTupleSwap swaps MAC, IP addresses and
// UDP/TCP ports (checksums stay valid: a swap does not change a ones' sum).
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstring>

#include <bypass/graph/module.hpp>

namespace bypass {

#define BYPASS_SWAP_DROPS(X) X(kRunt, "runt") /* shorter than the headers it swaps */
BYPASS_DROP_TABLE(SwapDrop, BYPASS_SWAP_DROPS)

class Io final : public Module {
 public:
  Io() : Module("Io", 1) {}
  void process(Worker& w, Batch& b) override { emit(w, 0, b); }
};

inline void swap_mac(rte_ether_hdr* eth) {
  const rte_ether_addr src = eth->src_addr;
  eth->src_addr = eth->dst_addr;
  eth->dst_addr = src;
}

class MacSwap final : public PacketModule<MacSwap> {
 public:
  MacSwap() : PacketModule("MacSwap") {}
  DropTable drop_table() const override { return SwapDrop::table(); }
  Verdict handle(Worker&, rte_mbuf* m) {
    if (m->data_len < sizeof(rte_ether_hdr)) [[unlikely]]
      return Verdict::drop(SwapDrop::kRunt);
    swap_mac(rte_pktmbuf_mtod(m, rte_ether_hdr*));
    return Verdict::to(0);
  }
};

class FiveTupleSwap final : public PacketModule<FiveTupleSwap> {
 public:
  FiveTupleSwap() : PacketModule("FiveTupleSwap") {}
  DropTable drop_table() const override { return SwapDrop::table(); }
  Verdict handle(Worker&, rte_mbuf* m) {
    const uint32_t len = m->data_len;
    if (len < sizeof(rte_ether_hdr)) [[unlikely]]
      return Verdict::drop(SwapDrop::kRunt);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    swap_mac(eth);
    uint32_t off = sizeof(rte_ether_hdr);
    uint8_t proto;
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
      if (len < off + sizeof(rte_ipv4_hdr)) [[unlikely]]
        return Verdict::drop(SwapDrop::kRunt);
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(reinterpret_cast<uint8_t*>(eth) + off);
      const rte_be32_t src = ip->src_addr;
      ip->src_addr = ip->dst_addr;
      ip->dst_addr = src;
      proto = ip->next_proto_id;
      off += (ip->version_ihl & 0x0f) * 4u;
    } else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
      if (len < off + sizeof(rte_ipv6_hdr)) [[unlikely]]
        return Verdict::drop(SwapDrop::kRunt);
      auto* ip = reinterpret_cast<rte_ipv6_hdr*>(reinterpret_cast<uint8_t*>(eth) + off);
      uint8_t src[16];
      std::memcpy(src, ip->src_addr, 16);
      std::memcpy(ip->src_addr, ip->dst_addr, 16);
      std::memcpy(ip->dst_addr, src, 16);
      proto = ip->proto;
      off += sizeof(rte_ipv6_hdr);
    } else {
      return Verdict::to(0);  // not IP: MAC swap only, as testpmd does
    }
    if ((proto == IPPROTO_UDP || proto == IPPROTO_TCP) && len >= off + 4) {
      uint8_t* l4 = rte_pktmbuf_mtod(m, uint8_t*) + off;
      uint16_t sp, dp;
      std::memcpy(&sp, l4, 2);
      std::memcpy(&dp, l4 + 2, 2);
      std::memcpy(l4, &dp, 2);
      std::memcpy(l4 + 2, &sp, 2);
    }
    return Verdict::to(0);
  }
};

}  // namespace bypass
