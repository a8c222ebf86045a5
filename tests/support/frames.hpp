// Test support: crafting frames byte by byte for parser, endpoint and fuzz
// tests. A Packet describes Ethernet (with 0..N VLAN tags), then ARP, IPv4
// (with options) or IPv6 (with an extension-header chain), then UDP, ICMP or
// ICMPv6, then a payload. build() fills in every length and checksum left
// unset, so a default Packet is a valid frame; setting a field overrides it,
// which is how a test breaks exactly one thing. to_mbuf() copies the bytes into
// an mbuf chain, cut into segments where the test says (rte_pktmbuf_chain).
// The checksum helpers here are written from RFC 1071 independently of the
// library, so golden tests do not check the library against itself.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include <bypass/net/addr.hpp>

namespace bypass::test {

using Bytes = std::vector<uint8_t>;
using Ip6 = std::array<uint8_t, 16>;

// The peer ("them") and the host under test ("us"). IPv4 addresses are in host
// order everywhere in this file; builders write them big-endian.
inline const MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};
inline const MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};
inline constexpr uint32_t kPeerIp4 = RTE_IPV4(198, 18, 0, 1);
inline constexpr uint32_t kOurIp4 = RTE_IPV4(198, 18, 0, 2);
inline constexpr Ip6 kPeerIp6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline constexpr Ip6 kOurIp6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
inline constexpr Ip6 kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
inline constexpr Ip6 kUnspecified = {};

Ip6 ip6(std::string_view text);  // aborts the test process on a typo
Ip6 solicited_node(const Ip6& a);
MacAddr multicast_mac(const Ip6& group);  // 33:33:xx:xx:xx:xx

struct EthSpec {
  MacAddr dst = kOurMac;
  MacAddr src = kPeerMac;
  std::vector<uint16_t> tags;    // VLAN TCIs, outermost first
  uint16_t outer_tpid = 0x8100;  // of the first tag (0x88a8: 802.1ad); inner tags are 0x8100
  std::optional<uint16_t> type;  // after the tags; default from the layer-3 header
};

struct ArpSpec {
  uint16_t htype = 1, ptype = 0x0800;
  uint8_t hlen = 6, plen = 4;
  uint16_t op = 1;
  MacAddr sha = kPeerMac;
  uint32_t sip = kPeerIp4;
  MacAddr tha{};
  uint32_t tip = kOurIp4;
};

struct Ip4Spec {
  uint8_t version = 4;
  std::optional<uint8_t> ihl;  // default: (20 + options) / 4
  uint8_t tos = 0;
  std::optional<uint16_t> total_length;  // default: header + layer 4 + payload
  uint16_t id = 0x1234;
  uint16_t frag = 0x4000;  // flags and offset: DF; 0x2000 is MF, the low 13 bits the offset
  uint8_t ttl = 64;
  std::optional<uint8_t> proto;      // default from layer 4 (255 if none)
  std::optional<uint16_t> checksum;  // default: correct
  uint16_t checksum_xor = 0;         // applied last: 1 breaks a correct checksum
  uint32_t src = kPeerIp4, dst = kOurIp4;
  Bytes options;  // zero-padded (end of options) to 4 bytes
};

struct Ip6ExtSpec {
  uint8_t type = 60;            // kIp6HopByHop, kIp6Routing, kIp6DestOpts, ...
  Bytes body;                   // after the next-header and length bytes
  std::optional<uint8_t> len;   // default: body padded to 8 bytes (AH: 4), in units
  std::optional<uint8_t> next;  // default: the following header
};
Ip6ExtSpec ext_options(uint8_t type, size_t body = 6);  // hop-by-hop / destination: Pad1s
Ip6ExtSpec ext_routing(uint8_t routing_type, uint8_t segments_left = 0);
Ip6ExtSpec ext_fragment(uint16_t offset_units, bool more, uint32_t id = 1);

struct Ip6Spec {
  uint8_t version = 6;
  uint8_t tclass = 0;
  uint32_t flow = 0;
  std::optional<uint16_t> payload_length;  // default: extensions + layer 4 + payload
  std::optional<uint8_t> next;             // first next-header; default: first extension or layer 4
  uint8_t hop_limit = 64;
  Ip6 src = kPeerIp6, dst = kOurIp6;
  std::vector<Ip6ExtSpec> ext;
};

