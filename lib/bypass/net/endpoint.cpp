// Endpoint: dispatch, ARP, IPv4 and ICMP. IPv6 and NDP are in endpoint6.cpp.
#include <bypass/net/endpoint.hpp>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <bypass/net/checksum.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/net/wire.hpp>

namespace bypass {

Expected<IfAddr> IfAddr::parse(const std::string& s) {
  auto slash = s.find('/');
  auto ip = IpAddr::parse(s.substr(0, slash));
  if (!ip)
    return Status::error("address \"" + s +
                         "\" is not an IPv4 or IPv6 address: write it like \"198.18.0.2/24\" or "
                         "\"2001:db8::2/64\".");
  IfAddr a{*ip, static_cast<uint8_t>(ip->is_v4() ? 32 : 128)};
  if (slash != std::string::npos) {
    std::string pl = s.substr(slash + 1);
    unsigned max = ip->is_v4() ? 32 : 128;
    if (pl.empty() || pl.size() > 3 || pl.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(pl) > max)
      return Status::error("address \"" + s + "\" has a bad prefix length: use /0 to /" +
                           std::to_string(max) + ".");
    a.prefix = static_cast<uint8_t>(std::stoul(pl));
  }
  if (ip->is_v4() && (ip->b[0] == 0 || ip->b[0] == 127 || ip->b[0] >= 224))
    return Status::error("address \"" + s + "\" cannot be a host address: use a unicast address.");
  if (ip->is_v6() && (ip->b[0] == 0xff || *ip == IpAddr::v6(std::array<uint8_t, 16>{}.data())))
    return Status::error("address \"" + s + "\" cannot be a host address: use a unicast address.");
  return a;
}

Endpoint::Endpoint(EndpointConfig cfg, uint64_t hz)
    : cfg_(std::move(cfg)), neigh_(cfg_.neighbors, hz) {
  if (!register_parsed_field())
    throw std::runtime_error(
        "the mbufs have no room left for bypass's parse results: register fewer dynamic fields.");
  bucket_tokens_ = cfg_.icmp_errors_per_sec;  // the bucket starts full
  for (const auto& a : cfg_.addrs) {
    if (!a.ip.is_v4()) continue;
    v4_.push_back(a.ip.v4_be());
    // The subnet's directed broadcast (no /31 or /32 has one).
    if (a.prefix < 31) {
      const uint32_t host = a.prefix == 0 ? ~0u : ~0u >> a.prefix;
      v4_broadcast_.push_back(rte_cpu_to_be_32(rte_be_to_cpu_32(a.ip.v4_be()) | host));
    }
  }
}

bool Endpoint::owns_v4(uint32_t be) const {
  for (uint32_t a : v4_)
    if (a == be) return true;
  return false;
}

bool Endpoint::owns(const IpAddr& a) const {
  if (a.is_v4()) return owns_v4(a.v4_be());
  return a.is_v6() && find_v6(a.v6_bytes()) != nullptr;
}

bool Endpoint::icmp_error_allowed(uint64_t now, uint64_t hz) {
  // Token bucket: icmp_errors_per_sec tokens a second, burst of the same size.
  const uint64_t rate = cfg_.icmp_errors_per_sec;
  if (rate == 0) return false;
  if (now < bucket_time_) bucket_time_ = now;  // the clock went backwards
  // A full bucket takes one second: longer gaps (and the first call) count as one second,
  // so the product cannot overflow.
  const uint64_t elapsed = std::min(now - bucket_time_, hz);
  uint64_t add = elapsed * rate / hz;
  if (add > 0) {
    bucket_tokens_ = std::min(rate, bucket_tokens_ + add);
    bucket_time_ = now;
  }
  if (bucket_tokens_ == 0) return false;
  --bucket_tokens_;
  return true;
}

void Endpoint::process(Worker& w, Batch& in, Batch& tx, UdpBatch& udp) {
  Batch dead;  // dropped or consumed, freed in bulk
  for (rte_mbuf* m : in) {
    Parsed p;
    DropReason r = parse_ethernet(m, p, cfg_.limits);
    if (r == kPass) {
      const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
      const MacAddr dst = to_mac(eth->dst_addr);
      const MacAddr src = to_mac(eth->src_addr);
      if (dst != cfg_.mac && !dst.is_multicast()) {
        r = NetDrop::kNotForUs;
      } else if (src.is_multicast() || src.is_zero()) {
        // No station sends from a group or from nothing; every answer goes
        // back to the source MAC, so one spoofed frame would be answered to all.
        r = NetDrop::kMacMartian;
      } else if (p.ethertype == RTE_ETHER_TYPE_ARP) {
        r = handle_arp(w, m, p, tx);
      } else if (p.ethertype == RTE_ETHER_TYPE_IPV4) {
        r = handle_ipv4(w, m, p, tx, udp);
      } else if (p.ethertype == RTE_ETHER_TYPE_IPV6) {
        r = handle_ipv6(w, m, p, tx, udp);
      } else {
        r = NetDrop::kNotIp;
      }
    }
    if (r == kPass) continue;  // moved to tx or udp
    if (r != kConsumed) {
      w.drop(r);
      if (spdlog::should_log(spdlog::level::trace)) [[unlikely]]
        spdlog::trace("drop {}: {} bytes, ethertype {:#06x}", NetDrop::table().name(r), m->pkt_len,
                      p.ethertype);
    }
    dead.push(m);
  }
  in.clear();
  dead.free_all();
}

DropReason Endpoint::handle_arp(Worker& w, rte_mbuf* m, const Parsed& p, Batch& tx) {
  if (DropReason r = parse_arp(m, p); r != kPass) return r;
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* a = rte_pktmbuf_mtod_offset(m, rte_arp_hdr*, p.l3_off);
  rte_arp_ipv4& d = a->arp_data;
  const uint32_t sip = d.arp_sip, tip = d.arp_tip;
  if (to_mac(d.arp_sha).is_multicast()) return NetDrop::kArpBad;
  // A sender no host can be (0 is a probe, RFC 5227): neither learned nor
  // answered. Our own address as the sender is a conflict or a spoof.
  if (sip != 0) {
    if (owns_v4(sip)) return NetDrop::kIpSourceOurs;
    if (martian_v4(sip) ||
        std::find(v4_broadcast_.begin(), v4_broadcast_.end(), sip) != v4_broadcast_.end())
      return NetDrop::kIpMartian;
  }
  const uint64_t now = w.now();
  if (a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY)) {
    if (!owns_v4(tip) && sip != tip) return NetDrop::kArpNotOurs;
    learn(IpAddr::v4(sip), d.arp_sha.addr_bytes, now,
          owns_v4(tip) ? LearnKind::kReply : LearnKind::kUnsolicited);
    return kConsumed;
  }
  if (!owns_v4(tip)) {
    if (sip == tip) {  // gratuitous ARP: updates a neighbour we know, creates none
      learn(IpAddr::v4(sip), d.arp_sha.addr_bytes, now, LearnKind::kUnsolicited);
      return kConsumed;
    }
    return NetDrop::kArpNotOurs;
  }
  if (sip != 0) learn(IpAddr::v4(sip), d.arp_sha.addr_bytes, now, LearnKind::kRequest);
  counters_.arp_requests.add();
  a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  d.arp_tha = d.arp_sha;
  d.arp_tip = sip;
  d.arp_sha = to_ether(cfg_.mac);
  d.arp_sip = tip;
  eth->dst_addr = d.arp_tha;
  eth->src_addr = to_ether(cfg_.mac);
  // A request from a veth or a tap is 42 bytes: the reply goes out padded to
  // Ethernet's 60-byte minimum, like the ARP frames built from nothing.
  if (m->pkt_len < kMinFrameBytes && m->nb_segs == 1) {
    const uint16_t pad = static_cast<uint16_t>(kMinFrameBytes - m->pkt_len);
    if (char* tail = rte_pktmbuf_append(m, pad)) std::memset(tail, 0, pad);
  }
  tx.push(m);
  counters_.arp_replies.add();
  return kPass;
}

