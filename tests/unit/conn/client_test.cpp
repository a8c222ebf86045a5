// NetcodeClient on its own and against NetcodeServer: invalid tokens, 10 Hz
// requests, trying each server address on timeout, the error states (request
// and response timed out, connection timed out, token expired), packets from
// the wrong address or in the wrong state ignored, payloads before connected
// dropped, disconnect packets, the packet sequence across server addresses.
#include <bypass/conn/client.hpp>

#include <gtest/gtest.h>

#include "netcode_test_network.hpp"

namespace bypass::conn {
namespace {

using namespace test;

const NetcodeAddress kServerA = addr(1, 40000);
const NetcodeAddress kServerB = addr(2, 40000);
const NetcodeAddress kClientAddr = addr(10, 50000);

class Client_ : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto_init().is_ok()); }
  void TearDown() override {
    for (const auto& v : sim.net.violations) ADD_FAILURE() << v;
  }
  Sim sim;
};

// A client connecting to kServerA with a fresh token, and the packets a test
// forges as that server would send them (under the token's server-to-client
// key), into `buf`.
struct Forger {
  ConnectToken token;
  std::array<uint8_t, kMaxPacketBytes> buf{};
  const Key& s2c() const { return token.server_to_client_key; }
  std::vector<uint8_t> operator()(Written w) const {
    return std::vector<uint8_t>(buf.begin(), buf.begin() + w.size);
  }
};
void connect_to_a(Sim& sim, Sim::ClientNode& c, Forger* f) {
  TokenSpec spec;
  spec.servers = {kServerA};
  const auto bytes = make_token(spec, sim.clock.now);
  auto token = read_connect_token(bytes);
  ASSERT_TRUE(token.has_value());
  f->token = *token;
  c.client->connect(bytes, sim.clock.now);
}

TEST_F(Client_, InvalidTokens) {
  auto& c = sim.add_client(kClientAddr);
  std::vector<uint8_t> short_token(100);
  c.client->connect(short_token, sim.clock.now);
  EXPECT_EQ(c.client->state(), ClientState::kInvalidConnectToken);
  EXPECT_EQ(static_cast<int>(c.client->state()), -5);

  TokenSpec spec;
  spec.servers = {kServerA};
  auto token = make_token(spec, sim.clock.now);
  token[0] ^= 1;  // version info
  c.client->connect(token, sim.clock.now);
  EXPECT_EQ(c.client->state(), ClientState::kInvalidConnectToken);

  ConnectToken t;  // no servers
  c.client->connect(t, sim.clock.now);
  EXPECT_EQ(c.client->state(), ClientState::kInvalidConnectToken);
  sim.run_ms(500);
  EXPECT_TRUE(sim.net.sent.empty());
}

TEST_F(Client_, RequestsAtTenHertzThenNextServerThenTimedOut) {
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA, kServerB};
  spec.timeout_seconds = 2;
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  EXPECT_EQ(c.client->state(), ClientState::kSendingConnectionRequest);
  EXPECT_TRUE(sim.net.sent.empty());  // the first request waits for update()
  sim.step(1);
  EXPECT_EQ(sim.net.count(kClientAddr, kServerA, 0), 1u);
  sim.run_ms(999, 1);
  EXPECT_EQ(sim.net.count(kClientAddr, kServerA, 0), 10u);
  EXPECT_EQ(sim.net.sent.back().bytes.size(), kConnectionRequestBytes);

  ASSERT_TRUE(sim.run_until([&] { return c.client->server_address_index() == 1; }, 3000));
  EXPECT_EQ(c.client->state(), ClientState::kSendingConnectionRequest);
  const size_t to_a = sim.net.count(kClientAddr, kServerA, 0);
  EXPECT_GE(to_a, 20u);
  EXPECT_LE(to_a, 22u);
  ASSERT_TRUE(sim.run_until(
      [&] { return c.client->state() != ClientState::kSendingConnectionRequest; }, 3000));
  EXPECT_EQ(c.client->state(), ClientState::kConnectionRequestTimedOut);
  EXPECT_GE(sim.net.count(kClientAddr, kServerB, 0), 20u);
  EXPECT_EQ(sim.net.count(kClientAddr, kServerA, 0), to_a);
}

TEST_F(Client_, SequenceAdvancesForEveryPacketAcrossServers) {
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA, kServerB};
  spec.timeout_seconds = 1;
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  sim.run_ms(500);
  const uint64_t sent_a = sim.net.count(kClientAddr, kServerA, 0);
  EXPECT_EQ(c.client->next_sequence(), sent_a);
  ASSERT_TRUE(sim.run_until([&] { return c.client->server_address_index() == 1; }, 3000));
  sim.step();
  EXPECT_EQ(c.client->next_sequence(), sim.net.sent.size());  // not reset for server B
}

