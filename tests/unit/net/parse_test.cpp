// Parsers, part 1: Ethernet and VLAN tags, ARP, IPv4 (docs/hardening.md,
// "Malformed packets"), headers split across segments, and the RX checksum
// offload flags. Every malformed frame gets its exact drop reason; valid
// frames pass with the exact offsets. IPv6, UDP and ICMP are in parse6_test.cpp.
#include <rte_ether.h>

#include <bypass/net/parse.hpp>
#include <bypass/net/wire.hpp>

#include "net_fixture.hpp"

namespace bypass {
namespace {

using namespace test;

class Parse : public NetTest {
 protected:
  // For every cut point: a cut inside the headers is split_headers, a cut
  // after them passes, with the offsets of the frame in one segment (odd cuts:
  // ParseL4.ChecksumAcrossOddSegmentBoundary).

  void expect_split_then_pass(const Bytes& f, uint32_t headers_end, uint32_t l4_off) {
    Parsed whole;
    ASSERT_EQ(parse(f, whole), kPass);
    for (uint32_t cut = 0; cut <= f.size(); ++cut) {
      if (cut >= headers_end && (cut - l4_off) % 2) continue;
      Parsed p;
      DropReason r = parse(f, p, {cut});
      if (cut < headers_end) {
        EXPECT_EQ(r, NetDrop::kSplitHeaders) << "cut at " << cut;
      } else {
        ASSERT_EQ(r, kPass) << "cut at " << cut;
        EXPECT_EQ(p.l3_off, whole.l3_off);
        EXPECT_EQ(p.l4_off, whole.l4_off);
        EXPECT_EQ(p.l4_len, whole.l4_len);
      }
    }
  }
};

constexpr uint64_t kIpGood = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
constexpr uint64_t kIpBad = RTE_MBUF_F_RX_IP_CKSUM_BAD;
constexpr uint64_t kIpNone = RTE_MBUF_F_RX_IP_CKSUM_NONE;

// ---- Ethernet and VLAN tags ----

TEST_F(Parse, UntaggedFrame) {
  Parsed p;
  ASSERT_EQ(parse(udp4().build(), p), kPass);
  EXPECT_EQ(p.ethertype, RTE_ETHER_TYPE_IPV4);
  EXPECT_EQ(p.vlans, 0);
  EXPECT_EQ(p.vlan_tci, 0);
  EXPECT_EQ(p.l3_off, 14);
}

TEST_F(Parse, RuntEthernetAtEveryLength) {
  const Bytes full = udp4().build();
  for (size_t n = 0; n < 14; ++n) {
    Parsed p;
    rte_mbuf* m = own(Bytes(full.begin(), full.begin() + static_cast<long>(n)));
    EXPECT_EQ(parse_ethernet(m, p), NetDrop::kRunt) << n << " bytes";
    EXPECT_EQ(parse_frame(m, p), NetDrop::kRunt) << n << " bytes";
  }
}

TEST_F(Parse, OneAndTwoVlanTags) {
  Packet one = udp4();
  one.eth.tags = {0x2064};  // PCP 1, VID 100
  Parsed p;
  ASSERT_EQ(parse(one.build(), p), kPass);
  EXPECT_EQ(p.vlans, 1);
  EXPECT_EQ(p.vlan_tci, 0x2064);
  EXPECT_EQ(p.ethertype, RTE_ETHER_TYPE_IPV4);
  EXPECT_EQ(p.l3_off, 18);
  EXPECT_EQ(p.l4_off, 38);

  Packet two = udp6();
  two.eth.outer_tpid = RTE_ETHER_TYPE_QINQ;
  two.eth.tags = {0x0010, 0x0020};
  ASSERT_EQ(parse(two.build(), p), kPass);
  EXPECT_EQ(p.vlans, 2);
  EXPECT_EQ(p.vlan_tci, 0x0010) << "the outermost tag";
  EXPECT_EQ(p.ethertype, RTE_ETHER_TYPE_IPV6);
  EXPECT_EQ(p.l3_off, 22);
  EXPECT_EQ(p.l4_off, 62);
}

TEST_F(Parse, ThirdVlanTagRefused) {
  Packet pk = udp4();
  pk.eth.tags = {1, 2, 3};
  EXPECT_EQ(parse(pk.build()), NetDrop::kVlanTooDeep);
  pk.eth.outer_tpid = RTE_ETHER_TYPE_QINQ;
  EXPECT_EQ(parse(pk.build()), NetDrop::kVlanTooDeep);
  ParseLimits three;
  three.max_vlans = 3;
  Parsed p;
  ASSERT_EQ(parse(pk.build(), p, {}, 0, three), kPass) << "the cap is the limit's, not fixed";
  EXPECT_EQ(p.l3_off, 26);
  ParseLimits none;
  none.max_vlans = 0;
  pk.eth.tags = {1};
  EXPECT_EQ(parse(pk.build(), {}, 0, none), NetDrop::kVlanTooDeep);
}

TEST_F(Parse, ManyVlanTagsStopAtTheCap) {
  Packet pk = udp4();
  pk.eth.tags.assign(400, 7);  // 1600 bytes of tags: refused after the third
  EXPECT_EQ(parse(pk.build()), NetDrop::kVlanTooDeep);
}

TEST_F(Parse, TruncatedVlanTag) {
  const Bytes f = [] {
    Packet pk = udp4();
    pk.eth.tags = {5};
    return pk.build();
  }();
  for (size_t n = 14; n < 18; ++n)
    EXPECT_EQ(parse(Bytes(f.begin(), f.begin() + static_cast<long>(n))), NetDrop::kRunt) << n;
}

TEST_F(Parse, NotIp) {
  Packet pk;
  pk.payload = Bytes(46, 0xab);
  EXPECT_EQ(parse(pk.build()), NetDrop::kNotIp);
  pk.eth.type = 0x8847;  // MPLS
  EXPECT_EQ(parse(pk.build()), NetDrop::kNotIp);
  pk.eth.tags = {9};
  EXPECT_EQ(parse(pk.build()), NetDrop::kNotIp);
}

// ---- ARP ----

TEST_F(Parse, ArpRequestAndReply) {
  Parsed p;
  Packet pk = arp_request();
  ASSERT_EQ(parse(pk.build(), p), kPass);
  EXPECT_EQ(p.ethertype, RTE_ETHER_TYPE_ARP);
  EXPECT_EQ(p.l3_off, 14);
  pk.arp().op = 2;
  EXPECT_EQ(parse(pk.build()), kPass);
  pk.eth.tags = {3};
  ASSERT_EQ(parse(pk.build(), p), kPass);
  EXPECT_EQ(p.l3_off, 18);
}

TEST_F(Parse, ArpTruncated) {
  Packet pk = arp_request();
  pk.min_frame = 0;
  const Bytes f = pk.build();
  ASSERT_EQ(f.size(), 42u);
  for (size_t n = 14; n < 42; ++n)
    EXPECT_EQ(parse(Bytes(f.begin(), f.begin() + static_cast<long>(n))), NetDrop::kRunt) << n;
}

TEST_F(Parse, ArpWrongSizesTypesAndOpcodes) {
  auto with = [](auto change) {
    Packet pk = arp_request();
    change(pk.arp());
    return pk.build();
  };
  EXPECT_EQ(parse(with([](ArpSpec& a) { a.hlen = 8; })), NetDrop::kArpBad);
  EXPECT_EQ(parse(with([](ArpSpec& a) { a.hlen = 0; })), NetDrop::kArpBad);
  EXPECT_EQ(parse(with([](ArpSpec& a) { a.plen = 16; })), NetDrop::kArpBad);
  EXPECT_EQ(parse(with([](ArpSpec& a) { a.plen = 0; })), NetDrop::kArpBad);
  EXPECT_EQ(parse(with([](ArpSpec& a) { a.htype = 6; })), NetDrop::kArpBad);
  EXPECT_EQ(parse(with([](ArpSpec& a) { a.ptype = 0x86dd; })), NetDrop::kArpBad);
  for (uint16_t op : {0, 3, 4, 8, 9, 0x100, 0xffff})
    EXPECT_EQ(parse(with([op](ArpSpec& a) { a.op = op; })), NetDrop::kArpBad) << op;
}

// ---- IPv4 ----

TEST_F(Parse, Ipv4UdpOffsets) {
  Parsed p;
  ASSERT_EQ(parse(udp4({1, 2, 3, 4}).build(), p), kPass);
  EXPECT_EQ(p.proto, kProtoUdp);
  EXPECT_EQ(p.l3_off, 14);
  EXPECT_EQ(p.l4_off, 34);
  EXPECT_EQ(p.l4_len, 12u);
  Packet padded = udp4({1});
  padded.min_frame = 60;
  ASSERT_EQ(parse(padded.build(), p), kPass);
  EXPECT_EQ(p.l4_len, 9u) << "lengths come from the headers, not the padded frame";
}

TEST_F(Parse, Ipv4TruncatedHeader) {
  const Bytes f = udp4().build();
  for (size_t n = 14; n < 34; ++n)
    EXPECT_EQ(parse(Bytes(f.begin(), f.begin() + static_cast<long>(n))), NetDrop::kRunt) << n;
}

TEST_F(Parse, Ipv4Version) {
  for (uint8_t v : {0, 5, 6, 15}) {
    Packet pk = udp4();
    pk.ip4().version = v;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpVersion) << int{v};
  }
}

TEST_F(Parse, Ipv4HeaderLength) {
  for (uint8_t ihl : {0, 1, 4}) {
    Packet pk = udp4();
    pk.ip4().ihl = ihl;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpHeaderLength) << int{ihl};
  }
  // IHL 15 (60 bytes) in a frame with 32 bytes after Ethernet.
  Packet pk = udp4();
  pk.ip4().ihl = 15;
  EXPECT_EQ(parse(pk.build()), NetDrop::kIpHeaderLength);
  // IHL 6 with exactly 20 bytes present.
  Packet bare;
  bare.l3 = Ip4Spec{};
  bare.ip4().ihl = 6;
  bare.ip4().total_length = 24;
  EXPECT_EQ(parse(bare.build()), NetDrop::kIpHeaderLength);
}

