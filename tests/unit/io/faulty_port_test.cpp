// FaultyPort over a real DPDK device: a net_ring vdev whose TX queue feeds its own
// RX queue (the PMD's default when given no rings), opened as an EthPort. Packets
// are put into the device directly and read through FaultyPort (RX faults), or sent
// through FaultyPort and read from the device directly (TX faults). Every test ends
// with the pool's in-use count back where it started.
#include <bypass/io/faulty_port.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include <bypass/io/eth_port.hpp>

#include "eal_env.hpp"
#include "packets.hpp"

namespace bypass {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(p, p + rte_pktmbuf_data_len(m));
}

// Mbufs a test holds; freed however the test ends.
struct Owned {
  std::vector<rte_mbuf*> v;
  ~Owned() { test::free_all(v); }
  std::vector<uint32_t> seqs() const {
    std::vector<uint32_t> s;
    for (auto* m : v) s.push_back(test::seq_of(m));
    return s;
  }
};

using ::testing::HasSubstr;

// Packets seq first..first+n-1, not yet sent anywhere.
Owned make(uint32_t first, uint32_t n) {
  Owned o;
  for (uint32_t i = 0; i < n; ++i) o.v.push_back(test::make_udp4(test::test_pool(), first + i));
  return o;
}

std::vector<uint32_t> iota(uint32_t first, uint32_t n) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = first + i;
  return v;
}

class FaultyPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    before_ = test::pool_in_use();
    PortConfig pc;
    pc.name = "lo";
    pc.device = "net_ring_faulty0";
    pc.rx_desc = pc.tx_desc = 256;
    auto p = EthPort::open(pc, 1, test::test_pool());
    ASSERT_TRUE(p) << p.error();
    dev_ = std::move(p.value());
  }
  void TearDown() override {
    if (dev_) {
      Owned rest;
      read_device(rest);
      dev_.reset();
    }
    EXPECT_EQ(test::pool_in_use(), before_) << "an mbuf was leaked (or freed twice)";
  }

  // Puts packets seq first..first+n-1 into the device, as if they had arrived.
  void inject(uint32_t first, uint32_t n, uint16_t frame_len = 64) {
    for (uint32_t i = 0; i < n; ++i) {
      rte_mbuf* m = test::make_udp4(test::test_pool(), first + i, frame_len);
      ASSERT_NE(m, nullptr);
      if (dev_->tx_burst(0, &m, 1) != 1) {
        rte_pktmbuf_free(m);
        FAIL() << "the ring device is full";
      }
    }
  }
  // Everything the device holds (what was sent through FaultyPort).
  void read_device(Owned& out) {
    rte_mbuf* p[64];
    while (uint16_t n = dev_->rx_burst(0, p, 64)) out.v.insert(out.v.end(), p, p + n);
  }
  static uint16_t poll(Port& port, Owned& out, uint16_t n = 64) {
    rte_mbuf* p[64];
    uint16_t got = port.rx_burst(0, p, n);
    out.v.insert(out.v.end(), p, p + got);
    return got;
  }

  struct RxRun {
    std::vector<Bytes> frames;       // delivered, in order
    std::vector<uint32_t> seqs;      // their sequence numbers
    std::vector<uint16_t> per_poll;  // packets per rx_burst
    FaultCounters c;
  };
  // Puts `total` packets in, `burst` per poll, polls until FaultyPort is quiet.
  RxRun run_rx(const FaultPlan& plan, uint32_t total, uint32_t burst) {
    RxRun r;
    FaultyPort fp(*dev_, plan, test::test_pool());
    auto take = [&] {
      Owned got;
      r.per_poll.push_back(poll(fp, got));
      for (auto* m : got.v) {
        r.frames.push_back(bytes_of(m));
        r.seqs.push_back(test::seq_of(m));
      }
      return got.v.size();
    };
    for (uint32_t next = 0; next < total; next += burst) {
      inject(next, std::min(burst, total - next));
      take();
    }
    for (int i = 0, idle = 0; i < 1000 && idle < 20; ++i) idle = take() ? 0 : idle + 1;
    r.c = fp.counters();
    return r;
  }
  unsigned before_ = 0;
  std::unique_ptr<EthPort> dev_;
};

