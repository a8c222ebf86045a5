// NetcodeServer on networks that lose, duplicate and reorder packets (reading
// one packet at a time and in batches), with 100,000 clients, and the
// configurations create() refuses.
#include <bypass/conn/server.hpp>

#include <sodium.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include <bypass/conn/challenge_token.hpp>

#include "server_fixture.hpp"

namespace bypass::conn {
namespace {

using namespace test;

// --- Lossy networks ----------------------------------------------------------

struct Loss {
  uint64_t drop_every;
  uint64_t duplicate_every;
  bool reorder;
  uint64_t loss_percent = 0;
  bool batched = false;  // servers read each round as a batch
};

class ServerLossy : public ServerBase, public ::testing::WithParamInterface<Loss> {};

TEST_P(ServerLossy, HandshakeCompletesAndPayloadsFlow) {
  const Loss loss = GetParam();
  sim.net.drop_every = loss.drop_every;
  sim.net.duplicate_every = loss.duplicate_every;
  sim.net.reorder = loss.reorder;
  sim.net.loss_percent = loss.loss_percent;
  sim.net.batched = loss.batched;
  auto& s = sim.add_server(Sim::config(kServerA, 8));
  std::vector<Sim::ClientNode*> cs;
  for (uint8_t i = 0; i < 4; ++i) cs.push_back(&connect_client(10 + i, 1 + i, kServerA));
  ASSERT_TRUE(sim.run_until(
      [&] {
        return std::all_of(cs.begin(), cs.end(), [](auto* c) { return c->client->connected(); });
      },
      5000));
  EXPECT_EQ(s.server->num_connected(), 4u);
  // Twenty payloads each way per client, one per 50 ms.
  for (int k = 0; k < 20; ++k) {
    for (auto* c : cs) {
      std::vector<uint8_t> p = {static_cast<uint8_t>(k)};
      c->client->send_payload(p, sim.clock.now);
      s.server->send_payload(c->client->client_index(), p, sim.clock.now);
    }
    sim.step(50);
  }
  sim.run_ms(200);
  for (auto* c : cs) {
    EXPECT_TRUE(c->client->connected());
    const auto from_c =
        std::count_if(s.events->payloads.begin(), s.events->payloads.end(),
                      [&](const auto& p) { return p.first == c->client->client_index(); });
    // Loss takes some; duplicates are refused as replays, so never more than 20.
    EXPECT_GE(from_c, 8);
    EXPECT_LE(from_c, 20);
    EXPECT_GE(c->events->payloads.size(), 8u);
    EXPECT_LE(c->events->payloads.size(), 20u);
  }
  EXPECT_EQ(s.events->disconnects.size(), 0u);
  if (GetParam().duplicate_every != 0) {
    EXPECT_GT(s.server->drop_count(server_drop(WireDrop::kReplayed)), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Nets, ServerLossy,
                         ::testing::Values(Loss{0, 0, false}, Loss{2, 0, false}, Loss{3, 0, false},
                                           Loss{5, 0, false}, Loss{7, 3, true}, Loss{0, 2, true},
                                           Loss{4, 5, true}, Loss{0, 0, false, 30},
                                           Loss{0, 4, true, 20}, Loss{3, 0, false, 0, true},
                                           Loss{7, 3, true, 0, true}, Loss{0, 0, false, 30, true},
                                           Loss{0, 4, true, 20, true}));

// --- Pinning -----------------------------------------------------------------

// Half-open handshakes cannot hold the connection table for longer than
// their tokens live. Attackers with valid tokens (from the backend) fill every
// encryption mapping and keep them: they never answer a challenge and ask
// again whenever their client gives up. Meanwhile a connected client keeps
// its seat, a new client is refused as mappings_full (and sent nothing), and
// each attacker gets no more bytes than it sends. Once the attackers' tokens
// expire their mappings go, and the new client, still dialing, gets in at
// the next request.
class ServerPin : public ServerBase {};

TEST_F(ServerPin, HalfOpenHandshakesHoldTheTableNoLongerThanTheirTokens) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));  // 2 seats, 8 mappings
  auto& settled = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return settled.client->connected(); }, 2000));
  std::vector<Sim::ClientNode*> attackers;
  std::vector<std::array<uint8_t, kConnectTokenBytes>> tokens;
  TokenSpec bad;
  bad.servers = {kServerA};
  bad.lifetime_seconds = 30;  // the shortest the restart rule lets a server take at its start
  for (uint8_t i = 0; i < 8; ++i) {
    bad.client_id = 100 + i;
    tokens.push_back(make_token(bad, sim.clock.now));
    attackers.push_back(&sim.add_client(addr(static_cast<uint8_t>(20 + i), 50000)));
    attackers.back()->client->connect(tokens.back(), sim.clock.now);
  }
  sim.net.drop = [&](const NetDatagram& d) {  // the attackers take no challenge in
    return d.type() == 2 && std::any_of(attackers.begin(), attackers.end(),
                                        [&](auto* a) { return a->address == d.to; });
  };
  sim.run_ms(500);
  EXPECT_EQ(s.server->mappings().size(), 8u) << "the attackers hold every mapping but one seat's";
  TokenSpec good;
  good.lifetime_seconds = 60;
  good.timeout_seconds = 40;  // the client dials for 40 s
  auto& late = connect_client(30, 2, kServerA, good);
  uint64_t connected_at_ms = 0;
  for (uint64_t t = 0; t < 40'000 && connected_at_ms == 0; t += 100) {
    for (size_t i = 0; i < attackers.size(); ++i)  // given up: dial again
      if (attackers[i]->client->state() == ClientState::kConnectionRequestTimedOut)
        attackers[i]->client->connect(tokens[i], sim.clock.now);
    sim.step(100);
    if (late.client->connected()) connected_at_ms = 600 + t;
    ASSERT_TRUE(settled.client->connected()) << "a seated client lost its seat at " << t << " ms";
  }
  // The attackers' tokens expire 30 s after they were minted (to the
  // second); the late client asked from 0.5 s on and got in only then, one
  // handshake later (steps of 100 ms).
  EXPECT_GE(connected_at_ms, 29'000u);
  EXPECT_LE(connected_at_ms, 32'000u);
  EXPECT_GT(drops(s, ServerDrop::kMappingsFull), 0u);
  for (auto* a : attackers) {
    EXPECT_FALSE(a->client->connected());
    size_t in = 0, out = 0;
    for (const NetDatagram& d : sim.net.sent) {
      if (d.from == a->address) in += d.bytes.size();
      if (d.to == a->address) out += d.bytes.size();
    }
    EXPECT_GT(in, 0u);
    EXPECT_LE(out, in) << "an attacker got more bytes than it sent";
  }
}

// --- Scale -------------------------------------------------------------------

// Captures what a server sends, for driving handshakes without client objects.
struct CaptureSink : PacketSink {
  void send(const NetcodeAddress& to, std::span<const uint8_t> p) override {
    last_to = to;
    last.assign(p.begin(), p.end());
    ++sent;
  }
  NetcodeAddress last_to;
  std::vector<uint8_t> last;
  uint64_t sent = 0;
};

struct NullHandler : ConnectionHandler {
  void on_connect(uint32_t, uint64_t, std::span<const uint8_t, kUserDataBytes>) override {
    ++connects;
  }
  void on_payload(uint32_t, std::span<const uint8_t>) override { ++payloads; }
  void on_disconnect(uint32_t, DisconnectReason) override {}
  uint64_t connects = 0;
  uint64_t payloads = 0;
};

TEST(ServerScale, HundredThousandClients) {
  ASSERT_TRUE(crypto_init().is_ok());
  constexpr uint32_t kClients = 100'000;
  Clock clock;
  auto history = ServerShared::create(kClients);  // a history of 8 x max clients
  ASSERT_TRUE(history.has_value());
  CaptureSink sink;
  NullHandler handler;
  auto cfg = Sim::config(kServerA, kClients);
  auto server = NetcodeServer::create(cfg, history->get(), &sink, &handler, clock.now);
  ASSERT_TRUE(server.has_value()) << server.error();
  NetcodeServer& s = **server;

  // One private token template; each client gets its own client id and keys.
  PrivateConnectToken priv;
  priv.timeout_seconds = 10;
  priv.num_server_addresses = 1;
  priv.server_addresses[0] = kServerA;
  std::array<uint8_t, kConnectionRequestBytes> req{};
  std::array<uint8_t, kPrivateConnectTokenBytes> sealed{};
  std::array<uint8_t, kMaxPacketBytes> buf{};
  Packet p;
  for (uint32_t i = 0; i < kClients; ++i) {
    const NetcodeAddress from =
        NetcodeAddress::v4(100, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                           static_cast<uint8_t>(i), static_cast<uint16_t>(1000 + (i % 7)));
    priv.client_id = 1'000'000 + i;
    priv.client_to_server_key = random_key();
    priv.server_to_client_key = random_key();
    const uint64_t expire = clock.now.unix_seconds + 30;
    const auto nonce = random_connect_token_nonce();
    ASSERT_TRUE(encrypt_private_connect_token(priv, kNetProtocolId, expire, nonce,
                                              net_private_key(), sealed)
                    .is_ok());
    ASSERT_TRUE(write_connection_request(req, kNetProtocolId, expire, nonce, sealed));
    s.receive(from, req, clock.now);
    ASSERT_EQ(type_of(sink.last), 2) << i;
    // Read the challenge as the client would, answer it.
    ReadContext ctx;
    ctx.protocol_id = kNetProtocolId;
    ctx.allowed = kClientReads;
    ctx.read_key = &priv.server_to_client_key;
    ASSERT_EQ(read_packet(sink.last, ctx, p), WireDrop::kOk);
    const Written w = write_connection_response(buf, kNetProtocolId, priv.client_to_server_key, 1,
                                                p.challenge_sequence,
                                                p.challenge_token.first<kChallengeTokenBytes>());
    ASSERT_TRUE(w);
    s.receive(from, std::span<uint8_t>(buf.data(), w.size), clock.now);
    ASSERT_EQ(type_of(sink.last), 4) << i;
    if (i % 10'000 == 0) clock.advance_ms(1);
  }
  EXPECT_EQ(s.num_connected(), kClients);
  EXPECT_EQ(handler.connects, kClients);
  EXPECT_EQ(s.mappings().size(), kClients);
  // One keep-alive round reaches everyone.
  const uint64_t before = sink.sent;
  clock.advance_ms(100);
  s.update(clock.now);
  EXPECT_EQ(sink.sent - before, kClients);
  s.disconnect_all(clock.now);
  EXPECT_EQ(s.num_connected(), 0u);
  EXPECT_EQ(s.mappings().size(), 0u);
}

TEST(ServerCreate, RefusesBadConfigs) {
  ASSERT_TRUE(crypto_init().is_ok());
  Clock clock;
  auto history = ServerShared::create(8);
  ASSERT_TRUE(history.has_value());
  CaptureSink sink;
  auto ok = Sim::config(kServerA, 2);
  EXPECT_TRUE(NetcodeServer::create(ok, history->get(), &sink, nullptr, clock.now).has_value());
  EXPECT_FALSE(NetcodeServer::create(ok, nullptr, &sink, nullptr, clock.now).has_value());
  EXPECT_FALSE(NetcodeServer::create(ok, history->get(), nullptr, nullptr, clock.now).has_value());
  auto c = ok;
  c.max_clients = 0;
  EXPECT_FALSE(NetcodeServer::create(c, history->get(), &sink, nullptr, clock.now).has_value());
  c = ok;
  c.public_addresses.clear();
  EXPECT_FALSE(NetcodeServer::create(c, history->get(), &sink, nullptr, clock.now).has_value());
  c = ok;
  c.public_addresses = {NetcodeAddress{}};
  EXPECT_FALSE(NetcodeServer::create(c, history->get(), &sink, nullptr, clock.now).has_value());
  c = ok;
  c.private_key = Key{};
  auto zero = NetcodeServer::create(c, history->get(), &sink, nullptr, clock.now);
  ASSERT_FALSE(zero.has_value());
  EXPECT_NE(zero.error().find("all zeros"), std::string::npos);
  c = ok;
  c.keep_alive_interval_ns = 0;
  EXPECT_FALSE(NetcodeServer::create(c, history->get(), &sink, nullptr, clock.now).has_value());
  c = ok;
  c.disconnect_packets = 0;
  EXPECT_FALSE(NetcodeServer::create(c, history->get(), &sink, nullptr, clock.now).has_value());
}

}  // namespace
}  // namespace bypass::conn