DropReason Endpoint::handle_ipv4(Worker&, rte_mbuf* m, Parsed& p, Batch& tx, UdpBatch& udp) {
  if (DropReason r = parse_ipv4(m, p); r != kPass) return r;
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, p.l3_off);
  if (!owns_v4(ip->dst_addr)) return NetDrop::kNotForUs;
  // Our own address as the source: a spoof or a loop; Linux drops it as a martian.
  if (owns_v4(ip->src_addr)) return NetDrop::kIpSourceOurs;
  // Our subnet's broadcast as the source: no host has it; an answer would go to all.
  for (uint32_t b : v4_broadcast_)
    if (b == ip->src_addr) return NetDrop::kIpMartian;
  if (p.proto == kProtoUdp) {
    if (DropReason r = parse_udp(m, p, false, cfg_.limits.udp_checksum_partial_ok); r != kPass)
      return r;
    if (p.udp_cksum_partial) counters_.udp_checksum_partial.add();
    parsed(m) = p;
    udp.pkts.push(m);
    counters_.udp_delivered.add();
    return kPass;
  }
  if (p.proto != kProtoIcmp) return NetDrop::kIpProtocol;
  if (DropReason r = parse_icmp(m, p); r != kPass) return r;
  auto* icmp = rte_pktmbuf_mtod_offset(m, EchoHdr*, p.l4_off);
  if (icmp->type != kIcmpEchoRequest || icmp->code != 0) return NetDrop::kIcmpIgnored;
  // Echo reply in place: only the type changes in the ICMP message.
  icmp->type = kIcmpEchoReply;
  icmp->cksum = cksum_update16(icmp->cksum, rte_cpu_to_be_16(kIcmpEchoRequest << 8),
                               rte_cpu_to_be_16(kIcmpEchoReply << 8));
  if (icmp->cksum == 0) icmp->cksum = 0xffff;  // -0 verifies for any data; +0 not for all-zero data
  const rte_be32_t src = ip->src_addr;
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = src;
  ip->time_to_live = cfg_.ttl;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = ipv4_header_cksum(ip);
  swap_macs_from(rte_pktmbuf_mtod(m, rte_ether_hdr*), cfg_.mac);
  m->ol_flags = 0;
  tx.push(m);
  counters_.echo4.add();
  return kPass;
}