TEST_F(FaultyPortTest, ValidateNamesTheFieldToChange) {
  auto error_of = [](auto edit) {
    FaultPlan p;
    edit(p);
    return FaultyPort::validate(p).message();
  };
  EXPECT_TRUE(FaultyPort::validate(FaultPlan{}));
  EXPECT_EQ(error_of([](FaultPlan& p) { p.rx.drop_rate = 1.5; }),
            "fault plan: rx.drop_rate is 1.5 but must be a probability between 0 and 1: set it "
            "to, e.g., 0.01 for 1 % of packets.");
  EXPECT_THAT(error_of([](FaultPlan& p) { p.tx.duplicate_rate = std::nan(""); }),
              HasSubstr("tx.duplicate_rate is nan"));
  EXPECT_THAT(error_of([](FaultPlan& p) { p.short_tx_rate = -0.1; }),
              HasSubstr("short_tx_rate is -0.1"));
  EXPECT_THAT(error_of([](FaultPlan& p) { p.rx.corrupt_rate = 0.1, p.rx.corrupt_bits = 0; }),
              HasSubstr("rx.corrupt_bits is 0 but must be between 1 and 64"));
  EXPECT_THAT(error_of([](FaultPlan& p) { p.stall_every = 4, p.stall_polls = 4; }),
              HasSubstr("stall_polls (4) must be smaller than stall_every (4)"));
  EXPECT_THAT(error_of([](FaultPlan& p) { p.hold_capacity = 0; }),
              HasSubstr("hold_capacity is 0 but must be between 1 and"));
  FaultPlan p;
  p.rx.duplicate_rate = 0.5;
  auto no_pool = FaultyPort::create(*dev_, p);
  ASSERT_FALSE(no_pool);
  EXPECT_THAT(no_pool.error(), HasSubstr("no copy pool was given"));
  EXPECT_TRUE(FaultyPort::create(*dev_, p, test::test_pool()));
}

TEST_F(FaultyPortTest, EmptyPlanIsTransparent) {
  FaultyPort fp(*dev_, FaultPlan{});
  EXPECT_EQ(fp.name(), "lo");
  EXPECT_TRUE(fp.link().up);
  Owned out;
  inject(0, 20);
  EXPECT_EQ(poll(fp, out), 20);
  EXPECT_EQ(out.seqs(), iota(0, 20));
  EXPECT_EQ(fp.tx_burst(0, out.v.data(), 20), 20);
  out.v.clear();  // the device has them now
  Owned sent;
  read_device(sent);
  EXPECT_EQ(sent.seqs(), iota(0, 20));
  EXPECT_EQ(fp.counters().rx.packets + fp.counters().tx.packets, 40u);
}

TEST_F(FaultyPortTest, DropRateIsNearTheRateAndRepeatsBySeed) {
  FaultPlan p;
  p.seed = 42;
  p.rx.drop_rate = 0.25;
  RxRun a = run_rx(p, 4000, 32);
  EXPECT_NEAR(static_cast<double>(a.c.rx.dropped), 1000.0, 150.0);
  EXPECT_EQ(a.c.rx.packets, 4000u);
  EXPECT_EQ(a.frames.size() + a.c.rx.dropped, 4000u);
  std::vector<uint32_t> s = a.seqs;
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end())) << "dropping does not reorder";
  RxRun b = run_rx(p, 4000, 32);
  EXPECT_EQ(b.seqs, s) << "same seed, same drops";
  p.seed = 43;
  RxRun c = run_rx(p, 4000, 32);
  EXPECT_NE(c.seqs, s) << "another seed, other drops";
}

TEST_F(FaultyPortTest, DropEveryNthIsExact) {
  FaultPlan p;
  p.rx.drop_every = 7;
  RxRun r = run_rx(p, 100, 10);
  EXPECT_EQ(r.c.rx.dropped, 14u);
  std::vector<uint32_t> want;
  for (uint32_t i = 0; i < 100; ++i)
    if ((i + 1) % 7 != 0) want.push_back(i);
  EXPECT_EQ(r.seqs, want);
}

