// PoolWatch: a worker's timer looks at the pool once a millisecond and counts
// the looks that found it empty; time is driven by hand (ManualClock).
#include <bypass/core/pool_watch.hpp>

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

TEST_F(PoolWatchTest, AWorkerArmedTwiceLooksOnce) {
  PoolWatch watch(pool);
  watch.arm({&w});
  watch.arm({&w});  // a second Runtime::run on the same workers
  tick();
  EXPECT_EQ(watch.looks(), 1u);
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
