// Replay protection: first packets accepted, duplicates refused, anything 256
// or more behind the newest refused, out-of-order within the window accepted
// once, sequences near 2^64 not refused by wrap-around, reset forgets.
#include <bypass/conn/replay.hpp>

#include <gtest/gtest.h>

#include <random>
#include <set>

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

// Against the rule itself, kept in a set: refused when 256 or more behind the
// newest received, or received before. Random walks of small steps, jumps
// back inside and outside the window, and jumps ahead of every size.
TEST(Replay, AgreesWithTheRuleOnRandomStreams) {
  std::mt19937_64 rng(7);
  for (int run = 0; run < 200; ++run) {
    ReplayProtection r;
    std::set<uint64_t> seen;
    uint64_t newest = 0, s = run % 2 ? UINT64_MAX - 5000 : 0;
    for (int i = 0; i < 2000; ++i) {
      const uint64_t kind = rng() % 6;
      if (kind == 0) {
        s = newest - std::min<uint64_t>(newest, rng() % 300);  // back, near the edge
      } else if (kind == 1) {
        s = newest + rng() % 70;  // ahead, within a word
      } else if (kind == 2) {
        s = newest + rng() % 600;  // ahead, maybe past it all
      } else {
        s = s + 1 - rng() % 3;  // roughly in order
      }
      if (s > UINT64_MAX - 10) s = UINT64_MAX - 10 - rng() % 100;
      const bool refuse = (!seen.empty() && newest >= 256 && s <= newest - 256) || seen.count(s);
      ASSERT_EQ(r.already_received(s), refuse) << "run " << run << " step " << i << " seq " << s;
      if (!refuse) {
        r.advance(s);
        seen.insert(s);
        newest = std::max(newest, s);
      }
    }
  }
}

}  // namespace
}  // namespace bypass::conn
