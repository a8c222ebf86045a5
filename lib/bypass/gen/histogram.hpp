// Histogram: a latency histogram for the traffic generator, log-bucketed in
// the spirit of HdrHistogram (our own layout). Values are nanoseconds. Memory
// is allocated once at construction; record() is O(1), allocation-free and
// branch-free (a leading-zero count picks the bucket). One worker writes a
// histogram; anyone may read or merge it at any time (counts are relaxed
// atomics written without a locked instruction, like core/counter.hpp).
//
// Layout: with unit u = 2^floor(log2(lowest)) and s = the smallest bit count
// with 2^s >= 10^digits, values below 2^(s+1) units get one bucket per unit;
// above, each power of two [2^e, 2^(e+1)) units is cut into 2^s equal buckets.
// A value v is therefore known to within max(u - 1, v / 2^s) <= max(u - 1,
// v * 10^-digits): digits 2 means 1%, digits 3 means 0.1%. Reported values are
// the highest value of their bucket, clamped to the exact min and max seen.
// Values above `highest` are recorded as `highest` and counted in overflow().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <bypass/core/status.hpp>

namespace bypass::gen {

struct HistogramConfig {
  uint64_t lowest_ns = 1;                   // the resolution at the bottom
  uint64_t highest_ns = 3'600'000'000'000;  // one hour
  unsigned digits = 3;                      // significant decimal digits: 1..5
};

// What a run's latency report prints.
struct HistogramSummary {
  uint64_t count = 0, overflow = 0;
  uint64_t min = 0, max = 0;
  double mean = 0;
  uint64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, p9999 = 0;
};

inline constexpr double kDefaultPercentiles[] = {0, 50, 90, 99, 99.9, 99.99, 99.999, 100};

class Histogram {
 public:
  // An invalid config is clamped to the nearest valid one; validate() first
  // to tell a user what to change.
  explicit Histogram(const HistogramConfig& c = {});
  static Status validate(const HistogramConfig& c);

  // Copies are snapshots (taken with relaxed loads while the writer runs).
  Histogram(const Histogram& o);
  Histogram& operator=(const Histogram& o);
  Histogram(Histogram&& o) noexcept;
  Histogram& operator=(Histogram&& o) noexcept;
  ~Histogram() = default;

  // The bucket of v (v clamped to highest). Branch-free.
  size_t index_of(uint64_t v) const {
    uint64_t x = (v < highest_ ? v : highest_) >> unit_shift_;
    unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(x | (uint64_t{1} << sub_bits_)));
    unsigned k = e - sub_bits_;
    return (static_cast<size_t>(k) << sub_bits_) + static_cast<size_t>(x >> k);
  }

  // Single writer only. Values above highest() are recorded as highest() and
  // counted in overflow(); min, max and mean see the clamped value too.
  void record(uint64_t v) {
    add(overflow_, v > highest_);
    v = v < highest_ ? v : highest_;  // conditional moves, not branches
    add(counts_[index_of(v)], 1);
    add(total_, 1);
    uint64_t lo = min_.load(std::memory_order_relaxed);
    uint64_t hi = max_.load(std::memory_order_relaxed);
    min_.store(v < lo ? v : lo, std::memory_order_relaxed);
    max_.store(v > hi ? v : hi, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + static_cast<double>(static_cast<int64_t>(v)),
               std::memory_order_relaxed);
  }
  // n values equal to v (n < 2^63).
  void record(uint64_t v, uint64_t n) {
    if (n == 0) return;
    add(overflow_, v > highest_ ? n : 0);
    v = v < highest_ ? v : highest_;
    add(counts_[index_of(v)], n);
    add(total_, n);
    uint64_t lo = min_.load(std::memory_order_relaxed);
    uint64_t hi = max_.load(std::memory_order_relaxed);
    min_.store(v < lo ? v : lo, std::memory_order_relaxed);
    max_.store(v > hi ? v : hi, std::memory_order_relaxed);
    sum_.store(
        sum_.load(std::memory_order_relaxed) + static_cast<double>(static_cast<int64_t>(v)) *
                                                   static_cast<double>(static_cast<int64_t>(n)),
        std::memory_order_relaxed);
  }

  // Adds another histogram's counts (any layout: buckets of a different
  // layout are re-recorded at their highest value). Merging a histogram into
  // itself doubles it.
  void merge(const Histogram& o);
  // Not while the writer records.
  void reset();

  uint64_t count() const { return total_.load(std::memory_order_relaxed); }
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }
  uint64_t min() const { return count() ? min_.load(std::memory_order_relaxed) : 0; }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  double mean() const;
  // The smallest recorded value v such that at least p% of the values are <= v,
  // to within the bucket's precision; p in [0, 100]; 0 is min(), 100 is max().
  uint64_t percentile(double p) const;
  HistogramSummary summary() const;

  // "lower_ns,upper_ns,count,cumulative" then one row per non-empty bucket
  // (every bucket with all_buckets); upper is inclusive, cumulative a fraction.
  std::string csv(bool all_buckets = false) const;
  // "percentile,value_ns,count" then one row per p; count: values <= value_ns.
  std::string percentile_csv(std::span<const double> ps = kDefaultPercentiles) const;

  size_t bucket_count() const { return buckets_; }
  uint64_t bucket_lower(size_t i) const;
  uint64_t bucket_upper(size_t i) const;  // inclusive
  uint64_t count_at(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  const HistogramConfig& config() const { return config_; }
  uint64_t highest() const { return highest_; }
  size_t memory_bytes() const { return buckets_ * sizeof(std::atomic<uint64_t>); }

 private:
  static void add(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  bool same_layout(const Histogram& o) const {
    return unit_shift_ == o.unit_shift_ && sub_bits_ == o.sub_bits_ && highest_ == o.highest_;
  }
  void copy_from(const Histogram& o);
  void take_from(Histogram& o) noexcept;

  HistogramConfig config_;
  unsigned unit_shift_ = 0;
  unsigned sub_bits_ = 0;
  uint64_t highest_ = 0;
  size_t buckets_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> overflow_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
  std::atomic<double> sum_{0};
};

}  // namespace bypass::gen