TEST_F(FaultyPortTest, DuplicatesAreDeepCopiesThatFitTheBurst) {
  FaultPlan p;
  p.rx.duplicate_rate = 1.0;
  FaultyPort fp(*dev_, p, test::test_pool());
  inject(0, 10);
  Owned out;  // room for 16: six copies fit beside the ten originals
  ASSERT_EQ(poll(fp, out, 16), 16);
  EXPECT_EQ(out.seqs(), (std::vector<uint32_t>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9}));
  for (uint32_t i = 0; i < 12; i += 2) {
    EXPECT_NE(out.v[i], out.v[i + 1]);
    EXPECT_EQ(bytes_of(out.v[i]), bytes_of(out.v[i + 1]));
    EXPECT_EQ(rte_mbuf_refcnt_read(out.v[i + 1]), 1) << "a copy, never a shared mbuf";
  }
  EXPECT_EQ(fp.counters().rx.duplicated, 6u);
  EXPECT_EQ(fp.counters().rx.copy_failed, 4u);
}

TEST_F(FaultyPortTest, DuplicateRateCountsEveryCopy) {
  FaultPlan p;
  p.seed = 7;
  p.rx.duplicate_rate = 0.5;
  RxRun r = run_rx(p, 1000, 16);
  EXPECT_NEAR(static_cast<double>(r.c.rx.duplicated), 500.0, 80.0);
  EXPECT_EQ(r.frames.size(), 1000 + r.c.rx.duplicated);
  EXPECT_EQ(r.c.rx.copy_failed, 0u);
}

TEST_F(FaultyPortTest, ShuffleMovesEveryPacketAndKeepsTheSet) {
  FaultPlan p;
  p.rx.reorder_rate = 1.0;
  FaultyPort fp(*dev_, p);
  inject(0, 8);
  Owned out;
  ASSERT_EQ(poll(fp, out), 8);
  std::vector<uint32_t> s = out.seqs();
  for (uint32_t i = 0; i < 8; ++i) EXPECT_NE(s[i], i) << "no packet stays in place";
  std::sort(s.begin(), s.end());
  EXPECT_EQ(s, iota(0, 8));
  EXPECT_EQ(fp.counters().rx.reordered, 1u);
}

TEST_F(FaultyPortTest, HoldBackDeliversOnePacketNextPoll) {
  FaultPlan p;
  p.rx.reorder_rate = 1.0;
  p.rx.reorder_mode = ReorderMode::kHoldBack;
  FaultyPort fp(*dev_, p);
  inject(0, 8);
  Owned first, second;
  ASSERT_EQ(poll(fp, first), 7);
  ASSERT_EQ(poll(fp, second), 1);
  std::vector<uint32_t> all = first.seqs();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::find(all.begin(), all.end(), test::seq_of(second.v[0])), all.end());
  all.push_back(test::seq_of(second.v[0]));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, iota(0, 8));
}

// The XOR of each delivered frame with the frame that was put in.
std::vector<Bytes> flips(const std::vector<Bytes>& got, uint16_t frame_len) {
  std::vector<Bytes> x;
  for (uint32_t i = 0; i < got.size(); ++i) {
    rte_mbuf* m = test::make_udp4(test::test_pool(), i, frame_len);
    Bytes want = bytes_of(m);
    rte_pktmbuf_free(m);
    Bytes d(want.size());
    for (size_t j = 0; j < want.size() && j < got[i].size(); ++j) d[j] = want[j] ^ got[i][j];
    x.push_back(d);
  }
  return x;
}

TEST_F(FaultyPortTest, CorruptFlipsExactlyTheConfiguredBits) {
  FaultPlan p;
  p.seed = 9;
  p.rx.corrupt_rate = 1.0;
  p.rx.corrupt_bits = 5;
  RxRun a = run_rx(p, 50, 10);
  ASSERT_EQ(a.frames.size(), 50u);
  EXPECT_EQ(a.c.rx.corrupted, 50u);
  std::vector<Bytes> xa = flips(a.frames, 64);
  for (const Bytes& d : xa) {
    ASSERT_EQ(d.size(), 64u) << "data_len unchanged";
    int bits = 0;
    for (uint8_t b : d) bits += __builtin_popcount(b);
    EXPECT_EQ(bits, 5);
  }
  EXPECT_EQ(flips(run_rx(p, 50, 10).frames, 64), xa) << "same seed, same bits";
  p.seed = 10;
  EXPECT_NE(flips(run_rx(p, 50, 10).frames, 64), xa);
}

