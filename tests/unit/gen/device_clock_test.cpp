// DeviceClock: mapping a device clock to the TSC from samples with jitter and
// drift; not ready before two samples; failed reads counted.
#include <bypass/gen/device_clock.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

namespace bypass::gen {
namespace {

constexpr double kTscHz = 2.5e9;

// A device clock in ns that runs 20 ppm fast against the TSC, with an offset.
uint64_t device_at(uint64_t tsc) {
  return 123'456'789'000ull +
         static_cast<uint64_t>(static_cast<double>(tsc) / kTscHz * 1e9 * (1 + 20e-6));
}

TEST(DeviceClock, MapsBetweenAndAfterSamplesWithinATenthOfAMicrosecond) {
  DeviceClock c(nullptr, nullptr, 0);
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> jitter(-50, 50);  // TSC ticks of read time
  const uint64_t start = 1'000'000'000ull;
  const uint64_t step = static_cast<uint64_t>(kTscHz / 100);  // a sample every 10 ms
  double worst = 0;
  for (int k = 0; k < 1000; ++k) {  // 10 s
    const uint64_t t = start + k * step;
    c.add_sample(t + jitter(rng), device_at(t));
    if (k < 1) {
      EXPECT_FALSE(c.ready());
      continue;
    }
    ASSERT_TRUE(c.ready());
    // Packets stamped in the 10 ms after the sample.
    for (uint64_t dt : {uint64_t{0}, uint64_t{1000}, step / 2, step - 1}) {
      const uint64_t truth = t + dt;
      const double err =
          std::fabs(static_cast<double>(static_cast<int64_t>(c.to_tsc(device_at(truth)) - truth)));
      worst = std::max(worst, err);
    }
  }
  EXPECT_LT(worst, 250.0) << "ticks (100 ns at 2.5 GHz)";
  EXPECT_NEAR(c.tsc_per_tick(), kTscHz / 1e9 / (1 + 20e-6), 1e-6);
}

TEST(DeviceClock, ATimestampBeforeTheLastSampleMapsBackwards) {
  DeviceClock c(nullptr, nullptr, 0);
  c.add_sample(1000, 10'000);
  c.add_sample(3000, 11'000);  // 2 ticks per device unit
  EXPECT_EQ(c.to_tsc(11'000), 3000u);
  EXPECT_EQ(c.to_tsc(10'900), 2800u);
  EXPECT_EQ(c.to_tsc(11'050), 3100u);
}

struct FakeClock {
  bool ok = true;
  uint64_t reads = 0;
};

bool read_fake(const void* ctx, uint64_t* now) {
  auto* f = static_cast<FakeClock*>(const_cast<void*>(ctx));
  ++f->reads;
  *now = 5000 + f->reads * 1000;
  return f->ok;
}

TEST(DeviceClock, SamplesOncePerIntervalAndCountsFailedReads) {
  FakeClock f;
  DeviceClock c(&read_fake, &f, 1'000'000'000ull);
  ManualClock tsc(1'000'000'000ull, 2'000'000'000ull);
  c.maybe_sample(tsc, 2'000'000'000ull);  // first: samples
  c.maybe_sample(tsc, 2'000'000'001ull);  // within the interval: no
  EXPECT_EQ(f.reads, 1u);
  EXPECT_FALSE(c.ready());
  f.ok = false;
  tsc.advance(1000);
  c.sample(tsc);
  EXPECT_EQ(c.failed_reads(), 1u);
  EXPECT_EQ(c.samples(), 1u);
  EXPECT_FALSE(c.ready());
  f.ok = true;
  tsc.advance(1000);
  c.sample(tsc);
  EXPECT_TRUE(c.ready());
  // Both samples were placed at the clock's reading: 2000 ticks apart, the
  // device 2 reads (2000 of its ticks) apart.
  EXPECT_DOUBLE_EQ(c.tsc_per_tick(), 1.0);
}

}  // namespace
}  // namespace bypass::gen
