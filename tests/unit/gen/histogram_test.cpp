#include <bypass/gen/histogram.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace bypass::gen {
namespace {

// Deterministic samples for the tests (no timing, no global state).
struct TestRng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

double relative_bound(unsigned digits) {
  return std::pow(10.0, -static_cast<double>(digits));
}

// The exact percentile by the same definition: the value at rank ceil(p% of n).
uint64_t exact_percentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()) - 1e-9));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

TEST(Histogram, BucketsAreContiguousAndIndexRoundTrips) {
  for (unsigned d : {1u, 2u, 3u}) {
    for (uint64_t lowest : {1ull, 1000ull}) {
      Histogram h({lowest, 3'600'000'000'000ull, d});
      ASSERT_EQ(h.bucket_lower(0), 0u);
      for (size_t i = 0; i + 1 < h.bucket_count(); ++i) {
        ASSERT_EQ(h.bucket_upper(i) + 1, h.bucket_lower(i + 1)) << "digits " << d << " i " << i;
        ASSERT_EQ(h.index_of(h.bucket_lower(i)), i);
        ASSERT_EQ(h.index_of(h.bucket_upper(i)), i);
      }
      EXPECT_EQ(h.bucket_upper(h.bucket_count() - 1), h.highest());
      EXPECT_EQ(h.index_of(h.highest()), h.bucket_count() - 1);
    }
  }
}

TEST(Histogram, MemoryIsFixedAndSmall) {
  Histogram d3({1, 3'600'000'000'000ull, 3});
  Histogram d2({1, 3'600'000'000'000ull, 2});
  EXPECT_LT(d3.memory_bytes(), 300u * 1024);
  EXPECT_LT(d2.memory_bytes(), 40u * 1024);
  size_t before = d3.bucket_count();
  for (uint64_t v = 1; v < (1ull << 50); v *= 3) d3.record(v);
  EXPECT_EQ(d3.bucket_count(), before);
}

TEST(Histogram, RelativeErrorBoundHoldsForEveryValueInASweep) {
  for (unsigned d : {1u, 2u, 3u, 4u}) {
    Histogram h({1, uint64_t{1} << 50, d});
    double bound = relative_bound(d);
    auto check = [&](uint64_t v) {
      size_t i = h.index_of(v);
      ASSERT_LE(h.bucket_lower(i), v);
      ASSERT_GE(h.bucket_upper(i), v);
      ASSERT_LE(static_cast<double>(h.bucket_upper(i) - v), bound * static_cast<double>(v))
          << "digits " << d << " value " << v;
    };
    for (uint64_t v = 1; v <= 200000; ++v) check(v);
    for (double v = 200000; v < static_cast<double>(uint64_t{1} << 50); v *= 1.0007)
      check(static_cast<uint64_t>(v));
    for (unsigned k = 1; k < 50; ++k)
      for (uint64_t v : {(uint64_t{1} << k) - 1, uint64_t{1} << k, (uint64_t{1} << k) + 1})
        check(v);
  }
}

TEST(Histogram, CoarseLowestKeepsAbsoluteErrorBelowItsUnit) {
  Histogram h({1000, 3'600'000'000'000ull, 2});  // unit 512 ns
  for (uint64_t v = 0; v < 10'000'000; v += 37) {
    size_t i = h.index_of(v);
    double err = static_cast<double>(h.bucket_upper(i) - v);
    ASSERT_LE(err, std::max(511.0, 0.01 * static_cast<double>(v))) << v;
  }
}

TEST(Histogram, EmptyAndSingleValue) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  h.record(123457);
  for (double p : {0.0, 1.0, 50.0, 99.99, 100.0}) EXPECT_EQ(h.percentile(p), 123457u) << p;
  EXPECT_EQ(h.min(), 123457u);
  EXPECT_EQ(h.max(), 123457u);
  EXPECT_DOUBLE_EQ(h.mean(), 123457.0);
  h.record(0);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
}

TEST(Histogram, UniformOneToN) {
  const uint64_t n = 100000;
  for (unsigned d : {2u, 3u}) {
    Histogram h({1, 3'600'000'000'000ull, d});
    for (uint64_t v = 1; v <= n; ++v) h.record(v);
    EXPECT_EQ(h.count(), n);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), n);
    EXPECT_DOUBLE_EQ(h.mean(), (n + 1) / 2.0);
    for (double p : {10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
      auto exact = static_cast<uint64_t>(std::llround(p / 100.0 * n));
      uint64_t got = h.percentile(p);
      EXPECT_GE(got, exact) << "p" << p;
      EXPECT_LE(static_cast<double>(got - exact), relative_bound(d) * static_cast<double>(exact))
          << "digits " << d << " p" << p;
    }
    EXPECT_EQ(h.percentile(100), n);
  }
}

