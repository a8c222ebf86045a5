// Endpoint: an IP host on one port, run by one worker. It answers ARP and
// neighbour solicitations for its addresses, answers ping on IPv4 and IPv6,
// hands valid UDP datagrams for its addresses to the layer above (UdpBatch),
// sends rate-limited ICMP port-unreachable for closed ports, and drops
// everything else under a named reason. Replies are built in the received
// mbuf. Nothing here allocates, locks or makes a syscall per packet.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <bypass/core/batch.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/core/status.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/net/addr.hpp>
#include <bypass/net/neighbor.hpp>
#include <bypass/net/parse.hpp>
#include <bypass/net/parsed_field.hpp>

namespace bypass {

struct IfAddr {
  IpAddr ip;
  uint8_t prefix = 0;
  static Expected<IfAddr> parse(const std::string& s);  // "198.18.0.2/24", "2001:db8::2/64"
};

struct EndpointConfig {
  MacAddr mac;
  std::vector<IfAddr> addrs;
  ParseLimits limits;
  uint32_t icmp_errors_per_sec = 100;  // port unreachable replies, per worker
  uint8_t ttl = 64;
  NeighborOptions neighbors;
};

// UDP datagrams for us; where their headers are travels in each mbuf.
struct UdpBatch {
  Batch pkts;
  Parsed& info(uint16_t i) { return parsed(pkts[i]); }
  const Parsed& info(uint16_t i) const { return parsed(pkts[i]); }
  void clear() { pkts.clear(); }
};

// Packets the Endpoint answered or consumed, by kind (drops are in the worker's counters).
struct EndpointCounters {
  Counter arp_requests, arp_replies, arp_learned, neighbor_changes;
  Counter echo4, echo6, ns_received, na_sent, na_received;
  Counter udp_delivered, icmp_errors_sent, icmp_errors_suppressed;
  Counter icmp_errors_to_groups;  // not sent: the datagram came to a link-layer group
  Counter udp_checksum_partial;   // delivered with a checksum left to an offload (veth)
};

class Endpoint {
 public:
  // `hz`: ticks per second of the worker clock that times the neighbour cache.
  Endpoint(EndpointConfig cfg, uint64_t hz);

  // Sorts a received batch: answers go to `tx`, datagrams to `udp`; the rest is
  // dropped and counted on `w`. `in` is empty afterwards.
  void process(Worker& w, Batch& in, Batch& tx, UdpBatch& udp);

  // Answers a datagram for a closed port with ICMP port unreachable, built in
  // its own mbuf (rate-limited) and frees `m`; the caller counts the drop.
  void port_unreachable(Worker& w, rte_mbuf* m, const Parsed& p, Batch& tx);

  // Gratuitous ARP for every IPv4 address, unsolicited NA for every IPv6 one.
  // Allocates from `pool`; returns how many frames it added to `tx`.
  unsigned announce(rte_mempool* pool, Batch& tx);

  // Ages neighbours and sends the ARP requests / solicitations they need
  // (frames from `pool` into `tx`); packets whose resolution failed are
  // dropped as no_neighbor. Call about once a millisecond.
  void tick(Worker& w, rte_mempool* pool, Batch& tx);

  bool owns(const IpAddr& a) const;
  NeighborCache& neighbors() { return neigh_; }
  const NeighborCache& neighbors() const { return neigh_; }
  const EndpointConfig& config() const { return cfg_; }
  EndpointCounters& counters() { return counters_; }
  const EndpointCounters& counters() const { return counters_; }

 private:
  DropReason handle_arp(Worker& w, rte_mbuf* m, const Parsed& p, Batch& tx);
  DropReason handle_ipv4(Worker& w, rte_mbuf* m, Parsed& p, Batch& tx, UdpBatch& udp);
  DropReason handle_ipv6(Worker& w, rte_mbuf* m, Parsed& p, Batch& tx, UdpBatch& udp);
  DropReason handle_icmp6(rte_mbuf* m, const Parsed& p, bool to_solicited_node, Batch& tx,
                          uint64_t now);
  DropReason reply_ns(rte_mbuf* m, const Parsed& p, Batch& tx, uint64_t now);
  // Finds the link-layer address option of `type` (nullptr if absent); false
  // if the options are malformed (zero length, or running past the message).
  static bool ndp_link_addr(const rte_mbuf* m, const Parsed& p, uint8_t type, const uint8_t** mac);
  void learn(const IpAddr& ip, const uint8_t* mac, uint64_t now, LearnKind kind,
             bool override = true);
  bool owns_v4(uint32_t be) const;
  const IfAddr* find_v6(const uint8_t* a) const;
  bool icmp_error_allowed(uint64_t now, uint64_t hz);

  EndpointConfig cfg_;
  std::vector<uint32_t> v4_;            // our IPv4 addresses, network order
  std::vector<uint32_t> v4_broadcast_;  // their subnets' directed broadcasts, network order
  EndpointCounters counters_;
  NeighborCache neigh_;
  uint64_t bucket_tokens_ = 0, bucket_time_ = 0;
};

}  // namespace bypass
