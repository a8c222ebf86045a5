// PortHost: the host duties of a port whose program is not an IP host
// itself: a reflector (bypass-fwd in macswap and 5tswap modes, in front of its
// swap) or a generator (bypass-gen, in front of its receiver). What a host on
// the link asks of the port or tells the link goes to the port's Endpoint
// instead of the program: ARP, neighbour and router discovery, and, sent to a
// group, MLD (and any hop-by-hop options), IGMP and the IEEE link-local
// protocols (01:80:c2:00:00:0x: LLDP, STP, pause). The Endpoint answers ARP
// and neighbour solicitations for the port's addresses and drops the rest
// under its named reasons; everything else goes on to the program untouched,
// except that for a reflector (Role::kReflector) a frame sent to a broadcast
// or multicast MAC (a generator's test traffic) first gets the port's MAC as
// its destination, so that the swap sends it from the port's MAC rather than
// from a group address, which no station may send from. Gate 0 (kOn) feeds the
// program, gate 1 (kAnswer) the TX of the port the frame came in on. An ARP
// request for an address the port lacks is counted, and its first target
// kept, so that the program can say once what to configure. One instance per
// RX queue, run by one worker.
#pragma once

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <netinet/in.h>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include <bypass/core/counter.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/net/net_drops.hpp>

namespace bypass {

class PortHost final : public Module {
 public:
  static constexpr unsigned kOn = 0, kAnswer = 1;
  // What follows: a reflector's swap (group destinations become the port's
  // MAC) or a receiver that sends nothing back.
  enum class Role : uint8_t { kReflector, kReceiver };

  PortHost(Endpoint& ep, Role role)
      : Module("host", 2),
        ep_(ep),
        mac_(to_ether(ep.config().mac)),
        reflect_(role == Role::kReflector) {}
  DropTable drop_table() const override { return NetDrop::table(); }

  void process(Worker& w, Batch& in) override {
    // Only a batch with a frame that is not plain() is sorted.
    const uint16_t n = in.size();
    uint16_t i = 0;
    while (i < n && plain(in[i])) ++i;
    if (i == n) [[likely]] {
      emit(w, kOn, in);
      return;
    }
    sort(w, in, i);
  }

  /// Whether a frame is the host's business rather than the program's (see
  /// the file's description); for a reflector, a group-addressed frame left
  /// to the swap gets the port's MAC as its destination here.
  bool to_host(rte_mbuf* m) const {
    if (plain(m)) return false;
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    const rte_be16_t t = eth->ether_type;
    const bool group = eth->dst_addr.addr_bytes[0] & 1;
    if (t == RTE_BE16(RTE_ETHER_TYPE_ARP)) return true;
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    constexpr uint32_t l3 = sizeof(rte_ether_hdr);
    if (t == RTE_BE16(RTE_ETHER_TYPE_IPV6) && m->data_len > l3 + sizeof(rte_ipv6_hdr)) {
      const uint8_t next = p[l3 + 6];
      if (next == IPPROTO_ICMPV6) {
        const uint8_t type = p[l3 + sizeof(rte_ipv6_hdr)];
        if (type >= 133 && type <= 137) return true;  // neighbour and router discovery
        if (group && type >= 130) return true;        // MLD and the other link messages
      }
      // Hop-by-hop options to a group: MLD reports behind their router alert.
      if (group && next == IPPROTO_HOPOPTS) return true;
    }
    if (!group) return false;
    static constexpr uint8_t kIeeeLinkLocal[5] = {0x01, 0x80, 0xc2, 0x00, 0x00};
    if (std::memcmp(eth->dst_addr.addr_bytes, kIeeeLinkLocal, 5) == 0 &&
        eth->dst_addr.addr_bytes[5] < 0x10)
      return true;
    if (t == RTE_BE16(RTE_ETHER_TYPE_IPV4) && m->data_len > l3 + 9 && p[l3 + 9] == IPPROTO_IGMP)
      return true;
    if (reflect_) eth->dst_addr = mac_;
    return false;
  }

