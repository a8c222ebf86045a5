// Frames built from stream tables: headers, lengths, payload, GenHeader, and
// checksums checked with DPDK's own functions; the incremental restamp()
// against a full recompute.
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <gtest/gtest.h>

#include <bypass/gen/stream.hpp>
#include <bypass/net/frame.hpp>

#include "eal_env.hpp"

namespace bypass::gen {
namespace {

struct Mbuf {
  rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
  ~Mbuf() { rte_pktmbuf_free(m); }
};

StreamTable table_of(std::string_view arg) {
  auto s = parse_stream_arg(arg);
  EXPECT_TRUE(s) << s.error();
  auto t = StreamTable::expand(*s);
  EXPECT_TRUE(t) << t.error();
  return std::move(*t);
}

// The parts of a built frame, found by walking its headers.
struct Parsed {
  rte_ether_hdr* eth = nullptr;
  rte_vlan_hdr* vlan = nullptr;
  rte_ipv4_hdr* ip4 = nullptr;
  rte_ipv6_hdr* ip6 = nullptr;
  rte_udp_hdr* udp = nullptr;
  uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

Parsed parse(rte_mbuf* m) {
  Parsed p;
  auto* f = rte_pktmbuf_mtod(m, uint8_t*);
  p.eth = reinterpret_cast<rte_ether_hdr*>(f);
  size_t off = sizeof(rte_ether_hdr);
  uint16_t type = rte_be_to_cpu_16(p.eth->ether_type);
  if (type == RTE_ETHER_TYPE_VLAN) {
    p.vlan = reinterpret_cast<rte_vlan_hdr*>(f + off);
    type = rte_be_to_cpu_16(p.vlan->eth_proto);
    off += sizeof(rte_vlan_hdr);
  }
  if (type == RTE_ETHER_TYPE_IPV4) {
    p.ip4 = reinterpret_cast<rte_ipv4_hdr*>(f + off);
    off += sizeof(rte_ipv4_hdr);
  } else {
    p.ip6 = reinterpret_cast<rte_ipv6_hdr*>(f + off);
    off += sizeof(rte_ipv6_hdr);
  }
  p.udp = reinterpret_cast<rte_udp_hdr*>(f + off);
  p.payload = f + off + sizeof(rte_udp_hdr);
  p.payload_len = m->data_len - off - sizeof(rte_udp_hdr);
  return p;
}

// Checks lengths and both checksums of a built frame.
void expect_valid(rte_mbuf* m, uint16_t frame) {
  ASSERT_EQ(m->data_len, frame - kFcsLen);
  ASSERT_EQ(m->pkt_len, m->data_len);
  Parsed p = parse(m);
  uint16_t udp_len = rte_be_to_cpu_16(p.udp->dgram_len);
  EXPECT_EQ(udp_len, p.payload_len + sizeof(rte_udp_hdr));
  if (p.ip4) {
    EXPECT_EQ(p.ip4->version_ihl, 0x45);
    EXPECT_EQ(p.ip4->next_proto_id, IPPROTO_UDP);
    EXPECT_EQ(rte_be_to_cpu_16(p.ip4->total_length), udp_len + sizeof(rte_ipv4_hdr));
    EXPECT_EQ(rte_raw_cksum(p.ip4, sizeof(rte_ipv4_hdr)), 0xffff) << "IPv4 header checksum";
    EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(p.ip4, p.udp), 0) << "UDP checksum, frame " << frame;
  } else {
    EXPECT_EQ(rte_be_to_cpu_32(p.ip6->vtc_flow) >> 28, 6u);
    EXPECT_EQ(p.ip6->proto, IPPROTO_UDP);
    EXPECT_EQ(rte_be_to_cpu_16(p.ip6->payload_len), udp_len);
    EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(p.ip6, p.udp), 0) << "UDP checksum, frame " << frame;
  }
  EXPECT_NE(p.udp->dgram_cksum, 0);
}

// The UDP checksum a full recompute gives (the stored one left untouched).
uint16_t recomputed(rte_mbuf* m) {
  Parsed p = parse(m);
  uint16_t stored = p.udp->dgram_cksum;
  p.udp->dgram_cksum = 0;
  uint16_t c = p.ip4 ? rte_ipv4_udptcp_cksum(p.ip4, p.udp) : rte_ipv6_udptcp_cksum(p.ip6, p.udp);
  p.udp->dgram_cksum = stored;
  return c;
}

TEST(GenHeader, RoundTripAndWidths) {
  uint8_t buf[kGenHeaderSize];
  write_gen_header(buf, {kGenMagic, 513, 0x123456789abcull, 0xfedcba987654ull});
  GenHeader h;
  ASSERT_TRUE(read_gen_header(buf, &h));
  EXPECT_EQ(h.stream, 513);
  EXPECT_EQ(h.seq, 0x123456789abcull);
  EXPECT_EQ(h.tx_tsc, 0xfedcba987654ull);
  EXPECT_EQ(buf[0], kGenMagic >> 8);  // big-endian on the wire
  EXPECT_EQ(buf[7], 0xbc);
  write_gen_header(buf, {kGenMagic, 1, 0xffff000000000005ull, 0xabcd000000000007ull});
  ASSERT_TRUE(read_gen_header(buf, &h));
  EXPECT_EQ(h.seq, 5u);  // 48 bits
  EXPECT_EQ(h.tx_tsc, 7u);
  buf[1] ^= 1;
  EXPECT_FALSE(read_gen_header(buf, &h));
  // Latency across a wrap of the 48-bit timestamp, and a negative one.
  EXPECT_EQ(gen_tsc_delta((1ull << 48) + 15, (1ull << 48) - 10), 25u);
  EXPECT_EQ(gen_tsc_delta(0x7000000000000010ull, 0x0000ffffffffffffull), 17u);
  EXPECT_GE(gen_tsc_delta(100, 200), kGenNegativeDelta);
}

TEST(Frame, Ipv4FieldsPayloadAndChecksums) {
  StreamTable t = table_of(
      "dst=198.18.0.2 src=198.18.0.1 sport=1000 dport=7 size=64 ttl=33 tos=4 id=9 "
      "src_mac=02:00:00:00:00:01 dst_mac=02:00:00:00:00:02");
  Mbuf b;
  ASSERT_TRUE(t.build(b.m, 0, 77, 0x1234));
  expect_valid(b.m, 64);
  Parsed p = parse(b.m);
  EXPECT_EQ(to_mac(p.eth->src_addr).str(), "02:00:00:00:00:01");
  EXPECT_EQ(to_mac(p.eth->dst_addr).str(), "02:00:00:00:00:02");
  EXPECT_EQ(p.ip4->time_to_live, 33);
  EXPECT_EQ(p.ip4->type_of_service, 4);
  EXPECT_EQ(IpAddr::v4(p.ip4->src_addr).str(), "198.18.0.1");
  EXPECT_EQ(IpAddr::v4(p.ip4->dst_addr).str(), "198.18.0.2");
  EXPECT_EQ(rte_be_to_cpu_16(p.udp->src_port), 1000);
  EXPECT_EQ(rte_be_to_cpu_16(p.udp->dst_port), 7);
  EXPECT_EQ(p.payload_len, 18u);  // 60 - 42
  EXPECT_EQ(t.gen_offset(), 42);
  GenHeader h;
  ASSERT_TRUE(read_gen_header(p.payload, &h));
  EXPECT_EQ(h.stream, 9);
  EXPECT_EQ(h.seq, 77u);
  EXPECT_EQ(h.tx_tsc, 0x1234u);
  EXPECT_EQ(b.m->l2_len, 14);
  EXPECT_EQ(b.m->l3_len, 20);

  t.set_macs(*MacAddr::parse("02:aa:00:00:00:01"), *MacAddr::parse("02:bb:00:00:00:02"));
  ASSERT_TRUE(t.build(b.m, 0));
  EXPECT_EQ(to_mac(parse(b.m).eth->dst_addr).str(), "02:bb:00:00:00:02");
}

TEST(Frame, EverySizeAndPayloadValidForBothFamiliesAndVlan) {
  for (const char* family : {"dst=198.18.0.2", "dst=2001:2::2"}) {
    for (const char* vlan : {"", " vlan=100 vlan_pcp=3"}) {
      for (const char* payload : {"zeros", "increment", "random", "0xa5"}) {
        for (const char* stamp : {"true", "false"}) {
          std::string arg = std::string(family) + vlan + " payload=" + payload + " stamp=" + stamp;
          Stream probe = *parse_stream_arg(arg);
          arg += " size=" + std::to_string(probe.min_frame()) + "-1518 seed=5";
          SCOPED_TRACE(arg);
          StreamTable t = table_of(arg);
          Mbuf b;
          for (uint32_t i = 0; i < t.size(); ++i) {
            ASSERT_TRUE(t.build(b.m, i, i, i * 3));
            expect_valid(b.m, t[i].frame);
            if (HasFailure()) return;
            Parsed p = parse(b.m);
            if (p.vlan) {
              EXPECT_EQ(rte_be_to_cpu_16(p.vlan->vlan_tci), 3 << 13 | 100);
            }
            size_t gen = t.stream().stamp ? kGenHeaderSize : 0;
            const uint8_t* pat = p.payload + gen;
            size_t n = p.payload_len - gen;
            for (size_t k = 0; k < n; ++k) {
              if (std::string(payload) == "increment") {
                ASSERT_EQ(pat[k], static_cast<uint8_t>(k));
              } else if (std::string(payload) == "0xa5") {
                ASSERT_EQ(pat[k], 0xa5);
              }
            }
          }
        }
      }
    }
  }
}

// emit() (prebuilt head + stamp + incremental checksum) must give exactly the
// frame build() writes from scratch, for every entry and both head sizes.
TEST(Frame, EmitEqualsBuildForEveryEntry) {
  for (const char* arg : {"dst=198.18.0.2 size=64 sport=1000-1099",
                          "dst=198.18.0.2-198.18.0.9 size=imix payload=random",
                          "dst=2001:2::2 size=86-1518 vlan=7 payload=increment id=9",
                          "dst=198.18.0.2 size=64-200 stamp=false payload=0x5a",
                          "dst=2001:2::2-2001:2::5 size=90 stamp=false vlan=1"}) {
    SCOPED_TRACE(arg);
    StreamTable t = table_of(arg);
    t.set_macs(MacAddr{{2, 0, 0, 0, 0, 1}}, MacAddr{{2, 0, 0, 0, 0, 2}});
    ASSERT_TRUE(t.fits(test::test_pool()));
    Mbuf a, b;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < t.size(); ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const uint64_t seq = i % 5 == 0 ? kGenFieldMask : x, tsc = i % 7 == 0 ? 0 : ~x;
      ASSERT_TRUE(t.build(a.m, i, seq, tsc));
      rte_pktmbuf_reset(b.m);
      ASSERT_EQ(t.emit(b.m, i, seq, tsc), t[i].frame);
      ASSERT_EQ(b.m->data_len, a.m->data_len);
      ASSERT_EQ(b.m->pkt_len, a.m->pkt_len);
      ASSERT_EQ(b.m->l2_len, a.m->l2_len);
      ASSERT_EQ(b.m->l3_len, a.m->l3_len);
      ASSERT_EQ(b.m->packet_type, a.m->packet_type);
      ASSERT_EQ(0, std::memcmp(rte_pktmbuf_mtod(a.m, uint8_t*), rte_pktmbuf_mtod(b.m, uint8_t*),
                               a.m->data_len))
          << "entry " << i;
      expect_valid(b.m, t[i].frame);
      if (HasFailure()) return;
    }
  }
}