struct UdpSpec {
  uint16_t sport = 40000, dport = 7;
  std::optional<uint16_t> length;    // default: 8 + payload
  std::optional<uint16_t> checksum;  // default: correct (0xffff for a computed 0)
  uint16_t checksum_xor = 0;
};

// ICMP over IPv4, ICMPv6 over IPv6 (with the pseudo-header in its checksum).
struct IcmpSpec {
  uint8_t type = 8, code = 0;
  std::optional<uint16_t> checksum;
  uint16_t checksum_xor = 0;
  uint32_t rest = 0;  // the 4 bytes after the checksum: echo id << 16 | seq; NA flags
};

struct Packet {
  EthSpec eth;
  std::variant<std::monostate, ArpSpec, Ip4Spec, Ip6Spec> l3;  // none: payload follows Ethernet
  std::variant<std::monostate, UdpSpec, IcmpSpec> l4;
  Bytes payload;
  Bytes trailer;         // after the IP packet, outside its lengths
  size_t min_frame = 0;  // zero-padded to this size (60: the Ethernet minimum without FCS)

  Bytes build() const;

  Ip4Spec& ip4() { return std::get<Ip4Spec>(l3); }
  Ip6Spec& ip6() { return std::get<Ip6Spec>(l3); }
  ArpSpec& arp() { return std::get<ArpSpec>(l3); }
  UdpSpec& udp() { return std::get<UdpSpec>(l4); }
  IcmpSpec& icmp() { return std::get<IcmpSpec>(l4); }
};

// Valid frames from the peer to us.
Packet udp4(Bytes payload = {'p', 'i', 'n', 'g'}, uint16_t sport = 40000, uint16_t dport = 7);
Packet udp6(Bytes payload = {'p', 'i', 'n', 'g'}, uint16_t sport = 40000, uint16_t dport = 7);
Packet echo4(uint16_t id = 0x77, uint16_t seq = 1, Bytes payload = {1, 2, 3, 4, 5, 6, 7, 8});
Packet echo6(uint16_t id = 0x77, uint16_t seq = 1, Bytes payload = {1, 2, 3, 4, 5, 6, 7, 8});
Packet arp_request(uint32_t tip = kOurIp4, uint32_t sip = kPeerIp4, MacAddr sha = kPeerMac);
// Neighbour solicitation for `target` from `src` to its solicited-node group,
// hop limit 255, with a source link-layer option unless `src` is :: (DAD).
Packet ns(const Ip6& target = kOurIp6, const Ip6& src = kPeerIp6);
// Neighbour advertisement of `target` (flags: R 0x80000000, S 0x40000000, O 0x20000000).
Packet na(const Ip6& target, uint32_t flags, const Ip6& dst = kAllNodes);
Bytes lla_option(uint8_t type, const MacAddr& mac);  // 1: source, 2: target

// a followed by b.
Bytes cat(Bytes a, const Bytes& b);

// Copies `frame` into an mbuf chain from `mp`: one segment, plus one more at
// each cut (frame offsets where a new segment starts, ascending; empty
// segments allowed). nullptr if the pool ran out (nothing is leaked).
rte_mbuf* to_mbuf(rte_mempool* mp, const Bytes& frame, const std::vector<uint32_t>& cuts = {});
// Every byte of a packet, across its segments.
Bytes bytes_of(const rte_mbuf* m);

// RFC 1071 one's-complement sum of big-endian 16-bit words, folded.
uint16_t ones_sum(const uint8_t* p, size_t n, uint32_t start = 0);
uint16_t be16(const Bytes& b, size_t off);
uint32_t be32(const Bytes& b, size_t off);
bool ipv4_header_ok(const Bytes& frame, size_t l3);
// The checksum of `len` layer-4 bytes at l4 is valid: ICMP without a pseudo-
// header; UDP and ICMPv6 with the pseudo-header of the IPv4 / IPv6 header at l3.
bool l4_checksum_ok(const Bytes& frame, size_t l3, size_t l4, size_t len, uint8_t proto);
// Leaves a UDP checksum as a Linux sender with transmit offload does: the
// folded pseudo-header sum only (IPv4 or IPv6 header at l3, UDP at l4).
void make_udp_checksum_partial(Bytes& frame, size_t l3, size_t l4, bool v6);

}  // namespace bypass::test
