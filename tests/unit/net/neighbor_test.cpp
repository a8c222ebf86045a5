// NeighborCache driven by a ManualClock at 1000 Hz (one tick = one millisecond).
// Held packets are real mbufs from the test pool; every test ends with the cache
// destroyed and the pool's in-use count back where it started.
#include <bypass/net/neighbor.hpp>

#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <bypass/core/clock.hpp>

#include "eal_env.hpp"
#include "packets.hpp"

namespace bypass {
namespace {

using S = NeighborState;
using K = LearnKind;
using R = LearnResult;

IpAddr host4(uint8_t n) {
  return IpAddr::v4(rte_cpu_to_be_32(RTE_IPV4(10, 0, 0, n)));
}
IpAddr host6(uint16_t n) {
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
  b[14] = n >> 8, b[15] = n & 0xff;
  return IpAddr::v6(b);
}
MacAddr mac(uint8_t n) {
  return {{0x02, 0, 0, 0, 0, n}};
}

struct Probe {
  IpAddr ip;
  std::optional<MacAddr> unicast;  // nullopt: broadcast / solicited-node multicast
  bool operator==(const Probe&) const = default;
};

class NeighborTest : public ::testing::Test {
 protected:
  static NeighborOptions small() {
    return {.capacity = 8,
            .reachable_ms = 1000,
            .stale_ms = 2000,
            .retry_ms = 100,
            .max_probes = 3,
            .failed_ms = 500,
            .held_per_entry = 3,
            .held_total = 5,
            .change_log = 4,
            .hash_seed = 1};
  }
  void SetUp() override {
    before_ = test::pool_in_use();
    make(small());
  }
  void TearDown() override {
    nc_.reset();
    test::free_all(sent_);
    test::free_all(dropped_);
    EXPECT_EQ(test::pool_in_use(), before_) << "an mbuf was leaked (or freed twice)";
  }
  void make(const NeighborOptions& o) {
    nc_.reset();
    nc_ = std::make_unique<NeighborCache>(o, clock_.hz());
  }
  // Holds a new packet `seq` for `ip`; frees it when refused.
  bool hold(const IpAddr& ip, uint32_t seq, uint64_t now = 0) {
    rte_mbuf* m = test::make_udp4(test::test_pool(), seq);
    EXPECT_NE(m, nullptr);
    if (nc_->hold(ip, m, now)) return true;
    rte_pktmbuf_free(m);
    return false;
  }
  std::vector<Probe> tick(uint64_t now) {
    std::vector<Probe> p;
    nc_->tick(
        now,
        [&](const IpAddr& ip, const MacAddr* m) {
          p.push_back({ip, m ? std::optional<MacAddr>(*m) : std::nullopt});
        },
        [&](rte_mbuf* m) { dropped_.push_back(m); });
    return p;
  }
  // Releases what is held for `ip`; returns the sequence numbers, all sent to `want`.
  std::vector<uint32_t> release(const IpAddr& ip, const MacAddr& want) {
    std::vector<uint32_t> seqs;
    nc_->release(ip, [&](rte_mbuf* m, const MacAddr& to) {
      EXPECT_EQ(to, want);
      seqs.push_back(test::seq_of(m));
      sent_.push_back(m);
    });
    return seqs;
  }
  static std::vector<uint32_t> seqs(const std::vector<rte_mbuf*>& v) {
    std::vector<uint32_t> s;
    for (auto* m : v) s.push_back(test::seq_of(m));
    return s;
  }
  S state(const IpAddr& ip) const {
    auto i = nc_->get(ip);
    return i ? i->state : S::kFree;
  }
  uint64_t count(const Counter NeighborCounters::*c) const { return (nc_->counters().*c).get(); }

