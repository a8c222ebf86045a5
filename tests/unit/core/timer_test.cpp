// TimerWheel on a manual clock: timers run when due and never early, once
// for one-shots, every period for periodic ones; a forward jump runs each due
// timer once, a clock that goes back runs nothing early; timers beyond one
// turn of the wheel wait their turn; callbacks may cancel or re-arm timers,
// themselves included; and a Worker runs its wheel at the start of an iteration.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <bypass/core/timer.hpp>
#include <bypass/core/worker.hpp>

namespace bypass {
namespace {

struct Log {
  std::vector<std::pair<int, uint64_t>> runs;  // (id, worker time)
};

struct Probe {
  Log* log;
  int id;
  Timer timer;
  Probe(Log* l, int i) : log(l), id(i), timer(&Probe::fire, this) {}
  static void fire(void* ctx, Worker& w) {
    auto* p = static_cast<Probe*>(ctx);
    p->log->runs.emplace_back(p->id, w.now());
  }
};

class TimerTest : public ::testing::Test {
 protected:
  // Moves the clock to `t` and runs what is due, as one worker iteration does.
  unsigned at(uint64_t t) {
    clock_.set(t);
    w_.sample_clock();
    return w_.run_timers();
  }
  ManualClock clock_{1'000'000, 0};  // 1 MHz: one tick is a microsecond
  Worker w_{0, WorkerConfig{}, &clock_};
  TimerWheel& wheel() { return w_.timers(); }
  Log log_;
};

TEST_F(TimerTest, OneShotRunsOnceWhenDueNeverBefore) {
  Probe p(&log_, 1);
  wheel().arm(p.timer, 5000);
  EXPECT_TRUE(p.timer.armed());
  EXPECT_EQ(at(4999), 0u);
  EXPECT_EQ(at(5000), 1u);
  EXPECT_FALSE(p.timer.armed());
  EXPECT_EQ(at(6000), 0u);
  EXPECT_EQ(at(100000), 0u);
  ASSERT_EQ(log_.runs.size(), 1u);
  EXPECT_EQ(log_.runs[0], std::make_pair(1, uint64_t{5000}));
}

TEST_F(TimerTest, PeriodicRunsEveryPeriod) {
  Probe p(&log_, 1);
  wheel().arm(p.timer, 1000, 1000);
  for (uint64_t t = 0; t <= 10000; t += 100) at(t);
  ASSERT_EQ(log_.runs.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(log_.runs[i].second, 1000 * (i + 1));
  EXPECT_TRUE(p.timer.armed());
  EXPECT_EQ(p.timer.due(), 11000u);
}

TEST_F(TimerTest, AForwardJumpRunsEachDueTimerOnce) {
  Probe a(&log_, 1), b(&log_, 2), c(&log_, 3);
  wheel().arm(a.timer, 100, 100);  // periodic: not once per skipped period
  wheel().arm(b.timer, 500);
  wheel().arm(c.timer, 10'000'000);  // beyond the jump
  EXPECT_EQ(at(5'000'000), 2u);      // far more than one turn of the wheel
  EXPECT_EQ(a.timer.due(), 5'000'100u) << "the next period after now";
  EXPECT_TRUE(c.timer.armed());
  EXPECT_EQ(at(5'000'100), 1u);
  wheel().cancel(a.timer);
  EXPECT_EQ(at(9'999'999), 0u);
  EXPECT_EQ(at(10'000'000), 1u);
}

TEST_F(TimerTest, AClockThatGoesBackRunsNothingEarly) {
  Probe p(&log_, 1);
  at(50'000);
  wheel().arm(p.timer, 60'000);
  EXPECT_EQ(at(20'000), 0u);
  EXPECT_EQ(at(59'999), 0u);
  EXPECT_EQ(at(60'000), 1u);
}

TEST_F(TimerTest, TimersBeyondOneTurnOfTheWheelWaitTheirTurn) {
  // 256 slots of 100 us: one turn is 25.6 ms; a timer 1 s away shares its
  // slot with times the wheel passes 38 times before it is due.
  Probe p(&log_, 1);
  wheel().arm(p.timer, 1'000'000);
  for (uint64_t t = 0; t < 1'000'000; t += 50) ASSERT_EQ(at(t), 0u) << t;
  EXPECT_EQ(at(1'000'000), 1u);
}

TEST_F(TimerTest, ArmedInThePastRunsAtTheNextIteration) {
  at(10'000);
  Probe p(&log_, 1);
  wheel().arm(p.timer, 3'000);
  EXPECT_EQ(at(10'001), 1u);
}

struct Canceller {
  TimerWheel* wheel;
  Timer* victim;
  Timer self;
  int runs = 0;
  static void fire(void* ctx, Worker&) {
    auto* c = static_cast<Canceller*>(ctx);
    ++c->runs;
    c->wheel->cancel(*c->victim);
  }
};

struct Rearmer {
  TimerWheel* wheel;
  Timer self;
  int runs = 0;
  static void fire(void* ctx, Worker& w) {
    auto* r = static_cast<Rearmer*>(ctx);
    ++r->runs;
    if (r->runs < 3) r->wheel->arm(r->self, w.now() + 7);
  }
};

TEST_F(TimerTest, CallbacksMayCancelOthersAndReArmThemselves) {
  Probe victim(&log_, 9);
  Canceller c{&wheel(), &victim.timer, {}};
  c.self.set(&Canceller::fire, &c);
  // Both due in the same pass; the canceller was armed first, so it runs
  // first and the victim does not run.
  wheel().arm(c.self, 100);
  wheel().arm(victim.timer, 100);
  EXPECT_EQ(at(100), 1u);
  EXPECT_EQ(c.runs, 1);
  EXPECT_TRUE(log_.runs.empty());
  EXPECT_FALSE(victim.timer.armed());

  Rearmer r{&wheel(), {}};
  r.self.set(&Rearmer::fire, &r);
  wheel().arm(r.self, 1000);
  for (uint64_t t = 1000; t < 2000; ++t) at(t);
  EXPECT_EQ(r.runs, 3);
  EXPECT_EQ(wheel().armed(), 0u);
}

// Destroys another timer, or itself, from its callback.
struct Destroyer {
  std::unique_ptr<Probe>* victim;
  std::unique_ptr<Destroyer>* self_owner = nullptr;
  Timer self;
  static void fire(void* ctx, Worker&) {
    auto* d = static_cast<Destroyer*>(ctx);
    d->victim->reset();
    if (d->self_owner) d->self_owner->reset();  // `d` is gone after this
  }
};

TEST_F(TimerTest, ATimerDestroyedByACallbackInThePassDoesNotRun) {
  // The victims are due in the same pass as the destroyers, armed after them:
  // each is on the pass's list when its destroyer runs. Before the fix the
  // list kept a pointer to the freed victim and called through it.
  auto victim = std::make_unique<Probe>(&log_, 7);
  auto periodic_victim = std::make_unique<Probe>(&log_, 8);
  auto d1 = std::make_unique<Destroyer>();
  d1->victim = &victim;
  d1->self.set(&Destroyer::fire, d1.get());
  auto d2 = std::make_unique<Destroyer>();
  d2->victim = &periodic_victim;
  d2->self_owner = &d2;  // and itself, periodic
  d2->self.set(&Destroyer::fire, d2.get());
  wheel().arm(d1->self, 100);
  wheel().arm(d2->self, 100, 50);
  wheel().arm(victim->timer, 100);
  wheel().arm(periodic_victim->timer, 100, 10);
  Probe after(&log_, 9);
  wheel().arm(after.timer, 100);
  EXPECT_EQ(at(100), 3u);  // the two destroyers and `after`
  EXPECT_EQ(victim, nullptr);
  EXPECT_EQ(periodic_victim, nullptr);
  EXPECT_EQ(d2, nullptr);
  ASSERT_EQ(log_.runs.size(), 1u);
  EXPECT_EQ(log_.runs[0].first, 9);
  EXPECT_EQ(wheel().armed(), 0u);  // the periodic destroyer took itself off the wheel
  EXPECT_EQ(at(1000), 0u);
}

TEST_F(TimerTest, CancelledTimerDoesNotRun) {
  Probe p(&log_, 1);
  wheel().arm(p.timer, 100);
  wheel().cancel(p.timer);
  EXPECT_FALSE(p.timer.armed());
  EXPECT_EQ(at(1000), 0u);
  EXPECT_TRUE(log_.runs.empty());
}

TEST_F(TimerTest, ManyTimersEachRunOnceAtTheirTime) {
  std::vector<std::unique_ptr<Probe>> ps;
  for (int i = 0; i < 2000; ++i) {
    ps.push_back(std::make_unique<Probe>(&log_, i));
    wheel().arm(ps.back()->timer, static_cast<uint64_t>(i) * 37 % 50'000);
  }
  for (uint64_t t = 0; t <= 50'000; t += 13) at(t);
  std::vector<int> seen(2000);
  for (const auto& r : log_.runs) ++seen[static_cast<size_t>(r.first)];
  for (int i = 0; i < 2000; ++i)
    EXPECT_EQ(seen[static_cast<size_t>(i)], 1) << i << " due " << i * 37 % 50'000;
  ASSERT_EQ(log_.runs.size(), 2000u);
  for (const auto& [id, when] : log_.runs) {
    const uint64_t due = static_cast<uint64_t>(id) * 37 % 50'000;
    EXPECT_GE(when, due);
    EXPECT_LT(when, due + 13) << "run at the first iteration at or after its time";
  }
}

}  // namespace
}  // namespace bypass
