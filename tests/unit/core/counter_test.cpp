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

#define TEST_DROPS(X) X(kFirst, "first") X(kSecond, "second")
BYPASS_DROP_TABLE(TestDrop, TEST_DROPS)

TEST(DropTable, NamesTheGraphReasonsThenTheModulesOwn) {
  constexpr DropTable t = TestDrop::table();
  EXPECT_EQ(t.size(), kFirstModuleDrop + 2);
  EXPECT_EQ(t.name(GraphDrop::kRingFull), "ring_full");
  EXPECT_EQ(t.name(GraphDrop::kNoRoute), "no_route");
  EXPECT_EQ(drop_index(TestDrop::kFirst), kFirstModuleDrop);
  EXPECT_EQ(t.name(TestDrop::kFirst), "first");
  EXPECT_EQ(t.name(TestDrop::kSecond), "second");
  EXPECT_TRUE(t.names(TestDrop::kSecond));
  EXPECT_FALSE(t.names(DropReason{TestDrop::kEnd}));
  EXPECT_EQ(t.name(DropReason{TestDrop::kEnd}), "reason_5") << "a code past the table";
  EXPECT_EQ(DropTable().name(TestDrop::kFirst), "reason_3") << "a module with no table";
}

TEST(ModuleTally, CountsByCodeAndTotals) {
  ModuleTally t;
  t.drop(TestDrop::kSecond, 4);
  t.drop(GraphDrop::kTxFull);
  EXPECT_EQ(t.drops[drop_index(TestDrop::kSecond)].get(), 4u);
  EXPECT_EQ(t.dropped(), 5u);
}

TEST(CounterTotals, SumWorkersWrittenConcurrently) {
  WorkerCounters w[2];
  constexpr int kN = 200000;
  std::thread t0([&] {
    for (int i = 0; i < kN; ++i) {
      w[0].rx_packets.add();
      w[0].dropped.add();
    }
  });
  std::thread t1([&] {
    for (int i = 0; i < kN; ++i) {
      w[1].rx_packets.add(2);
      w[1].dropped.add(3);
    }
  });
  t0.join();
  t1.join();
  CounterTotals t;
  t.add(w[0]);
  t.add(w[1]);
  EXPECT_EQ(t.rx_packets, 3u * kN);
  EXPECT_EQ(t.dropped(), 4u * kN);
}

}  // namespace
}  // namespace bypass
