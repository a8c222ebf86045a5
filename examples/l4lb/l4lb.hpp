// L4lb: a layer-4 load balancer with direct server return. UDP and TCP to
// the virtual address and port go to a backend chosen by the flow's 5-tuple
// hash, inside an IPv4-in-IPv4 header (protocol 4) from our address to the
// backend's, towards the gateway's MAC; the backend answers the client
// itself. The choice is rendezvous hashing, precomputed: each of 65536 slots
// holds the backend that scores highest for it (a score keyed by the
// backend's address: net/rendezvous.hpp), so removing a backend moves only
// the flows it had. Other traffic is dropped as not_vip. The outer length is
// the inner's plus 20, so an inner header that does not hold together, or
// whose TTL is spent, is dropped, never wrapped. The way to the backends
// carries packets of `mtu` bytes: a client's packet that would pass it once
// wrapped is not sent. With DF set (TCP, and Linux's UDP by default) the
// client is told, as a router would, with an ICMP "fragmentation needed"
// giving mtu - 20, from our address, at most 1000 a second per worker (a
// flood of large packets from forged sources gets less back than it sent);
// past that, or without DF, it is dropped as too_big.
// It answers no ARP or NDP: the router in front must send the virtual
// address's traffic to this port's MAC by itself (a static neighbour entry,
// or a route to it), and the gateway's MAC is configured, not resolved.
#pragma once

#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>
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
  X(kTooBig, "too_big")         /* wrapped it would pass the mtu, and no ICMP went back */
BYPASS_DROP_TABLE(L4lbDrop, L4LB_DROPS)

// What the worker reads for each packet: plain values, copied without
// allocating when a reload hands them over.
struct L4lbPath {
  uint32_t vip = 0, self = 0;  // network order
  rte_be16_t port = 0;
  rte_ether_addr gateway{};
  uint16_t mtu = 1500;  // the largest IP packet the way to the backends carries
};

struct L4lbConfig : L4lbPath {
  std::vector<uint32_t> backends;  // network order; the worker reads them through the table
};

class L4lb final : public PacketModule<L4lb> {
 public:
  L4lb(const L4lbConfig& c, const RendezvousTable* t) : PacketModule("L4lb"), c_(c), table_(t) {}
  DropTable drop_table() const override { return L4lbDrop::table(); }
  // On the worker: copies the path's values (no allocation), not the backends.
  void use(const L4lbConfig& c, const RendezvousTable* t) { c_ = c, table_ = t; }
  uint64_t told_too_big() const { return told_.get(); }  // ICMP "fragmentation needed" sent
  static constexpr uint64_t kIcmpPerSecond = 1000;       // and at most this many at once

  Verdict handle(Worker& w, rte_mbuf* m) {
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
    rte_be16_t ports[2];
    std::memcpy(ports, rte_pktmbuf_mtod_offset(m, uint8_t*, 14 + hlen), 4);
    if (ports[1] != c_.port) return Verdict::drop(L4lbDrop::kNotVip);
    if (table_->empty()) return Verdict::drop(L4lbDrop::kNoBackend);
    if (inner_len + 20u > c_.mtu) return too_big(w, m, hlen);
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
  // The client's packet becomes an ICMP "fragmentation needed" back to it
  // (RFC 792, with RFC 1191's next-hop MTU), quoting its IP header and the
  // 8 bytes after, through the gateway it came by.
  Verdict too_big(Worker& w, rte_mbuf* m, uint32_t hlen) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14);
    if (!(ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG)) || m->nb_segs != 1 ||
        m->data_len < 14 + hlen + 8 || !take_icmp_token(w))
      return Verdict::drop(L4lbDrop::kTooBig);
    const uint32_t quote = hlen + 8, len = 20 + 8 + quote;
    const rte_ether_addr us = rte_pktmbuf_mtod(m, rte_ether_hdr*)->dst_addr;
    const rte_be32_t client = ip->src_addr;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, 20 + 8));
    if (!eth) return Verdict::drop(L4lbDrop::kNoHeadroom);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - 14 - len));
    eth->dst_addr = c_.gateway;
    eth->src_addr = us;
    eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
    auto* out = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    *out = rte_ipv4_hdr{};
    out->version_ihl = RTE_IPV4_VHL_DEF;
    out->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len));
    out->time_to_live = 64;
    out->next_proto_id = IPPROTO_ICMP;
    out->src_addr = c_.self;
    out->dst_addr = client;
    out->hdr_checksum = rte_ipv4_cksum(out);
    auto* icmp = reinterpret_cast<uint8_t*>(out + 1);
    const uint16_t next_hop = static_cast<uint16_t>(c_.mtu - 20);
    const uint8_t head[8] = {
        3, 4, 0, 0, 0, 0, static_cast<uint8_t>(next_hop >> 8), static_cast<uint8_t>(next_hop)};
    std::memcpy(icmp, head, sizeof head);
    const uint16_t sum = static_cast<uint16_t>(~rte_raw_cksum(icmp, 8 + quote));
    std::memcpy(icmp + 2, &sum, 2);  // the one's complement sum, in the bytes' own order
    told_.add();
    return Verdict::to(0);
  }
  // A bucket of kIcmpPerSecond answers, refilled at that rate on the
  // worker's clock (a clock that runs back gives no credit).
  bool take_icmp_token(Worker& w) {
    const uint64_t now = w.now(), hz = w.clock().hz();
    const uint64_t per = hz / kIcmpPerSecond ? hz / kIcmpPerSecond : 1;
    if (!icmp_started_) icmp_started_ = true, icmp_at_ = now, icmp_tokens_ = kIcmpPerSecond;
    if (now < icmp_at_) icmp_at_ = now;
    const uint64_t add = std::min((now - icmp_at_) / per, kIcmpPerSecond);
    icmp_tokens_ = std::min(icmp_tokens_ + add, kIcmpPerSecond);
    icmp_at_ = icmp_tokens_ == kIcmpPerSecond ? now : icmp_at_ + add * per;
    if (icmp_tokens_ == 0) return false;
    --icmp_tokens_;
    return true;
  }

  L4lbPath c_;
  const RendezvousTable* table_;
  Counter told_;
  bool icmp_started_ = false;
  uint64_t icmp_at_ = 0, icmp_tokens_ = 0;  // the bucket: its last refill, what it holds
};

}  // namespace bypass::examples
