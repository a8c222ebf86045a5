// Parsers, part 2: IPv6 and its extension headers, UDP, ICMP and ICMPv6
// (docs/hardening.md, "Malformed packets"), with the L4 checksum offload flags.
// Every malformed frame gets its exact drop reason; valid frames pass with the
// exact offsets and lengths.
#include <rte_ether.h>

#include <bypass/net/parse.hpp>
#include <bypass/net/wire.hpp>

#include "net_fixture.hpp"

namespace bypass {
namespace {

using namespace test;
using Parse6 = NetTest;
using ParseL4 = NetTest;

constexpr uint64_t kL4Good = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
constexpr uint64_t kL4Bad = RTE_MBUF_F_RX_L4_CKSUM_BAD;
constexpr uint64_t kL4None = RTE_MBUF_F_RX_L4_CKSUM_NONE;

// ---- IPv6 ----

TEST_F(Parse6, UdpOffsets) {
  Parsed p;
  ASSERT_EQ(parse(udp6({1, 2, 3, 4}).build(), p), kPass);
  EXPECT_EQ(p.ethertype, RTE_ETHER_TYPE_IPV6);
  EXPECT_EQ(p.proto, kProtoUdp);
  EXPECT_EQ(p.l3_off, 14);
  EXPECT_EQ(p.l4_off, 54);
  EXPECT_EQ(p.l4_len, 12u);
}

TEST_F(Parse6, TruncatedHeader) {
  const Bytes f = udp6().build();
  for (size_t n = 14; n < 54; ++n)
    EXPECT_EQ(parse(Bytes(f.begin(), f.begin() + static_cast<long>(n))), NetDrop::kRunt) << n;
}

TEST_F(Parse6, Version) {
  for (uint8_t v : {0, 4, 7, 15}) {
    Packet pk = udp6();
    pk.ip6().version = v;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpVersion) << int{v};
  }
}

TEST_F(Parse6, PayloadLength) {
  Packet zero = udp6();
  zero.ip6().payload_length = 0;  // a jumbogram: not on Ethernet
  EXPECT_EQ(parse(zero.build()), NetDrop::kIp6PayloadLength);
  Packet big = udp6();
  big.ip6().payload_length = 13;  // one past the frame
  EXPECT_EQ(parse(big.build()), NetDrop::kIp6PayloadLength);
  big.ip6().payload_length = 0xffff;
  EXPECT_EQ(parse(big.build()), NetDrop::kIp6PayloadLength);
  // Shorter than the datagram: the IPv6 layer is fine, UDP then runs past it.
  Packet small = udp6();
  small.ip6().payload_length = 10;
  Parsed p;
  rte_mbuf* m = own(small.build());
  ASSERT_EQ(parse_ethernet(m, p), kPass);
  ASSERT_EQ(parse_ipv6(m, p), kPass);
  EXPECT_EQ(p.l4_len, 10u);
  EXPECT_EQ(parse_frame(m, p), NetDrop::kUdpLength);
  // Padding after the payload is not part of it.
  Packet pad = udp6({5});
  pad.trailer = Bytes(7, 0);
  ASSERT_EQ(parse(pad.build(), p), kPass);
  EXPECT_EQ(p.l4_len, 9u);
}

TEST_F(Parse6, HopLimitZeroAndMulticastSource) {
  Packet pk = udp6();
  pk.ip6().hop_limit = 0;
  EXPECT_EQ(parse(pk.build()), NetDrop::kIpTtl);
  Packet mc = udp6();
  mc.ip6().src = ip6("ff02::1");
  EXPECT_EQ(parse(mc.build()), NetDrop::kIpMartian);
  mc.ip6().src = ip6("ff0e::1234");
  EXPECT_EQ(parse(mc.build()), NetDrop::kIpMartian);
}

// RFC 4291 2.5.3: a packet received with the loopback source must be dropped,
// as IPv4 drops 127/8. parse_ipv6 refuses only multicast sources today.
TEST_F(Parse6, LoopbackSourceIsMartian) {
  Packet pk = udp6();
  pk.ip6().src = ip6("::1");
  EXPECT_EQ(parse(pk.build()), NetDrop::kIpMartian);
}

// An IPv4-mapped source (::ffff:a.b.c.d) is an IPv4 host as a socket API
// shows it, never a source on the wire: it would carry IPv4 loopback,
// broadcast or our own IPv4 address past the IPv4 martian checks.
TEST_F(Parse6, Ipv4MappedSourceIsMartian) {
  for (const char* src :
       {"::ffff:127.0.0.1", "::ffff:255.255.255.255", "::ffff:0.0.0.0", "::ffff:198.18.0.1"}) {
    Packet pk = udp6();
    pk.ip6().src = ip6(src);
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpMartian) << src;
  }
  Packet near = udp6();
  near.ip6().src = ip6("::fffe:c612:1");  // not mapped: one bit short
  EXPECT_EQ(parse(near.build()), kPass);
}