  /// A unicast frame that is neither ARP nor ICMPv6, or a runt (the program
  /// counts it): the program's without a closer look.
  static bool plain(const rte_mbuf* m) {
    if (m->data_len < sizeof(rte_ether_hdr)) [[unlikely]]
      return true;
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->dst_addr.addr_bytes[0] & 1) return false;
    const rte_be16_t t = eth->ether_type;
    if (t == RTE_BE16(RTE_ETHER_TYPE_IPV4)) [[likely]]
      return true;
    if (t == RTE_BE16(RTE_ETHER_TYPE_ARP)) return false;
    if (t != RTE_BE16(RTE_ETHER_TYPE_IPV6)) return true;
    const auto* p = reinterpret_cast<const uint8_t*>(eth);
    return m->data_len <= sizeof(rte_ether_hdr) + 6 ||
           p[sizeof(rte_ether_hdr) + 6] != IPPROTO_ICMPV6;
  }

  /// ARP requests for addresses the port lacks, and the first one's target
  /// (network order; 0 until one came). Read from any thread.
  uint64_t unanswered() const { return unanswered_.get(); }
  uint32_t first_unanswered_target() const { return first_target_.load(std::memory_order_relaxed); }
  const Endpoint& endpoint() const { return ep_; }

 private:
  // Splits `in` from its first frame that is not plain(), `first`, keeping
  // the order on each side.
  [[gnu::noinline]] void sort(Worker& w, Batch& in, uint16_t first) {
    Batch pass, host;
    for (uint16_t k = 0; k < first; ++k) pass.push(in[k]);
    for (uint16_t k = first; k < in.size(); ++k) (to_host(in[k]) ? host : pass).push(in[k]);
    in.clear();
    if (!host.empty()) answer(w, host);
    emit(w, kOn, pass);
  }

  void answer(Worker& w, Batch& host) {
    for (rte_mbuf* m : host) note_unanswered(m);
    Batch tx;
    UdpBatch udp;
    ep_.process(w, host, tx, udp);
    // UDP for one of the port's addresses among the host's frames (sent to
    // a group MAC behind hop-by-hop options, or to an IEEE link-local group):
    // not the program's.
    drop_all(w, udp.pkts, NetDrop::kUdpNotServed);
    emit(w, kAnswer, tx);
  }

  // An ARP request to this port's MAC or to a group, from a host that has an
  // address (a probe's sender is 0.0.0.0 and its target the prober's own
  // candidate: never one to advise), for an address the port lacks.
  void note_unanswered(const rte_mbuf* m) {
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_ARP) ||
        m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr))
      return;
    if (!(eth->dst_addr.addr_bytes[0] & 1) && !rte_is_same_ether_addr(&eth->dst_addr, &mac_))
      return;  // another station's (the port is promiscuous)
    const auto* a = rte_pktmbuf_mtod_offset(m, const rte_arp_hdr*, sizeof(rte_ether_hdr));
    if (a->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST)) return;
    uint32_t sip, tip;
    std::memcpy(&sip, &a->arp_data.arp_sip, 4);
    std::memcpy(&tip, &a->arp_data.arp_tip, 4);
    if (sip == 0 || sip == tip || tip == 0 || ep_.owns(IpAddr::v4(tip)))
      return;  // a probe, gratuitous, or ours
    if (unanswered_.get() == 0) first_target_.store(tip, std::memory_order_relaxed);
    unanswered_.add();
  }

  Endpoint& ep_;
  rte_ether_addr mac_;  // the port's
  bool reflect_;
  Counter unanswered_;
  std::atomic<uint32_t> first_target_{0};
};

/// The sentence a program says once for a port that was asked by ARP for
/// `target` (network order), an address it lacks: both fixes, named.
inline std::string unanswered_arp_advice(const std::string& port, uint32_t target,
                                         const MacAddr& mac) {
  const std::string ip = IpAddr::v4(target).str();
  return "port '" + port + "' was asked by ARP for " + ip +
         ", and answers ARP only for its addresses: if hosts are to reach it as " + ip +
         ", add addresses = [\"" + ip +
         "/32\"] to its [[port]] table (or give each host a static entry: ip neigh replace " + ip +
         " lladdr " + mac.str() + " dev IFACE).";
}

}  // namespace bypass