void Endpoint::port_unreachable(Worker& w, rte_mbuf* m, const Parsed& p, Batch& tx) {
  const bool v6 = p.ethertype == RTE_ETHER_TYPE_IPV6;
  // A datagram that came to a link-layer group (broadcast, multicast) gets
  // no error (RFC 1122 3.2.2, RFC 4443 2.4 e.3): every member would answer.
  if (to_mac(rte_pktmbuf_mtod(m, const rte_ether_hdr*)->dst_addr).is_multicast()) {
    counters_.icmp_errors_to_groups.add();
    rte_pktmbuf_free(m);
    return;
  }
  rte_mbuf* e = nullptr;
  if (!tx.full() && icmp_error_allowed(w.now(), w.clock().hz())) e = rte_pktmbuf_alloc(m->pool);
  if (e == nullptr) {
    counters_.icmp_errors_suppressed.add();
    rte_pktmbuf_free(m);
    return;
  }
  // Quote the offending datagram: IPv4 its header and 8 bytes (RFC 792),
  // IPv6 as much as keeps the error within the minimum MTU of 1280 (RFC 4443).
  const uint32_t ip_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  const uint32_t avail = m->pkt_len - p.l3_off;
  const uint32_t quote = v6 ? std::min<uint32_t>(avail, 1280 - ip_len - 8)
                            : std::min<uint32_t>(avail, (p.l4_off - p.l3_off) + 8u);
  const uint32_t len = p.l3_off + ip_len + 8 + quote;
  auto* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(e, static_cast<uint16_t>(len)));
  if (out == nullptr) {
    rte_pktmbuf_free(e);
    counters_.icmp_errors_suppressed.add();
    rte_pktmbuf_free(m);
    return;
  }
  // Link header (with any VLAN tags) as received, addresses swapped.
  rte_memcpy(out, rte_pktmbuf_mtod(m, const uint8_t*), p.l3_off);
  swap_macs_from(reinterpret_cast<rte_ether_hdr*>(out), cfg_.mac);
  uint8_t* quoted = out + p.l3_off + ip_len + 8;
  const void* q = rte_pktmbuf_read(m, p.l3_off, quote, quoted);
  if (q != quoted) rte_memcpy(quoted, q, quote);
  auto* icmp = reinterpret_cast<EchoHdr*>(out + p.l3_off + ip_len);
  icmp->code = v6 ? kIcmp6PortUnreachable : kIcmpPortUnreachable;
  icmp->type = v6 ? kIcmp6DestUnreachable : kIcmpDestUnreachable;
  icmp->cksum = 0;
  icmp->id = 0;
  icmp->seq = 0;
  const uint32_t l4 = 8 + quote;
  if (v6) {
    const auto* oip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, p.l3_off);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(out + p.l3_off);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(l4));
    ip->proto = kProtoIcmp6;
    ip->hop_limits = cfg_.ttl;
    std::memcpy(ip->src_addr, oip->dst_addr, 16);
    std::memcpy(ip->dst_addr, oip->src_addr, 16);
    icmp->cksum = finish_cksum(pseudo_sum_v6(ip, l4, kProtoIcmp6) + ones_sum(icmp, l4));
  } else {
    const auto* oip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, p.l3_off);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(out + p.l3_off);
    std::memset(ip, 0, sizeof(*ip));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len + l4));
    ip->time_to_live = cfg_.ttl;
    ip->next_proto_id = kProtoIcmp;
    ip->src_addr = oip->dst_addr;
    ip->dst_addr = oip->src_addr;
    ip->hdr_checksum = ipv4_header_cksum(ip);
    icmp->cksum = finish_cksum(ones_sum(icmp, l4));
  }
  rte_pktmbuf_free(m);
  tx.push(e);
  counters_.icmp_errors_sent.add();
}

