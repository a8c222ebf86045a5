// A multi-threaded ownership stress, in the manner of DPDK's ring_stress_autotest:
// every object circulates through one ring, and each time a core dequeues one
// it claims it; finding it already claimed means two cores owned it at once.
#include <bypass/core/ring.hpp>

#include <rte_launch.h>
#include <rte_lcore.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "eal_env.hpp"

namespace bypass {
namespace {

struct Token {
  std::atomic<int> owner{-1};
  std::atomic<uint64_t> visits{0};
};

template <Producer P, Consumer C>
struct Shared {
  Ring<Token, P, C>* ring;
  unsigned iterations;
  unsigned burst;
  std::atomic<uint64_t> conflicts{0};
  std::atomic<uint64_t> moved{0};
  std::atomic<unsigned> movers{0};  // the lcores that moved objects
};

template <Producer P, Consumer C>
int stress(void* arg) {
  auto* s = static_cast<Shared<P, C>*>(arg);
  int me = static_cast<int>(rte_lcore_id());
  std::vector<Token*> buf(s->burst);
  uint64_t moved = 0;
  for (unsigned it = 0; it < s->iterations; ++it) {
    unsigned n = s->ring->dequeue_burst(buf);
    for (unsigned i = 0; i < n; ++i) {
      int expected = -1;
      if (!buf[i]->owner.compare_exchange_strong(expected, me)) s->conflicts.fetch_add(1);
      buf[i]->visits.fetch_add(1, std::memory_order_relaxed);
    }
    for (unsigned i = 0; i < n; ++i) buf[i]->owner.store(-1);
    unsigned done = 0;
    while (done < n)
      done += s->ring->enqueue_burst(std::span<Token* const>(buf.data() + done, n - done));
    moved += n;
  }
  s->moved.fetch_add(moved);
  if (moved > 0) s->movers.fetch_add(1);
  return 0;
}

template <Producer P, Consumer C>
void run_stress(const char* name, unsigned burst) {
  constexpr unsigned kTokens = 512;
  auto r = Ring<Token, P, C>::create(name, 1024);
  ASSERT_TRUE(r) << r.error();
  std::vector<Token> tokens(kTokens);
  std::vector<Token*> ptrs;
  for (auto& t : tokens) ptrs.push_back(&t);
  ASSERT_TRUE(r->enqueue_bulk(ptrs));
  Shared<P, C> s{&r.value(), 5000, burst};
  // One thread per CPU: on a shared CPU a preempted producer makes the others
  // spin for a time slice, which tests the scheduler rather than the ring.
  std::vector<unsigned> lcores;
  std::vector<unsigned> cpus = {test::eal_config().eal.control_cpu};
  for (size_t i = 0; i < test::eal_config().workers.size(); ++i) {
    unsigned cpu = test::eal_config().workers[i].cpu;
    if (std::find(cpus.begin(), cpus.end(), cpu) != cpus.end()) continue;
    cpus.push_back(cpu);
    lcores.push_back(static_cast<unsigned>(i + 1));
  }
  // Alone, the main lcore would prove nothing about sharing the ring.
  ASSERT_FALSE(lcores.empty()) << "no worker lcore on a CPU of its own: this needs 2 CPUs";
  for (unsigned lcore : lcores) ASSERT_EQ(rte_eal_remote_launch(stress<P, C>, &s, lcore), 0);
  stress<P, C>(&s);
  for (unsigned lcore : lcores) rte_eal_wait_lcore(lcore);
  EXPECT_EQ(s.conflicts.load(), 0u) << "an object was owned by two cores at once";
  EXPECT_EQ(r->count(), kTokens) << "every object is back in the ring";
  std::vector<Token*> out(kTokens);
  ASSERT_TRUE(r->dequeue_bulk(out));
  std::sort(out.begin(), out.end());
  EXPECT_EQ(std::unique(out.begin(), out.end()), out.end()) << "no object duplicated";
  uint64_t visits = 0;
  for (auto& t : tokens) visits += t.visits.load();
  EXPECT_EQ(visits, s.moved.load());
  EXPECT_GT(s.moved.load(), 0u);
  EXPECT_EQ(s.movers.load(), lcores.size() + 1) << "every lcore took part";
}

TEST(RingStress, MultiProducerMultiConsumerBurst1) {
  run_stress<Producer::kMulti, Consumer::kMulti>("stress_mpmc1", 1);
}
TEST(RingStress, MultiProducerMultiConsumerBurst8) {
  run_stress<Producer::kMulti, Consumer::kMulti>("stress_mpmc8", 8);
}
TEST(RingStress, MultiProducerMultiConsumerBurst32) {
  run_stress<Producer::kMulti, Consumer::kMulti>("stress_mpmc32", 32);
}

// Single producer / single consumer: one lcore feeds, another drains; sequence
// numbers arrive in order and complete.
struct SpscArgs {
  Ring<uint64_t, Producer::kSingle, Consumer::kSingle>* ring;
  uint64_t n;
  std::vector<uint64_t>* values;
  std::atomic<uint64_t> errors{0};
};

int spsc_consumer(void* arg) {
  auto* a = static_cast<SpscArgs*>(arg);
  uint64_t expect = 0;
  uint64_t* buf[32];
  while (expect < a->n) {
    unsigned k = a->ring->dequeue_burst(buf);
    for (unsigned i = 0; i < k; ++i, ++expect)
      if (*buf[i] != expect) a->errors.fetch_add(1);
  }
  return 0;
}

TEST(RingStress, SingleProducerSingleConsumerKeepsOrderAcrossCores) {
  auto r = Ring<uint64_t, Producer::kSingle, Consumer::kSingle>::create("stress_spsc", 256);
  ASSERT_TRUE(r);
  constexpr uint64_t kN = 500000;
  std::vector<uint64_t> values(kN);
  for (uint64_t i = 0; i < kN; ++i) values[i] = i;
  SpscArgs a{&r.value(), kN, &values};
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  ASSERT_LT(lcore, RTE_MAX_LCORE);
  ASSERT_EQ(rte_eal_remote_launch(spsc_consumer, &a, lcore), 0);
  uint64_t sent = 0;
  while (sent < kN) {
    uint64_t* batch[32];
    unsigned k = 0;
    for (; k < 32 && sent + k < kN; ++k) batch[k] = &values[sent + k];
    sent += r->enqueue_burst(std::span<uint64_t* const>(batch, k));
  }
  rte_eal_wait_lcore(lcore);
  EXPECT_EQ(a.errors.load(), 0u);
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace bypass