TEST_F(Parse6, ExtensionChainOffsets) {
  Packet pk = udp6({1, 2, 3, 4});
  pk.ip6().ext = {ext_options(kIp6HopByHop), ext_options(kIp6DestOpts, 14), ext_routing(4, 0)};
  Parsed p;
  ASSERT_EQ(parse(pk.build(), p), kPass);
  EXPECT_EQ(p.proto, kProtoUdp);
  EXPECT_EQ(p.l4_off, 54 + 8 + 16 + 8);
  EXPECT_EQ(p.l4_len, 12u);
  // AH counts in 4-byte units: length 4 is 24 bytes.
  Packet ah = udp6();
  ah.ip6().ext = {Ip6ExtSpec{kIp6Ah, Bytes(22, 0), {}, {}}};
  ASSERT_EQ(parse(ah.build(), p), kPass);
  EXPECT_EQ(p.l4_off, 54 + 24);
  EXPECT_EQ(ah.build()[55], 4) << "AH length field";
}

TEST_F(Parse6, ExtensionLengthRunsPastPayload) {
  // The payload holds 8 bytes of options and a 12-byte datagram. Lengths that
  // would wrap in 8-bit arithmetic ((255 + 1) * 8) are among them.
  for (uint8_t len : {2, 31, 127, 255}) {
    Packet pk = udp6();
    Ip6ExtSpec e = ext_options(kIp6DestOpts);
    e.len = len;
    pk.ip6().ext = {e};
    EXPECT_EQ(parse(pk.build()), NetDrop::kIp6ExtHeader) << int{len};
    pk.ip6().ext[0].type = kIp6HopByHop;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIp6ExtHeader) << int{len};
    if (len < 4) continue;  // AH: (len + 2) * 4 bytes
    pk.ip6().ext[0].type = kIp6Ah;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIp6ExtHeader) << int{len};
  }
  // Fewer than 8 bytes left for an extension header.
  Packet stub;
  stub.l3 = Ip6Spec{};
  stub.ip6().next = kIp6DestOpts;
  stub.payload = {17, 0, 0, 0};
  EXPECT_EQ(parse(stub.build()), NetDrop::kIp6ExtHeader);
  // In the frame, but past the payload length (the rest is trailer).
  Packet past = udp6();
  past.ip6().ext = {ext_options(kIp6DestOpts)};
  past.trailer = Bytes(16, 0);
  past.ip6().payload_length = 6;
  EXPECT_EQ(parse(past.build()), NetDrop::kIp6ExtHeader);
  past.ip6().payload_length = 8 + 4;  // the header fits, the datagram does not
  EXPECT_EQ(parse(past.build()), NetDrop::kUdpLength);
}

TEST_F(Parse6, HopByHopOnlyFirst) {
  Packet pk = udp6();
  pk.ip6().ext = {ext_options(kIp6DestOpts), ext_options(kIp6HopByHop)};
  EXPECT_EQ(parse(pk.build()), NetDrop::kIp6ExtHeader);
}