TEST(Frame, ImixTemplatesBuildAtTheirSizes) {
  StreamTable t = table_of("dst=198.18.0.2 size=imix payload=random");
  Mbuf b;
  for (uint32_t i = 0; i < t.size(); ++i) {
    ASSERT_TRUE(t.build(b.m, i));
    expect_valid(b.m, t[i].frame);
  }
}

TEST(Frame, NoRoomNoFrame) {
  StreamTable t = table_of("dst=198.18.0.2 size=9216");
  Mbuf b;
  EXPECT_FALSE(t.build(b.m, 0));  // a 2 KB mbuf
  EXPECT_FALSE(t.fits(test::test_pool()));
  EXPECT_EQ(t.max_write(), 9212);
  EXPECT_TRUE(table_of("dst=198.18.0.2 size=1518").fits(test::test_pool()));
}

void restamp_matches_full_recompute(std::string_view arg, int updates) {
  SCOPED_TRACE(std::string(arg));
  StreamTable t = table_of(arg);
  Mbuf b;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int k = 0; k < updates; ++k) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (k % 1000 == 0) {
      ASSERT_TRUE(t.build(b.m, static_cast<uint32_t>(k / 1000) % t.size(), x, ~x));
    }
    uint64_t seq = k % 7 == 0 ? (k % 14 == 0 ? 0 : kGenFieldMask) : x;
    uint64_t tsc = k % 11 == 0 ? UINT64_MAX : x * 0x2545F4914F6CDD1Dull;
    restamp(b.m, t.gen_offset(), seq, tsc);
    GenHeader h;
    ASSERT_TRUE(read_gen_header(rte_pktmbuf_mtod_offset(b.m, uint8_t*, t.gen_offset()), &h));
    ASSERT_EQ(h.seq, seq & kGenFieldMask);
    ASSERT_EQ(h.tx_tsc, tsc & kGenFieldMask);
    ASSERT_EQ(h.stream, t.stream().id);
    Parsed p = parse(b.m);
    ASSERT_EQ(p.udp->dgram_cksum, recomputed(b.m)) << "update " << k;
  }
  expect_valid(b.m, t[static_cast<uint32_t>((updates - 1) / 1000) % t.size()].frame);
}