  ManualClock clock_{1000};
  unsigned before_ = 0;
  std::unique_ptr<NeighborCache> nc_;
  std::vector<rte_mbuf*> sent_, dropped_;
};

TEST_F(NeighborTest, CheckNamesTheFieldToChange) {
  EXPECT_TRUE(NeighborCache::check(NeighborOptions{}));
  NeighborOptions o;
  o.capacity = 0;
  EXPECT_EQ(NeighborCache::check(o).message(),
            "neighbor cache: capacity is 0 but must be between 1 and 16777216: set it to, "
            "e.g., 1024.");
  o = {};
  o.held_per_entry = 300;
  EXPECT_EQ(NeighborCache::check(o).message(),
            "neighbor cache: held_per_entry is 300 but must be between 1 and 256: set it to, "
            "e.g., 8 (and never more than held_total).");
  o = {};
  o.max_probes = 0;
  EXPECT_FALSE(NeighborCache::check(o));
}

TEST_F(NeighborTest, AddAndLookupBothFamilies) {
  EXPECT_EQ(nc_->lookup(host4(1), 0), nullptr);
  EXPECT_EQ(nc_->learn(host4(1), mac(1), 0, K::kReply), R::kIgnored) << "never asked";
  EXPECT_EQ(nc_->size(), 0u);
  EXPECT_EQ(nc_->learn(host4(1), mac(1), 0, K::kRequest), R::kAdded);
  EXPECT_EQ(state(host4(1)), S::kStale) << "a request does not prove reachability";
  EXPECT_EQ(nc_->learn(host4(1), mac(1), 0, K::kReply), R::kRefreshed);
  EXPECT_EQ(state(host4(1)), S::kReachable);
  EXPECT_EQ(nc_->learn(host6(1), mac(2), 0, K::kRequest), R::kAdded);
  // Same first bytes, other family: another neighbour.
  uint8_t b[16] = {10, 0, 0, 1};
  EXPECT_EQ(nc_->lookup(IpAddr::v6(b), 0), nullptr);
  ASSERT_NE(nc_->lookup(host4(1), 10), nullptr);
  EXPECT_EQ(*nc_->lookup(host4(1), 10), mac(1));
  ASSERT_NE(nc_->lookup(host6(1), 10), nullptr);
  EXPECT_EQ(*nc_->lookup(host6(1), 10), mac(2));
  EXPECT_EQ(nc_->size(), 2u);
  EXPECT_EQ(count(&NeighborCounters::entries), 2u);
  EXPECT_EQ(count(&NeighborCounters::added), 2u);
}

TEST_F(NeighborTest, ReachableAgesToStaleThenExpires) {
  ASSERT_EQ(nc_->learn(host6(7), mac(7), 0, K::kRequest), R::kAdded);
  ASSERT_EQ(nc_->learn(host6(7), mac(7), 0, K::kReply), R::kRefreshed);
  EXPECT_TRUE(tick(999).empty());
  EXPECT_EQ(state(host6(7)), S::kReachable);
  EXPECT_TRUE(tick(1000).empty());
  EXPECT_EQ(state(host6(7)), S::kStale);
  EXPECT_TRUE(tick(2999).empty());
  EXPECT_EQ(state(host6(7)), S::kStale);
  EXPECT_TRUE(tick(3000).empty()) << "an unused STALE entry is never probed";
  EXPECT_EQ(state(host6(7)), S::kFree);
  EXPECT_EQ(nc_->size(), 0u);
  EXPECT_EQ(count(&NeighborCounters::entries), 0u);
}

TEST_F(NeighborTest, StaleHitProbesUnicastAndReplyConfirms) {
  nc_->learn(host4(2), mac(2), 0, K::kRequest);
  ASSERT_NE(nc_->lookup(host4(2), 5), nullptr);
  EXPECT_EQ(state(host4(2)), S::kProbe);
  EXPECT_EQ(tick(5), (std::vector<Probe>{{host4(2), mac(2)}}));
  EXPECT_TRUE(tick(104).empty());
  EXPECT_EQ(nc_->learn(host4(2), mac(2), 110, K::kReply), R::kRefreshed);
  EXPECT_EQ(state(host4(2)), S::kReachable);
  EXPECT_TRUE(tick(300).empty());
  // A REACHABLE entry past reachable_ms is STALE when used, even without a tick.
  EXPECT_EQ(*nc_->lookup(host4(2), 1110), mac(2));
  EXPECT_EQ(state(host4(2)), S::kProbe);
  EXPECT_EQ(count(&NeighborCounters::probes), 1u);
}

TEST_F(NeighborTest, UnansweredUnicastProbesRemoveTheEntry) {
  nc_->learn(host4(3), mac(3), 0, K::kRequest);
  nc_->lookup(host4(3), 0);
  const std::vector<Probe> one{{host4(3), mac(3)}};
  EXPECT_EQ(tick(0), one);
  EXPECT_EQ(tick(100), one);
  EXPECT_EQ(tick(200), one);
  EXPECT_TRUE(tick(299).empty());
  EXPECT_EQ(state(host4(3)), S::kProbe);
  EXPECT_TRUE(tick(300).empty());
  EXPECT_EQ(state(host4(3)), S::kFree);
  EXPECT_EQ(nc_->lookup(host4(3), 300), nullptr);
  EXPECT_EQ(count(&NeighborCounters::resolution_failures), 1u);
  EXPECT_EQ(count(&NeighborCounters::probes), 3u);
}

TEST_F(NeighborTest, ResolutionRetriesThenFailsAndDropsHeld) {
  ASSERT_TRUE(hold(host6(9), 0));
  ASSERT_TRUE(hold(host6(9), 1));
  EXPECT_EQ(state(host6(9)), S::kIncomplete);
  EXPECT_EQ(nc_->lookup(host6(9), 0), nullptr);
  const std::vector<Probe> bcast{{host6(9), std::nullopt}};
  EXPECT_EQ(tick(0), bcast);
  EXPECT_TRUE(tick(50).empty());
  EXPECT_EQ(tick(100), bcast);
  EXPECT_EQ(tick(200), bcast);
  EXPECT_TRUE(tick(299).empty());
  EXPECT_TRUE(dropped_.empty());
  EXPECT_TRUE(tick(300).empty());
  EXPECT_EQ(seqs(dropped_), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(state(host6(9)), S::kFailed);
  EXPECT_EQ(nc_->held_now(), 0u);
  EXPECT_FALSE(hold(host6(9), 2, 300)) << "FAILED refuses packets for failed_ms";
  EXPECT_TRUE(tick(799).empty());
  EXPECT_TRUE(tick(800).empty());
  EXPECT_EQ(state(host6(9)), S::kFree);
  EXPECT_TRUE(hold(host6(9), 3, 800));
  EXPECT_EQ(tick(800), bcast) << "a new resolution starts at once";
  EXPECT_EQ(count(&NeighborCounters::probes), 4u);
  EXPECT_EQ(count(&NeighborCounters::resolution_failures), 1u);
  EXPECT_EQ(count(&NeighborCounters::held), 3u);
  EXPECT_EQ(count(&NeighborCounters::held_dropped), 1u);
}

TEST_F(NeighborTest, HoldIsBoundedPerEntryAndInTotal) {
  for (uint32_t s = 0; s < 3; ++s) EXPECT_TRUE(hold(host4(1), s));
  EXPECT_FALSE(hold(host4(1), 3)) << "held_per_entry is 3";
  EXPECT_TRUE(hold(host4(2), 4));
  EXPECT_TRUE(hold(host4(2), 5));
  EXPECT_FALSE(hold(host4(2), 6)) << "held_total is 5";
  EXPECT_FALSE(hold(host4(3), 7)) << "no entry is made when no packet can be held";
  EXPECT_EQ(nc_->size(), 2u);
  EXPECT_FALSE(hold(IpAddr::v4(0xffffffffu), 8));
  EXPECT_FALSE(nc_->hold(host4(4), nullptr, 0));
  EXPECT_EQ(nc_->held_now(), 5u);
  EXPECT_EQ(count(&NeighborCounters::held), 5u);
  EXPECT_EQ(count(&NeighborCounters::held_dropped), 5u);
  nc_.reset();  // the destructor frees what is held
  EXPECT_EQ(test::pool_in_use(), before_);
}

TEST_F(NeighborTest, ResolutionReleasesHeldInOrder) {
  for (uint32_t s = 10; s < 13; ++s) ASSERT_TRUE(hold(host4(5), s));
  EXPECT_TRUE(release(host4(5), mac(5)).empty()) << "nothing before resolution";
  EXPECT_EQ(nc_->learn(host4(5), mac(5), 20, K::kReply), R::kAdded);
  EXPECT_EQ(state(host4(5)), S::kReachable);
  EXPECT_EQ(nc_->get(host4(5))->held, 3u);
  EXPECT_EQ(release(host4(5), mac(5)), (std::vector<uint32_t>{10, 11, 12}));
  EXPECT_TRUE(release(host4(5), mac(5)).empty());
  EXPECT_EQ(nc_->held_now(), 0u);
  // The overload that sends at once; an unsolicited NA resolves to STALE.
  ASSERT_TRUE(hold(host6(5), 20));
  ASSERT_TRUE(hold(host6(5), 21));
  std::vector<uint32_t> got;
  auto send = [&](rte_mbuf* m, const MacAddr& to) {
    EXPECT_EQ(to, mac(6));
    got.push_back(test::seq_of(m));
    sent_.push_back(m);
  };
  EXPECT_EQ(nc_->learn(host6(5), mac(6), 30, K::kUnsolicited, send), R::kAdded);
  EXPECT_EQ(got, (std::vector<uint32_t>{20, 21}));
  EXPECT_EQ(state(host6(5)), S::kStale);
  EXPECT_EQ(nc_->held_now(), 0u);
}

TEST_F(NeighborTest, MergeRuleAndMacChanges) {
  EXPECT_EQ(nc_->learn(host4(8), mac(8), 0, K::kUnsolicited), R::kIgnored) << "GARP never creates";
  EXPECT_EQ(nc_->size(), 0u);
  ASSERT_EQ(nc_->learn(host4(8), mac(8), 0, K::kRequest), R::kAdded);
  ASSERT_EQ(nc_->learn(host4(8), mac(8), 0, K::kReply), R::kRefreshed);
  EXPECT_EQ(nc_->learn(host4(8), mac(8), 10, K::kUnsolicited), R::kRefreshed);
  EXPECT_EQ(state(host4(8)), S::kReachable) << "same MAC: no change of state";
  EXPECT_EQ(nc_->learn(host4(8), mac(9), 20, K::kUnsolicited), R::kMacChanged);
  EXPECT_EQ(state(host4(8)), S::kStale);
  EXPECT_EQ(*nc_->lookup(host4(8), 20), mac(9));
  EXPECT_EQ(nc_->learn(host4(8), mac(10), 30, K::kRequest), R::kMacChanged);
  EXPECT_EQ(nc_->learn(host4(8), mac(11), 40, K::kReply), R::kMacChanged);
  EXPECT_EQ(state(host4(8)), S::kReachable);
  EXPECT_EQ(count(&NeighborCounters::mac_changes), 3u);
  // Addresses and MACs no neighbour may have.
  uint8_t any6[16] = {}, mc6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const MacAddr mc{{0x01, 0, 0x5e, 0, 0, 1}};
  EXPECT_EQ(nc_->learn(host4(8), MacAddr{}, 50, K::kReply), R::kIgnored);
  EXPECT_EQ(nc_->learn(host4(8), mc, 50, K::kReply), R::kIgnored);
  EXPECT_EQ(nc_->learn(host4(8), MacAddr::broadcast(), 50, K::kReply), R::kIgnored);
  EXPECT_EQ(nc_->learn(IpAddr::v4(0), mac(1), 50, K::kRequest), R::kIgnored);
  EXPECT_EQ(nc_->learn(*IpAddr::parse("224.0.0.1"), mac(1), 50, K::kRequest), R::kIgnored);
  EXPECT_EQ(nc_->learn(IpAddr::v6(any6), mac(1), 50, K::kRequest), R::kIgnored);
  EXPECT_EQ(nc_->learn(IpAddr::v6(mc6), mac(1), 50, K::kRequest), R::kIgnored);
  EXPECT_EQ(nc_->learn(IpAddr{}, mac(1), 50, K::kRequest), R::kIgnored);
  EXPECT_EQ(count(&NeighborCounters::rejected), 8u);
  EXPECT_EQ(*nc_->lookup(host4(8), 50), mac(11));
  EXPECT_EQ(nc_->size(), 1u);
}

TEST_F(NeighborTest, ChangeLogKeepsTheLastChanges) {
  nc_->learn(host6(1), mac(0), 0, K::kRequest);
  for (uint8_t n = 1; n <= 6; ++n) nc_->learn(host6(1), mac(n), 100 * n, K::kUnsolicited);
  std::vector<MacChange> out(8);
  ASSERT_EQ(nc_->recent_changes(out), 4u) << "change_log is 4";
  for (uint8_t k = 0; k < 4; ++k) {
    const uint8_t n = k + 3;
    EXPECT_EQ(out[k].seq, n);
    EXPECT_EQ(out[k].tick, 100u * n);
    EXPECT_EQ(out[k].ip, host6(1));
    EXPECT_EQ(out[k].old_mac, mac(n - 1));
    EXPECT_EQ(out[k].new_mac, mac(n));
  }
  std::vector<MacChange> two(2);
  ASSERT_EQ(nc_->recent_changes(two), 2u);
  EXPECT_EQ(two[0].seq, 5u);
  EXPECT_EQ(two[1].seq, 6u);
  // Configuring a static MAC over a learnt one is a change too.
  EXPECT_TRUE(nc_->add_static(host6(1), mac(42), 700));
  ASSERT_EQ(nc_->recent_changes(two), 2u);
  EXPECT_EQ(two[1].seq, 7u);
  EXPECT_EQ(two[1].old_mac, mac(6));
  EXPECT_EQ(two[1].new_mac, mac(42));
  EXPECT_EQ(count(&NeighborCounters::mac_changes), 7u);
}

TEST_F(NeighborTest, StaticEntriesSurviveFloodsAndTime) {
  ASSERT_TRUE(nc_->add_static(host4(1), mac(1)));
  ASSERT_TRUE(nc_->add_static(host6(1), mac(2)));
  std::mt19937_64 rng(7);
  for (int n = 0; n < 10000; ++n) {
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
    uint64_t r = rng();
    std::memcpy(b + 8, &r, 8);
    ASSERT_EQ(nc_->learn(IpAddr::v6(b), mac(3), n, K::kRequest), R::kAdded);
    ASSERT_LE(nc_->size(), nc_->capacity());
  }
  EXPECT_EQ(count(&NeighborCounters::evictions), 10000u - 6u);
  int held = 0;
  for (uint8_t n = 100; n < 200; ++n) held += hold(host4(n), n, 10000);
  EXPECT_EQ(held, 5) << "INCOMPLETE entries are bounded by held_total";
  EXPECT_EQ(nc_->learn(host4(1), mac(66), 10000, K::kUnsolicited), R::kIgnored);
  EXPECT_EQ(nc_->learn(host4(1), mac(66), 10000, K::kReply), R::kIgnored);
  EXPECT_EQ(count(&NeighborCounters::static_conflicts), 2u);
  EXPECT_EQ(nc_->size(), 8u);
  // Probes at 10000, 2^40, 2^62; the clock steps back to 5; the entries fail at
  // 2^63, then go after failed_ms on a clock that wrapped to 0.
  for (uint64_t t : {10000ull, 1ull << 40, 1ull << 62, 5ull, 1ull << 63, 0ull, 500ull}) tick(t);
  EXPECT_EQ(dropped_.size(), 5u);
  EXPECT_EQ(nc_->size(), 2u);
  EXPECT_EQ(*nc_->lookup(host4(1), ~0ull), mac(1));
  EXPECT_EQ(*nc_->lookup(host6(1), 0), mac(2));
  EXPECT_EQ(state(host4(1)), S::kStatic);
  EXPECT_TRUE(nc_->erase(host4(1), [](rte_mbuf*) {}));
  EXPECT_EQ(nc_->lookup(host4(1), 0), nullptr);
}

TEST_F(NeighborTest, FullTableEvictsOldestFailedOrStaleNeverActive) {
  NeighborOptions o = small();
  o.stale_ms = 100000;
  make(o);
  for (uint8_t n = 1; n <= 3; ++n) nc_->learn(host4(n), mac(n), 0, K::kRequest);  // STALE
  ASSERT_TRUE(hold(host4(4), 40));
  nc_->learn(host4(4), mac(4), 0, K::kRequest);  // STALE, still holding 40
  ASSERT_TRUE(hold(host4(5), 50));               // INCOMPLETE
  ASSERT_TRUE(hold(host4(6), 60));
  nc_->learn(host4(6), mac(6), 0, K::kReply);  // REACHABLE, still holding 60
  nc_->learn(host4(7), mac(7), 0, K::kRequest);
  nc_->learn(host4(7), mac(7), 0, K::kReply);  // REACHABLE
  nc_->add_static(host4(8), mac(8));
  ASSERT_EQ(nc_->size(), 8u);

  EXPECT_EQ(nc_->learn(host4(9), mac(9), 0, K::kRequest), R::kAdded);
  EXPECT_EQ(state(host4(1)), S::kFree) << "the oldest STALE goes";
  EXPECT_EQ(nc_->learn(host4(2), mac(22), 0, K::kUnsolicited), R::kMacChanged);  // now newest
  EXPECT_EQ(nc_->learn(host4(10), mac(10), 0, K::kRequest), R::kAdded);
  EXPECT_EQ(state(host4(3)), S::kFree);
  EXPECT_EQ(state(host4(2)), S::kStale);
  for (uint64_t t : {0, 100, 200, 300}) tick(t);  // 5 fails: FAILED
  EXPECT_EQ(seqs(dropped_), (std::vector<uint32_t>{50}));
  ASSERT_EQ(state(host4(5)), S::kFailed);
  ASSERT_TRUE(hold(host4(11), 110, 300));
  EXPECT_EQ(state(host4(5)), S::kFree) << "FAILED goes before any STALE";
  EXPECT_EQ(nc_->learn(host4(12), mac(12), 300, K::kRequest), R::kAdded);
  EXPECT_EQ(state(host4(9)), S::kFree) << "4 is older but holds a packet";
  EXPECT_EQ(nc_->learn(host4(13), mac(13), 300, K::kRequest), R::kAdded);
  EXPECT_EQ(state(host4(2)), S::kFree);
  for (uint8_t n : {10, 12, 13}) nc_->learn(host4(n), mac(n), 300, K::kReply);
  // Left: 4 (STALE, holding), 6 (REACHABLE, holding), 7, 10, 12, 13 (REACHABLE),
  // 8 (static), 11 (INCOMPLETE): nothing may go.
  EXPECT_EQ(nc_->learn(host4(14), mac(14), 300, K::kRequest), R::kIgnored);
  EXPECT_FALSE(hold(host4(14), 140, 300));
  EXPECT_FALSE(nc_->add_static(host4(14), mac(14)));
  EXPECT_EQ(count(&NeighborCounters::table_full), 3u);
  EXPECT_EQ(release(host4(4), mac(4)), (std::vector<uint32_t>{40}));
  EXPECT_EQ(nc_->learn(host4(14), mac(14), 300, K::kRequest), R::kAdded);
  EXPECT_EQ(state(host4(4)), S::kFree);
  EXPECT_EQ(state(host4(6)), S::kReachable);
  EXPECT_EQ(state(host4(7)), S::kReachable);
  EXPECT_EQ(state(host4(8)), S::kStatic);
  EXPECT_EQ(state(host4(11)), S::kIncomplete);
  EXPECT_EQ(release(host4(6), mac(6)), (std::vector<uint32_t>{60}));
  EXPECT_EQ(count(&NeighborCounters::evictions), 6u);
  EXPECT_EQ(nc_->size(), 8u);
}

TEST_F(NeighborTest, ClockBackwardsAndHugeJumps) {
  nc_->learn(host4(1), mac(1), 0, K::kRequest);
  nc_->learn(host4(1), mac(1), 1000000, K::kReply);  // REACHABLE, stamped 1e6
  EXPECT_EQ(*nc_->lookup(host4(1), 10), mac(1)) << "the clock went back: still REACHABLE";
  EXPECT_EQ(state(host4(1)), S::kReachable);
  tick(10);  // restamped to 10, so it does not wait for 1e6 to come again
  tick(1009);
  EXPECT_EQ(state(host4(1)), S::kReachable);
  tick(1010);
  EXPECT_EQ(state(host4(1)), S::kStale);
  // Resolution across a backward step: retries stay retry_ms apart and it fails.
  ASSERT_TRUE(hold(host4(2), 2, 5000));
  EXPECT_EQ(tick(5000).size(), 1u);
  EXPECT_EQ(state(host4(1)), S::kFree) << "STALE for 3990 ms: gone";
  EXPECT_TRUE(tick(0).empty());
  EXPECT_TRUE(tick(99).empty());
  EXPECT_EQ(tick(100).size(), 1u);
  EXPECT_EQ(tick(200).size(), 1u);
  EXPECT_TRUE(tick(300).empty());
  EXPECT_EQ(seqs(dropped_), (std::vector<uint32_t>{2}));
  // A huge jump: one probe per entry per tick, never a burst, then failure.
  ASSERT_TRUE(hold(host4(3), 3, 400));
  const uint64_t far = 1ull << 62;
  EXPECT_EQ(tick(far).size(), 1u);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(tick(far).empty());
  tick(far + 100);
  tick(far + 200);
  tick(far + 300);
  EXPECT_EQ(state(host4(3)), S::kFailed);
  // Near the end of time: no overflow in any interval.
  nc_->learn(host4(4), mac(4), ~0ull - 5, K::kRequest);
  nc_->learn(host4(4), mac(4), ~0ull - 5, K::kReply);
  tick(~0ull);
  EXPECT_EQ(state(host4(4)), S::kReachable);
  EXPECT_EQ(*nc_->lookup(host4(4), ~0ull), mac(4));
  tick(0);  // wrapped: restamped, then it ages normally
  tick(1000);
  tick(3000);
  EXPECT_EQ(state(host4(4)), S::kFree);
  // Any hz, any interval: tick counts saturate instead of wrapping.
  NeighborOptions o = small();
  o.reachable_ms = UINT32_MAX;
  nc_ = std::make_unique<NeighborCache>(o, ~0ull);
  nc_->learn(host4(5), mac(5), 0, K::kRequest);
  nc_->learn(host4(5), mac(5), 0, K::kReply);
  tick(~0ull - 1);
  EXPECT_EQ(state(host4(5)), S::kReachable);
}

// tick() walks only the entries in use, and removing one moves another in
// that list: many that expire in one tick, between others that do not, all
// go, and the others all stay.
TEST_F(NeighborTest, ManyExpireInOneTickBetweenOthersThatStay) {
  NeighborOptions o = small();
  o.capacity = 64;
  make(o);
  for (uint16_t n = 1; n <= 60; ++n)  // STALE from 0 (even) or from 500 (odd)
    ASSERT_EQ(nc_->learn(host6(n), mac(1), n % 2 ? 500 : 0, K::kRequest), R::kAdded);
  EXPECT_TRUE(tick(1999).empty());
  EXPECT_EQ(nc_->size(), 60u);
  EXPECT_TRUE(tick(2000).empty()) << "unused STALE entries are not probed";
  EXPECT_EQ(nc_->size(), 30u);
  for (uint16_t n = 1; n <= 60; ++n) EXPECT_EQ(state(host6(n)), n % 2 ? S::kStale : S::kFree) << n;
  tick(2500);
  EXPECT_EQ(nc_->size(), 0u);
  size_t seen = 0;
  nc_->for_each([&](const NeighborInfo&) { ++seen; });
  EXPECT_EQ(seen, 0u);
  // And the table takes new ones again.
  EXPECT_EQ(nc_->learn(host6(61), mac(2), 3000, K::kRequest), R::kAdded);
  EXPECT_EQ(nc_->size(), 1u);
}

TEST_F(NeighborTest, IndexStaysConsistentUnderChurn) {
  NeighborOptions o = small();
  o.capacity = 64;
  make(o);
  std::mt19937 rng(3);
  std::map<uint16_t, uint8_t> model;  // host6(n) -> mac(m)
  for (int step = 0; step < 20000; ++step) {
    const uint16_t n = 1 + rng() % 48;
    const uint8_t m = 1 + rng() % 3;
    if (rng() % 2) {
      LearnResult r = nc_->learn(host6(n), mac(m), 0, K::kRequest);
      ASSERT_EQ(r, !model.count(n) ? R::kAdded : model[n] == m ? R::kRefreshed : R::kMacChanged);
      model[n] = m;
    } else {
      ASSERT_EQ(nc_->erase(host6(n), [](rte_mbuf*) {}), model.erase(n) == 1);
    }
    ASSERT_EQ(nc_->size(), model.size());
  }
  for (uint16_t n = 1; n <= 48; ++n) {
    auto i = nc_->get(host6(n));
    ASSERT_EQ(i.has_value(), model.count(n) == 1) << n;
    if (i) {
      EXPECT_EQ(i->mac, mac(model[n]));
    }
  }
  size_t seen = 0;
  nc_->for_each([&](const NeighborInfo&) { ++seen; });
  EXPECT_EQ(seen, model.size());
}

}  // namespace
}  // namespace bypass