TEST_F(Parse6, RoutingHeaderType0) {
  Packet pk = udp6();
  pk.ip6().ext = {ext_routing(0, 1)};
  EXPECT_EQ(parse(pk.build()), NetDrop::kIp6RoutingType0);
  pk.ip6().ext = {ext_routing(0, 0)};
  EXPECT_EQ(parse(pk.build()), NetDrop::kIp6RoutingType0) << "even with no segments left";
  pk.ip6().ext = {ext_options(kIp6HopByHop), ext_routing(0, 2)};
  EXPECT_EQ(parse(pk.build()), NetDrop::kIp6RoutingType0);
  pk.ip6().ext = {ext_routing(2, 0)};
  EXPECT_EQ(parse(pk.build()), kPass) << "type 2 (mobility) is not RH0";
}

TEST_F(Parse6, ChainLongerThanTheCap) {
  Packet pk = udp6();
  pk.ip6().ext.assign(8, ext_options(kIp6DestOpts));
  Parsed p;
  ASSERT_EQ(parse(pk.build(), p), kPass) << "8 headers: at the cap";
  EXPECT_EQ(p.l4_off, 54 + 64);
  pk.ip6().ext.push_back(ext_options(kIp6DestOpts));
  EXPECT_EQ(parse(pk.build()), NetDrop::kIp6ExtHeader) << "9 headers";
  pk.ip6().ext.assign(100, ext_options(kIp6DestOpts));
  EXPECT_EQ(parse(pk.build()), NetDrop::kIp6ExtHeader) << "100 headers";
  ParseLimits two;
  two.max_ext_headers = 2;
  pk.ip6().ext.assign(3, ext_options(kIp6DestOpts));
  EXPECT_EQ(parse(pk.build(), {}, 0, two), NetDrop::kIp6ExtHeader);
  pk.ip6().ext.resize(2);
  EXPECT_EQ(parse(pk.build(), {}, 0, two), kPass);
}

TEST_F(Parse6, FragmentHeaderIsAFragment) {
  struct Case {
    const char* what;
    uint16_t offset;
    bool more;
  };
  for (const Case& c : {Case{"first", 0, true}, Case{"middle", 100, true}, Case{"last", 200, false},
                        Case{"atomic", 0, false}, Case{"oversize", 8191, false}}) {
    Packet pk = udp6();
    pk.ip6().ext = {ext_fragment(c.offset, c.more)};
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpFragment) << c.what;
    pk.ip6().ext = {ext_options(kIp6HopByHop), ext_fragment(c.offset, c.more)};
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpFragment) << c.what << " after hop-by-hop";
  }
}

TEST_F(Parse6, NoNextHeaderAndUnservedTransport) {
  Packet none;
  none.l3 = Ip6Spec{};
  none.payload = Bytes(8, 0);
  EXPECT_EQ(none.build()[20], kIp6NoNext);
  EXPECT_EQ(parse(none.build()), NetDrop::kIpProtocol);
  none.ip6().ext = {ext_options(kIp6DestOpts)};
  EXPECT_EQ(parse(none.build()), NetDrop::kIpProtocol) << "no next header after options";
  Packet tcp = udp6();
  tcp.ip6().next = 6;
  EXPECT_EQ(parse(tcp.build()), NetDrop::kIpProtocol);
  Packet esp = udp6();
  esp.ip6().next = kIp6Esp;
  EXPECT_EQ(parse(esp.build()), NetDrop::kIpProtocol);
}

TEST_F(Parse6, ExtensionHeaderAcrossSegments) {
  Packet pk = udp6(Bytes(40, 1));
  pk.ip6().ext = {ext_options(kIp6HopByHop), ext_options(kIp6DestOpts, 22)};
  const Bytes f = pk.build();
  const uint32_t end = 54 + 8 + 24 + 8;
  for (uint32_t cut = 0; cut < end; ++cut)
    EXPECT_EQ(parse(f, {cut}), NetDrop::kSplitHeaders) << "cut at " << cut;
  for (uint32_t cut = end; cut <= f.size(); cut += 2)
    EXPECT_EQ(parse(f, {cut}), kPass) << "cut at " << cut;
  EXPECT_EQ(parse(f), kPass);
}

// ---- UDP ----