TEST_F(Parse, Ipv4TotalLength) {
  const size_t ip_bytes = udp4().build().size() - 14;
  for (uint16_t total : {0, 1, 19}) {
    Packet pk = udp4();
    pk.ip4().total_length = total;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpTotalLength) << total;
  }
  Packet opts = udp4();  // header of 24 bytes: a total of 20 is still too small
  opts.ip4().options = {1, 1, 1, 1};
  opts.ip4().total_length = 20;
  EXPECT_EQ(parse(opts.build()), NetDrop::kIpTotalLength);
  Packet big = udp4();
  big.ip4().total_length = static_cast<uint16_t>(ip_bytes + 1);
  EXPECT_EQ(parse(big.build()), NetDrop::kIpTotalLength);
  big.ip4().total_length = 0xffff;
  EXPECT_EQ(parse(big.build()), NetDrop::kIpTotalLength);
  // Shorter than the frame is fine (Ethernet padding): the rest is not the datagram's.
  Packet pad = udp4({9, 9});
  pad.trailer = {0xde, 0xad, 0xbe, 0xef};
  Parsed p;
  ASSERT_EQ(parse(pad.build(), p), kPass);
  EXPECT_EQ(p.l4_len, 10u);
}

TEST_F(Parse, Ipv4HeaderChecksum) {
  Packet pk = udp4();
  pk.ip4().checksum_xor = 1;
  EXPECT_EQ(parse(pk.build()), NetDrop::kIpChecksum);
  pk.ip4().checksum_xor = 0xffff;
  EXPECT_EQ(parse(pk.build()), NetDrop::kIpChecksum);
  pk.ip4().checksum_xor = 0;
  pk.ip4().options = {1, 1, 1, 0};
  const Bytes good = pk.build();
  EXPECT_EQ(parse(good), kPass);
  Bytes f = good;
  f[14 + 21] ^= 0x01;  // a NOP becomes EOL: still valid options, but the sum covers them
  EXPECT_EQ(parse(f), NetDrop::kIpChecksum);
}

