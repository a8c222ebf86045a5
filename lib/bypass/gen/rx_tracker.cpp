#include <bypass/gen/rx_tracker.hpp>

#include <algorithm>

namespace bypass::gen {

void RxCounts::add(const RxCounts& o) {
  received += o.received;
  lost += o.lost;
  duplicates += o.duplicates;
  reordered += o.reordered;
  stale += o.stale;
  bad_time += o.bad_time;
  expected += o.expected;
}

RxTracker::RxTracker(uint64_t tsc_hz, uint32_t window, const HistogramConfig& latency)
    : latency_(latency) {
  uint32_t w = 64;
  while (w < window && w < (1u << 30)) w <<= 1;
  window_ = w;
  mask_ = w - 1;
  bits_ = std::make_unique<uint64_t[]>(w / 64);
  tsc_hz = tsc_hz ? tsc_hz : 1;
  // Rounded up, so that a whole number of ns comes out whole (2500 ticks at
  // 2.5 GHz: 1000, not 999); too high by less than ticks / 2^32 ns.
  Uint128 q = (Uint128{1000000000} << 32) + tsc_hz - 1;
  ns_per_tick_q32_ = static_cast<uint64_t>(q / tsc_hz);
}

void RxTracker::reset(uint64_t first_seq) {
  std::fill_n(bits_.get(), window_ / 64, 0);
  first_ = first_seq;
  next_.store(first_seq, std::memory_order_relaxed);
  for (Counter* c : {&received_, &lost_, &duplicates_, &reordered_, &stale_, &bad_time_})
    c->reset();
  latency_.reset();
}

// Clears the bits of sequence numbers [from, from + n): bounded by the window.
void RxTracker::clear_bits(uint64_t from, uint64_t n) {
  if (n >= window_) {
    std::fill_n(bits_.get(), window_ / 64, 0);
    return;
  }
  while (n) {
    uint64_t bit = from & 63;
    uint64_t span = std::min<uint64_t>(n, 64 - bit);
    uint64_t ones = span == 64 ? ~uint64_t{0} : ((uint64_t{1} << span) - 1) << bit;
    bits_[(from & mask_) >> 6] &= ~ones;
    from += span;
    n -= span;
  }
}

SeqClass RxTracker::on_seq_slow(uint64_t seq) {
  const uint64_t next = this->next();
  if (seq > next) {  // a gap: the skipped ones are lost until they turn up
    uint64_t gap = seq - next;
    lost_.add(gap);
    clear_bits(next, gap);
    set_bit(seq);
    next_.store(seq + 1, std::memory_order_relaxed);
    return SeqClass::kAfterGap;
  }
  // Below next: in the window, or too old to tell.
  if (seq < first_ || next - seq > window_) {
    stale_.add();
    return SeqClass::kStale;
  }
  if (test_bit(seq)) {
    duplicates_.add();
    return SeqClass::kDuplicate;
  }
  set_bit(seq);
  lost_.add(UINT64_MAX);  // minus one: it was counted lost when skipped
  reordered_.add();
  return SeqClass::kReordered;
}

RxCounts RxTracker::counts() const {
  RxCounts c;
  c.received = received_.get();
  c.lost = lost_.get();
  c.duplicates = duplicates_.get();
  c.reordered = reordered_.get();
  c.stale = stale_.get();
  c.bad_time = bad_time_.get();
  c.expected = next() - first_;
  return c;
}

}  // namespace bypass::gen
