// Graph modules over a real ring-backed ethdev: what they change, what they
// count, and that every packet ends sent or freed.
#include <rte_eth_ring.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <gtest/gtest.h>

#include <bypass/net/checksum.hpp>

#include <bypass/graph/capture_tap.hpp>
#include <bypass/graph/port_modules.hpp>
#include <bypass/graph/ring_modules.hpp>
#include <bypass/graph/swap_modules.hpp>
#include <bypass/io/eth_port.hpp>
#include <bypass/io/faulty_port.hpp>

#include "collect.hpp"
#include "eal_env.hpp"
#include "frames.hpp"
#include "packets.hpp"

namespace bypass {
namespace {

// A port whose RX side the test fills and whose TX side the test drains.
class RingPortFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    std::string id = std::to_string(n++);
    before_ = test::pool_in_use();
    rx_ = rte_ring_create(("mrx" + id).c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx_ = rte_ring_create(("mtx" + id).c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_GE(rte_eth_from_rings(("mod" + id).c_str(), &rx_, 1, &tx_, 1, SOCKET_ID_ANY), 0);
    PortConfig pc;
    pc.name = "m";
    pc.device = "net_ring_mod" + id;
    pc.rx_desc = pc.tx_desc = 64;
    auto p = EthPort::open(pc, 1, test::test_pool());
    ASSERT_TRUE(p) << p.error();
    port_ = std::move(p.value());
  }
  void TearDown() override {
    drain_tx();
    port_.reset();
    rte_ring_free(rx_);
    rte_ring_free(tx_);
    EXPECT_EQ(test::pool_in_use(), before_) << "every packet was sent or freed";
  }
  void inject(uint32_t first, uint32_t n, uint16_t len = 64) {
    for (uint32_t i = 0; i < n; ++i) {
      rte_mbuf* m = test::make_udp4(test::test_pool(), first + i, len);
      ASSERT_EQ(rte_ring_enqueue(rx_, m), 0);
    }
  }
  std::vector<rte_mbuf*> sent() {
    std::vector<rte_mbuf*> out(64);
    out.resize(rte_ring_dequeue_burst(tx_, reinterpret_cast<void**>(out.data()), 64, nullptr));
    return out;
  }
  void drain_tx() {
    auto v = sent();
    test::free_all(v);
  }

  rte_ring *rx_ = nullptr, *tx_ = nullptr;
  std::unique_ptr<EthPort> port_;
  unsigned before_ = 0;
  Worker worker_{0, WorkerConfig{}};
};

TEST_F(RingPortFixture, FiveTupleSwapReflects) {
  FiveTupleSwap swap;
  PortTx tx(*port_, 0);
  swap.connect(0, &tx);
  PortRx rx(*port_, 0, &swap);
  inject(0, 10);
  EXPECT_TRUE(rx.poll(worker_));
  EXPECT_FALSE(rx.poll(worker_)) << "nothing left: no work";
  auto out = sent();
  ASSERT_EQ(out.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    auto* eth = rte_pktmbuf_mtod(out[i], rte_ether_hdr*);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    EXPECT_EQ(eth->dst_addr.addr_bytes[5], 0x01);
    EXPECT_EQ(eth->src_addr.addr_bytes[5], 0x02);
    EXPECT_EQ(ip->src_addr, rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 2)));
    EXPECT_EQ(ip->dst_addr, rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1)));
    EXPECT_EQ(rte_be_to_cpu_16(udp->src_port), 2000);
    EXPECT_EQ(rte_be_to_cpu_16(udp->dst_port), 1000);
    EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, udp), 0) << "a swap keeps the checksum valid";
    EXPECT_EQ(test::seq_of(out[i]), i);
  }
  test::free_all(out);
  EXPECT_EQ(worker_.counters().rx_packets.get(), 10u);
  EXPECT_EQ(worker_.counters().tx_packets.get(), 10u);
  EXPECT_EQ(worker_.counters().tx_bytes.get(), 640u);
}