TEST_F(ParseL4, UdpLength) {
  for (uint16_t len : {0, 1, 7}) {
    Packet pk = udp4();
    pk.udp().length = len;
    EXPECT_EQ(parse(pk.build()), NetDrop::kUdpLength) << len;
    Packet v6 = udp6();
    v6.udp().length = len;
    EXPECT_EQ(parse(v6.build()), NetDrop::kUdpLength) << len;
  }
  Packet past = udp4({1, 2, 3, 4});
  past.udp().length = 13;
  EXPECT_EQ(parse(past.build()), NetDrop::kUdpLength) << "one past the IP payload";
  Packet past6 = udp6({1, 2, 3, 4});
  past6.udp().length = 13;
  EXPECT_EQ(parse(past6.build()), NetDrop::kUdpLength);
  // IP payload too short for a UDP header.
  Packet stub = udp4({});
  stub.ip4().total_length = 20 + 4;
  EXPECT_EQ(parse(stub.build()), NetDrop::kUdpLength);
  // A UDP length shorter than the IP payload is legal: the datagram is the shorter.
  Packet shorter = udp4({1, 2, 3, 4, 5, 6, 7, 8});
  shorter.udp().length = 12;
  Parsed p;
  ASSERT_EQ(parse(shorter.build(), p), kPass);
  EXPECT_EQ(p.l4_len, 12u) << "trimmed to the UDP length";
}

// Port 0 is reserved: nothing can answer it, so the parser drops it under
// its own reason on both families (the sockets backend drops it as martian).
TEST_F(ParseL4, UdpSourcePortZeroIsRefused) {
  EXPECT_EQ(parse(udp4({1, 2}, 0, 7).build()), NetDrop::kUdpSourcePort);
  EXPECT_EQ(parse(udp6({1, 2}, 0, 7).build()), NetDrop::kUdpSourcePort);
  EXPECT_EQ(parse(udp4({1, 2}, 1, 7).build()), kPass);
  EXPECT_EQ(parse(udp6({1, 2}, 1, 7).build()), kPass);
}

TEST_F(ParseL4, UdpChecksum) {
  for (bool v6 : {false, true}) {
    Packet pk = v6 ? udp6() : udp4();
    pk.udp().checksum_xor = 1;
    EXPECT_EQ(parse(pk.build()), NetDrop::kUdpChecksum) << v6;
    pk.udp().checksum_xor = 0;
    Bytes f = pk.build();
    f.back() ^= 0x40;  // payload changed after the checksum was computed
    EXPECT_EQ(parse(f), NetDrop::kUdpChecksum) << v6;
    f = pk.build();
    f[v6 ? 14 + 8 : 14 + 12] ^= 0x01;  // source address: the pseudo-header counts
    EXPECT_EQ(parse(f, {}, RTE_MBUF_F_RX_IP_CKSUM_GOOD), NetDrop::kUdpChecksum) << v6;
  }
  Packet none4 = udp4();
  none4.udp().checksum = 0;
  EXPECT_EQ(parse(none4.build()), kPass) << "IPv4: 0 means no checksum";
  Packet none6 = udp6();
  none6.udp().checksum = 0;
  EXPECT_EQ(parse(none6.build()), NetDrop::kUdpChecksum) << "IPv6: 0 is invalid";
}

// What a Linux sender on a veth leaves in the checksum field when transmit
// checksum offload is on (its default): the folded pseudo-header sum, the
// payload not summed. Accepted, and marked, only where the port says its link
// is a veth; refused everywhere else, and a wrong field is still refused.
TEST_F(ParseL4, UdpChecksumLeftToAnOffload) {
  ParseLimits veth;
  veth.udp_checksum_partial_ok = true;
  for (bool v6 : {false, true}) {
    Packet pk = v6 ? udp6(Bytes(37, 0x5c)) : udp4(Bytes(37, 0x5c));
    Bytes f = pk.build();
    const size_t l4 = v6 ? 14 + 40 : 14 + 20;
    make_udp_checksum_partial(f, 14, l4, v6);
    Parsed p;
    EXPECT_EQ(parse(f, p), NetDrop::kUdpChecksum) << v6 << ": not on a veth";
    EXPECT_FALSE(p.udp_cksum_partial);
    ASSERT_EQ(parse(f, p, {}, 0, veth), kPass) << v6;
    EXPECT_TRUE(p.udp_cksum_partial) << v6;
    // The same field one bit off is not what an offload leaves.
    Bytes bad = f;
    bad[l4 + 7] ^= 0x01;
    EXPECT_EQ(parse(bad, p, {}, 0, veth), NetDrop::kUdpChecksum) << v6;
    // A full, correct checksum passes unmarked on a veth too.
    ASSERT_EQ(parse(pk.build(), p, {}, 0, veth), kPass) << v6;
    EXPECT_FALSE(p.udp_cksum_partial) << v6;
  }
}

