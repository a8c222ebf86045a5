// StopSignals: a signal is taken through its descriptor, and the first one
// taken is remembered, so a program knows afterwards that the user has
// already asked it to stop (bypass-gen skips its --hold then).
#include <gtest/gtest.h>

#include <csignal>

#include <bypass/core/signals.hpp>

namespace bypass {
namespace {

using std::chrono::milliseconds;

TEST(StopSignals, RemembersTheFirstSignalTaken) {
  StopSignals s;
  EXPECT_EQ(s.taken(), 0);
  EXPECT_EQ(s.wait(milliseconds(0)), 0);
  EXPECT_EQ(s.taken(), 0);
  ASSERT_EQ(raise(SIGTERM), 0);  // blocked: pending until taken
  EXPECT_EQ(s.wait(milliseconds(1000)), SIGTERM);
  EXPECT_EQ(s.taken(), SIGTERM);
  ASSERT_EQ(raise(SIGHUP), 0);
  EXPECT_EQ(s.wait(milliseconds(1000)), SIGHUP);
  EXPECT_EQ(s.taken(), SIGTERM);
  EXPECT_EQ(s.wait(milliseconds(0)), 0);
  EXPECT_EQ(s.taken(), SIGTERM);
}

TEST(StopSignals, ARequestCountsAsTaken) {
  StopSignals s(StopSignals::Handling::kManual);
  s.request_stop();
  EXPECT_EQ(s.taken(), 0);  // not yet waited for
  EXPECT_EQ(s.wait(milliseconds(0)), StopSignals::kRequested);
  EXPECT_EQ(s.taken(), StopSignals::kRequested);
}

}  // namespace
}  // namespace bypass