TEST_F(Client_, ResponseTimedOut) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  sim.net.drop = [](const NetDatagram& d) { return d.type() == 4; };  // keep-alives lost
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA};
  spec.timeout_seconds = 1;
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  ASSERT_TRUE(sim.run_until(
      [&] { return c.client->state() == ClientState::kSendingConnectionResponse; }, 1000));
  ASSERT_TRUE(sim.run_until([&] { return static_cast<int>(c.client->state()) <= 0; }, 3000));
  EXPECT_EQ(c.client->state(), ClientState::kConnectionResponseTimedOut);
  EXPECT_EQ(s.server->num_connected(), 1u);  // the server did install it
  EXPECT_GE(sim.net.count(kClientAddr, kServerA, 3), 8u);
}

TEST_F(Client_, ConnectTokenExpiredAcrossServers) {
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA, kServerB};
  spec.lifetime_seconds = 3;
  spec.timeout_seconds = 2;  // A times out at 2 s, B would at 4 s: the token ends first
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  const uint64_t start = sim.clock.now.mono_ns;
  ASSERT_TRUE(sim.run_until([&] { return static_cast<int>(c.client->state()) <= 0; }, 6000));
  EXPECT_EQ(c.client->state(), ClientState::kConnectTokenExpired);
  EXPECT_GE(sim.clock.now.mono_ns - start, 3 * kNanosPerSecond);
  EXPECT_LE(sim.clock.now.mono_ns - start, 3 * kNanosPerSecond + 20'000'000);
  EXPECT_GE(sim.net.count(kClientAddr, kServerB, 0), 1u);
}

TEST_F(Client_, ConnectionTimedOutAndStateChanges) {
  sim.add_server(Sim::config(kServerA, 2));
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA};
  spec.timeout_seconds = 1;
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 1000));
  sim.net.drop = [](const NetDatagram&) { return true; };
  ASSERT_TRUE(sim.run_until([&] { return !c.client->connected(); }, 3000));
  EXPECT_EQ(c.client->state(), ClientState::kConnectionTimedOut);
  using S = ClientState;
  const std::vector<std::pair<S, S>> want = {
      {S::kDisconnected, S::kSendingConnectionRequest},
      {S::kSendingConnectionRequest, S::kSendingConnectionResponse},
      {S::kSendingConnectionResponse, S::kConnected},
      {S::kConnected, S::kConnectionTimedOut}};
  EXPECT_EQ(c.events->changes, want);
  EXPECT_EQ(client_state_name(c.client->state()), "connection_timed_out");
}

TEST_F(Client_, IgnoresWrongSourceWrongStateAndEarlyPayloads) {
  auto& c = sim.add_client(kClientAddr);
  Forger forge;
  ASSERT_NO_FATAL_FAILURE(connect_to_a(sim, c, &forge));
  auto& buf = forge.buf;
  const Key& s2c = forge.s2c();
  std::vector<uint8_t> one = {1};

  // A payload from the server before connected: read, then ignored.
  sim.net.inject(kServerA, kClientAddr, forge(write_payload(buf, kNetProtocolId, s2c, 7, one)),
                 sim.clock.now);
  EXPECT_EQ(c.client->ignored(), 1u);
  EXPECT_TRUE(c.events->payloads.empty());
  // A keep-alive while sending requests: ignored, still sending requests.
  sim.net.inject(kServerA, kClientAddr, forge(write_keep_alive(buf, kNetProtocolId, s2c, 8, 3, 9)),
                 sim.clock.now);
  EXPECT_EQ(c.client->ignored(), 2u);
  EXPECT_EQ(c.client->state(), ClientState::kSendingConnectionRequest);
  // A denial from another address: not even read.
  sim.net.inject(kServerB, kClientAddr, forge(write_connection_denied(buf, kNetProtocolId, s2c, 9)),
                 sim.clock.now);
  EXPECT_EQ(c.client->ignored(), 3u);
  EXPECT_EQ(c.client->state(), ClientState::kSendingConnectionRequest);
  // Wrong key: a wire drop.
  sim.net.inject(kServerA, kClientAddr,
                 forge(write_connection_denied(buf, kNetProtocolId, random_key(), 10)),
                 sim.clock.now);
  EXPECT_EQ(c.client->drops()[static_cast<size_t>(WireDrop::kDecryptFailed)], 1u);
  EXPECT_EQ(c.client->state(), ClientState::kSendingConnectionRequest);
  // The real denial.
  sim.net.inject(kServerA, kClientAddr,
                 forge(write_connection_denied(buf, kNetProtocolId, s2c, 11)), sim.clock.now);
  EXPECT_EQ(c.client->state(), ClientState::kConnectionDenied);
  // Disconnected: everything ignored.
  sim.net.inject(kServerA, kClientAddr,
                 forge(write_connection_denied(buf, kNetProtocolId, s2c, 12)), sim.clock.now);
  EXPECT_EQ(c.client->ignored(), 4u);
}

