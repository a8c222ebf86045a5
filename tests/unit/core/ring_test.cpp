#include <bypass/core/ring.hpp>

#include <gtest/gtest.h>

#include <vector>

#include "eal_env.hpp"
#include "packets.hpp"

namespace bypass {
namespace {

unsigned in_use() {
  return rte_mempool_in_use_count(test::test_pool());
}

TEST(Ring, CreateRejectsBadCapacityAndDuplicateNames) {
  auto bad = Ring<int>::create("ring_bad", 0);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("capacity 0 is out of range"), std::string::npos);
  auto a = Ring<int>::create("ring_dup", 64);
  ASSERT_TRUE(a) << a.error();
  auto b = Ring<int>::create("ring_dup", 64);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("already exists"), std::string::npos);
}

TEST(Ring, ExactCapacityAndBurstSemantics) {
  auto r = Ring<int, Producer::kSingle, Consumer::kSingle>::create("ring_burst", 10);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->capacity(), 10u);
  std::vector<int> vals(16);
  std::vector<int*> objs;
  for (auto& v : vals) objs.push_back(&v);
  // A burst takes what fits; the caller keeps the rest (and sees it in the result).
  EXPECT_EQ(r->enqueue_burst(objs), 10u);
  EXPECT_EQ(r->full_count(), 0u) << "a plain burst counts nothing on the hot path";
  EXPECT_EQ(r->count(), 10u);
  std::vector<int*> out(16);
  EXPECT_EQ(r->dequeue_burst(out), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(out[i], objs[i]) << "FIFO order";
  EXPECT_TRUE(r->empty());
}

TEST(Ring, BulkIsAllOrNothing) {
  auto r = Ring<int, Producer::kMulti, Consumer::kMulti>::create("ring_bulk", 8);
  ASSERT_TRUE(r);
  int v[12];
  std::vector<int*> objs;
  for (auto& x : v) objs.push_back(&x);
  EXPECT_TRUE(r->enqueue_bulk(std::span<int* const>(objs.data(), 6)));
  EXPECT_FALSE(r->enqueue_bulk(std::span<int* const>(objs.data() + 6, 6)));
  EXPECT_EQ(r->count(), 6u) << "a failed bulk enqueue adds nothing";
  EXPECT_EQ(r->full_count(), 6u);
  std::vector<int*> out(8);
  EXPECT_FALSE(r->dequeue_bulk(out)) << "8 asked, 6 present";
  EXPECT_TRUE(r->dequeue_bulk(std::span<int*>(out.data(), 6)));
}

TEST(MbufRing, SendOrDropFreesWhatDoesNotFitAndCountsIt) {
  unsigned before = in_use();
  {
    auto r = MbufRing<>::create("mring_full", 20);
    ASSERT_TRUE(r);
    Batch b;
    for (uint32_t i = 0; i < 32; ++i) b.push(test::make_udp4(test::test_pool(), i));
    EXPECT_EQ(r->send_or_drop(b), 20u);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(r->full_count(), 12u);
    EXPECT_EQ(in_use(), before + 20) << "12 refused packets were freed";
    Batch got;
    EXPECT_EQ(r->receive(got), 20u);
    EXPECT_EQ(test::seq_of(got[0]), 0u);
    EXPECT_EQ(test::seq_of(got[19]), 19u);
    got.free_all();
    // Leave some inside: the destructor returns them.
    for (uint32_t i = 0; i < 5; ++i) b.push(test::make_udp4(test::test_pool(), i));
    r->send_or_drop(b);
  }
  EXPECT_EQ(in_use(), before) << "packets left in a destroyed ring go back to the pool";
}

TEST(MbufRing, MoveKeepsOwnership) {
  unsigned before = in_use();
  {
    auto r = MbufRing<>::create("mring_move", 64);
    ASSERT_TRUE(r);
    Batch b;
    b.push(test::make_udp4(test::test_pool(), 1));
    r->send_or_drop(b);
    MbufRing<> moved = std::move(r.value());
    EXPECT_EQ(moved.count(), 1u);
    EXPECT_FALSE(r->valid());
  }
  EXPECT_EQ(in_use(), before);
}

}  // namespace
}  // namespace bypass
