// PoolWatch: a worker's timer looks at the pool once a millisecond and counts
// the looks that found it empty; time is driven by hand (ManualClock).
#include <bypass/core/pool_watch.hpp>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <gtest/gtest.h>

#include <vector>

#include <bypass/core/clock.hpp>
#include <bypass/core/worker.hpp>

#include "eal_env.hpp"

namespace bypass {
namespace {

constexpr uint64_t kMs = 1'000'000;  // ticks of a 1 GHz manual clock

struct PoolWatchTest : ::testing::Test {
  void SetUp() override {
    // No per-lcore cache: what the test takes out is what the pool lacks.
    pool = rte_pktmbuf_pool_create("pool_watch_test", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
    ASSERT_NE(pool, nullptr);
  }
  void TearDown() override {
    for (rte_mbuf* m : taken) rte_pktmbuf_free(m);
    rte_mempool_free(pool);
  }
  // The next millisecond on the worker: its timers run as run() would.
  void tick(uint64_t ms = 1) {
    clock.advance(static_cast<int64_t>(ms * kMs));
    w.sample_clock();
    w.run_timers();
  }
  void take_all() {
    while (rte_mbuf* m = rte_pktmbuf_alloc(pool)) taken.push_back(m);
  }
  rte_mempool* pool = nullptr;
  std::vector<rte_mbuf*> taken;
  ManualClock clock{1'000'000'000, 5 * kMs};
  Worker w{0, WorkerConfig{}, &clock};
};

TEST_F(PoolWatchTest, CountsTheLooksThatFindThePoolEmpty) {
  PoolWatch watch(pool);
  EXPECT_EQ(watch.size(), 63u);
  watch.arm({&w});
  tick();
  EXPECT_EQ(watch.looks(), 1u);
  EXPECT_EQ(watch.empty(), 0u);
  take_all();
  ASSERT_EQ(taken.size(), 63u);
  tick();
  tick();
  EXPECT_EQ(watch.looks(), 3u);
  EXPECT_EQ(watch.empty(), 2u);
  rte_pktmbuf_free(taken.back());
  taken.pop_back();
  tick();
  EXPECT_EQ(watch.looks(), 4u);
  EXPECT_EQ(watch.empty(), 2u) << "one mbuf back: the pool is not empty";
}

TEST_F(PoolWatchTest, LooksOnceAMillisecondAndNotBetween) {
  PoolWatch watch(pool);
  watch.arm({&w});
  take_all();
  clock.advance(static_cast<int64_t>(kMs / 2));
  w.sample_clock();
  w.run_timers();
  EXPECT_EQ(watch.looks(), 0u) << "half a millisecond: not yet";
  tick();
  EXPECT_EQ(watch.looks(), 1u);
  EXPECT_EQ(watch.empty(), 1u);
  // A clock that jumps runs the look once, not once per missed millisecond.
  tick(50);
  EXPECT_EQ(watch.looks(), 2u);
}

TEST_F(PoolWatchTest, ArmingAgainStartsTheCountsAgainAndLooksOnce) {
  PoolWatch watch(pool);
  watch.arm({&w});
  take_all();
  tick();
  EXPECT_EQ(watch.empty(), 1u);
  watch.arm({&w});  // the next Runtime::run on the same workers
  EXPECT_EQ(watch.looks(), 0u);
  tick();
  EXPECT_EQ(watch.looks(), 1u) << "one timer on the worker, not two";
  EXPECT_EQ(watch.empty(), 1u);
}

TEST_F(PoolWatchTest, ADisarmedWorkerLooksNoMore) {
  PoolWatch watch(pool);
  watch.arm({&w});
  watch.disarm();
  tick();
  EXPECT_EQ(watch.looks(), 0u);
  // A worker built where a disarmed one was is armed like any other.
  watch.arm({&w});
  tick();
  EXPECT_EQ(watch.looks(), 1u);
}

// Mbufs in another lcore's cache are out of a worker's reach: its driver's
// refill takes from its own cache and the shared store only. The pool as a
// whole (rte_mempool_avail_count) still counts them.
TEST(PoolWatch, MbufsInAnotherLcoresCacheDoNotCount) {
  rte_mempool* pool = rte_pktmbuf_pool_create("pool_watch_cache", 63, 16, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);
  std::vector<rte_mbuf*> taken;
  while (rte_mbuf* m = rte_pktmbuf_alloc(pool)) taken.push_back(m);
  ASSERT_EQ(taken.size(), 63u);
  const unsigned here = rte_lcore_id();
  EXPECT_TRUE(PoolWatch::empty_for(pool, here));
  // Eight go back on another lcore, into its cache (below its flush threshold).
  const unsigned other = rte_get_next_lcore(here, 1, 0);
  ASSERT_LT(other, RTE_MAX_LCORE) << "the test EAL has worker lcores";
  struct Back {
    rte_mbuf** m;
    unsigned n;
  } back{taken.data() + 55, 8};
  ASSERT_EQ(rte_eal_remote_launch(
                [](void* a) {
                  auto* b = static_cast<Back*>(a);
                  for (unsigned i = 0; i < b->n; ++i) rte_pktmbuf_free(b->m[i]);
                  return 0;
                },
                &back, other),
            0);
  ASSERT_EQ(rte_eal_wait_lcore(other), 0);
  taken.resize(55);
  EXPECT_EQ(rte_mempool_avail_count(pool), 8u);
  EXPECT_TRUE(PoolWatch::empty_for(pool, here)) << "another lcore's cache is out of reach";
  EXPECT_FALSE(PoolWatch::empty_for(pool, other));
  // One back on this lcore: within reach.
  rte_pktmbuf_free(taken.back());
  taken.pop_back();
  EXPECT_FALSE(PoolWatch::empty_for(pool, here));
  for (rte_mbuf* m : taken) rte_pktmbuf_free(m);
  rte_mempool_free(pool);
}

TEST_F(PoolWatchTest, EachWorkerLooksAndTheCountsAdd) {
  ManualClock other_clock{1'000'000'000, 5 * kMs};
  Worker other{1, WorkerConfig{}, &other_clock};
  PoolWatch watch(pool);
  watch.arm({&w, &other});
  take_all();
  tick();
  other_clock.advance(static_cast<int64_t>(kMs));
  other.sample_clock();
  other.run_timers();
  EXPECT_EQ(watch.looks(), 2u);
  EXPECT_EQ(watch.empty(), 2u);
}

}  // namespace
}  // namespace bypass