// On a veth, a UDP checksum the peer left to an offload (the pseudo-header
// sum alone) is finished; a whole one is left as it was; off a veth a
// partial one goes back as it came.
TEST_F(RingPortFixture, FiveTupleSwapFinishesChecksumsAVethPeerLeftUnfinished) {
  for (bool veth : {true, false}) {
    FiveTupleSwap swap(veth);
    PortTx tx(*port_, 0);
    swap.connect(0, &tx);
    PortRx rx(*port_, 0, &swap);
    inject(0, 2);
    // The first one as a Linux peer sends it with the offload on.
    rte_mbuf* partial = nullptr;
    ASSERT_EQ(rte_ring_dequeue(rx_, reinterpret_cast<void**>(&partial)), 0);
    {
      auto* ip = rte_pktmbuf_mtod_offset(partial, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
      auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
      udp->dgram_cksum = fold(pseudo_sum_v4(ip, rte_be_to_cpu_16(udp->dgram_len), IPPROTO_UDP));
    }
    rte_mbuf* whole = nullptr;
    ASSERT_EQ(rte_ring_dequeue(rx_, reinterpret_cast<void**>(&whole)), 0);
    ASSERT_EQ(rte_ring_enqueue(rx_, partial), 0);
    ASSERT_EQ(rte_ring_enqueue(rx_, whole), 0);
    rx.poll(worker_);
    auto out = sent();
    ASSERT_EQ(out.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      auto* ip = rte_pktmbuf_mtod_offset(out[i], rte_ipv4_hdr*, sizeof(rte_ether_hdr));
      auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
      const bool valid = rte_ipv4_udptcp_cksum_verify(ip, udp) == 0;
      EXPECT_EQ(valid, veth || i == 1) << "veth " << veth << ", frame " << i;
    }
    test::free_all(out);
  }
}

TEST_F(RingPortFixture, MacSwapChangesOnlyMacs) {
  MacSwap swap;
  PortTx tx(*port_, 0);
  swap.connect(0, &tx);
  PortRx rx(*port_, 0, &swap);
  inject(0, 3);
  rx.poll(worker_);
  auto out = sent();
  ASSERT_EQ(out.size(), 3u);
  auto* eth = rte_pktmbuf_mtod(out[0], rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  EXPECT_EQ(eth->dst_addr.addr_bytes[5], 0x01);
  EXPECT_EQ(ip->src_addr, rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1)));
  test::free_all(out);
}

TEST_F(RingPortFixture, RuntsAreDroppedAndCounted) {
  FiveTupleSwap swap;
  PortTx tx(*port_, 0);
  swap.connect(0, &tx);
  PortRx rx(*port_, 0, &swap);
  inject(0, 2);
  rte_mbuf* runt = rte_pktmbuf_alloc(test::test_pool());
  rte_pktmbuf_append(runt, 10);
  ASSERT_EQ(rte_ring_enqueue(rx_, runt), 0);
  rte_mbuf* short_ip = test::make_udp4(test::test_pool(), 9);
  rte_pktmbuf_trim(short_ip, short_ip->data_len - 20);  // Ethernet + 6 bytes of IPv4
  ASSERT_EQ(rte_ring_enqueue(rx_, short_ip), 0);
  rx.poll(worker_);
  auto out = sent();
  EXPECT_EQ(out.size(), 2u);
  test::free_all(out);
  EXPECT_EQ(swap.tally().drops[drop_index(SwapDrop::kRunt)].get(), 2u);
  EXPECT_EQ(swap.drop_table().name(SwapDrop::kRunt), "runt");
  EXPECT_EQ(worker_.counters().dropped.get(), 2u);
}

TEST_F(RingPortFixture, UnconnectedGateDropsAsNoRoute) {
  MacSwap swap;  // gate 0 left unconnected
  PortRx rx(*port_, 0, &swap);
  inject(0, 5);
  rx.poll(worker_);
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(swap.tally().drops[drop_index(GraphDrop::kNoRoute)].get(), 5u);
  EXPECT_EQ(swap.drop_table().name(GraphDrop::kNoRoute), "no_route");
}

