#include <bypass/core/counter.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace bypass {
namespace {

TEST(Counter, AddsAndResets) {
  Counter c;
  c.add();
  c.add(41);
  EXPECT_EQ(c.get(), 42u);
  c.reset();
  EXPECT_EQ(c.get(), 0u);
}

TEST(WorkerCounters, AreCacheLineAlignedSoWorkersNeverShareALine) {
  EXPECT_EQ(alignof(WorkerCounters), RTE_CACHE_LINE_SIZE);
  EXPECT_EQ(sizeof(WorkerCounters) % RTE_CACHE_LINE_SIZE, 0u);
  WorkerCounters two[2];
  auto a = reinterpret_cast<uintptr_t>(&two[0]);
  auto b = reinterpret_cast<uintptr_t>(&two[1]);
  EXPECT_GE(b - a, RTE_CACHE_LINE_SIZE);
}

TEST(DropReasons, HaveDistinctNames) {
  for (size_t i = 0; i < kDropReasonCount; ++i)
    for (size_t j = i + 1; j < kDropReasonCount; ++j)
      EXPECT_NE(drop_reason_name(static_cast<DropReason>(i)),
                drop_reason_name(static_cast<DropReason>(j)));
  EXPECT_EQ(drop_reason_name(DropReason::kRingFull), "ring_full");
}

TEST(CounterTotals, SumWorkersWrittenConcurrently) {
  WorkerCounters w[2];
  constexpr int kN = 200000;
  std::thread t0([&] {
    for (int i = 0; i < kN; ++i) {
      w[0].rx_packets.add();
      w[0].drop(DropReason::kTxFull);
    }
  });
  std::thread t1([&] {
    for (int i = 0; i < kN; ++i) {
      w[1].rx_packets.add(2);
      w[1].drop(DropReason::kRingFull, 3);
    }
  });
  t0.join();
  t1.join();
  CounterTotals t;
  t.add(w[0]);
  t.add(w[1]);
  EXPECT_EQ(t.rx_packets, 3u * kN);
  EXPECT_EQ(t.drops[static_cast<size_t>(DropReason::kTxFull)], uint64_t(kN));
  EXPECT_EQ(t.drops[static_cast<size_t>(DropReason::kRingFull)], 3u * kN);
  EXPECT_EQ(t.dropped(), 4u * kN);
}

}  // namespace
}  // namespace bypass
