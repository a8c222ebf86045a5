// RequestLimiter alone, and in front of the netcode service: a source gets
// its burst, then its rate; another source is not held back; the refused
// requests are counted and never reach the server.
#include <bypass/conn/request_limiter.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_service.hpp>

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

struct NoStatic final : HandlerContext {
  Expected<const StaticBlob*> make_static(std::span<const uint8_t>) override {
    return Status::error("none");
  }
  uint32_t max_payload() const override { return 1472; }
};

TEST(NetcodeService, RequestsBeyondTheRateAreRefusedBeforeTheServerSeesThem) {
  ASSERT_TRUE(crypto_init());
  NetcodeServiceConfig c;
  c.protocol_id = 1;
  c.private_key = random_key();
  SockAddr us{*IpAddr::parse("198.18.0.2"), 40000};
  c.public_addresses = {us};
  c.requests_per_second = 10;
  c.request_burst = 3;
  NetcodeService svc(c);
  NoStatic ctx;
  ASSERT_TRUE(svc.start(ctx));
  auto out = std::make_unique<Outbox>();
  out->now_ns = 7'000 * kMs;
  out->unix_ns = 1'800'000'000ull * 1'000'000'000ull;
  // 50 connection requests (prefix byte 0, 1078 bytes of garbage) from one
  // source in one batch, and one from another source.
  std::vector<std::vector<uint8_t>> bytes(51, std::vector<uint8_t>(1078, 0));
  std::vector<Datagram> batch(51);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].src = {*IpAddr::parse(i < 50 ? "198.18.0.1" : "198.18.0.9"), 5000};
    batch[i].dst = us;
    batch[i].data = bytes[i].data();
    batch[i].len = 1078;
    batch[i].room = 1078;
  }
  svc.on_datagrams(batch, *out);
  std::vector<std::pair<std::string, uint64_t>> counters;
  svc.counters(counters);
  auto value = [&](const std::string& name) {
    for (const auto& [k, v] : counters)
      if (k == name) return v;
    return uint64_t{0};
  };
  EXPECT_EQ(value("netcode.drop.request_rate_limited"), 47u) << "50 - a burst of 3";
  uint64_t seen = 0;
  for (size_t i = 0; i < kServerDropCount; ++i) seen += svc.server()->drops()[i];
  EXPECT_EQ(seen, 4u) << "3 from the first source and 1 from the second reached the server";
  EXPECT_EQ(out->peer_size(), 0u) << "nothing goes back to a stranger";
}

}  // namespace
}  // namespace bypass::conn