TEST_F(ParseL4, UdpComputedZeroIsSentAsAllOnes) {
  // A payload whose checksum computes to 0, so that it goes out as 0xffff.
  for (bool v6 : {false, true}) {
    const size_t at = v6 ? 60 : 40;
    bool found = false;
    for (uint32_t v = 0; v < 0x10000 && !found; ++v) {
      Packet pk = v6 ? udp6({}) : udp4({});
      pk.payload = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
      const Bytes f = pk.build();
      if (be16(f, at) != 0xffff) continue;
      found = true;
      EXPECT_EQ(parse(f), kPass) << v6;
    }
    EXPECT_TRUE(found) << v6;
  }
}

TEST_F(ParseL4, UdpChecksumOffloadFlags) {
  for (bool v6 : {false, true}) {
    Packet pk = v6 ? udp6() : udp4();
    const Bytes good = pk.build();
    pk.udp().checksum_xor = 0x0f0f;
    const Bytes bad = pk.build();
    EXPECT_EQ(parse(bad, {}, kL4Good), kPass) << v6 << ": the device verified it";
    EXPECT_EQ(parse(good, {}, kL4Bad), NetDrop::kUdpChecksum) << v6;
    EXPECT_EQ(parse(bad, {}, kL4None), NetDrop::kUdpChecksum) << v6 << ": software";
    EXPECT_EQ(parse(good, {}, kL4None), kPass) << v6;
    EXPECT_EQ(parse(bad, {}, RTE_MBUF_F_RX_IP_CKSUM_GOOD), NetDrop::kUdpChecksum)
        << v6 << ": an IP verdict says nothing about UDP";
  }
  Packet zero6 = udp6();
  zero6.udp().checksum = 0;
  EXPECT_EQ(parse(zero6.build(), {}, kL4Good), NetDrop::kUdpChecksum)
      << "IPv6 checksum 0 is refused whatever the device says";
  Packet zero4 = udp4();
  zero4.udp().checksum = 0;
  EXPECT_EQ(parse(zero4.build(), {}, kL4Bad), NetDrop::kUdpChecksum)
      << "a device that says bad is believed";
}

TEST_F(ParseL4, UdpHeaderAcrossSegments) {
  const Bytes f = udp6(Bytes(64, 3)).build();
  for (uint32_t cut = 54; cut < 62; ++cut)
    EXPECT_EQ(parse(f, {cut}), NetDrop::kSplitHeaders) << cut;
  for (uint32_t cut = 62; cut <= f.size(); cut += 2) EXPECT_EQ(parse(f, {cut}), kPass) << cut;
}

// A payload that crosses a segment at an odd offset from the UDP header:
// packet_sum swaps that segment's folded sum (DPDK 22.11's
// rte_raw_cksum_mbuf, which packet_sum no longer uses, lost its carries
// there and refused such datagrams as udp_checksum).
TEST_F(ParseL4, ChecksumAcrossOddSegmentBoundary) {
  const Bytes f = udp4(Bytes(101, 7)).build();
  for (uint32_t cut = 43; cut < f.size(); cut += 2) EXPECT_EQ(parse(f, {cut}), kPass) << cut;
  const Bytes e = echo6(1, 1, Bytes(99, 0xee)).build();
  for (uint32_t cut = 63; cut < e.size(); cut += 2) EXPECT_EQ(parse(e, {cut}), kPass) << cut;
}

