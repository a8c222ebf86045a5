#include <bypass/gen/rx_tracker.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

namespace bypass::gen {
namespace {

constexpr uint64_t kHz = 2'500'000'000ull;

std::vector<SeqClass> feed(RxTracker& t, std::initializer_list<uint64_t> seqs) {
  std::vector<SeqClass> out;
  for (uint64_t s : seqs) out.push_back(t.on_seq(s));
  return out;
}

// unique = expected - lost, and every packet is unique, a duplicate or stale.
void expect_consistent(const RxCounts& c) {
  uint64_t unique = c.expected - c.lost;
  EXPECT_EQ(c.received, unique + c.duplicates + c.stale);
}

TEST(RxTracker, InOrder) {
  RxTracker t(kHz);
  for (uint64_t s = 0; s < 10000; ++s) ASSERT_EQ(t.on_seq(s), SeqClass::kInOrder);
  RxCounts c = t.counts();
  EXPECT_EQ(c.received, 10000u);
  EXPECT_EQ(c.expected, 10000u);
  EXPECT_EQ(c.lost + c.duplicates + c.reordered + c.stale, 0u);
  EXPECT_EQ(t.next_expected(), 10000u);
}

TEST(RxTracker, SingleAndBurstLoss) {
  RxTracker t(kHz);
  auto cls = feed(t, {0, 1, 2, 3, 4, 6, 7});
  EXPECT_EQ(cls[5], SeqClass::kAfterGap);
  EXPECT_EQ(t.counts().lost, 1u);
  for (uint64_t s = 8; s < 100; ++s) t.on_seq(s);
  for (uint64_t s = 200; s < 300; ++s) t.on_seq(s);  // 100..199 lost
  RxCounts c = t.counts();
  EXPECT_EQ(c.lost, 101u);
  EXPECT_EQ(c.expected, 300u);
  EXPECT_EQ(c.reordered, 0u);
  expect_consistent(c);
}

TEST(RxTracker, Duplicates) {
  RxTracker t(kHz);
  auto cls = feed(t, {0, 1, 2, 2, 3, 1, 3});
  EXPECT_EQ(cls[3], SeqClass::kDuplicate);
  EXPECT_EQ(cls[5], SeqClass::kDuplicate);
  RxCounts c = t.counts();
  EXPECT_EQ(c.duplicates, 3u);
  EXPECT_EQ(c.lost, 0u);
  EXPECT_EQ(c.received, 7u);
  expect_consistent(c);
}

TEST(RxTracker, ReorderWithinTheWindow) {
  RxTracker t(kHz);
  auto cls = feed(t, {0, 1, 3, 2, 4});
  EXPECT_EQ(cls[2], SeqClass::kAfterGap);
  EXPECT_EQ(cls[3], SeqClass::kReordered);
  RxCounts c = t.counts();
  EXPECT_EQ(c.lost, 0u);
  EXPECT_EQ(c.reordered, 1u);
  expect_consistent(c);
}

TEST(RxTracker, LateAfterLossIsReorderedNotBoth) {
  RxTracker t(kHz);
  feed(t, {0, 1, 10});
  EXPECT_EQ(t.counts().lost, 8u);
  EXPECT_EQ(t.on_seq(5), SeqClass::kReordered);
  EXPECT_EQ(t.counts().lost, 7u);
  EXPECT_EQ(t.on_seq(5), SeqClass::kDuplicate);  // a second copy
  RxCounts c = t.counts();
  EXPECT_EQ(c.lost, 7u);
  EXPECT_EQ(c.reordered, 1u);
  EXPECT_EQ(c.duplicates, 1u);
  for (uint64_t s : {2, 3, 4, 6, 7, 8, 9}) EXPECT_EQ(t.on_seq(s), SeqClass::kReordered);
  EXPECT_EQ(t.counts().lost, 0u);
  expect_consistent(t.counts());
}

TEST(RxTracker, FarFutureJumpClearsTheWindow) {
  RxTracker t(kHz, 4096);
  for (uint64_t s = 0; s < 5000; ++s) t.on_seq(s);
  const uint64_t far = 1'000'000'000;
  EXPECT_EQ(t.on_seq(far), SeqClass::kAfterGap);
  EXPECT_EQ(t.counts().lost, far - 5000);
  // Just below the jump: within the window, never seen: late, not duplicate.
  EXPECT_EQ(t.on_seq(far - 5), SeqClass::kReordered);
  EXPECT_EQ(t.on_seq(far - 5), SeqClass::kDuplicate);
  EXPECT_EQ(t.on_seq(far - 4095), SeqClass::kReordered);  // the window's oldest
  EXPECT_EQ(t.on_seq(far - 4096), SeqClass::kStale);      // just outside
  EXPECT_EQ(t.on_seq(4999), SeqClass::kStale);            // from before the jump
  RxCounts c = t.counts();
  EXPECT_EQ(c.lost, far - 5000 - 2);
  EXPECT_EQ(c.stale, 2u);
  expect_consistent(c);
}

TEST(RxTracker, OldPacketsOutsideTheWindowAreStale) {
  RxTracker t(kHz, 50);
  EXPECT_EQ(t.window(), 64u);  // a power of two, at least 64
  for (uint64_t s = 0; s < 200; ++s) t.on_seq(s);
  EXPECT_EQ(t.on_seq(150), SeqClass::kDuplicate);  // 50 back: in the window
  EXPECT_EQ(t.on_seq(136), SeqClass::kDuplicate);  // 64 back: the oldest
  EXPECT_EQ(t.on_seq(135), SeqClass::kStale);
  EXPECT_EQ(t.on_seq(3), SeqClass::kStale);
  EXPECT_EQ(RxTracker(kHz, 5000).window(), 8192u);
  expect_consistent(t.counts());
}

TEST(RxTracker, GapsLongerThanTheWindowAndPartialWords) {
  RxTracker t(kHz, 128);
  // Gaps that start and end inside 64-bit words, and span the whole window.
  uint64_t s = 0;
  for (uint64_t gap : {3, 61, 64, 65, 127, 128, 129, 1000, 5}) {
    t.on_seq(s);
    s += gap + 1;
  }
  t.on_seq(s);
  RxCounts c = t.counts();
  EXPECT_EQ(c.lost, 3u + 61 + 64 + 65 + 127 + 128 + 129 + 1000 + 5);
  // The 5 just before s are lost and late: each turns into reordered once.
  for (uint64_t k = 1; k <= 5; ++k) EXPECT_EQ(t.on_seq(s - k), SeqClass::kReordered);
  EXPECT_EQ(t.on_seq(s - 6), SeqClass::kDuplicate);  // received before the last gap
  expect_consistent(t.counts());
}

TEST(RxTracker, ResetStartsANewRun) {
  RxTracker t(kHz);
  for (uint64_t s = 0; s < 100; s += 2) t.on_packet(s, 0, 2500);
  EXPECT_GT(t.counts().lost, 0u);
  t.reset();
  EXPECT_EQ(t.counts().received, 0u);
  EXPECT_EQ(t.counts().lost, 0u);
  EXPECT_EQ(t.latency().count(), 0u);
  EXPECT_EQ(t.on_seq(0), SeqClass::kInOrder);
  EXPECT_EQ(t.on_seq(1), SeqClass::kInOrder);  // the old bits are gone
  t.reset(1000);
  EXPECT_EQ(t.on_seq(999), SeqClass::kStale);  // from the old run
  EXPECT_EQ(t.on_seq(1000), SeqClass::kInOrder);
  RxCounts c = t.counts();
  EXPECT_EQ(c.expected, 1u);
  EXPECT_EQ(c.stale, 1u);
  expect_consistent(c);
}

TEST(RxTracker, LatencyInNanoseconds) {
  RxTracker t(kHz);
  t.on_packet(0, 1000, 1000 + 2500);                     // 2500 ticks at 2.5 GHz
  t.on_packet(1, (1ull << 48) - 10, (1ull << 48) + 15);  // across the 48-bit wrap: 10 ns
  GenHeader h;
  h.seq = 2;
  h.tx_tsc = 5000;
  t.on_packet(h, 5000 + 25'000);  // 10 us
  t.on_packet(2, 0, 1'000'000);   // a duplicate: not timed
  t.on_packet(3, 500, 100);       // rx before tx
  RxCounts c = t.counts();
  EXPECT_EQ(c.bad_time, 1u);
  EXPECT_EQ(c.duplicates, 1u);
  const Histogram& l = t.latency();
  EXPECT_EQ(l.count(), 3u);
  EXPECT_EQ(l.min(), 10u);
  EXPECT_EQ(l.max(), 10'000u);
  EXPECT_EQ(l.percentile(50), 1000u);
  RxTracker at31(3'100'000'000ull);
  EXPECT_NEAR(static_cast<double>(at31.ticks_to_ns(3'100'000'000ull)), 1e9, 1);
  EXPECT_EQ(at31.ticks_to_ns(0), 0u);
}

// A brute-force oracle over a random mix of loss, duplicates and bounded
// reordering: with displacement below the window, the tracker is exact.
TEST(RxTracker, MatchesABruteForceOracle) {
  uint64_t x = 12345;
  auto rnd = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int round = 0; round < 20; ++round) {
    std::vector<uint64_t> sent;
    for (uint64_t s = 0; s < 20000; ++s) {
      if (rnd() % 100 < 3) continue;  // lost for good
      sent.push_back(s);
      if (rnd() % 200 == 0) sent.push_back(s);  // duplicated
    }
    for (size_t i = 0; i + 1 < sent.size(); ++i)  // local swaps: displacement < window
      if (rnd() % 20 == 0) std::swap(sent[i], sent[std::min(sent.size() - 1, i + rnd() % 500)]);
    RxTracker t(kHz, 4096);
    std::set<uint64_t> seen;
    uint64_t dup = 0, reo = 0, highest = 0;
    bool any = false;
    for (uint64_t s : sent) {
      t.on_seq(s);
      if (!seen.insert(s).second)
        ++dup;
      else if (any && s < highest)
        ++reo;
      if (!any || s > highest) highest = s;
      any = true;
    }
    RxCounts c = t.counts();
    ASSERT_EQ(c.stale, 0u);
    EXPECT_EQ(c.received, sent.size());
    EXPECT_EQ(c.expected, highest + 1);
    EXPECT_EQ(c.lost, highest + 1 - seen.size());
    EXPECT_EQ(c.duplicates, dup);
    EXPECT_EQ(c.reordered, reo);
    expect_consistent(c);
  }
}

TEST(RxCounts, AddSums) {
  RxCounts a{1, 2, 3, 4, 5, 6, 7}, b{10, 20, 30, 40, 50, 60, 70};
  a.add(b);
  EXPECT_EQ(a.received, 11u);
  EXPECT_EQ(a.expected, 77u);
  EXPECT_EQ(a.bad_time, 66u);
}

}  // namespace
}  // namespace bypass::gen