void Endpoint::learn(const IpAddr& ip, const uint8_t* mac, uint64_t now, LearnKind kind,
                     bool override) {
  MacAddr m;
  std::memcpy(m.b.data(), mac, 6);
  LearnResult r = neigh_.learn(ip, m, now, kind, override);
  if (r == LearnResult::kAdded || r == LearnResult::kRefreshed) counters_.arp_learned.add();
  if (r == LearnResult::kMacChanged) counters_.neighbor_changes.add();
}

void Endpoint::tick(Worker& w, rte_mempool* pool, Batch& tx) {
  neigh_.tick(
      w.now(),
      [&](const IpAddr& ip, const MacAddr* known) {
        if (tx.full()) return;
        const IfAddr* src = nullptr;
        for (const auto& a : cfg_.addrs)
          if (a.ip.family == ip.family) {
            src = &a;
            break;
          }
        if (!src) return;
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (!m) return;
        bool ok = ip.is_v4() ? build_arp_request(m, cfg_.mac, src->ip.v4_be(), ip.v4_be(),
                                                 known ? *known : MacAddr::broadcast())
                             : build_ns(m, cfg_.mac, src->ip, ip, known);
        if (ok)
          tx.push(m);
        else
          rte_pktmbuf_free(m);
      },
      [&](rte_mbuf* m) {
        w.drop(NetDrop::kNoNeighbor);
        rte_pktmbuf_free(m);
      });
}

unsigned Endpoint::announce(rte_mempool* pool, Batch& tx) {
  unsigned n = 0;
  for (const auto& a : cfg_.addrs) {
    if (tx.full()) break;
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) break;
    bool ok = a.ip.is_v4() ? build_garp(m, cfg_.mac, a.ip.v4_be())
                           : build_unsolicited_na(m, cfg_.mac, a.ip);
    if (!ok) {
      rte_pktmbuf_free(m);
      continue;
    }
    tx.push(m);
    ++n;
  }
  return n;
}

}  // namespace bypass
