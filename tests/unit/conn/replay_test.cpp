// Replay protection: first packets accepted, duplicates refused, anything 256
// or more behind the newest refused, out-of-order within the window accepted
// once, sequences near 2^64 not refused by wrap-around, reset forgets.
#include <bypass/conn/replay.hpp>

#include <gtest/gtest.h>

namespace bypass::conn {
namespace {

// Checks then records, as the packet reader does for a packet that decrypted.
bool accept(ReplayProtection& r, uint64_t s) {
  if (r.already_received(s)) return false;
  r.advance(s);
  return true;
}

TEST(Replay, FreshWindowAcceptsZeroOnce) {
  ReplayProtection r;
  EXPECT_TRUE(accept(r, 0));
  EXPECT_FALSE(accept(r, 0));
  EXPECT_TRUE(accept(r, 1));
  EXPECT_FALSE(accept(r, 1));
}

TEST(Replay, InOrderStreamEachOnce) {
  ReplayProtection r;
  for (uint64_t s = 0; s < 2000; ++s) {
    ASSERT_TRUE(accept(r, s)) << s;
    ASSERT_FALSE(accept(r, s)) << s;
  }
  EXPECT_EQ(r.most_recent(), 1999u);
}

TEST(Replay, OutOfOrderWithinWindow) {
  ReplayProtection r;
  EXPECT_TRUE(accept(r, 1000));
  EXPECT_TRUE(accept(r, 745));   // 255 behind: inside
  EXPECT_FALSE(accept(r, 745));  // once
  EXPECT_FALSE(accept(r, 744));  // 256 behind: outside
  EXPECT_FALSE(accept(r, 3));
  EXPECT_TRUE(accept(r, 999));
  EXPECT_TRUE(accept(r, 1001));
  EXPECT_EQ(r.most_recent(), 1001u);
}

TEST(Replay, JumpAheadExpiresTheOldWindow) {
  ReplayProtection r;
  for (uint64_t s = 0; s < 10; ++s) ASSERT_TRUE(accept(r, s));
  EXPECT_TRUE(accept(r, 100000));
  for (uint64_t s = 0; s < 10; ++s) EXPECT_FALSE(accept(r, s)) << s;
  // The window's edge: 255 behind the newest is in, 256 behind is out.
  EXPECT_TRUE(accept(r, 100000 - 256 + 1));
  EXPECT_FALSE(accept(r, 100000 - 256));
}

TEST(Replay, NoWrapNearTheTopOfTheSequenceSpace) {
  ReplayProtection r;
  const uint64_t top = UINT64_MAX;
  EXPECT_TRUE(accept(r, top - 10));
  EXPECT_TRUE(accept(r, top - 5));
  EXPECT_TRUE(accept(r, top - 7));
  EXPECT_FALSE(accept(r, top - 7));
  EXPECT_TRUE(accept(r, top));
  EXPECT_FALSE(accept(r, top));
  EXPECT_FALSE(accept(r, top - 256));
  EXPECT_TRUE(accept(r, top - 255));
}

TEST(Replay, AdvanceNeverForgetsALaterSequence) {
  ReplayProtection r;
  r.advance(300);
  r.advance(44);  // same slot, older: must not evict 300
  EXPECT_TRUE(r.already_received(300));
  EXPECT_EQ(r.most_recent(), 300u);
}

TEST(Replay, ResetForgets) {
  ReplayProtection r;
  for (uint64_t s = 0; s < 300; ++s) ASSERT_TRUE(accept(r, s));
  r.reset();
  EXPECT_EQ(r.most_recent(), 0u);
  EXPECT_TRUE(accept(r, 0));
  EXPECT_TRUE(accept(r, 299));
}

}  // namespace
}  // namespace bypass::conn
