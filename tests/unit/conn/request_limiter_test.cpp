// RequestLimiter: a source gets its burst, then its rate; another source is
// not held back. In front of the netcode service: netcode_service_test.cpp.
#include <bypass/conn/request_limiter.hpp>

#include <gtest/gtest.h>

#include <bypass/conn/keys.hpp>

namespace bypass::conn {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(RequestLimiter, ABurstThenTheRatePerSource) {
  ASSERT_TRUE(crypto_init());
  RequestLimiter l(10, 5);  // 10 a second, bursts of 5
  const auto a = NetcodeAddress::v4(198, 18, 0, 1, 1000);
  const auto b = NetcodeAddress::v4(198, 18, 0, 2, 1000);
  const uint64_t t = 5'000 * kMs;
  int passed = 0;
  for (int i = 0; i < 20; ++i) passed += l.allow(a, t);
  EXPECT_EQ(passed, 5) << "the burst, all at once";
  EXPECT_TRUE(l.allow(b, t)) << "another source has its own bucket";
  EXPECT_FALSE(l.allow(a, t + 99 * kMs));
  EXPECT_TRUE(l.allow(a, t + 100 * kMs)) << "one more each 100 ms";
  EXPECT_FALSE(l.allow(a, t + 150 * kMs));
  passed = 0;
  for (int i = 0; i < 20; ++i) passed += l.allow(a, t + 10'000 * kMs);
  EXPECT_EQ(passed, 5) << "a quiet source gets its burst back, no more";
}

}  // namespace
}  // namespace bypass::conn
