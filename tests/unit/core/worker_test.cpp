#include <bypass/core/worker.hpp>

#include <bypass/core/clock.hpp>

#include <rte_lcore.h>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "eal_env.hpp"

namespace bypass {
namespace {

// Does work on every other poll; records where it ran and that finish() ran.
class CountingPoller final : public Poller {
 public:
  bool poll(Worker& w) override {
    lcore_ = rte_lcore_id();
    bool did = (n_.fetch_add(1, std::memory_order_relaxed) % 2) == 0;
    if (did) w.counters().rx_packets.add(1);
    return did;
  }
  void finish(Worker&) override { finished_ = true; }
  std::atomic<uint64_t> n_{0};  // polls so far, read by the test's thread
  unsigned lcore_ = LCORE_ID_ANY;
  std::atomic<bool> finished_{false};
};

// Waits until `p` has polled `n` times; 60 s at most (a loaded machine may be slow).
void wait_for_polls(const CountingPoller& p, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (p.n_.load(std::memory_order_relaxed) < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(Worker, RunsOnItsOwnLcoreAndStopsCleanly) {
  const Config& c = test::eal_config();
  std::vector<std::unique_ptr<Worker>> ws;
  std::vector<CountingPoller> polls(c.workers.size());
  std::vector<Worker*> raw;
  for (size_t i = 0; i < c.workers.size(); ++i) {
    ws.push_back(std::make_unique<Worker>(i, c.workers[i]));
    ws.back()->add(&polls[i]);
    raw.push_back(ws.back().get());
  }
  WorkerGroup g(raw);
  ASSERT_TRUE(g.launch());
  EXPECT_TRUE(g.running());
  for (auto& p : polls) wait_for_polls(p, 1000);
  g.stop();
  EXPECT_FALSE(g.running());
  CounterTotals t = g.totals();
  uint64_t sum = 0, polls_sum = 0;
  for (size_t i = 0; i < polls.size(); ++i) {
    EXPECT_EQ(polls[i].lcore_, i + 1) << "worker " << i << " runs on lcore " << i + 1;
    EXPECT_TRUE(polls[i].finished_) << "finish() runs after the loop";
    EXPECT_GE(polls[i].n_.load(), 1000u);
    sum += ws[i]->counters().rx_packets.get();
    polls_sum += ws[i]->counters().polls.get();
    EXPECT_EQ(ws[i]->counters().polls.get(), polls[i].n_.load());
    EXPECT_EQ(ws[i]->counters().busy_polls.get(), (polls[i].n_.load() + 1) / 2)
        << "a poll that did work is busy";
  }
  EXPECT_EQ(t.rx_packets, sum) << "totals are the sum of per-worker counters";
  EXPECT_EQ(t.polls, polls_sum);
}

// What run_on() hands a running worker is called there, and freed on the
// thread that made it: a worker neither allocates nor frees for a swap.
TEST(Worker, WhatRunOnHandsOverIsFreedOnTheCallersThread) {
  const Config& c = test::eal_config();
  Worker w(0, c.workers[0]);
  CountingPoller p;
  w.add(&p);
  WorkerGroup g({&w});
  ASSERT_TRUE(g.launch());
  wait_for_polls(p, 10);
  struct Probe {
    explicit Probe(std::thread::id* at) : freed_on(at) {}
    ~Probe() { *freed_on = std::this_thread::get_id(); }
    std::thread::id* freed_on;
  };
  std::thread::id freed, ran;
  auto probe = std::make_shared<Probe>(&freed);
  w.run_on([probe = std::move(probe), &ran](Worker&) { ran = std::this_thread::get_id(); });
  g.stop();
  EXPECT_NE(ran, std::thread::id()) << "it ran";
  EXPECT_NE(ran, std::this_thread::get_id()) << "on the worker";
  EXPECT_EQ(freed, std::this_thread::get_id()) << "and was freed here";
}

TEST(Worker, EveryIdlePolicyRunsAndStops) {
  for (IdleMode m : {IdleMode::kBusy, IdleMode::kPause, IdleMode::kSleep}) {
    WorkerConfig wc = test::eal_config().workers[0];
    wc.idle = m;
    wc.idle_sleep_us = 50;
    Worker w(0, wc);
    CountingPoller p;
    w.add(&p);
    WorkerGroup g({&w});
    ASSERT_TRUE(g.launch());
    wait_for_polls(p, 200);
    g.stop();
    EXPECT_GE(p.n_.load(), 200u);
    EXPECT_TRUE(p.finished_);
  }
}

TEST(Worker, RelaunchAfterStop) {
  Worker w(0, test::eal_config().workers[0]);
  CountingPoller p;
  w.add(&p);
  WorkerGroup g({&w});
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(g.launch());
    wait_for_polls(p, (round + 1) * 100u);
    g.stop();
  }
  EXPECT_GE(p.n_.load(), 300u);
}

// Busy time counts the clock's advance over busy iterations: a manual clock
// that goes back (tests drive time by hand) adds nothing, where it added
// about 2^64 cycles.
TEST(Worker, AClockThatGoesBackAddsNoBusyTime) {
  struct Back final : Poller {
    ManualClock* clock = nullptr;
    std::atomic<bool>* stop = nullptr;
    int n = 0;
    bool poll(Worker&) override {
      clock->advance(++n % 2 ? 100 : -300);
      if (n == 10) *stop = true;
      return true;
    }
  };
  ManualClock clock(1'000'000'000, 1'000'000);
  Worker w(0, WorkerConfig{}, &clock);
  std::atomic<bool> stop{false};
  Back b;
  b.clock = &clock;
  b.stop = &stop;
  w.add(&b);
  w.run(stop);
  EXPECT_LT(w.counters().busy_cycles.get(), 1000u);
}

TEST(Worker, RunInlineUntilStopFlag) {
  // The loop itself, on the calling thread: stop set before run returns at once
  // and still runs finish().
  Worker w(0, test::eal_config().workers[0]);
  CountingPoller p;
  w.add(&p);
  std::atomic<bool> stop{true};
  EXPECT_EQ(w.run(stop), 0u);
  EXPECT_TRUE(p.finished_);
}

}  // namespace
}  // namespace bypass