TEST_F(Parse, Ipv4Options) {
  Parsed p;
  Packet ra = udp4();
  ra.ip4().options = {0x01, 0x94, 0x04, 0x00, 0x00, 0x01, 0x00, 0x00};  // NOP, router alert, EOL
  ASSERT_EQ(parse(ra.build(), p), kPass);
  EXPECT_EQ(p.l4_off, 14 + 28);
  EXPECT_EQ(p.l4_len, 12u);
  Packet eol = udp4();
  eol.ip4().options = {0x00, 0x07, 0x00, 0xff};  // garbage after end of options is ignored
  EXPECT_EQ(parse(eol.build()), kPass);

  const std::vector<Bytes> bad = {
      {0x07, 0x00, 0x00, 0x00},        // record route of length 0
      {0x07, 0x01, 0x00, 0x00},        // length 1
      {0x07, 0x28, 0x04, 0x00},        // length 40 in a 4-byte option area
      {0x01, 0x01, 0x44, 0x05},        // timestamp of length 5 runs 1 byte past
      {0x01, 0x01, 0x01, 0x44},        // timestamp type in the last byte, no length byte
      {0x94, 0x04, 0x00, 0x00, 0x83},  // router alert, then loose route of length 0
  };
  for (const Bytes& o : bad) {
    Packet pk = udp4();
    pk.ip4().options = o;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpOptions) << testing::PrintToString(o);
  }
}

