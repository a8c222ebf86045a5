// PortHost: which frames a reflector or a receiver keeps from the program,
// what it answers, what it counts, and that a reflector's test traffic to a
// group leaves from the port's own MAC.
#include <gtest/gtest.h>

#include <bypass/net/port_host.hpp>

#include "collect.hpp"
#include "endpoint_fixture.hpp"

namespace bypass::test {
namespace {

class PortHostTest : public NetTest {
 protected:
  PortHostTest() : ep_(config(), w_.clock().hz()), host_(ep_, PortHost::Role::kReflector) {
    host_.connect(PortHost::kOn, &swap_);
    host_.connect(PortHost::kAnswer, &answers_);
  }
  static EndpointConfig config() {
    EndpointConfig c;
    c.mac = kOurMac;
    c.addrs = {if4(kOurIp4), if6(kOurIp6)};
    return c;
  }
  void TearDown() override {
    swap_.free();
    answers_.free();
    NetTest::TearDown();
  }
  // One batch of `frames` through the module.
  void run(const std::vector<Bytes>& frames) {
    Batch in;
    for (const Bytes& f : frames) in.push(to_mbuf(test_pool(), f));
    Module::deliver(w_, host_, in);
  }
  uint64_t drops(DropReason r) const { return host_.tally().drops[drop_index(r)].get(); }
  uint64_t dropped() const { return host_.tally().dropped(); }

