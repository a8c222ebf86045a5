// RequestLimiter: a source gets its burst, then its rate; another source is
// not held back; all ports of a host (or an IPv6 /64) share the host bound.
// KeyedHash::words() is libsodium's SipHash-2-4 computed inline. In front
// of the netcode service: netcode_service_test.cpp.
#include <bypass/conn/request_limiter.hpp>

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>

#include <bypass/conn/keys.hpp>

namespace bypass::conn {
namespace {

constexpr uint64_t kOneMs = 1'000'000;
using Verdict = RequestLimiter::Verdict;

// How many of one request each from 198.18.0.`host`, ports [first, end), at `t`, are allowed.
int allowed_ports(RequestLimiter& l, uint8_t host, uint32_t first, uint32_t end, uint64_t t) {
  int n = 0;
  for (uint32_t port = first; port < end; ++port)
    n += l.allow(NetcodeAddress::v4(198, 18, 0, host, static_cast<uint16_t>(port)), t) ==
         Verdict::kAllowed;
  return n;
}

TEST(KeyedHash, WordsAreLibsodiumsShorthashOfTheirLittleEndianBytes) {
  ASSERT_TRUE(crypto_init());
  for (int key = 0; key < 4; ++key) {
    const KeyedHash h;  // a random key each
    for (int i = 0; i < 64; ++i) {
      uint64_t w[2];
      randombytes_buf(w, sizeof w);
      if (i == 0) w[0] = w[1] = 0;
      std::array<uint8_t, 16> bytes{};
      for (size_t j = 0; j < 8; ++j) {
        bytes[j] = static_cast<uint8_t>(w[0] >> (8 * j));
        bytes[8 + j] = static_cast<uint8_t>(w[1] >> (8 * j));
      }
      ASSERT_EQ(h.words(w[0], w[1]), h.bytes(bytes)) << "key " << key << ", input " << i;
    }
  }
}

TEST(RequestLimiter, ABurstThenTheRatePerAddress) {
  ASSERT_TRUE(crypto_init());
  RequestLimiter l({10, 5}, {1000, 2000});  // 10 a second, bursts of 5
  const auto a = NetcodeAddress::v4(198, 18, 0, 1, 1000);
  const auto b = NetcodeAddress::v4(198, 18, 0, 2, 1000);
  const uint64_t t = 5'000 * kOneMs;
  int passed = 0;
  for (int i = 0; i < 20; ++i) passed += l.allow(a, t) == Verdict::kAllowed;
  EXPECT_EQ(passed, 5) << "the burst, all at once";
  EXPECT_EQ(l.allow(a, t), Verdict::kAddressLimited);
  EXPECT_EQ(l.allow(b, t), Verdict::kAllowed) << "another source has its own bucket";
  EXPECT_EQ(l.allow(a, t + 99 * kOneMs), Verdict::kAddressLimited);
  EXPECT_EQ(l.allow(a, t + 100 * kOneMs), Verdict::kAllowed) << "one more each 100 ms";
  EXPECT_EQ(l.allow(a, t + 150 * kOneMs), Verdict::kAddressLimited);
  passed = 0;
  for (int i = 0; i < 20; ++i) passed += l.allow(a, t + 10'000 * kOneMs) == Verdict::kAllowed;
  EXPECT_EQ(passed, 5) << "a quiet source gets its burst back, no more";
}

TEST(RequestLimiter, PerHostAllPortsOfOneAddressOrIpv6Slash64ShareOneBound) {
  ASSERT_TRUE(crypto_init());
  RequestLimiter l({1000, 2000}, {10, 5});
  const uint64_t t = 5'000 * kOneMs;
  int passed = allowed_ports(l, 1, 1000, 1020, t);
  EXPECT_EQ(passed, 5) << "20 ports of one host: one burst between them";
  EXPECT_EQ(l.allow(NetcodeAddress::v4(198, 18, 0, 1, 999), t), Verdict::kHostLimited);
  EXPECT_EQ(l.allow(NetcodeAddress::v4(198, 18, 0, 2, 1000), t), Verdict::kAllowed)
      << "another host";
  NetcodeAddress v6;
  v6.type = AddressType::kIpv6;
  v6.ipv6 = {0x2001, 0xdb8, 0, 9, 0, 0, 0, 1};
  passed = 0;
  for (uint16_t k = 0; k < 20; ++k) {
    v6.ipv6[7] = k;  // other addresses in the same /64
    v6.port = static_cast<uint16_t>(2000 + k);
    passed += l.allow(v6, t) == Verdict::kAllowed;
  }
  EXPECT_EQ(passed, 5) << "one IPv6 /64 is one host";
  v6.ipv6[3] = 10;  // another /64
  EXPECT_EQ(l.allow(v6, t), Verdict::kAllowed);
}

TEST(RequestLimiter, EachPortAndEachIpv6AddressIsItsOwnAddressBucket) {
  ASSERT_TRUE(crypto_init());
  RequestLimiter l({10, 1}, {1000, 2000});  // one request per address at once
  const uint64_t t = 5'000 * kOneMs;
  int passed = allowed_ports(l, 1, 1000, 1100, t);
  // 100 sources in 65,536 buckets share one 0.08 times on average (random
  // keys); 5 shared is a one-in-a-billion draw, or a mixing that clusters
  // neighbouring ports (the multiply-fold hash this replaced did for about
  // one key in 200).
  EXPECT_GE(passed, 95) << "a shared bucket is possible, not likely";
  NetcodeAddress v6;
  v6.type = AddressType::kIpv6;
  v6.ipv6 = {0x2001, 0xdb8, 0, 9, 0, 0, 0, 1};
  v6.port = 3000;
  passed = 0;
  for (uint16_t k = 0; k < 100; ++k) {
    v6.ipv6[7] = k;  // the same /64 and port, other addresses
    passed += l.allow(v6, t) == Verdict::kAllowed;
  }
  EXPECT_GE(passed, 95);
}

TEST(RequestLimiter, ARequestRefusedForItsAddressDoesNotUseUpItsHost) {
  ASSERT_TRUE(crypto_init());
  RequestLimiter l({10, 2}, {10, 4});
  const uint64_t t = 5'000 * kOneMs;
  const auto flooder = NetcodeAddress::v4(198, 18, 0, 1, 1000);
  for (int i = 0; i < 100; ++i) l.allow(flooder, t);
  EXPECT_EQ(allowed_ports(l, 1, 2000, 2010, t), 2)
      << "the host's burst of 4, less the flooder's 2 that passed";
}

// A host that cycles through its ports past its host bound does not go on
// charging the address buckets those ports land on: the requests its host
// bound refuses use up nothing, and the addresses of other hosts still get
// through. (Charged, 20,000 ports would have left nearly every one of the
// 4,096 address buckets empty for a while, and the other hosts refused.)
TEST(RequestLimiter, ARequestRefusedForItsHostDoesNotUseUpAnAddressBucket) {
  ASSERT_TRUE(crypto_init());
  RequestLimiter l({10, 1}, {10, 2}, 4096);
  const uint64_t t = 5'000 * kOneMs;
  EXPECT_EQ(allowed_ports(l, 1, 1, 20001, t), 2) << "the host's burst";
  int passed = 0;
  for (uint8_t host = 1; host <= 50; ++host)
    passed += l.allow(NetcodeAddress::v4(198, 19, 0, host, 5000), t) == Verdict::kAllowed;
  EXPECT_GE(passed, 45) << "other hosts, each its own address, get through";
}

}  // namespace
}  // namespace bypass::conn
