// Round-trip times for the load modes of bypass-client: a log-bucketed
// histogram, O(1) to add to and to merge, so a per-second report costs the
// same at a million samples as at ten (sorting them cost a load client 8 %
// of its time).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace bypass::client {

// Round-trip times in ns, log-bucketed: 64 sub-buckets per power of two (at
// most 1.6 % wide), so percentiles are exact to about 1 % at any scale.
class RttHistogram {
 public:
  static constexpr int kSub = 64;
  void add(uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }
  void merge(const RttHistogram& o) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
  }
  uint64_t count() const { return count_; }
  void clear() { *this = RttHistogram{}; }
  uint64_t max() const { return max_; }
  // The upper edge of the bucket holding the p-th percentile (p in 0..100).
  uint64_t percentile(double p) const {
    if (count_ == 0) return 0;
    // Nearest rank: the ceil(p% of N)-th smallest sample (from 1).
    const double r = std::ceil(p / 100.0 * static_cast<double>(count_));
    uint64_t rank = r <= 1 ? 0 : static_cast<uint64_t>(r) - 1;
    if (rank >= count_) rank = count_ - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen > rank) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static size_t index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    int msb = 63 - __builtin_clzll(v);  // >= 6
    int shift = msb - 6;                // keep 7 significant bits
    uint64_t top = v >> shift;          // 64 .. 127
    return static_cast<size_t>((shift + 1) * kSub + (top - kSub));
  }
  static uint64_t upper(size_t i) {
    if (i < kSub) return i;
    size_t shift = i / kSub - 1;
    uint64_t top = kSub + i % kSub;
    return ((top + 1) << shift) - 1;
  }
  std::array<uint64_t, 60 * kSub> buckets_{};
  uint64_t count_ = 0, max_ = 0;
};

}  // namespace bypass::client
