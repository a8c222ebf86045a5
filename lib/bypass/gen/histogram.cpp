#include <bypass/gen/histogram.hpp>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <utility>

namespace bypass::gen {
namespace {

constexpr uint64_t kMaxHighest = uint64_t{1} << 62;
constexpr unsigned kMaxDigits = 5;

HistogramConfig clamped(HistogramConfig c) {
  c.digits = std::clamp(c.digits, 1u, kMaxDigits);
  c.lowest_ns = std::clamp<uint64_t>(c.lowest_ns, 1, kMaxHighest / 2);
  c.highest_ns = std::clamp<uint64_t>(c.highest_ns, 2 * c.lowest_ns, kMaxHighest);
  return c;
}

// The smallest s with 2^s >= 10^digits.
unsigned sub_bits_for(unsigned digits) {
  uint64_t p = 1;
  for (unsigned i = 0; i < digits; ++i) p *= 10;
  unsigned s = 0;
  while ((uint64_t{1} << s) < p) ++s;
  return s;
}

void relaxed_store(std::atomic<uint64_t>& a, uint64_t v) {
  a.store(v, std::memory_order_relaxed);
}

}  // namespace

Status Histogram::validate(const HistogramConfig& c) {
  if (c.digits < 1 || c.digits > kMaxDigits)
    return Status::error(
        "histogram digits must be from 1 to 5 (2 keeps values within 1%, 3 "
        "within 0.1%), not " +
        std::to_string(c.digits) + ".");
  if (c.lowest_ns < 1) return Status::error("histogram lowest_ns must be at least 1.");
  if (c.highest_ns > kMaxHighest)
    return Status::error(
        "histogram highest_ns must be at most 2^62 ns; one hour is "
        "3600000000000.");
  if (c.highest_ns < 2 * c.lowest_ns)
    return Status::error("histogram highest_ns must be at least twice lowest_ns (" +
                         std::to_string(c.lowest_ns) + ").");
  return Status::ok();
}

Histogram::Histogram(const HistogramConfig& c) : config_(clamped(c)) {
  unit_shift_ = 63u - static_cast<unsigned>(__builtin_clzll(config_.lowest_ns));
  sub_bits_ = sub_bits_for(config_.digits);
  highest_ = config_.highest_ns;
  buckets_ = index_of(highest_) + 1;
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(buckets_);
}

Histogram::Histogram(const Histogram& o) {
  copy_from(o);
}

Histogram& Histogram::operator=(const Histogram& o) {
  if (this != &o) copy_from(o);
  return *this;
}

Histogram::Histogram(Histogram&& o) noexcept {
  take_from(o);
}

Histogram& Histogram::operator=(Histogram&& o) noexcept {
  if (this != &o) take_from(o);
  return *this;
}

// The counts move; the moved-from histogram keeps its layout, without buckets.
void Histogram::take_from(Histogram& o) noexcept {
  config_ = o.config_;
  unit_shift_ = o.unit_shift_;
  sub_bits_ = o.sub_bits_;
  highest_ = o.highest_;
  buckets_ = std::exchange(o.buckets_, 0);
  counts_ = std::move(o.counts_);
  relaxed_store(total_, o.count());
  relaxed_store(overflow_, o.overflow());
  relaxed_store(min_, o.min_.load(std::memory_order_relaxed));
  relaxed_store(max_, o.max());
  sum_.store(o.sum_.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void Histogram::copy_from(const Histogram& o) {
  if (!counts_ || !same_layout(o)) {
    config_ = o.config_;
    unit_shift_ = o.unit_shift_;
    sub_bits_ = o.sub_bits_;
    highest_ = o.highest_;
    buckets_ = o.buckets_;
    counts_ = std::make_unique<std::atomic<uint64_t>[]>(buckets_);
  }
  for (size_t i = 0; i < buckets_; ++i) relaxed_store(counts_[i], o.count_at(i));
  relaxed_store(total_, o.count());
  relaxed_store(overflow_, o.overflow());
  relaxed_store(min_, o.min_.load(std::memory_order_relaxed));
  relaxed_store(max_, o.max());
  sum_.store(o.sum_.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

void Histogram::reset() {
  for (size_t i = 0; i < buckets_; ++i) relaxed_store(counts_[i], 0);
  relaxed_store(total_, 0);
  relaxed_store(overflow_, 0);
  relaxed_store(min_, UINT64_MAX);
  relaxed_store(max_, 0);
  sum_.store(0, std::memory_order_relaxed);
}

void Histogram::merge(const Histogram& o) {
  // Read the other's totals first: merging into itself must see the old values.
  uint64_t o_total = o.count();
  if (o_total == 0) return;
  uint64_t o_overflow = o.overflow();
  uint64_t o_min = o.min();
  uint64_t o_max = o.max();
  double o_sum = o.sum_.load(std::memory_order_relaxed);
  uint64_t lo = min_.load(std::memory_order_relaxed);
  uint64_t hi = max();
  double sum = sum_.load(std::memory_order_relaxed);

  if (same_layout(o)) {
    for (size_t i = 0; i < buckets_; ++i) add(counts_[i], o.count_at(i));
    add(total_, o_total);
    add(overflow_, o_overflow);
  } else {
    // Re-record each bucket at its highest value; record() counts what is
    // above our highest as overflow, and o's own overflow if ours is higher.
    for (size_t i = 0; i < o.bucket_count(); ++i) {
      uint64_t n = o.count_at(i);
      if (n) record(std::clamp(o.bucket_upper(i), o_min, o_max), n);
    }
    if (o.highest_ <= highest_) add(overflow_, o_overflow);
    if (o_max > highest_) o_sum = sum_.load(std::memory_order_relaxed) - sum;  // as re-recorded
  }
  relaxed_store(min_, std::min(lo, std::min(o_min, highest_)));
  relaxed_store(max_, std::max(hi, std::min(o_max, highest_)));
  sum_.store(sum + o_sum, std::memory_order_relaxed);
}

uint64_t Histogram::bucket_lower(size_t i) const {
  size_t h = i >> sub_bits_;
  unsigned k = static_cast<unsigned>(h > 0 ? h - 1 : 0);
  uint64_t units = static_cast<uint64_t>(i - (static_cast<size_t>(k) << sub_bits_)) << k;
  return units << unit_shift_;
}

uint64_t Histogram::bucket_upper(size_t i) const {
  size_t h = i >> sub_bits_;
  unsigned k = static_cast<unsigned>(h > 0 ? h - 1 : 0);
  uint64_t units = static_cast<uint64_t>(i - (static_cast<size_t>(k) << sub_bits_)) << k;
  uint64_t upper = ((units + (uint64_t{1} << k)) << unit_shift_) - 1;
  return std::min(upper, highest_);
}

double Histogram::mean() const {
  uint64_t n = count();
  return n ? sum_.load(std::memory_order_relaxed) / static_cast<double>(n) : 0.0;
}

uint64_t Histogram::percentile(double p) const {
  uint64_t total = count();
  if (total == 0) return 0;
  if (!(p > 0)) return min();
  if (p >= 100) return max();
  // The rank of the value: ceil(p% of total), where a product that is an
  // integer up to rounding (99.9% of 1000) counts as that integer.
  double x = p / 100.0 * static_cast<double>(total);
  double r = std::round(x);
  uint64_t rank =
      static_cast<uint64_t>(std::fabs(x - r) <= 1e-9 * std::max(1.0, x) ? r : std::ceil(x));
  rank = std::clamp<uint64_t>(rank, 1, total);
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_; ++i) {
    seen += count_at(i);
    if (seen >= rank) return std::clamp(bucket_upper(i), min(), max());
  }
  return max();  // counts moved on while we read them
}

HistogramSummary Histogram::summary() const {
  HistogramSummary s;
  s.count = count();
  s.overflow = overflow();
  s.min = min();
  s.max = max();
  s.mean = mean();
  s.p50 = percentile(50);
  s.p90 = percentile(90);
  s.p99 = percentile(99);
  s.p999 = percentile(99.9);
  s.p9999 = percentile(99.99);
  return s;
}

std::string Histogram::csv(bool all_buckets) const {
  std::string out = "lower_ns,upper_ns,count,cumulative\n";
  uint64_t total = 0;
  for (size_t i = 0; i < buckets_; ++i) total += count_at(i);
  uint64_t seen = 0;
  char row[96];
  for (size_t i = 0; i < buckets_; ++i) {
    uint64_t n = count_at(i);
    if (!n && !all_buckets) continue;
    seen += n;
    double frac = total ? static_cast<double>(seen) / static_cast<double>(total) : 0.0;
    std::snprintf(row, sizeof row, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.9f\n", bucket_lower(i),
                  bucket_upper(i), n, frac);
    out += row;
  }
  return out;
}

std::string Histogram::percentile_csv(std::span<const double> ps) const {
  std::string out = "percentile,value_ns,count\n";
  char row[96];
  for (double p : ps) {
    uint64_t v = percentile(p);
    uint64_t at_or_below = 0;
    if (count()) {
      // Everything in buckets up to v's bucket (v is a bucket's highest value or min/max).
      size_t last = index_of(v);
      for (size_t i = 0; i <= last; ++i) at_or_below += count_at(i);
    }
    std::snprintf(row, sizeof row, "%g,%" PRIu64 ",%" PRIu64 "\n", p, v, at_or_below);
    out += row;
  }
  return out;
}

}  // namespace bypass::gen