// ---- ICMP and ICMPv6 ----

TEST_F(ParseL4, IcmpEcho) {
  Parsed p;
  ASSERT_EQ(parse(echo4().build(), p), kPass);
  EXPECT_EQ(p.proto, kProtoIcmp);
  EXPECT_EQ(p.l4_off, 34);
  EXPECT_EQ(p.l4_len, 16u);
  ASSERT_EQ(parse(echo6().build(), p), kPass);
  EXPECT_EQ(p.proto, kProtoIcmp6);
  EXPECT_EQ(p.l4_off, 54);
  EXPECT_EQ(p.l4_len, 16u);
  // Unusual types are the endpoint's business: the parser checks the message only.
  for (uint8_t type : {3, 4, 5, 11, 13, 18, 255}) {
    Packet pk = echo4();
    pk.icmp().type = type;
    EXPECT_EQ(parse(pk.build()), kPass) << int{type};
  }
}

TEST_F(ParseL4, IcmpShortOrBadChecksum) {
  for (bool v6 : {false, true}) {
    Packet shortm;
    if (v6)
      shortm.l3 = Ip6Spec{};
    else
      shortm.l3 = Ip4Spec{};
    shortm.payload = {8, 0, 0xf7, 0xff};  // 4 bytes of ICMP
    if (v6)
      shortm.ip6().next = kProtoIcmp6;
    else
      shortm.ip4().proto = kProtoIcmp;
    shortm.min_frame = 60;
    EXPECT_EQ(parse(shortm.build()), NetDrop::kIcmpBad) << v6 << ": short";

    Packet pk = v6 ? echo6() : echo4();
    pk.icmp().checksum_xor = 0x8000;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIcmpBad) << v6 << ": checksum";
  }
  // The IP length says the echo is shorter than what was summed: mismatch.
  Packet cut = echo4(1, 1, Bytes(32, 0x11));
  cut.ip4().total_length = 20 + 8 + 16;
  EXPECT_EQ(parse(cut.build()), NetDrop::kIcmpBad);
  Packet cut6 = echo6(1, 1, Bytes(32, 0x11));
  cut6.ip6().payload_length = 8 + 16;
  EXPECT_EQ(parse(cut6.build()), NetDrop::kIcmpBad);
}

TEST_F(ParseL4, Icmp6ChecksumCoversThePseudoHeader) {
  const Bytes good = echo6().build();
  EXPECT_EQ(parse(good), kPass);
  // The same message summed as ICMPv4 would be (no pseudo-header).
  Bytes msg(good.begin() + 54, good.end());
  msg[2] = msg[3] = 0;
  Packet v4sum = echo6();
  v4sum.icmp().checksum = static_cast<uint16_t>(~ones_sum(msg.data(), msg.size()));
  EXPECT_EQ(parse(v4sum.build()), NetDrop::kIcmpBad);
  // Another source address with the old checksum.
  Packet moved = echo6();
  moved.ip6().src = ip6("2001:db8::99");
  moved.icmp().checksum = be16(good, 56);
  EXPECT_EQ(parse(moved.build()), NetDrop::kIcmpBad);
}

TEST_F(ParseL4, IcmpHeaderAcrossSegments) {
  const Bytes f = echo4(3, 4, Bytes(64, 9)).build();
  for (uint32_t cut = 34; cut < 42; ++cut)
    EXPECT_EQ(parse(f, {cut}), NetDrop::kSplitHeaders) << cut;
  for (uint32_t cut = 42; cut <= f.size(); cut += 2) EXPECT_EQ(parse(f, {cut}), kPass) << cut;
  const Bytes g = echo6(3, 4, Bytes(64, 9)).build();
  for (uint32_t cut = 54; cut < 62; ++cut)
    EXPECT_EQ(parse(g, {cut}), NetDrop::kSplitHeaders) << cut;
  for (uint32_t cut = 62; cut <= g.size(); cut += 2) EXPECT_EQ(parse(g, {cut}), kPass) << cut;
}

}  // namespace
}  // namespace bypass