TEST_F(Parse, Ipv4Ttl) {
  Packet pk = udp4();
  pk.ip4().ttl = 0;
  EXPECT_EQ(parse(pk.build()), NetDrop::kIpTtl);
  pk.ip4().ttl = 1;
  EXPECT_EQ(parse(pk.build()), kPass);
}

TEST_F(Parse, Ipv4FragmentsAreAllDropped) {
  struct Case {
    const char* what;
    uint16_t frag;
  };
  const Case cases[] = {
      {"first (MF, offset 0)", 0x2000},
      {"middle (MF, offset 185)", 0x2000 | 185},
      {"last (offset 370)", 370},
      {"last with DF", 0x4000 | 370},
      {"oversize: offset 8189 units (65512 bytes) + payload > 65535", 8189},
      {"highest offset", 0x1fff},
  };
  for (const Case& c : cases) {
    Packet pk = udp4(Bytes(1472, 0x5a));
    pk.ip4().frag = c.frag;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpFragment) << c.what;
  }
  // Overlapping and duplicate fragments: each is dropped on its own.
  for (int i = 0; i < 2; ++i) {
    Packet a = udp4(Bytes(64, 1));
    a.ip4().frag = 0x2000;
    Packet b = udp4(Bytes(64, 2));
    b.ip4().frag = 0x2000 | 4;  // starts at 32: overlaps the first
    EXPECT_EQ(parse(a.build()), NetDrop::kIpFragment);
    EXPECT_EQ(parse(b.build()), NetDrop::kIpFragment);
  }
  Packet df = udp4();
  df.ip4().frag = 0x4000;
  EXPECT_EQ(parse(df.build()), kPass) << "DF alone is not a fragment";
}

