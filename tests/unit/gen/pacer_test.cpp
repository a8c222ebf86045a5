#include <bypass/gen/pacer.hpp>

#include <gtest/gtest.h>

#include <bypass/core/clock.hpp>

namespace bypass::gen {
namespace {

// Packets granted by t ticks after start: 1 + floor(t x num / (den x hz)).
uint64_t exact_granted(uint64_t t, Rate r, uint64_t hz) {
  return 1 + static_cast<uint64_t>(Uint128{t} * r.num / (Uint128{r.den} * hz));
}

struct Split {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// Runs a pacer over `seconds` of simulated ticks, called at irregular steps
// short enough never to fill a burst, and checks the running total is exact
// at every call.
void run_exact(Rate rate, uint64_t hz, uint64_t seconds) {
  SCOPED_TRACE(testing::Message() << "rate " << rate.per_second() << " pps, hz " << hz);
  ManualClock clock(hz, 123456789);
  Pacer p(hz, rate, 32);
  const uint64_t t0 = clock.now();
  p.start(t0);
  // Steps up to ~ 16 packets' worth (at least one tick).
  double ticks_per_packet = static_cast<double>(hz) / rate.per_second();
  auto max_step = static_cast<uint64_t>(std::max(1.0, 16 * ticks_per_packet));
  Split rng{hz ^ rate.num};
  uint64_t total = 0;
  const uint64_t end = t0 + seconds * hz;
  uint64_t calls = 0, early_grants = 0;
  while (clock.now() < end) {
    uint64_t step = 1 + rng.next() % max_step;
    clock.set(std::min(clock.now() + step, end));
    total += p.due(clock.now());
    ++calls;
    const uint64_t t = clock.now() - t0;
    uint64_t want = exact_granted(t, rate, hz);
    // Rounding packets-per-tick up may make a packet due early, by at most
    // t x hz / (rate x 2^64) + 1 ticks: never a whole packet ahead.
    uint64_t early = 1 + static_cast<uint64_t>((Uint128{t} * hz * rate.den / rate.num) >> 64);
    bool early_ok = total == want + 1 && exact_granted(t + early, rate, hz) >= total;
    early_grants += early_ok;
    if (total != want && !early_ok) {
      ADD_FAILURE() << "after " << clock.now() - t0 << " ticks: granted " << total << ", exact "
                    << want;
      return;
    }
  }
  EXPECT_EQ(total, 1 + static_cast<uint64_t>(Uint128{seconds} * rate.num / rate.den));
  EXPECT_GT(calls, 100u);
  EXPECT_LE(early_grants, calls / 1000) << "early grants must be rare";
}

TEST(Rate, LineRateArithmetic) {
  EXPECT_NEAR(Rate::line(10000, 64).per_second(), 14880952.38, 0.01);
  EXPECT_NEAR(Rate::line(40000, 64).per_second(), 59523809.52, 0.01);
  EXPECT_NEAR(Rate::line(100000, 64).per_second(), 148809523.8, 0.1);
  EXPECT_NEAR(Rate::line(10000, 1518).per_second(), 812743.82, 0.01);
  EXPECT_NEAR(Rate::line(10000, 64, 50).per_second(), 7440476.19, 0.01);
  // Simple IMIX: 12 frames of 4342 bytes in all.
  EXPECT_NEAR(Rate::line(10000, 4342, 100, 12).per_second(), 1.2e11 / ((4342 + 240) * 8.0), 0.01);
  EXPECT_EQ(Rate::line(10000, 64), Rate::ratio(10'000'000'000ull, 672));
  EXPECT_EQ(Rate::pps(1000), Rate::ratio(1000, 1));
  EXPECT_EQ(Rate::pps(0.5), Rate::ratio(1, 2));
  EXPECT_TRUE(Rate::pps(-3).is_zero());
  EXPECT_TRUE(Rate::max().is_max());
}

TEST(Pacer, ExactAtEveryCallOverLongRuns) {
  const Rate rates[] = {Rate::pps(1), Rate::pps(1000), Rate::pps(1e6), Rate::line(10000, 64),
                        Rate::line(40000, 64)};
  const uint64_t secs[] = {2000, 100, 2, 1, 1};
  for (uint64_t hz : {1'000'000'000ull, 2'500'000'000ull, 3'100'000'000ull})
    for (size_t i = 0; i < std::size(rates); ++i) run_exact(rates[i], hz, secs[i]);
}

TEST(Pacer, FractionalRateHasNoDrift) {
  // 14.88 Mpps given as a plain number, and 7/3 pps: the total over the run is
  // floor(rate x time) + 1 exactly.
  run_exact(Rate::pps(14.88e6), 3'100'000'000ull, 1);
  run_exact(Rate::ratio(7, 3), 2'500'000'000ull, 3000);
}

TEST(Pacer, OnePpsForADayAtOneCallPerSecond) {
  const uint64_t hz = 3'100'000'000ull;
  Pacer p(hz, Rate::pps(1), 32);
  uint64_t t = 1ull << 40, total = 0;
  p.start(t);
  total += p.due(t);
  EXPECT_EQ(total, 1u);  // the first packet is due at once
  for (int s = 0; s < 86400; ++s) {
    t += hz + (s % 2 ? 1000 : -1000);  // jitter around each second
    total += p.due(t);
  }
  EXPECT_EQ(total, 86401u);
}

TEST(Pacer, BurstCapsEachCall) {
  const uint64_t hz = 1'000'000'000;
  Pacer p(hz, Rate::pps(1e6), 8, 64);
  p.start(0);
  EXPECT_EQ(p.due(0), 1u);
  EXPECT_EQ(p.due(20'000), 8u);  // 20 due, 8 at a time
  EXPECT_EQ(p.due(20'000), 8u);
  EXPECT_EQ(p.due(20'000), 4u);
  EXPECT_EQ(p.due(20'000), 0u);
}

TEST(Pacer, LateCallerGetsABoundedCatchUp) {
  const uint64_t hz = 2'500'000'000ull;
  Pacer p(hz, Rate::line(10000, 64), 32);  // backlog 4 x 32
  EXPECT_EQ(p.backlog(), 128u);
  p.start(0);
  uint64_t t = 10 * hz;  // 10 s late: 148 million packets' worth
  uint64_t burst_total = 0;
  for (int i = 0; i < 10; ++i) burst_total += p.due(t);
  EXPECT_EQ(burst_total, 128u);
  EXPECT_EQ(p.due(t), 0u);
  // Then the rate again, from the late time on.
  uint64_t total = 0;
  for (uint64_t k = 1; k <= 1000; ++k) total += p.due(t + k * 1000);
  EXPECT_EQ(total,
            static_cast<uint64_t>(Uint128{1000 * 1000} * 10'000'000'000ull / (Uint128{672} * hz)));
}

TEST(Pacer, BackwardsClockGrantsNothingAndReanchors) {
  const uint64_t hz = 1'000'000'000;
  Pacer p(hz, Rate::pps(1000), 32);
  p.start(5'000'000'000ull);
  EXPECT_EQ(p.due(5'000'000'000ull), 1u);
  EXPECT_EQ(p.due(5'010'000'000ull), 10u);
  EXPECT_EQ(p.due(1'000'000'000ull), 0u);  // 4 s back
  EXPECT_EQ(p.due(0), 0u);                 // to zero: no underflow
  EXPECT_EQ(p.due(0), 0u);
  EXPECT_EQ(p.due(5'000'000ull), 5u);  // 5 ms after the new anchor
  uint64_t total = 0;
  for (uint64_t t = 5'000'000; t <= 1'005'000'000; t += 100'000) total += p.due(t);
  EXPECT_EQ(total, 1000u);
}

TEST(Pacer, RateChangeCountsEachSpanAtItsRate) {
  const uint64_t hz = 2'500'000'000ull;
  Pacer p(hz, Rate::pps(1000), 32);
  uint64_t total = 0, t = 77;
  p.start(t);
  for (int i = 0; i < 1000; ++i) total += p.due(t += hz / 1000);
  EXPECT_EQ(total, 1001u);
  p.set_rate(Rate::pps(2000), t);
  for (int i = 0; i < 1000; ++i) total += p.due(t += hz / 1000);
  EXPECT_EQ(total, 3001u);
  // Half a packet of credit at the old rate carries over a change.
  t += hz / 2000;
  p.set_rate(Rate::pps(1000), t);  // 1 due at 2000 pps by now, not yet taken
  EXPECT_EQ(p.due(t), 1u);
  p.set_rate(Rate::pps(0), t);
  EXPECT_EQ(p.due(t + 10 * hz), 0u);
  EXPECT_EQ(p.ticks_to_next(t), UINT64_MAX);
}

TEST(Pacer, MaxRateAlwaysGrantsABurst) {
  Pacer p(1'000'000'000, Rate::max(), 16);
  p.start(100);
  EXPECT_TRUE(p.max_rate());
  for (uint64_t t : {100ull, 100ull, 50ull, 1ull << 60}) EXPECT_EQ(p.due(t), 16u);
  EXPECT_EQ(p.ticks_to_next(0), 0u);
  p.set_rate(Rate::pps(1), 1000);
  EXPECT_EQ(p.due(1000), 0u);
  EXPECT_EQ(p.due(1000 + 1'000'000'000), 1u);
}

TEST(Pacer, GiveBackReturnsUnsentPackets) {
  const uint64_t hz = 1'000'000'000;
  Pacer p(hz, Rate::pps(1e6), 32);
  p.start(0);
  EXPECT_EQ(p.due(10'000), 11u);
  p.give_back(7);  // only 4 went out
  EXPECT_EQ(p.due(10'000), 7u);
  EXPECT_EQ(p.due(10'000), 0u);
}

TEST(Pacer, TicksToNext) {
  const uint64_t hz = 1'000'000'000;
  Pacer p(hz, Rate::pps(1000), 32);
  p.start(500);
  EXPECT_EQ(p.ticks_to_next(500), 0u);
  EXPECT_EQ(p.due(500), 1u);
  EXPECT_EQ(p.ticks_to_next(500), 1'000'000u);
  EXPECT_EQ(p.ticks_to_next(400'500), 600'000u);
  EXPECT_EQ(p.due(1'000'499), 0u);
  EXPECT_EQ(p.due(1'000'500), 1u);
}

TEST(Pacer, RateAboveOnePerTickSaturates) {
  Pacer p(1000, Rate::pps(1e6), 32);  // a 1 kHz clock, 1000 packets per tick wanted
  EXPECT_EQ(p.per_tick_q64(), UINT64_MAX);
  p.start(0);
  p.due(0);
  EXPECT_EQ(p.due(10), 9u);  // about one per tick (rounded down once), never a flood
}

}  // namespace
}  // namespace bypass::gen