  Worker w_{0, WorkerConfig{}};
  Endpoint ep_;
  PortHost host_;
  Collect swap_, answers_;
};

Packet to_group(Packet p, const MacAddr& group) {
  p.eth.dst = group;
  return p;
}

const MacAddr kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// Test traffic, unicast or not, goes to the swap; ARP for our address is
// answered out of the port; the batch is split without reordering either side.
TEST_F(PortHostTest, ReflectsTrafficAndAnswersArpForItsAddress) {
  run({udp4().build(), arp_request().build(), udp6().build(), udp4({'x'}).build()});
  ASSERT_EQ(swap_.got.size(), 3u);
  EXPECT_EQ(bytes_of(swap_.got[0]), udp4().build());
  EXPECT_EQ(bytes_of(swap_.got[1]), udp6().build());
  EXPECT_EQ(bytes_of(swap_.got[2]), udp4({'x'}).build());
  ASSERT_EQ(answers_.got.size(), 1u);
  const Bytes reply = bytes_of(answers_.got[0]);
  EXPECT_EQ(be16(reply, 12), 0x0806);
  EXPECT_EQ(be16(reply, 20), 2) << "an ARP reply";
  EXPECT_EQ(be32(reply, 28), kOurIp4) << "for our address";
  EXPECT_EQ(dropped(), 0u);
  EXPECT_EQ(host_.unanswered(), 0u);
  EXPECT_EQ(ep_.counters().arp_replies.get(), 1u);
}

// A solicitation for our IPv6 address, to its solicited-node group or
// unicast (a reachability probe), is answered; none reaches the swap.
TEST_F(PortHostTest, AnswersNeighbourSolicitations) {
  Packet probe = ns();
  probe.eth.dst = kOurMac;
  probe.ip6().dst = kOurIp6;
  run({ns().build(), probe.build()});
  EXPECT_TRUE(swap_.got.empty());
  EXPECT_EQ(answers_.got.size(), 2u);
  EXPECT_EQ(ep_.counters().na_sent.get(), 2u);
}

// What a Linux host says to its link (MLD reports behind a hop-by-hop
// header, router solicitations, DAD, IGMP, LLDP) is the host's: dropped
// under a named reason, never reflected.
TEST_F(PortHostTest, KeepsLinkChatterFromTheSwap) {
  Packet mld = to_group(echo6(), multicast_mac(ip6("ff02::16")));
  mld.ip6().dst = ip6("ff02::16");
  mld.ip6().ext = {ext_options(0)};
  mld.icmp().type = 143;
  Packet rs = to_group(echo6(), multicast_mac(ip6("ff02::2")));
  rs.ip6().dst = ip6("ff02::2");
  rs.icmp().type = 133;
  Packet dad = ns(ip6("2001:db8::99"), kUnspecified);
  Packet igmp = to_group(udp4(), MacAddr{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x16}});
  igmp.ip4().dst = RTE_IPV4(224, 0, 0, 22);
  igmp.ip4().proto = IPPROTO_IGMP;
  Packet lldp;
  lldp.eth.dst = MacAddr{{0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e}};
  lldp.eth.type = 0x88cc;
  lldp.payload = Bytes(46, 0);
  run({mld.build(), rs.build(), dad.build(), igmp.build(), lldp.build()});
  EXPECT_TRUE(swap_.got.empty());
  EXPECT_TRUE(answers_.got.empty());
  EXPECT_EQ(dropped(), 5u) << "each under a named reason";
}

// A generator's test frames to the broadcast address (bypass-gen's default)
// are reflected, from the port's MAC rather than from the group.
TEST_F(PortHostTest, TrafficToAGroupIsReflectedFromThePortsMac) {
  Packet p = to_group(udp4(), kBroadcast);
  Packet p6 = to_group(echo6(), multicast_mac(ip6("ff02::1")));
  p6.ip6().dst = ip6("ff02::1");  // an echo to all nodes is test traffic too
  run({p.build(), p6.build()});
  ASSERT_EQ(swap_.got.size(), 2u);
  for (rte_mbuf* m : swap_.got) {
    const Bytes b = bytes_of(m);
    EXPECT_EQ((MacAddr{{b[0], b[1], b[2], b[3], b[4], b[5]}}), kOurMac)
        << "the swap makes the destination the source";
  }
  EXPECT_EQ(dropped(), 0u);
}

// In front of a receiver (bypass-gen) nothing is rewritten: frames to a
// group arrive as they came, and ARP is still answered.
TEST_F(PortHostTest, AReceiverGetsGroupTrafficAsItCame) {
  PortHost receiver(ep_, PortHost::Role::kReceiver);
  Collect got, answers;
  receiver.connect(PortHost::kOn, &got);
  receiver.connect(PortHost::kAnswer, &answers);
  const Bytes frame = to_group(udp4(), kBroadcast).build();
  Batch in;
  in.push(to_mbuf(test_pool(), frame));
  in.push(to_mbuf(test_pool(), arp_request().build()));
  Module::deliver(w_, receiver, in);
  ASSERT_EQ(got.got.size(), 1u);
  EXPECT_EQ(bytes_of(got.got[0]), frame);
  EXPECT_EQ(answers.got.size(), 1u);
  got.free();
  answers.free();
}

// ARP for an address the port lacks is dropped, counted, and its target
// kept for the program's one sentence; not counted: gratuitous ARP, a probe
// (sender 0.0.0.0: its target is the prober's own candidate address) and a
// request sent to another station's MAC (the port is promiscuous).
TEST_F(PortHostTest, CountsArpItCannotAnswer) {
  Packet gratuitous = arp_request(kPeerIp4, kPeerIp4);
  Packet probe = arp_request(RTE_IPV4(198, 18, 0, 7), 0);
  Packet elsewhere = arp_request(RTE_IPV4(198, 18, 0, 8));
  elsewhere.eth.dst = MacAddr{{0x02, 0, 0, 0, 0, 0x99}};
  run({probe.build(), elsewhere.build(), arp_request(RTE_IPV4(198, 18, 0, 9)).build(),
       gratuitous.build(), arp_request(RTE_IPV4(198, 18, 0, 10)).build()});
  EXPECT_TRUE(answers_.got.empty());
  EXPECT_EQ(host_.unanswered(), 2u);
  EXPECT_EQ(host_.first_unanswered_target(), rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 9)));
  EXPECT_EQ(drops(NetDrop::kArpNotOurs), 3u) << "the probe too";
  EXPECT_EQ(drops(NetDrop::kNotForUs), 1u);
}

}  // namespace
}  // namespace bypass::test