TEST_F(Parse, Ipv4MartianSources) {
  for (uint32_t src : {RTE_IPV4(0, 0, 0, 0), RTE_IPV4(0, 1, 2, 3), RTE_IPV4(127, 0, 0, 1),
                       RTE_IPV4(127, 255, 255, 254), RTE_IPV4(224, 0, 0, 1), RTE_IPV4(239, 1, 1, 1),
                       RTE_IPV4(240, 0, 0, 1), RTE_IPV4(255, 255, 255, 255)}) {
    Packet pk = udp4();
    pk.ip4().src = src;
    EXPECT_EQ(parse(pk.build()), NetDrop::kIpMartian) << std::hex << src;
  }
  Packet ok = udp4();
  ok.ip4().src = RTE_IPV4(10, 0, 0, 1);
  EXPECT_EQ(parse(ok.build()), kPass);
}

TEST_F(Parse, Ipv4ProtocolWeDoNotServe) {
  Packet pk = udp4();
  pk.ip4().proto = 6;  // TCP
  pk.udp().checksum = 0;
  Parsed p;
  rte_mbuf* m = own(pk.build());
  ASSERT_EQ(parse_ethernet(m, p), kPass);
  ASSERT_EQ(parse_ipv4(m, p), kPass) << "the IPv4 layer itself is fine";
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(parse_frame(m, p), NetDrop::kIpProtocol);
}

// ---- RX checksum offload ----

TEST_F(Parse, Ipv4ChecksumOffloadFlags) {
  Packet pk = udp4();
  pk.ip4().checksum_xor = 1;
  const Bytes bad = pk.build();
  const Bytes good = udp4().build();
  EXPECT_EQ(parse(bad, {}, kIpGood), kPass) << "the device verified it: not checked again";
  EXPECT_EQ(parse(good, {}, kIpBad), NetDrop::kIpChecksum) << "the device's verdict stands";
  EXPECT_EQ(parse(bad, {}, kIpNone), NetDrop::kIpChecksum) << "not verified: software";
  EXPECT_EQ(parse(good, {}, kIpNone), kPass);
  EXPECT_EQ(parse(bad, {}, 0), NetDrop::kIpChecksum) << "unknown: software";
}

// ---- Headers across segments ----

TEST_F(Parse, SplitHeadersEveryCutUdp4) {
  Packet pk = udp4(Bytes(101, 7));  // odd length: the checksum crosses at odd offsets too
  pk.eth.tags = {4};
  pk.ip4().options = {1, 1, 1, 1};
  expect_split_then_pass(pk.build(), 18 + 24 + 8, 18 + 24);
}

TEST_F(Parse, SplitHeadersEveryCutArpAndIcmp) {
  expect_split_then_pass(arp_request().build(), 42, 42);
  expect_split_then_pass(echo4(1, 2, Bytes(33, 3)).build(), 34 + 8, 34);
}

TEST_F(Parse, SplitHeadersThreeSegments) {
  const Bytes f = udp4(Bytes(200, 1)).build();
  EXPECT_EQ(parse(f, {20, 30}), NetDrop::kSplitHeaders);
  EXPECT_EQ(parse(f, {40, 41}), NetDrop::kSplitHeaders) << "UDP header ends at 42";
  EXPECT_EQ(parse(f, {42, 42, 43, 100}), kPass) << "empty and one-byte segments in the payload";
  Packet bad = udp4(Bytes(200, 1));
  bad.udp().checksum_xor = 0x0100;
  EXPECT_EQ(parse(bad.build(), {50, 51, 150}), NetDrop::kUdpChecksum)
      << "the checksum still covers every segment";
}

TEST_F(Parse, RuntAcrossSegmentsIsStillARunt) {
  const Bytes f = udp4().build();
  const Bytes cut(f.begin(), f.begin() + 30);  // 30 bytes in 2 segments: no IPv4 header
  EXPECT_EQ(parse(cut, {10}), NetDrop::kSplitHeaders) << "Ethernet itself is split";
  EXPECT_EQ(parse(cut, {20}), NetDrop::kRunt) << "the IPv4 header is not there at all";
}

}  // namespace
}  // namespace bypass