TEST(Frame, RestampEqualsFullRecomputeOverManyRandomUpdates) {
  restamp_matches_full_recompute("dst=198.18.0.2 size=64 id=3", 200000);
  restamp_matches_full_recompute("dst=198.18.0.2-198.18.0.9 size=imix payload=random", 100000);
  restamp_matches_full_recompute("dst=2001:2::2 size=86-1518 vlan=7 payload=increment", 100000);
}

TEST(Frame, RestampWritesAllOnesWhereTheSumIsZero) {
  // Find a sequence number whose full checksum is 0xffff (a computed 0), then
  // reach it by restamping from another one.
  StreamTable t = table_of("dst=198.18.0.2 size=64");
  Mbuf b;
  uint64_t target = UINT64_MAX;
  for (uint64_t seq = 0; seq < 1'000'000 && target == UINT64_MAX; ++seq) {
    ASSERT_TRUE(t.build(b.m, 0, seq, 0));
    if (parse(b.m).udp->dgram_cksum == 0xffff) target = seq;
  }
  ASSERT_NE(target, UINT64_MAX);
  ASSERT_TRUE(t.build(b.m, 0, target + 12345, 0));
  restamp(b.m, t.gen_offset(), target, 0);
  EXPECT_EQ(parse(b.m).udp->dgram_cksum, 0xffff);
  expect_valid(b.m, 64);
  // An IPv4 frame sent without a checksum keeps none.
  parse(b.m).udp->dgram_cksum = 0;
  restamp(b.m, t.gen_offset(), 5, 6);
  EXPECT_EQ(parse(b.m).udp->dgram_cksum, 0);
}

}  // namespace
}  // namespace bypass::gen
