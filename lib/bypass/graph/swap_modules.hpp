// Reflector modules, as testpmd's forwarding modes: Io passes batches through,
// MacSwap swaps Ethernet addresses, FiveTupleSwap swaps MAC, IP addresses and
// UDP/TCP ports (checksums stay valid: a swap does not change a ones' sum),
// behind up to two VLAN tags; a fragment after the first has no ports, so
// only its addresses are swapped. On a port whose Linux peer leaves UDP and
// TCP checksums to a transmit offload that nothing performs (a veth: the
// field holds the pseudo-header sum alone), FiveTupleSwap finishes them, or
// the peer's kernel would drop what comes back.
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstring>

#include <bypass/graph/module.hpp>
#include <bypass/net/checksum.hpp>

namespace bypass {

#define BYPASS_SWAP_DROPS(X)                                            \
  X(kRunt, "runt")              /* shorter than the headers it swaps */ \
  X(kMalformed, "malformed_ip") /* IPv4 header length under 20 */
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
  // 802.1Q, 802.1ad and the older 0x9100.
  static bool is_tag(rte_be16_t t) {
    return t == RTE_BE16(RTE_ETHER_TYPE_VLAN) || t == RTE_BE16(RTE_ETHER_TYPE_QINQ) ||
           t == RTE_BE16(RTE_ETHER_TYPE_QINQ1);
  }
  // `finish_partial`: the port is on a veth (see above).
  explicit FiveTupleSwap(bool finish_partial = false)
      : PacketModule("FiveTupleSwap"), finish_partial_(finish_partial) {}
  DropTable drop_table() const override { return SwapDrop::table(); }
  Verdict handle(Worker&, rte_mbuf* m) {
    const uint32_t len = m->data_len;
    if (len < sizeof(rte_ether_hdr)) [[unlikely]]
      return Verdict::drop(SwapDrop::kRunt);
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    uint8_t* p = reinterpret_cast<uint8_t*>(eth);
    swap_mac(eth);
    uint32_t off = sizeof(rte_ether_hdr);
    rte_be16_t type = eth->ether_type;
    if (type != RTE_BE16(RTE_ETHER_TYPE_IPV4) && is_tag(type)) [[unlikely]] {
      for (int tags = 0; is_tag(type); ++tags, off += 4) {
        if (tags == 2) return Verdict::to(0);  // deeper than two tags: MACs only
        if (len < off + 4) [[unlikely]]
          return Verdict::drop(SwapDrop::kRunt);
        std::memcpy(&type, p + off + 2, 2);
      }
    }
    uint8_t proto;
    uint32_t l4_len = 0;      // from the IP header, for a checksum to finish
    uint32_t pseudo = 0;      // the pseudo-header sum, when a checksum may be finished
    bool may_finish = false;  // finish_partial_, and the frame holds its whole datagram
    if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) [[likely]] {
      if (len < off + sizeof(rte_ipv4_hdr)) [[unlikely]]
        return Verdict::drop(SwapDrop::kRunt);
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + off);
      const unsigned ihl = (ip->version_ihl & 0x0f) * 4u;
      if (ihl < sizeof(rte_ipv4_hdr)) [[unlikely]]
        return Verdict::drop(SwapDrop::kMalformed);
      const rte_be32_t src = ip->src_addr;
      ip->src_addr = ip->dst_addr;
      ip->dst_addr = src;
      // A later fragment's first bytes are data, not ports; a first fragment's
      // checksum covers data this frame lacks.
      proto = ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK) ? 0 : ip->next_proto_id;
      if (finish_partial_ && !(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG))) {
        const uint32_t total = rte_be_to_cpu_16(ip->total_length);
        l4_len = total > ihl ? total - ihl : 0;
        pseudo = pseudo_sum_v4(ip, l4_len, proto);
        may_finish = true;
      }
      off += ihl;
    } else if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
      if (len < off + sizeof(rte_ipv6_hdr)) [[unlikely]]
        return Verdict::drop(SwapDrop::kRunt);
      auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p + off);
      uint8_t src[16];
      std::memcpy(src, ip->src_addr, 16);
      std::memcpy(ip->src_addr, ip->dst_addr, 16);
      std::memcpy(ip->dst_addr, src, 16);
      proto = ip->proto;  // an extension header (a fragment's too): ports left alone
      if (finish_partial_) {
        l4_len = rte_be_to_cpu_16(ip->payload_len);
        pseudo = pseudo_sum_v6(ip, l4_len, proto);
        may_finish = true;
      }
      off += sizeof(rte_ipv6_hdr);
    } else {
      return Verdict::to(0);  // not IP: MAC swap only, as testpmd does
    }
    if ((proto == IPPROTO_UDP || proto == IPPROTO_TCP) && len >= off + 4) {
      uint8_t* l4 = p + off;
      uint16_t sp, dp;
      std::memcpy(&sp, l4, 2);
      std::memcpy(&dp, l4 + 2, 2);
      std::memcpy(l4, &dp, 2);
      std::memcpy(l4 + 2, &sp, 2);
      if (may_finish) [[unlikely]]
        finish(l4, len - off, l4_len, proto, pseudo);
    }
    return Verdict::to(0);
  }

 private:
  // A checksum that holds the pseudo-header sum alone (Linux left it to an
  // offload) becomes the whole one; any other is left as it came.
  static void finish(uint8_t* l4, uint32_t room, uint32_t l4_len, uint8_t proto, uint32_t pseudo) {
    const uint32_t at = proto == IPPROTO_UDP ? 6 : 16;
    if (l4_len < at + 2 || l4_len > room) return;
    uint16_t field;
    std::memcpy(&field, l4 + at, 2);
    if (field != fold(pseudo)) return;
    const uint16_t zero = 0;
    std::memcpy(l4 + at, &zero, 2);
    const uint32_t sum = pseudo + ones_sum(l4, l4_len);
    const uint16_t c = proto == IPPROTO_UDP ? finish_udp_cksum(sum) : finish_cksum(sum);
    std::memcpy(l4 + at, &c, 2);
  }
  bool finish_partial_;
};

}  // namespace bypass
