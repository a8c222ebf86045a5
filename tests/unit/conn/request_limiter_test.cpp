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

TEST(RequestLimiter, PerHostAllPortsOfOneAddressOrIpv6Slash64ShareOneBucket) {
  ASSERT_TRUE(crypto_init());
  RequestLimiter l(10, 5, 4096, RequestLimiter::Keying::kHost);
  const uint64_t t = 5'000 * kMs;
  int passed = 0;
  for (uint16_t port = 1000; port < 1020; ++port)
    passed += l.allow(NetcodeAddress::v4(198, 18, 0, 1, port), t);
  EXPECT_EQ(passed, 5) << "20 ports of one host: one burst between them";
  EXPECT_TRUE(l.allow(NetcodeAddress::v4(198, 18, 0, 2, 1000), t)) << "another host";
  NetcodeAddress v6;
  v6.type = AddressType::kIpv6;
  v6.ipv6 = {0x2001, 0xdb8, 0, 9, 0, 0, 0, 1};
  passed = 0;
  for (uint16_t k = 0; k < 20; ++k) {
    v6.ipv6[7] = k;  // other addresses in the same /64
    v6.port = static_cast<uint16_t>(2000 + k);
    passed += l.allow(v6, t);
  }
  EXPECT_EQ(passed, 5) << "one IPv6 /64 is one host";
  v6.ipv6[3] = 10;  // another /64
  EXPECT_TRUE(l.allow(v6, t));
  // Keyed per address (the default), each port is its own source.
  RequestLimiter a(10, 5);
  passed = 0;
  for (uint16_t port = 1000; port < 1020; ++port)
    passed += a.allow(NetcodeAddress::v4(198, 18, 0, 1, port), t);
  EXPECT_GE(passed, 19);  // a shared bucket is possible, not likely
}

}  // namespace
}  // namespace bypass::conn