TEST_F(RingPortFixture, FullTxQueueDropsAsTxFull) {
  Io io;
  PortTx tx(*port_, 0, 2);
  io.connect(0, &tx);
  PortRx rx(*port_, 0, &io);
  // Fill the TX ring (capacity 63) so only part of a burst fits.
  for (uint32_t round = 0; round < 2; ++round) {
    inject(round * 32, 32);
    rx.poll(worker_);
  }
  EXPECT_EQ(worker_.counters().tx_packets.get(), 63u);
  EXPECT_EQ(tx.tally().drops[drop_index(GraphDrop::kTxFull)].get(), 1u);
  EXPECT_EQ(worker_.counters().dropped.get(), 1u);
}

// A port that holds packets back on TX (FaultyPort's delay) sends them only
// when tx_burst is called again. On a quiet queue no batch comes to call it:
// PortTx kicks such a port every 100 us of worker time, so they leave.
TEST_F(RingPortFixture, PacketsHeldOnAQuietTxQueueLeaveWithTheKicks) {
  ManualClock clock(1'000'000, 0);  // one tick per microsecond
  Worker w(0, WorkerConfig{}, &clock);
  FaultPlan plan;
  plan.tx.delay_polls = 2;
  FaultyPort faulty(*port_, plan);
  Io io;
  PortTx tx(faulty, 0);
  io.connect(0, &tx);
  PortRx rx(*port_, 0, &io);
  ASSERT_TRUE(tx.start(w));
  inject(0, 3);
  ASSERT_TRUE(rx.poll(w));  // TX poll 1: held for two more
  EXPECT_TRUE(sent().empty());
  auto tick = [&](uint64_t t) {
    clock.set(t);
    w.sample_clock();
    w.run_timers();
  };
  tick(100);  // kick: TX poll 2
  EXPECT_TRUE(sent().empty());
  tick(200);  // kick: TX poll 3, due
  auto out = sent();
  ASSERT_EQ(out.size(), 3u) << "held packets left without another batch";
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(test::seq_of(out[i]), i);
  test::free_all(out);
  EXPECT_EQ(faulty.counters().tx.delayed, 3u);
  tx.stop(w);
  EXPECT_EQ(w.timers().armed(), 0u);
}

TEST_F(RingPortFixture, PipelineHandOffThroughARing) {
  auto ring = HandoffRing::create("pipe_ring", 16);
  ASSERT_TRUE(ring);
  FiveTupleSwap swap;
  PortTx tx(*port_, 0);
  swap.connect(0, &tx);
  RingOut out(*ring);
  PortRx rx(*port_, 0, &out);
  Worker handler(1, WorkerConfig{});
  RingIn in(*ring, &swap);
  inject(0, 32);
  rx.poll(worker_);  // 16 fit in the ring, 16 are dropped
  EXPECT_EQ(out.tally().drops[drop_index(GraphDrop::kRingFull)].get(), 16u);
  EXPECT_TRUE(in.poll(handler));
  EXPECT_FALSE(in.poll(handler));
  auto got = sent();
  ASSERT_EQ(got.size(), 16u);
  EXPECT_EQ(test::seq_of(got[15]), 15u);
  test::free_all(got);
  EXPECT_EQ(handler.counters().tx_packets.get(), 16u);
}