TEST(Histogram, ExponentialSamplesMatchExactPercentiles) {
  TestRng rng{0x1234567};
  std::vector<uint64_t> v;
  Histogram h({1, 3'600'000'000'000ull, 3});
  for (int i = 0; i < 200000; ++i) {
    auto x = static_cast<uint64_t>(-std::log(1.0 - rng.unit()) * 10000.0) + 500;  // ns
    v.push_back(x);
    h.record(x);
  }
  double sum = 0;
  for (auto x : v) sum += static_cast<double>(x);
  EXPECT_NEAR(h.mean(), sum / static_cast<double>(v.size()), 1e-6);
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99}) {
    uint64_t exact = exact_percentile(v, p);
    uint64_t got = h.percentile(p);
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got - exact), 1e-3 * static_cast<double>(exact)) << "p" << p;
  }
  EXPECT_EQ(h.percentile(0), *std::min_element(v.begin(), v.end()));
  EXPECT_EQ(h.percentile(100), *std::max_element(v.begin(), v.end()));
}

TEST(Histogram, PercentileIsMonotonic) {
  TestRng rng{99};
  Histogram h({1, 1'000'000'000ull, 2});
  for (int i = 0; i < 50000; ++i) h.record(rng.next() % 1'000'000 + (i % 7 == 0 ? 5'000'000 : 0));
  uint64_t prev = 0;
  for (int k = 0; k <= 100000; ++k) {
    uint64_t v = h.percentile(k / 1000.0);
    ASSERT_GE(v, prev) << k / 1000.0;
    prev = v;
  }
  EXPECT_EQ(prev, h.max());
}

TEST(Histogram, BoundariesAndOverflow) {
  Histogram h({1, 1'000'000, 3});
  h.record(0);
  h.record(1'000'000);
  EXPECT_EQ(h.overflow(), 0u);
  h.record(1'000'001);
  h.record(UINT64_MAX);
  h.record(5'000'000, 3);
  EXPECT_EQ(h.overflow(), 5u);
  EXPECT_EQ(h.count(), 7u);
  EXPECT_EQ(h.max(), 1'000'000u);  // clamped
  EXPECT_EQ(h.count_at(h.bucket_count() - 1), 6u);
  EXPECT_EQ(h.count_at(0), 1u);
  EXPECT_EQ(h.percentile(100), 1'000'000u);
  EXPECT_EQ(h.percentile(10), 0u);
}

TEST(Histogram, RecordWithCountEqualsRepeatedRecord) {
  Histogram a, b;
  for (uint64_t v : {7ull, 1000ull, 123456789ull}) {
    a.record(v, 1000);
    for (int i = 0; i < 1000; ++i) b.record(v);
  }
  a.record(55, 0);  // nothing
  for (size_t i = 0; i < a.bucket_count(); ++i) ASSERT_EQ(a.count_at(i), b.count_at(i));
  EXPECT_EQ(a.count(), b.count());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_DOUBLE_EQ(a.mean(), b.mean());
}

void expect_same(const Histogram& a, const Histogram& b) {
  ASSERT_EQ(a.bucket_count(), b.bucket_count());
  for (size_t i = 0; i < a.bucket_count(); ++i) ASSERT_EQ(a.count_at(i), b.count_at(i)) << i;
  EXPECT_EQ(a.count(), b.count());
  EXPECT_EQ(a.overflow(), b.overflow());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_NEAR(a.mean(), b.mean(), 1e-9 * a.mean());
  for (double p : kDefaultPercentiles) EXPECT_EQ(a.percentile(p), b.percentile(p));
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  TestRng rng{7};
  HistogramConfig c{1, 10'000'000'000ull, 3};
  Histogram all(c), w0(c), w1(c), w2(c);
  Histogram* workers[] = {&w0, &w1, &w2};
  for (int i = 0; i < 300000; ++i) {
    uint64_t v = rng.next() % (i % 100 == 0 ? 20'000'000'000ull : 100'000);
    all.record(v);
    workers[i % 3]->record(v);
  }
  Histogram sum(c);
  for (auto* w : workers) sum.merge(*w);
  expect_same(sum, all);
  Histogram empty(c);
  sum.merge(empty);
  expect_same(sum, all);
}

TEST(Histogram, MergeIntoItselfDoublesAndCopiesAreSnapshots) {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);
  Histogram copy = h;
  h.merge(h);
  EXPECT_EQ(h.count(), 2000u);
  EXPECT_EQ(copy.count(), 1000u);
  EXPECT_EQ(h.percentile(50), copy.percentile(50));
  EXPECT_DOUBLE_EQ(h.mean(), copy.mean());
  Histogram moved = std::move(copy);
  EXPECT_EQ(moved.count(), 1000u);
}

TEST(Histogram, MergeAcrossLayoutsKeepsCountsWithinPrecision) {
  Histogram fine({1, 3'600'000'000'000ull, 3});
  Histogram coarse({1, 1'000'000'000ull, 2});
  for (uint64_t v = 1; v <= 100000; ++v) fine.record(v * 10);
  fine.record(5'000'000'000ull);  // above coarse's highest
  coarse.merge(fine);
  EXPECT_EQ(coarse.count(), fine.count());
  EXPECT_EQ(coarse.overflow(), 1u);
  EXPECT_EQ(coarse.max(), coarse.highest());
  uint64_t p50 = coarse.percentile(50);
  EXPECT_NEAR(static_cast<double>(p50), 500000.0, 500000.0 * 0.011);
}

TEST(Histogram, ResetClears) {
  Histogram h;
  for (uint64_t v = 0; v < 1000; ++v) h.record(v);
  h.reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), 0u);
  for (size_t i = 0; i < h.bucket_count(); ++i) ASSERT_EQ(h.count_at(i), 0u);
  h.record(42);
  EXPECT_EQ(h.min(), 42u);
  EXPECT_EQ(h.percentile(50), 42u);
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream l(line);
    std::string cell;
    while (std::getline(l, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

TEST(Histogram, CsvIsWellFormed) {
  TestRng rng{3};
  Histogram h({1, 1'000'000'000ull, 2});
  for (int i = 0; i < 10000; ++i) h.record(rng.next() % 5'000'000);
  std::string text = h.csv();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto rows = parse_csv(text);
  ASSERT_GT(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"lower_ns", "upper_ns", "count", "cumulative"}));
  uint64_t total = 0, prev_upper = 0;
  double prev_frac = 0;
  for (size_t r = 1; r < rows.size(); ++r) {
    ASSERT_EQ(rows[r].size(), 4u) << r;
    uint64_t lo = std::stoull(rows[r][0]), hi = std::stoull(rows[r][1]),
             n = std::stoull(rows[r][2]);
    double frac = std::stod(rows[r][3]);
    EXPECT_LE(lo, hi);
    if (r > 1) {
      EXPECT_GT(lo, prev_upper);
    }
    EXPECT_GT(n, 0u);
    EXPECT_GE(frac, prev_frac);
    total += n;
    prev_upper = hi;
    prev_frac = frac;
  }
  EXPECT_EQ(total, h.count());
  EXPECT_DOUBLE_EQ(prev_frac, 1.0);
  EXPECT_EQ(parse_csv(h.csv(true)).size(), h.bucket_count() + 1);

  auto table = parse_csv(h.percentile_csv());
  ASSERT_EQ(table.size(), std::size(kDefaultPercentiles) + 1);
  EXPECT_EQ(table[0], (std::vector<std::string>{"percentile", "value_ns", "count"}));
  uint64_t prev = 0;
  for (size_t r = 1; r < table.size(); ++r) {
    ASSERT_EQ(table[r].size(), 3u);
    uint64_t v = std::stoull(table[r][1]);
    EXPECT_GE(v, prev);
    prev = v;
  }
  EXPECT_EQ(table[1][0], "0");
  EXPECT_EQ(table[1][1], std::to_string(h.min()));
  EXPECT_EQ(table.back()[0], "100");
  EXPECT_EQ(table.back()[1], std::to_string(h.max()));
  EXPECT_EQ(table.back()[2], std::to_string(h.count()));
}

TEST(Histogram, SummaryAndValidation) {
  Histogram h;
  for (uint64_t v = 1; v <= 10000; ++v) h.record(v);
  HistogramSummary s = h.summary();
  EXPECT_EQ(s.count, 10000u);
  EXPECT_EQ(s.min, 1u);
  EXPECT_EQ(s.max, 10000u);
  EXPECT_EQ(s.p50, h.percentile(50));
  EXPECT_EQ(s.p9999, h.percentile(99.99));
  EXPECT_LE(s.p50, s.p90);
  EXPECT_LE(s.p999, s.p9999);

  EXPECT_TRUE(Histogram::validate({}));
  for (HistogramConfig c :
       {HistogramConfig{1, 100, 0}, HistogramConfig{1, 100, 6}, HistogramConfig{0, 100, 2},
        HistogramConfig{100, 150, 2}, HistogramConfig{1, UINT64_MAX, 2}}) {
    Status st = Histogram::validate(c);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.message().back(), '.');
    EXPECT_EQ(st.message().find('\n'), std::string::npos);
    Histogram clamped(c);  // usable anyway
    clamped.record(50);
    EXPECT_EQ(clamped.count(), 1u);
  }
}

}  // namespace
}  // namespace bypass::gen
