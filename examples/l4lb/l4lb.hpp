// L4lb: a layer-4 load balancer with direct server return. UDP and TCP to
// the virtual address and port go to a backend chosen by the flow's 5-tuple
// hash, inside an IPv4-in-IPv4 header (protocol 4) from our address to the
// backend's, towards the gateway's MAC; the backend answers the client
// itself. The choice is rendezvous hashing, precomputed: each of 65536 slots
// holds the backend that scores highest for it (a score keyed by the
// backend's address: net/rendezvous.hpp), so removing a backend moves only
// the flows it had. Other traffic is dropped as not_vip. The outer length is
// the inner's plus 20, so an inner header that does not hold together, or
// whose TTL is spent, is dropped, never wrapped. No MTU is checked (bypass
// has no MTU setting): a frame at the link's MTU leaves 20 bytes over it, with
// DF set, so the way to the backends must carry 20 bytes more.
#pragma once

#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include <bypass/graph/module.hpp>
#include <bypass/net/rendezvous.hpp>

namespace bypass::examples {

#define L4LB_DROPS(X)                                                                      \
  X(kNotVip, "not_vip")         /* not IPv4 UDP/TCP to the service */                      \
  X(kNoBackend, "no_backend")   /* the backend list is empty */                            \
  X(kNoHeadroom, "no_headroom") /* no room in front for the outer header */                \
  X(kFragment, "fragment")      /* a fragment: only the first has the ports */             \
  X(kMalformed, "malformed_ip") /* not version 4, IHL < 5, a bad total length, no ports */ \
  X(kTtl, "ttl_expired")        /* TTL 0 */                                                \
  X(kTooBig, "too_big")         /* the outer packet would pass 65535 bytes */
BYPASS_DROP_TABLE(L4lbDrop, L4LB_DROPS)

struct L4lbConfig {
  uint32_t vip = 0, self = 0;  // network order
  rte_be16_t port = 0;
  rte_ether_addr gateway{};
  std::vector<uint32_t> backends;  // network order
};

class L4lb final : public PacketModule<L4lb> {
 public:
  L4lb(const L4lbConfig& c, const RendezvousTable* t) : PacketModule("L4lb"), c_(c), table_(t) {}
  DropTable drop_table() const override { return L4lbDrop::table(); }
  void use(const L4lbConfig& c, const RendezvousTable* t) { c_ = c, table_ = t; }  // on the worker

  Verdict handle(Worker&, rte_mbuf* m) {
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    if (m->data_len < 14 + 20 || eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4))
      return Verdict::drop(L4lbDrop::kNotVip);
    // The total length covers the header, and no more than the frame brought.
    const uint32_t hlen = rte_ipv4_hdr_len(ip), inner_len = rte_be_to_cpu_16(ip->total_length);
    if (ip->version_ihl >> 4 != 4 || hlen < 20 || inner_len < hlen || inner_len > m->pkt_len - 14u)
      return Verdict::drop(L4lbDrop::kMalformed);
    if (ip->dst_addr != c_.vip ||
        (ip->next_proto_id != IPPROTO_UDP && ip->next_proto_id != IPPROTO_TCP))
      return Verdict::drop(L4lbDrop::kNotVip);
    // Fragments cannot be pinned by their ports (only the first has them),
    // and one flow's pieces must not reach two backends: refused, named.
    if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG))
      return Verdict::drop(L4lbDrop::kFragment);
    if (ip->time_to_live == 0) return Verdict::drop(L4lbDrop::kTtl);
    if (inner_len < hlen + 4 || m->data_len < 14 + hlen + 4)  // no ports (in the first segment)
      return Verdict::drop(L4lbDrop::kMalformed);
    if (inner_len > 65535 - 20) return Verdict::drop(L4lbDrop::kTooBig);
    rte_be16_t ports[2];
    std::memcpy(ports, rte_pktmbuf_mtod_offset(m, uint8_t*, 14 + hlen), 4);
    if (ports[1] != c_.port) return Verdict::drop(L4lbDrop::kNotVip);
    if (table_->empty()) return Verdict::drop(L4lbDrop::kNoBackend);
    uint32_t h = rte_hash_crc_4byte(ip->src_addr, ip->next_proto_id);
    h = rte_hash_crc_4byte(static_cast<uint32_t>(ports[0]) << 16 | ports[1], h);
    const rte_be32_t backend = table_->pick(h);
    const rte_ether_addr us = eth->dst_addr;
    auto* neth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ipv4_hdr)));
    if (!neth) return Verdict::drop(L4lbDrop::kNoHeadroom);
    neth->dst_addr = c_.gateway;
    neth->src_addr = us;
    neth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    auto* outer = reinterpret_cast<rte_ipv4_hdr*>(neth + 1);
    *outer = rte_ipv4_hdr{};
    outer->version_ihl = RTE_IPV4_VHL_DEF;
    outer->type_of_service = reinterpret_cast<rte_ipv4_hdr*>(outer + 1)->type_of_service;
    outer->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(inner_len + 20));
    outer->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
    outer->time_to_live = 64;
    outer->next_proto_id = IPPROTO_IPIP;
    outer->src_addr = c_.self;
    outer->dst_addr = backend;
    outer->hdr_checksum = rte_ipv4_cksum(outer);
    return Verdict::to(0);
  }

 private:
  L4lbConfig c_;
  const RendezvousTable* table_;
};

}  // namespace bypass::examples