// A corrupted frame keeps no device verdict on its checksums (a NIC with
// checksum offload marked it good before the damage: the parser would have
// trusted that), and asks no device to write a good checksum over it.
TEST_F(FaultyPortTest, CorruptionTakesTheChecksumFlagsWithIt) {
  FaultPlan p;
  p.rx.corrupt_rate = 1.0;
  p.tx.corrupt_rate = 1.0;
  FaultyPort fp(*dev_, p, test::test_pool());
  rte_mbuf* m = test::make_udp4(test::test_pool(), 1, 64);
  m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  ASSERT_EQ(dev_->tx_burst(0, &m, 1), 1);
  Owned got;
  ASSERT_EQ(poll(fp, got), 1);
  EXPECT_EQ(got.v[0]->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK), 0u);
  // TX: the frame as an offloading sender leaves it (IP checksum 0, the
  // device asked for both) leaves with both written, and then the damage:
  // it differs from the correctly summed frame in exactly the bits flipped.
  rte_mbuf* good = test::make_udp4(test::test_pool(), 2, 64);
  const Bytes want = bytes_of(good);
  rte_pktmbuf_free(good);
  rte_mbuf* out = test::make_udp4(test::test_pool(), 2, 64);
  rte_pktmbuf_mtod_offset(out, rte_ipv4_hdr*, 14)->hdr_checksum = 0;
  out->l2_len = 14;
  out->l3_len = 20;
  out->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
  ASSERT_EQ(fp.tx_burst(0, &out, 1), 1);
  Owned sent;
  read_device(sent);
  ASSERT_EQ(sent.v.size(), 1u);
  EXPECT_EQ(sent.v[0]->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0u);
  const Bytes wire = bytes_of(sent.v[0]);
  ASSERT_EQ(wire.size(), want.size());
  int bits = 0;
  for (size_t i = 0; i < wire.size(); ++i) bits += __builtin_popcount(wire[i] ^ want[i]);
  EXPECT_EQ(bits, static_cast<int>(p.tx.corrupt_bits));
  EXPECT_EQ(fp.counters().rx.corrupted + fp.counters().tx.corrupted, 2u);
}

