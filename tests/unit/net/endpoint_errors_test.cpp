// Endpoint: ICMP port-unreachable errors (exact bytes, quoting, the token
// bucket and its refill as worker time advances) and announce() (gratuitous
// ARP and unsolicited NA, exact bytes). The worker's time is a manual clock
// that the tests move; in_worker() reads it as an iteration of Worker::run does.
#include <bypass/net/wire.hpp>

#include "endpoint_fixture.hpp"

namespace bypass {
namespace {

using namespace test;
using Errors = EndpointTest;

class RateLimit5 : public EndpointTest {
 protected:
  RateLimit5() : EndpointTest(5) {}
};
class RateLimit20 : public EndpointTest {
 protected:
  RateLimit20() : EndpointTest(20) {}
};

// Every datagram in the UDP batch gets port_unreachable (which takes it).
void unreachable_all(Endpoint& ep, Worker& w, UdpBatch& udp, Batch& tx) {
  for (uint16_t i = 0; i < udp.pkts.size(); ++i)
    ep.port_unreachable(w, udp.pkts[i], udp.info(i), tx);
  udp.clear();
}

TEST_F(Errors, PortUnreachableV4QuotesHeaderAnd8Bytes) {
  Packet rq = udp4({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 40001, 9999);
  rq.ip4().dst = kOurIp4b;
  const Bytes f = rq.build();
  process(f);
  ASSERT_EQ(udp_.pkts.size(), 1u);
  in_worker([&](Worker& w) { unreachable_all(ep_, w, udp_, tx_); });
  Packet want;
  want.eth = EthSpec{kPeerMac, kOurMac, {}, 0x8100, {}};
  Ip4Spec ip;
  ip.id = 0;
  ip.frag = 0;
  ip.ttl = 77;
  ip.src = kOurIp4b;
  ip.dst = kPeerIp4;
  want.l3 = ip;
  want.l4 = IcmpSpec{3, 3, {}, 0, 0};
  want.payload = Bytes(f.begin() + 14, f.begin() + 14 + 20 + 8);
  const Bytes out = only_tx();
  EXPECT_EQ(out, want.build());
  EXPECT_TRUE(ipv4_header_ok(out, 14));
  EXPECT_TRUE(l4_checksum_ok(out, 14, 34, out.size() - 34, kProtoIcmp));
  EXPECT_EQ(ep_.counters().icmp_errors_sent.get(), 1u);
  EXPECT_EQ(pool_in_use(), before_ + 1) << "the datagram freed, the error in tx";
}

TEST_F(Errors, PortUnreachableV4WithOptionsVlanAndPadding) {
  Packet rq = udp4({7});
  rq.eth.tags = {42};
  rq.ip4().options = {0x94, 0x04, 0, 0};
  rq.min_frame = 80;
  const Bytes f = rq.build();
  process(f);
  in_worker([&](Worker& w) { unreachable_all(ep_, w, udp_, tx_); });
  const Bytes out = only_tx();
  ASSERT_EQ(out.size(), 18u + 20 + 8 + 24 + 8);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 12), cat(Bytes(kPeerMac.b.begin(), kPeerMac.b.end()),
                                                      Bytes(kOurMac.b.begin(), kOurMac.b.end())));
  EXPECT_EQ(be16(out, 14), 42) << "the VLAN tag as received";
  EXPECT_EQ(Bytes(out.begin() + 46, out.end()), Bytes(f.begin() + 18, f.begin() + 18 + 32))
      << "header with options, then 8 bytes";
  EXPECT_TRUE(ipv4_header_ok(out, 18));
  EXPECT_TRUE(l4_checksum_ok(out, 18, 38, out.size() - 38, kProtoIcmp));
}

TEST_F(Errors, PortUnreachableV6QuotesTheWholeDatagram) {
  Packet rq = udp6(Bytes(30, 0x61), 40002, 1234);
  rq.ip6().dst = kOurIp6b;
  const Bytes f = rq.build();
  process(f);
  in_worker([&](Worker& w) { unreachable_all(ep_, w, udp_, tx_); });
  Packet want;
  want.eth = EthSpec{kPeerMac, kOurMac, {}, 0x8100, {}};
  Ip6Spec ip;
  ip.hop_limit = 77;
  ip.src = kOurIp6b;
  ip.dst = kPeerIp6;
  want.l3 = ip;
  want.l4 = IcmpSpec{1, 4, {}, 0, 0};
  want.payload = Bytes(f.begin() + 14, f.end());
  const Bytes out = only_tx();
  EXPECT_EQ(out, want.build());
  EXPECT_TRUE(l4_checksum_ok(out, 14, 54, out.size() - 54, kProtoIcmp6));
}

TEST_F(Errors, PortUnreachableV6StaysWithinTheMinimumMtu) {
  const Bytes f = udp6(Bytes(1400, 0x62)).build();
  process(f, {1000});  // the quote is read across segments
  in_worker([&](Worker& w) { unreachable_all(ep_, w, udp_, tx_); });
  const Bytes out = only_tx();
  ASSERT_EQ(out.size(), 14u + 1280);
  EXPECT_EQ(be16(out, 18), 1280 - 40) << "payload length";
  EXPECT_EQ(Bytes(out.begin() + 62, out.end()), Bytes(f.begin() + 14, f.begin() + 14 + 1232));
  EXPECT_TRUE(l4_checksum_ok(out, 14, 54, 1240, kProtoIcmp6));
}

// RFC 4443 2.4 (e): no ICMPv6 error for a packet whose source does not
// identify one node. A datagram from :: to a closed port gets its error sent
// to :: today (parse_ipv6 lets the unspecified source through).
TEST_F(Errors, NoErrorToTheUnspecifiedAddress) {
  Packet rq = udp6();
  rq.ip6().src = kUnspecified;
  process(rq.build());
  in_worker([&](Worker& w) { unreachable_all(ep_, w, udp_, tx_); });
  EXPECT_TRUE(tx_.empty());
}

// RFC 1122 3.2.2, RFC 4443 2.4 (e.3): no error for a datagram that came to a
// link-layer group: every member that got it would answer.
TEST_F(Errors, NoErrorForADatagramToALinkLayerGroup) {
  Packet v4 = udp4();
  v4.eth.dst = MacAddr::broadcast();
  Packet v6 = udp6();
  v6.eth.dst = multicast_mac(kAllNodes);
  process({v4.build(), v6.build()});
  ASSERT_EQ(udp_.pkts.size(), 2u);
  in_worker([&](Worker& w) { unreachable_all(ep_, w, udp_, tx_); });
  EXPECT_TRUE(tx_.empty());
  EXPECT_EQ(ep_.counters().icmp_errors_sent.get(), 0u);
  EXPECT_EQ(ep_.counters().icmp_errors_to_groups.get(), 2u);
}

TEST_F(RateLimit5, TokenBucketSuppressesAfterTheBurst) {
  process(std::vector<Bytes>(8, udp4().build()));
  ASSERT_EQ(udp_.pkts.size(), 8u);
  in_worker([&](Worker& w) { unreachable_all(ep_, w, udp_, tx_); });
  EXPECT_EQ(tx_.size(), 5u);
  EXPECT_EQ(ep_.counters().icmp_errors_sent.get(), 5u);
  EXPECT_EQ(ep_.counters().icmp_errors_suppressed.get(), 3u);
  EXPECT_EQ(pool_in_use(), before_ + 5);
}

TEST_F(RateLimit20, BucketRefillsAsWorkerTimeAdvances) {
  uint64_t t1 = 0, t2 = 0;
  process(std::vector<Bytes>(21, udp6().build()));
  in_worker([&](Worker& w) {
    t1 = w.now();
    unreachable_all(ep_, w, udp_, tx_);
  });
  EXPECT_EQ(tx_.size(), 20u) << "a full bucket";
  EXPECT_EQ(ep_.counters().icmp_errors_suppressed.get(), 1u);
  tx_.free_all();

  clock_.advance(180'000'000);  // 180 ms: 3.6 tokens, so 3
  process(std::vector<Bytes>(21, udp4().build()));
  const uint64_t expect = 3;
  in_worker([&](Worker& w) {
    t2 = w.now();
    udp_.pkts.set_size(static_cast<uint16_t>(expect + 1));  // the rest stays ours
    unreachable_all(ep_, w, udp_, tx_);
  });
  EXPECT_EQ(t2 - t1, 180'000'000u);
  EXPECT_EQ(tx_.size(), expect) << "one token per 1/20 s of worker time";
  EXPECT_EQ(ep_.counters().icmp_errors_suppressed.get(), 2u);
  // The datagrams set aside above (21 - expect - 1) are still in the pool's count.
  for (uint64_t i = expect + 1; i < 21; ++i) rte_pktmbuf_free(udp_.pkts.data()[i]);
}

// A full tx batch: the error cannot be queued, so it is suppressed (and the
// datagram freed). That should not cost one of the five tokens, but
// port_unreachable takes the token before it looks at tx (and before
// rte_pktmbuf_alloc, whose failure costs one too): 4 errors follow, not 5.
TEST_F(RateLimit5, FullTxSuppressesWithoutSpendingAToken) {
  for (int i = 0; i < kMaxBurst; ++i) tx_.push(to_mbuf(test_pool(), Bytes(60, 0)));
  process(std::vector<Bytes>(6, udp4().build()));
  in_worker([&](Worker& w) {
    ep_.port_unreachable(w, udp_.pkts[0], udp_.info(0), tx_);
    tx_.free_all();
    for (uint16_t i = 1; i < 6; ++i) ep_.port_unreachable(w, udp_.pkts[i], udp_.info(i), tx_);
    udp_.clear();
  });
  EXPECT_EQ(ep_.counters().icmp_errors_suppressed.get(), 1u);
  EXPECT_EQ(tx_.size(), 5u) << "five tokens, five errors";
}

TEST_F(Errors, AnnounceEveryAddress) {
  EXPECT_EQ(ep_.announce(test_pool(), tx_), 4u);
  ASSERT_EQ(tx_.size(), 4u);
  auto garp = [](uint32_t ip) {
    Packet p;
    p.eth.dst = MacAddr::broadcast();
    p.eth.src = kOurMac;
    ArpSpec a;
    a.sha = kOurMac;
    a.sip = a.tip = ip;
    p.l3 = a;
    p.trailer = Bytes(18, 0);  // padded to Ethernet's 60-byte minimum
    return p.build();
  };
  auto una = [](const Ip6& ip) {
    Packet p;
    p.eth.dst = multicast_mac(kAllNodes);
    p.eth.src = kOurMac;
    Ip6Spec h;
    h.src = ip;
    h.dst = kAllNodes;
    h.hop_limit = 255;
    p.l3 = h;
    p.l4 = IcmpSpec{136, 0, {}, 0, kNaOverride};
    p.payload = cat(Bytes(ip.begin(), ip.end()), lla_option(2, kOurMac));
    return p.build();
  };
  EXPECT_EQ(bytes_of(tx_[0]), garp(kOurIp4));
  EXPECT_EQ(tx_[0]->pkt_len, 60u) << "no runt on the wire";
  EXPECT_EQ(bytes_of(tx_[1]), una(kOurIp6));
  EXPECT_EQ(bytes_of(tx_[2]), garp(kOurIp4b));
  EXPECT_EQ(bytes_of(tx_[3]), una(kOurIp6b));
  const Bytes na = bytes_of(tx_[1]);
  EXPECT_TRUE(l4_checksum_ok(na, 14, 54, 32, kProtoIcmp6));
  // Our own parser accepts what we send.
  for (uint16_t i = 0; i < 4; ++i) {
    Parsed p;
    EXPECT_EQ(parse_frame(tx_[i], p), kPass) << i;
  }
}

TEST_F(Errors, AnnounceStopsWhenTxIsFull) {
  for (int i = 0; i < kMaxBurst - 1; ++i) tx_.push(to_mbuf(test_pool(), Bytes(60, 0)));
  EXPECT_EQ(ep_.announce(test_pool(), tx_), 1u);
  EXPECT_TRUE(tx_.full());
  EXPECT_EQ(ep_.announce(test_pool(), tx_), 0u);
}

}  // namespace
}  // namespace bypass
