// The netcode service (conn/netcode_service.hpp) around the server: requests
// beyond a source's rate, or its host's, are refused before the server sees
// them; a
// connection request the server holds back by one packet
// (NetcodeServer::receive_in_batch) is answered the way it came, to its
// source from the address it was sent to, even when the packet that has it
// acted on comes from the same source to another of our addresses.
#include <bypass/conn/netcode_service.hpp>

#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <bypass/conn/client.hpp>
#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>

namespace bypass::conn {
namespace {

struct NoStatic final : HandlerContext {
  Expected<const StaticBlob*> make_static(std::span<const uint8_t>) override {
    return Status::error("none");
  }
  uint32_t max_payload() const override { return 1472; }
};

struct Sent final : PacketSink {
  void send(const NetcodeAddress&, std::span<const uint8_t> p) override {
    packets.emplace_back(p.begin(), p.end());
  }
  std::vector<std::vector<uint8_t>> packets;
};

constexpr uint64_t kMs = 1'000'000;

// A service's config: protocol 1, a random key, answering as `addresses`.
NetcodeServiceConfig config_for(std::vector<SockAddr> addresses) {
  NetcodeServiceConfig c;
  c.protocol_id = 1;
  c.private_key = random_key();
  c.public_addresses = std::move(addresses);
  return c;
}

// A connect token for client `id` of the service `c`, naming `server`, made
// at `create` (unix seconds) and expiring at `expire`, with random keys.
std::array<uint8_t, kConnectTokenBytes> token_for(const NetcodeServiceConfig& c,
                                                  const SockAddr& server, uint64_t id,
                                                  uint64_t create, uint64_t expire,
                                                  int32_t timeout_seconds = 0) {
  PrivateConnectToken priv;
  priv.client_id = id;
  priv.timeout_seconds = timeout_seconds;
  priv.num_server_addresses = 1;
  priv.server_addresses[0] = to_netcode(server);
  priv.client_to_server_key = random_key();
  priv.server_to_client_key = random_key();
  std::array<uint8_t, kConnectTokenBytes> token{};
  EXPECT_TRUE(generate_connect_token(priv, {}, c.protocol_id, create, expire,
                                     random_connect_token_nonce(), c.private_key, token));
  return token;
}

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