TEST_F(FaultyPortTest, DelayReleasesAfterExactlyNPolls) {
  FaultPlan p;
  p.rx.delay_polls = 3;
  FaultyPort fp(*dev_, p);
  Owned out;
  inject(0, 4);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(poll(fp, out), 0) << "poll " << i + 1;
  EXPECT_EQ(poll(fp, out), 4) << "poll 4 = taken in at poll 1, plus 3";
  EXPECT_EQ(out.seqs(), iota(0, 4));
  inject(4, 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(poll(fp, out), 0);
  EXPECT_EQ(poll(fp, out), 1) << "the same for one more packet";
  EXPECT_EQ(fp.counters().rx.delayed, 5u);
}

// A plan given live (keep_plan on the control thread, use_plan as the
// worker would call it) delays as one given at the start does: keep_plan
// made the hold ring it needs.
TEST_F(FaultyPortTest, ALivePlanThatDelaysHoldsPacketsBack) {
  FaultyPort fp(*dev_, FaultPlan{});
  Owned out;
  inject(0, 2);
  EXPECT_EQ(poll(fp, out), 2) << "no faults yet";
  FaultPlan delay;
  delay.rx.delay_polls = 2;
  const FaultPlan* kept = fp.keep_plan(delay);
  const uint16_t q0 = 0;
  fp.use_plan(kept, {&q0, 1}, std::nullopt);
  inject(2, 3);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(poll(fp, out), 0) << "poll " << i + 1;
  EXPECT_EQ(poll(fp, out), 3);
  EXPECT_EQ(out.seqs(), iota(0, 5));
  EXPECT_EQ(fp.counters().rx.delayed, 3u);
}

TEST_F(FaultyPortTest, FullHoldQueueDropsAndCounts) {
  FaultPlan p;
  p.rx.delay_polls = 5;
  p.hold_capacity = 4;
  RxRun r = run_rx(p, 10, 10);
  EXPECT_EQ(r.c.rx.delayed, 4u);
  EXPECT_EQ(r.c.rx.hold_full, 6u);
  EXPECT_EQ(r.seqs, iota(0, 4));
}

TEST_F(FaultyPortTest, DrainAndDestructorFreeHeldPackets) {
  FaultPlan p;
  p.rx.delay_polls = 100;
  {
    FaultyPort fp(*dev_, p);
    Owned out;
    inject(0, 10);
    EXPECT_EQ(poll(fp, out), 0);
    EXPECT_EQ(fp.drain(), 10u);
    EXPECT_EQ(fp.counters().rx.drained, 10u);
    EXPECT_EQ(fp.drain(), 0u);
  }
  FaultyPort fp(*dev_, p);
  Owned out;
  inject(0, 10);
  EXPECT_EQ(poll(fp, out), 0);
  // fp goes out of scope holding 10 packets; TearDown checks they came back.
}

TEST_F(FaultyPortTest, ShortTxLeavesTheRestWithTheCaller) {
  FaultPlan p;
  p.seed = 5;
  p.short_tx_rate = 1.0;
  std::vector<uint16_t> rounds[2];
  for (int round = 0; round < 2; ++round) {
    FaultyPort fp(*dev_, p);
    std::vector<uint16_t>& taken = rounds[round];
    uint64_t refused = 0;
    for (int b = 0; b < 10; ++b) {
      Owned pkts = make(0, 32);
      uint16_t k = fp.tx_burst(0, pkts.v.data(), 32);
      EXPECT_LT(k, 32);
      taken.push_back(k);
      refused += 32 - k;
      pkts.v.erase(pkts.v.begin(), pkts.v.begin() + k);  // the device owns those; free the rest
      Owned sent;
      read_device(sent);
      EXPECT_EQ(sent.seqs(), iota(0, k)) << "the device got exactly the first k";
    }
    EXPECT_EQ(fp.counters().tx.short_tx, refused);
  }
  EXPECT_EQ(rounds[1], rounds[0]) << "same seed, same short bursts";
}

TEST_F(FaultyPortTest, DeviceRefusalIsKeptAndSentFirst) {
  FaultPlan p;
  p.tx.drop_every = 1000000;  // any TX fault: FaultyPort takes the packets it accepts
  FaultyPort fp(*dev_, p);
  for (uint32_t i = 0;; ++i) {  // fill the device's ring
    rte_mbuf* m = test::make_udp4(test::test_pool(), 1000 + i);
    if (dev_->tx_burst(0, &m, 1) == 1) continue;
    rte_pktmbuf_free(m);
    break;
  }
  Owned a = make(0, 8), b = make(8, 8), filler;
  EXPECT_EQ(fp.tx_burst(0, a.v.data(), 8), 8) << "taken and kept while the device is full";
  a.v.clear();
  EXPECT_EQ(fp.tx_burst(0, b.v.data(), 8), 0) << "nothing new while the device refuses";
  read_device(filler);
  EXPECT_EQ(fp.tx_burst(0, b.v.data(), 8), 8);
  b.v.clear();
  Owned sent;
  read_device(sent);
  EXPECT_EQ(sent.seqs(), iota(0, 16)) << "kept packets go first, in order";
  EXPECT_EQ(fp.counters().tx.hold_full, 0u);
}

TEST_F(FaultyPortTest, TxFaultsReachTheDevice) {
  FaultPlan p;
  p.tx.drop_every = 3;
  p.tx.duplicate_rate = 1.0;
  FaultyPort fp(*dev_, p, test::test_pool());
  Owned pkts = make(0, 9);
  ASSERT_EQ(fp.tx_burst(0, pkts.v.data(), 9), 9);
  pkts.v.clear();
  Owned sent;
  read_device(sent);
  EXPECT_EQ(sent.seqs(), (std::vector<uint32_t>{0, 0, 1, 1, 3, 3, 4, 4, 6, 6, 7, 7}));
  EXPECT_EQ(fp.counters().tx.dropped, 3u);
  EXPECT_EQ(fp.counters().tx.duplicated, 6u);
}

TEST_F(FaultyPortTest, TxDelayCountsTxBurstCalls) {
  FaultPlan p;
  p.tx.delay_polls = 2;
  FaultyPort fp(*dev_, p);
  Owned pkts = make(0, 4), sent;
  ASSERT_EQ(fp.tx_burst(0, pkts.v.data(), 4), 4);  // TX poll 1
  pkts.v.clear();
  EXPECT_EQ(fp.tx_burst(0, nullptr, 0), 0);  // poll 2
  read_device(sent);
  EXPECT_TRUE(sent.v.empty());
  EXPECT_EQ(fp.tx_burst(0, nullptr, 0), 0);  // poll 3 = 1 + 2: sent now
  read_device(sent);
  EXPECT_EQ(sent.seqs(), iota(0, 4));
  EXPECT_EQ(fp.counters().tx.delayed, 4u);
}

// A device that resets moves nothing more and asks to be set up again: after
// reset_after_polls RX polls, rx and tx return 0, counted, and
// reset_requested() says so (what DPDK's reset event does for an EthPort).
TEST_F(FaultyPortTest, AnInjectedResetStopsTheDeviceAndAsksForAReset) {
  FaultPlan p;
  p.reset_after_polls = 3;
  FaultyPort fp(*dev_, p);
  EXPECT_FALSE(fp.reset_requested());
  inject(0, 4);
  Owned got;
  EXPECT_EQ(poll(fp, got, 2), 2);  // poll 1
  EXPECT_EQ(poll(fp, got, 1), 1);  // poll 2
  EXPECT_FALSE(fp.reset_requested());
  EXPECT_EQ(poll(fp, got), 0);  // poll 3: reset; the fourth packet stays in the device
  EXPECT_TRUE(fp.reset_requested());
  Owned out = make(10, 2);
  EXPECT_EQ(fp.tx_burst(0, out.v.data(), 2), 0) << "the caller keeps them";
  EXPECT_EQ(fp.counters().rx.reset, 1u);
  EXPECT_EQ(fp.counters().tx.reset, 2u);
  EXPECT_FALSE(dev_->reset_requested()) << "the device under it did not reset";
  Owned left;
  read_device(left);
  EXPECT_EQ(left.seqs(), iota(3, 1));
}

TEST_F(FaultyPortTest, LinkDownAndUp) {
  FaultPlan p;
  p.link_up = false;
  FaultyPort fp(*dev_, p);
  EXPECT_FALSE(fp.link().up);
  Owned pkts = make(0, 4), out;
  EXPECT_EQ(fp.tx_burst(0, pkts.v.data(), 4), 0) << "the caller keeps all four";
  inject(0, 5);
  EXPECT_EQ(poll(fp, out), 0);
  EXPECT_EQ(fp.counters().rx.link_down, 5u) << "what arrives while down is lost, counted";
  EXPECT_EQ(fp.counters().tx.link_down, 4u);
  fp.set_link(true);
  EXPECT_TRUE(fp.link().up);
  inject(10, 3);
  EXPECT_EQ(poll(fp, out), 3);
  EXPECT_EQ(out.seqs(), iota(10, 3));
  EXPECT_EQ(fp.tx_burst(0, pkts.v.data(), 4), 4);
  pkts.v.clear();
  fp.set_link(false);
  EXPECT_FALSE(fp.link().up);
  EXPECT_EQ(fp.tx_burst(0, out.v.data(), 3), 0);
}

TEST_F(FaultyPortTest, StallWindowsReturnNothing) {
  FaultPlan p;
  p.stall_every = 5;
  p.stall_polls = 2;
  RxRun r = run_rx(p, 15, 1);
  std::vector<uint16_t> head(r.per_poll.begin(), r.per_poll.begin() + 15);
  EXPECT_EQ(head, (std::vector<uint16_t>{1, 1, 1, 0, 0, 3, 1, 1, 0, 0, 3, 1, 1, 0, 0}));
  EXPECT_EQ(r.seqs, iota(0, 15)) << "stalled packets wait in the device";
  EXPECT_GE(r.c.rx.stalled_polls, 6u);
}

TEST_F(FaultyPortTest, AllFaultsTogetherRepeatByteForByte) {
  FaultPlan p;
  p.seed = 1234;
  p.rx.drop_rate = 0.1;
  p.rx.duplicate_rate = 0.1;
  p.rx.reorder_rate = 0.3;
  p.rx.corrupt_rate = 0.1;
  p.rx.corrupt_bits = 3;
  p.rx.delay_polls = 2;
  p.rx.delay_rate = 0.2;
  p.stall_every = 7;
  p.stall_polls = 1;
  RxRun a = run_rx(p, 600, 24);
  const FaultCounts& c = a.c.rx;
  EXPECT_GT(c.dropped * c.duplicated * c.reordered * c.corrupted * c.delayed * c.stalled_polls, 0u);
  EXPECT_EQ(a.frames.size(), c.packets - c.dropped - c.hold_full + c.duplicated);
  RxRun b = run_rx(p, 600, 24);
  EXPECT_EQ(b.frames, a.frames);
  EXPECT_EQ(b.per_poll, a.per_poll);
  p.seed = 4321;
  EXPECT_NE(run_rx(p, 600, 24).frames, a.frames);
}

}  // namespace
}  // namespace bypass