// Two links leave one worker (two rings, two consumers). One consumer stops
// taking: its ring fills, what does not fit is dropped as ring_full on that
// link alone, and the producer never waits. The other link gets every packet.
// Once the stopped consumer takes again, its link delivers again.
TEST_F(RingPortFixture, AFullRingDropsOnItsOwnLinkAndTheOtherFlows) {
  auto ring_a = HandoffRing::create("link_a", 16), ring_b = HandoffRing::create("link_b", 16);
  ASSERT_TRUE(ring_a);
  ASSERT_TRUE(ring_b);
  RingOut out_a(*ring_a), out_b(*ring_b);
  test::Collect got_a, got_b;
  Worker consumer_a(1, WorkerConfig{}), consumer_b(2, WorkerConfig{});
  RingIn in_a(*ring_a, &got_a), in_b(*ring_b, &got_b);
  uint32_t seq = 0;
  auto send = [&](RingOut& out, unsigned n) {
    Batch b;
    for (unsigned i = 0; i < n; ++i) b.push(test::make_udp4(test::test_pool(), seq++, 64));
    Module::deliver(worker_, out, b);
  };
  // Ten rounds of 8 packets a link; consumer A is stopped, B takes each round.
  for (int round = 0; round < 10; ++round) {
    send(out_a, 8);
    send(out_b, 8);
    while (in_b.poll(consumer_b)) {
    }
  }
  EXPECT_EQ(got_b.got.size(), 80u) << "the other link lost nothing";
  EXPECT_EQ(out_b.tally().drops[drop_index(GraphDrop::kRingFull)].get(), 0u);
  // A's ring holds 15 (a ring of 16 keeps one slot empty) or 16: the rest was dropped on A.
  const uint64_t dropped_a = out_a.tally().drops[drop_index(GraphDrop::kRingFull)].get();
  EXPECT_GE(dropped_a, 64u);
  EXPECT_EQ(dropped_a + ring_a->count(), 80u);
  EXPECT_EQ(worker_.counters().dropped.get(), dropped_a);
  // A takes again: what its ring held arrives in order, then new packets flow with no drop.
  while (in_a.poll(consumer_a)) {
  }
  const size_t held = got_a.got.size();
  EXPECT_EQ(held + dropped_a, 80u);
  for (size_t i = 1; i < held; ++i)
    EXPECT_LT(test::seq_of(got_a.got[i - 1]), test::seq_of(got_a.got[i]));
  send(out_a, 8);
  while (in_a.poll(consumer_a)) {
  }
  EXPECT_EQ(got_a.got.size(), held + 8);
  EXPECT_EQ(out_a.tally().drops[drop_index(GraphDrop::kRingFull)].get(), dropped_a);
  got_a.free();
  got_b.free();
}

// The workers stop while a ring still holds packets: drop_left() frees them
// and counts them (left_at_stop) to RingOut and its worker, so that the
// worker's rx is its tx plus its drops (they were freed uncounted).
TEST_F(RingPortFixture, WhatARingHoldsAtStopIsCountedAsDropped) {
  auto ring = HandoffRing::create("stop_ring", 16);
  ASSERT_TRUE(ring);
  RingOut out(*ring);
  PortRx rx(*port_, 0, &out);
  inject(0, 8);
  rx.poll(worker_);
  EXPECT_EQ(worker_.counters().rx_packets.get(), 8u);
  EXPECT_EQ(worker_.counters().dropped.get(), 0u);
  out.drop_left(worker_);
  EXPECT_EQ(worker_.counters().dropped.get(), 8u);
  EXPECT_EQ(out.tally().drops[drop_index(RingOutDrop::kLeftAtStop)].get(), 8u);
  EXPECT_EQ(out.drop_table().name(RingOutDrop::kLeftAtStop), "left_at_stop");
  out.drop_left(worker_);  // nothing left: nothing more
  EXPECT_EQ(worker_.counters().dropped.get(), 8u);
}

