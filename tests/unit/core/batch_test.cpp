#include <bypass/core/batch.hpp>

#include <gtest/gtest.h>

#include "eal_env.hpp"
#include "packets.hpp"

namespace bypass {
namespace {

TEST(Batch, StartsEmptyAndFillsToCapacity) {
  Batch b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.room(), kMaxBurst);
  unsigned before = rte_mempool_in_use_count(test::test_pool());
  for (uint32_t i = 0; i < kMaxBurst; ++i) b.push(test::make_udp4(test::test_pool(), i));
  EXPECT_TRUE(b.full());
  EXPECT_EQ(b.size(), kMaxBurst);
  EXPECT_EQ(b.span().size(), kMaxBurst);
  EXPECT_EQ(test::seq_of(b[5]), 5u);
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before + kMaxBurst);
  b.free_all();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

TEST(Batch, DropFrontKeepsTheTailInOrder) {
  Batch b;
  for (uint32_t i = 0; i < 10; ++i) b.push(test::make_udp4(test::test_pool(), i));
  Batch sent;
  for (uint16_t i = 0; i < 4; ++i) sent.push(b[i]);
  b.drop_front(4);
  ASSERT_EQ(b.size(), 6);
  for (uint16_t i = 0; i < 6; ++i) EXPECT_EQ(test::seq_of(b[i]), i + 4u);
  sent.free_all();
  b.free_all();
}

TEST(Batch, SpanCoversOnlyTheFilledPart) {
  Batch b;
  rte_mbuf* m = test::make_udp4(test::test_pool(), 7);
  b.push(m);
  auto s = b.span();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], m);
  int n = 0;
  for (rte_mbuf* x : b) n += x == m;
  EXPECT_EQ(n, 1);
  b.free_all();
}

}  // namespace
}  // namespace bypass
