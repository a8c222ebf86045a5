// RxTracker: the receive side of one generator stream. From the sequence
// numbers of the GenHeaders it counts packets received, lost, duplicated and
// reordered, and it records latency (rx TSC - tx TSC, in ns) into a Histogram.
//
// A sliding bitmap remembers which of the last `window` sequence numbers (a
// power of two, default 65536; window / 8 bytes) arrived. A packet above the
// highest seen counts the sequence numbers it skipped as lost; one of those
// arriving later within the window turns from lost into reordered (never
// both); a second copy within the window is a duplicate; a packet older than
// the window (or from before reset) cannot be told apart and counts as stale.
// So at any time: unique packets = expected - lost, where expected is every
// sequence number from reset's first_seq up to the highest seen.
//
// One worker calls on_packet(); anyone may read counts() and latency() at any
// time. No allocation, lock or syscall per packet. reset() starts a new run.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <bypass/core/counter.hpp>
#include <bypass/gen/gen_header.hpp>
#include <bypass/gen/histogram.hpp>
#include <bypass/gen/pacer.hpp>

namespace bypass::gen {

// A snapshot; add() sums trackers (workers) of one stream.
struct RxCounts {
  uint64_t received = 0;    // every packet seen, duplicates and stale ones too
  uint64_t lost = 0;        // skipped and not (yet) arrived
  uint64_t duplicates = 0;  // a second copy within the window
  uint64_t reordered = 0;   // arrived after a higher sequence number
  uint64_t stale = 0;       // older than the window or than the run
  uint64_t bad_time = 0;    // rx timestamp before tx: not in the histogram
  uint64_t expected = 0;    // sequence numbers from first_seq to the highest seen

  void add(const RxCounts& o);
};

enum class SeqClass : uint8_t { kInOrder, kAfterGap, kReordered, kDuplicate, kStale };

class RxTracker {
 public:
  // 65536 sequence numbers (8 KiB of bits): 4.7 ms of one flow at 14 Mpps,
  // so a queue's backlog does not turn late frames into stale ones.
  static constexpr uint32_t kDefaultWindow = 65536;

  // window is rounded up to a power of two, at least 64. tsc_hz converts
  // timestamps to ns.
  explicit RxTracker(uint64_t tsc_hz, uint32_t window = kDefaultWindow,
                     const HistogramConfig& latency = {});

  // A new run whose first sequence number is first_seq: counts, window and
  // latency histogram cleared. Not while on_packet() runs.
  void reset(uint64_t first_seq = 0);

  // Sequence accounting alone.
  SeqClass on_seq(uint64_t seq) {
    received_.add();
    if (seq == next()) {  // the common case
      set_bit(seq);
      next_.store(seq + 1, std::memory_order_relaxed);
      return SeqClass::kInOrder;
    }
    return on_seq_slow(seq);
  }

  // Sequence accounting and latency (tx_tsc as carried, 48 bits, or full).
  // Duplicates and stale packets are not timed.
  SeqClass on_packet(uint64_t seq, uint64_t tx_tsc, uint64_t rx_tsc) {
    SeqClass c = on_seq(seq);
    if (c == SeqClass::kDuplicate || c == SeqClass::kStale) return c;
    uint64_t d = gen_tsc_delta(rx_tsc, tx_tsc);
    if (d >= kGenNegativeDelta) {
      bad_time_.add();
      return c;
    }
    latency_.record(ticks_to_ns(d));
    return c;
  }

  // A decoded GenHeader.
  SeqClass on_packet(const GenHeader& h, uint64_t rx_tsc) {
    return on_packet(h.seq, h.tx_tsc, rx_tsc);
  }

  uint64_t ticks_to_ns(uint64_t ticks) const {
    return static_cast<uint64_t>((Uint128{ticks} * ns_per_tick_q32_) >> 32);
  }

  RxCounts counts() const;
  const Histogram& latency() const { return latency_; }
  Histogram& latency() { return latency_; }
  // The sequence number that would be in order next.
  uint64_t next_expected() const { return next(); }
  uint32_t window() const { return window_; }

 private:
  SeqClass on_seq_slow(uint64_t seq);
  uint64_t next() const { return next_.load(std::memory_order_relaxed); }
  void set_bit(uint64_t seq) { bits_[(seq & mask_) >> 6] |= uint64_t{1} << (seq & 63); }
  bool test_bit(uint64_t seq) const { return bits_[(seq & mask_) >> 6] >> (seq & 63) & 1; }
  void clear_bits(uint64_t from, uint64_t n);

  uint32_t window_;
  uint64_t mask_;
  std::unique_ptr<uint64_t[]> bits_;
  uint64_t first_ = 0;             // of the run
  std::atomic<uint64_t> next_{0};  // highest seen + 1 (first_ before any); read by counts()
  uint64_t ns_per_tick_q32_;
  Counter received_, lost_, duplicates_, reordered_, stale_, bad_time_;
  Histogram latency_;
};

}  // namespace bypass::gen