// 5tswap looks through up to two VLAN tags (802.1Q, 802.1ad), as testpmd
// does; swaps the ports of a first fragment but leaves a later fragment's
// first bytes (data, not ports) alone; an IPv4 header length under 20 is
// dropped as malformed_ip, not read as one.
TEST(FiveTupleSwapFrames, TagsFragmentsAndShortHeaders) {
  FiveTupleSwap swap;
  test::Collect out;
  swap.connect(0, &out);
  Worker w(0, WorkerConfig{});
  const auto reflect = [&](const test::Packet& p) {
    Batch b;
    b.push(test::to_mbuf(test::test_pool(), p.build()));
    Module::deliver(w, swap, b);
    if (out.got.empty()) return test::Bytes{};
    test::Bytes got = test::bytes_of(out.got[0]);
    out.free();
    return got;
  };
  const auto be16 = [](const test::Bytes& b, size_t at) { return b[at] << 8 | b[at + 1]; };
  test::Packet tagged = test::udp4(test::Bytes(32, 'x'), 40000, 7);
  tagged.eth.tags = {100};
  test::Packet stacked = tagged;
  stacked.eth.tags = {100, 200};
  stacked.eth.outer_tpid = 0x88a8;
  for (const auto& [p, l3] : {std::pair{&tagged, 18u}, {&stacked, 22u}}) {
    const test::Bytes in = p->build(), got = reflect(*p);
    ASSERT_EQ(got.size(), in.size());
    EXPECT_EQ(test::Bytes(got.begin() + l3 + 12, got.begin() + l3 + 16),
              test::Bytes(in.begin() + l3 + 16, in.begin() + l3 + 20))
        << "addresses swapped behind " << p->eth.tags.size() << " tag(s)";
    EXPECT_EQ(be16(got, l3 + 20), 7);
    EXPECT_EQ(be16(got, l3 + 22), 40000);
  }
  test::Packet first = test::udp4(test::Bytes(32, 'x'), 40000, 7), later = first;
  first.ip4().frag = 0x2000;  // more fragments, offset 0: the ports are here
  later.ip4().frag = 0x00b9;  // offset 185 x 8: data only
  EXPECT_EQ(be16(reflect(first), 34), 7);
  const test::Bytes in = later.build(), got = reflect(later);
  EXPECT_EQ(test::Bytes(got.begin() + 34, got.begin() + 38),
            test::Bytes(in.begin() + 34, in.begin() + 38));
  EXPECT_EQ(test::Bytes(got.begin() + 26, got.begin() + 30),
            test::Bytes(in.begin() + 30, in.begin() + 34));
  test::Packet short_ihl = test::udp4();
  short_ihl.ip4().ihl = 4;
  EXPECT_TRUE(reflect(short_ihl).empty());
  EXPECT_EQ(swap.tally().drops[drop_index(SwapDrop::kMalformed)].get(), 1u);
  EXPECT_EQ(swap.drop_table().name(SwapDrop::kMalformed), "malformed_ip");
}

// A chained packet (a reply whose content is in segments) is captured
// whole, as dpdk-dumpcap does, not as its first segment with the full
// length claimed: 60 + 500 bytes in two segments make one 560-byte record.
TEST(CaptureTapFrames, AChainIsCapturedWhole) {
  auto ch = std::make_shared<CaptureChannel>(std::vector<BpfInsn>{}, 10);
  CaptureTap tap(ch, 1);
  test::Collect out;
  tap.connect(0, &out);
  Worker w(0, WorkerConfig{});
  test::Bytes head = test::udp4(test::Bytes(18, 'h')).build(), tail(500);
  for (size_t i = 0; i < tail.size(); ++i) tail[i] = static_cast<uint8_t>(i);
  test::Bytes whole = head;
  whole.insert(whole.end(), tail.begin(), tail.end());
  rte_mbuf* m = test::to_mbuf(test::test_pool(), whole, {static_cast<uint32_t>(head.size())});
  ASSERT_EQ(m->nb_segs, 2);
  Batch b;
  b.push(m);
  Module::deliver(w, tap, b);
  ASSERT_EQ(out.got.size(), 1u);
  CaptureRecord rec;
  ASSERT_TRUE(tap.pop(&rec));
  EXPECT_EQ(rec.wire_len, whole.size());
  ASSERT_EQ(rec.len, whole.size());
  EXPECT_EQ(test::Bytes(rec.data, rec.data + rec.len), whole);
  out.free();
}

}  // namespace
}  // namespace bypass
