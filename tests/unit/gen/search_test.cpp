// The RFC 2544 search against a fake device that loses packets above a known
// rate: the search must land just below the threshold, within the precision.
#include <gtest/gtest.h>

#include "gen/search.hpp"

namespace bypass::gen {
namespace {

// A device that forwards everything up to `threshold` pps and loses the excess.
struct FakeDevice {
  double threshold;
  unsigned calls = 0;
  double loss_at(double rate) {
    ++calls;
    return rate <= threshold ? 0.0 : (rate - threshold) / rate;
  }
};

TEST(Rfc2544Search, FindsTheThresholdWithinThePrecision) {
  for (double threshold : {1.0, 1234.0, 500000.0, 7.3e6, 9.99e6}) {
    FakeDevice dev{threshold};
    const double top = 10e6;
    auto r =
        zero_loss_search(top, dev.loss_at(top), 0.0, 0.001,
                         [&](double rate) -> std::optional<double> { return dev.loss_at(rate); });
    ASSERT_TRUE(r.has_value());
    EXPECT_LE(r->rate, threshold) << "never above the loss threshold";
    EXPECT_GE(r->rate, threshold - 0.001 * top) << "within the precision of it";
    EXPECT_EQ(r->trials, dev.calls);
    EXPECT_LE(r->trials, 12u) << "a binary search: about log2(1/precision) trials";
  }
}

TEST(Rfc2544Search, APrecisionFinerThanDoublesStillEnds) {
  // A step below the spacing of doubles near the top: the bracket stops
  // narrowing, and the search ends there (it ran trials forever).
  FakeDevice dev{7.3e6};
  auto r = zero_loss_search(10e6, dev.loss_at(10e6), 0.0, 1e-300,
                            [&](double rate) -> std::optional<double> {
                              if (dev.calls > 2000) return std::nullopt;  // a runaway: fail
                              return dev.loss_at(rate);
                            });
  ASSERT_TRUE(r.has_value()) << "ran past 2000 trials";
  EXPECT_LE(r->rate, 7.3e6);
  EXPECT_GE(r->rate, 7.3e6 * (1 - 1e-12));
}

TEST(Rfc2544Search, NoLossAtTheTopNeedsNoSearch) {
  FakeDevice dev{20e6};
  auto r = zero_loss_search(10e6, 0.0, 0.0, 0.01, [&](double rate) -> std::optional<double> {
    return dev.loss_at(rate);
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rate, 10e6);
  EXPECT_EQ(dev.calls, 0u);
}

TEST(Rfc2544Search, ToleratedLossMovesTheAnswerUp) {
  FakeDevice dev{5e6};
  const double top = 10e6;
  auto strict = zero_loss_search(top, dev.loss_at(top), 0.0, 0.001,
                                 [&](double r) -> std::optional<double> { return dev.loss_at(r); });
  // 10 % tolerated: (rate - 5e6) / rate <= 0.1 up to 5.556e6.
  auto lax = zero_loss_search(top, dev.loss_at(top), 0.1, 0.001,
                              [&](double r) -> std::optional<double> { return dev.loss_at(r); });
  ASSERT_TRUE(strict && lax);
  EXPECT_NEAR(lax->rate, 5e6 / 0.9, 0.002 * top);
  EXPECT_GT(lax->rate, strict->rate);
}

TEST(Rfc2544Search, DeviceThatLosesEverythingGivesZero) {
  auto r =
      zero_loss_search(1e6, 1.0, 0.0, 0.01, [](double) -> std::optional<double> { return 1.0; });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rate, 0.0);
}

TEST(Rfc2544Search, AStoppedTrialStopsTheSearch) {
  unsigned n = 0;
  auto r = zero_loss_search(1e6, 0.5, 0.0, 0.01, [&](double) -> std::optional<double> {
    return ++n == 3 ? std::nullopt : std::optional<double>(0.5);
  });
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(n, 3u);
}

}  // namespace
}  // namespace bypass::gen