TEST_F(Client_, AKeepAliveNamingNoSlotOfTheServersDoesNotConnect) {
  auto& c = sim.add_client(kClientAddr);
  Forger forge;
  ASSERT_NO_FATAL_FAILURE(connect_to_a(sim, c, &forge));
  auto& buf = forge.buf;
  const Key& s2c = forge.s2c();
  const std::array<uint8_t, kChallengeTokenBytes> challenge{};
  sim.net.inject(kServerA, kClientAddr,
                 forge(write_connection_challenge(buf, kNetProtocolId, s2c, 1, 5, challenge)),
                 sim.clock.now);
  ASSERT_EQ(c.client->state(), ClientState::kSendingConnectionResponse);
  for (auto [seq, index, max] : {std::array<uint32_t, 3>{2, 7, 2}, {3, 2, 2}, {4, 0, 0}}) {
    sim.net.inject(kServerA, kClientAddr,
                   forge(write_keep_alive(buf, kNetProtocolId, s2c, seq, index, max)),
                   sim.clock.now);
    EXPECT_EQ(c.client->state(), ClientState::kSendingConnectionResponse)
        << "index " << index << " of " << max;
  }
  EXPECT_EQ(c.client->ignored(), 3u);
  sim.net.inject(kServerA, kClientAddr, forge(write_keep_alive(buf, kNetProtocolId, s2c, 5, 1, 2)),
                 sim.clock.now);
  EXPECT_EQ(c.client->state(), ClientState::kConnected);
  EXPECT_EQ(c.client->client_index(), 1u);
}

TEST_F(Client_, DisconnectSendsTenPacketsInAnyActiveState) {
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA};
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  sim.step();
  c.client->disconnect(sim.clock.now);
  EXPECT_EQ(sim.net.count(kClientAddr, kServerA, 6), 10u);
  EXPECT_EQ(c.client->state(), ClientState::kDisconnected);
  c.client->disconnect(sim.clock.now);  // already disconnected: nothing
  EXPECT_EQ(sim.net.count(kClientAddr, kServerA, 6), 10u);
  EXPECT_FALSE(c.client->send_payload(std::vector<uint8_t>{1}, sim.clock.now));
}

TEST_F(Client_, ReconnectWithNewTokenAfterDisconnect) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA};
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 1000));
  // connect() while connected disconnects first (ten packets), then starts over.
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  EXPECT_EQ(sim.net.count(kClientAddr, kServerA, 6), 10u);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 1000));
  EXPECT_EQ(s.server->num_connected(), 1u);
  ASSERT_EQ(s.events->disconnects.size(), 1u);
  EXPECT_EQ(s.events->disconnects[0].second, DisconnectReason::kByPeer);
}

TEST_F(Client_, TheSameTokenAgainContinuesItsSequence) {
  // The key of one token never seals two packets under one sequence: given
  // the same token again (say the app retries with it), even after another
  // token, the client goes on from where it was, where it started from 0.
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = sim.add_client(kClientAddr);
  TokenSpec spec;
  spec.servers = {kServerA};
  const auto token = make_token(spec, sim.clock.now);
  c.client->connect(token, sim.clock.now);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 1000));
  ASSERT_TRUE(c.client->send_payload(std::vector<uint8_t>{1, 2, 3}, sim.clock.now));
  const uint64_t reached = c.client->next_sequence();
  EXPECT_GT(reached, 1u);
  c.client->disconnect(sim.clock.now);  // ten more
  c.client->connect(token, sim.clock.now);
  EXPECT_EQ(c.client->next_sequence(), reached + 10);
  // Another token (ten disconnects for the first as it still connects),
  // then the first again: still on, never back.
  c.client->connect(make_token(spec, sim.clock.now), sim.clock.now);
  EXPECT_EQ(c.client->next_sequence(), reached + 20);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 1000));
  const uint64_t second = c.client->next_sequence();
  EXPECT_GT(second, reached + 20);
  c.client->connect(token, sim.clock.now);  // disconnects (ten more), then the first token
  EXPECT_EQ(c.client->next_sequence(), second + 10);
  (void)s;
}

TEST_F(Client_, StateNames) {
  for (int v = -6; v <= 3; ++v) {
    EXPECT_NE(client_state_name(static_cast<ClientState>(v)), "unknown") << v;
  }
  EXPECT_EQ(client_state_name(static_cast<ClientState>(9)), "unknown");
}

}  // namespace
}  // namespace bypass::conn