  // One host cycling through its ports: each port is within its own rate,
  // the host is not (2 a second here, bursts of 4).
  c.host_requests_per_second = 2;
  NetcodeService hosts(c);
  ASSERT_TRUE(hosts.start(ctx));
  for (size_t i = 0; i < batch.size(); ++i)
    batch[i].src = {*IpAddr::parse("198.18.0.1"), static_cast<uint16_t>(5000 + i)};
  out->clear();
  hosts.on_datagrams(batch, *out);
  counters.clear();
  hosts.counters(counters);
  EXPECT_EQ(value("netcode.drop.request_rate_limited"), 0u);
  EXPECT_EQ(value("netcode.drop.request_host_rate_limited"), 47u) << "51 - a burst of 4";
}

TEST(NetcodeService, AHeldRequestIsAnsweredTheWayItCame) {
  ASSERT_TRUE(crypto_init());
  const SockAddr first{*IpAddr::parse("198.18.0.2"), 40000};
  const SockAddr second{*IpAddr::parse("198.18.0.3"), 40000};
  const SockAddr client{*IpAddr::parse("198.18.0.1"), 5000};
  NetcodeServiceConfig c = config_for({first, second});
  NetcodeService svc(c);
  NoStatic ctx;
  ASSERT_TRUE(svc.start(ctx));

  // A real client's request, to the first address.
  const auto now_unix = static_cast<uint64_t>(std::time(nullptr));
  const auto token = token_for(c, first, 42, now_unix, now_unix + 60);
  Sent sent;
  NetcodeClient nc(&sent);
  nc.connect(token, {now_unix, 1'000'000'000});
  nc.update({now_unix, 1'000'000'000});
  ASSERT_FALSE(sent.packets.empty());
  std::vector<uint8_t> request = sent.packets.front();
  ASSERT_EQ(request.size(), kConnectionRequestBytes);

  // The batch: the request, then a packet of another kind from the same
  // source to the second address (it has the held request acted on).
  std::vector<uint8_t> other(40, 0x14);
  std::vector<Datagram> batch(2);
  batch[0].src = client;
  batch[0].dst = first;
  batch[0].data = request.data();
  batch[0].len = batch[0].room = static_cast<uint32_t>(request.size());
  batch[1].src = client;
  batch[1].dst = second;
  batch[1].data = other.data();
  batch[1].len = batch[1].room = static_cast<uint32_t>(other.size());
  auto out = std::make_unique<Outbox>();
  out->now_ns = 1'000'000'000;
  out->unix_ns = now_unix * 1'000'000'000ull;
  svc.on_datagrams(batch, *out);

  ASSERT_EQ(out->peer_size(), 1u) << "the challenge";
  EXPECT_EQ(out->peer_payload(0)[0] & 0x0F, 2) << "a challenge packet";
  EXPECT_TRUE(out->peer_item(0).to.remote == client);
  EXPECT_TRUE(out->peer_item(0).to.local == first) << "from the address the request came to";
  EXPECT_FALSE(svc.server()->holding());
}

// A connected client's path back (the MAC it came from, the port) is its
// latest authenticated packet's: after a router's failover its keep-alives
// and messages went to the old router for good. A packet that does not
// open moves nothing.
TEST(NetcodeService, AClientsPathBackIsItsLatestAuthenticatedPackets) {
  ASSERT_TRUE(crypto_init());
  const SockAddr us{*IpAddr::parse("198.18.0.2"), 40000};
  const SockAddr client{*IpAddr::parse("198.18.0.1"), 5000};
  NetcodeServiceConfig c = config_for({us});
  NetcodeService svc(c);
  NoStatic ctx;
  ASSERT_TRUE(svc.start(ctx));
  const auto unix_now = static_cast<uint64_t>(std::time(nullptr));
  const auto token = token_for(c, us, 9, unix_now, unix_now + 60, /*timeout_seconds=*/5);
  // Link headers as they arrive: to our MAC, from router 1 (..:aa) or 2 (..:bb).
  const uint8_t r1[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0xaa, 0x08, 0x00};
  const uint8_t r2[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0xbb, 0x08, 0x00};
  const uint8_t r3[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0xcc, 0x08, 0x00};
  auto out = std::make_unique<Outbox>();
  auto feed = [&](std::vector<uint8_t> pkt, const uint8_t* link, uint8_t port, uint64_t ms) {
    Datagram d;
    d.src = client;
    d.dst = us;
    d.data = pkt.data();
    d.len = d.room = static_cast<uint32_t>(pkt.size());
    d.link = link;
    d.link_len = 14;
    d.port = port;
    out->clear();
    out->now_ns = ms * kMs;
    out->unix_ns = unix_now * 1'000'000'000ull;
    svc.on_datagrams({&d, 1}, *out);
  };
  auto to_client = [&](NetcodeClient& nc, uint64_t ms) {
    for (size_t i = 0; i < out->peer_size(); ++i) {
      std::vector<uint8_t> p(out->peer_payload(i), out->peer_payload(i) + out->peer_item(i).len);
      nc.receive(to_netcode(us), p, {unix_now, ms * kMs});
    }
  };
  Sent sent;
  NetcodeClient nc(&sent);
  nc.connect(token, {unix_now, 1000 * kMs});
  nc.update({unix_now, 1000 * kMs});
  ASSERT_FALSE(sent.packets.empty());
  feed(sent.packets.front(), r1, 0, 1000);  // the request; the challenge back
  to_client(nc, 1001);
  sent.packets.clear();
  nc.update({unix_now, 1101 * kMs});
  ASSERT_FALSE(sent.packets.empty());
  feed(sent.packets.front(), r1, 0, 1101);  // the response; a keep-alive back
  ASSERT_EQ(svc.server()->num_connected(), 1u);
  to_client(nc, 1102);
  ASSERT_TRUE(nc.connected()) << out->peer_size();
  // A keep-alive of the client's by router 2, on port 1; then a forged one
  // by router 3 that does not open.
  sent.packets.clear();
  nc.update({unix_now, 1300 * kMs});
  ASSERT_FALSE(sent.packets.empty());
  feed(sent.packets.back(), r2, 1, 1300);
  std::vector<uint8_t> forged = sent.packets.back();
  forged.back() ^= 1;
  feed(forged, r3, 2, 1301);
  out->clear();
  out->now_ns = 1500 * kMs;
  out->unix_ns = unix_now * 1'000'000'000ull;
  svc.on_tick(*out);
  ASSERT_GE(out->peer_size(), 1u) << "a keep-alive to the client";
  EXPECT_EQ(out->peer_item(0).to.port, 1);
  EXPECT_EQ(out->peer_item(0).to.link[5], 0xbb) << "to router 2";
}

// A handler context of a live reload: the handlers it starts replace running ones.
struct Replacing final : HandlerContext {
  Expected<const StaticBlob*> make_static(std::span<const uint8_t>) override {
    return Status::error("none");
  }
  uint32_t max_payload() const override { return 1472; }
  bool replacing() const override { return true; }
};

// The restart rule's start: at a program's start, start() itself (the
// program says it serves right after), so a token minted a second later is
// served even when the first packet comes later still; at a reload, the
// first packet (the old service served until then).
TEST(NetcodeService, TheRestartRuleCountsFromStartUnlessItReplacesARunningService) {
  ASSERT_TRUE(crypto_init());
  const SockAddr us{*IpAddr::parse("198.18.0.2"), 40000};
  const SockAddr client{*IpAddr::parse("198.18.0.1"), 5000};
  NetcodeServiceConfig c = config_for({us});
  c.token_lifetime_seconds = 30;
  auto first_packet_answered = [&](HandlerContext& ctx) {
    NetcodeService svc(c);
    EXPECT_TRUE(svc.start(ctx));
    // Minted a second after start() read the wall clock (whole seconds), for
    // the lifetime the service assumes; its first packet comes 5 s later.
    const auto minted = static_cast<uint64_t>(std::time(nullptr)) + 1;
    const auto token = token_for(c, us, 7, minted, minted + 30);
    Sent sent;
    NetcodeClient nc(&sent);
    nc.connect(token, {minted + 5, 1'000'000'000});
    nc.update({minted + 5, 1'000'000'000});
    if (sent.packets.empty()) return false;
    std::vector<uint8_t> request = sent.packets.front();
    Datagram d;
    d.src = client;
    d.dst = us;
    d.data = request.data();
    d.len = d.room = static_cast<uint32_t>(request.size());
    auto out = std::make_unique<Outbox>();
    out->now_ns = 1'000'000'000;
    out->unix_ns = (minted + 5) * 1'000'000'000ull;
    svc.on_datagrams({&d, 1}, *out);
    const bool refused = svc.server()->drop_count(ServerDrop::kTokenPredatesStart) == 1;
    EXPECT_NE(refused, out->peer_size() == 1) << "refused under its reason, or challenged";
    return out->peer_size() == 1;
  };
  NoStatic at_start;
  EXPECT_TRUE(first_packet_answered(at_start)) << "a token minted after start is served";
  Replacing at_reload;
  EXPECT_FALSE(first_packet_answered(at_reload))
      << "a reload's service counts from its first packet: the old one may have taken the token";
}

}  // namespace
}  // namespace bypass::conn
