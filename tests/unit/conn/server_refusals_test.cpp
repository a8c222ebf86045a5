// NetcodeServer's refusals, one test per counter (ServerDrop): each reason a
// packet is refused for, made to happen once and counted under its name; the
// names unique and complete. The fixture (Server_, both reading modes) is
// server_fixture.hpp's; server_test.cpp instantiates it.
#include <bypass/conn/server.hpp>

#include <sodium.h>

#include <gtest/gtest.h>

#include <set>

#include <bypass/conn/challenge_token.hpp>

#include "server_fixture.hpp"

namespace bypass::conn {
namespace {

using namespace test;

TEST_P(Server_, CountsNotOurAddress) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  TokenSpec spec;
  spec.servers = {kServerB};         // the private token names another server
  spec.public_servers = {kServerA};  // but the client is sent here
  auto& c = connect_client(10, 1, kServerA, spec);
  sim.run_ms(300);
  EXPECT_FALSE(c.client->connected());
  EXPECT_GE(drops(s, ServerDrop::kNotOurAddress), 2u);
  EXPECT_EQ(sim.net.count_to(c.address), 0u);
}

TEST_P(Server_, CountsAddressAlreadyConnected) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  const uint64_t before = drops(s, ServerDrop::kAddressAlreadyConnected);
  // A new token (another client id) from the connected address.
  TokenSpec spec;
  spec.client_id = 2;
  spec.servers = {kServerA};
  TestNetwork scratch;
  NetcodeClient builder(scratch.port(c.address));
  builder.connect(make_token(spec, sim.clock.now), sim.clock.now);
  builder.update(sim.clock.now);
  ASSERT_FALSE(scratch.sent.empty());
  sim.net.inject(c.address, kServerA, scratch.sent.back().bytes, sim.clock.now);
  EXPECT_EQ(drops(s, ServerDrop::kAddressAlreadyConnected), before + 1);
  // A replayed response from the connected address.
  const NetDatagram* resp = sim.net.last(c.address, 3);
  ASSERT_NE(resp, nullptr);
  sim.net.inject(c.address, kServerA, resp->bytes, sim.clock.now);
  EXPECT_EQ(drops(s, ServerDrop::kAddressAlreadyConnected), before + 2);
  EXPECT_EQ(s.server->num_connected(), 1u);
}

TEST_P(Server_, CountsClientIdAlreadyConnected) {
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  auto& c1 = connect_client(10, 42, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c1.client->connected(); }, 2000));
  auto& c2 = connect_client(11, 42, kServerA);  // another token, same client id
  sim.run_ms(300);
  EXPECT_FALSE(c2.client->connected());
  EXPECT_GE(drops(s, ServerDrop::kClientIdAlreadyConnected), 2u);
  EXPECT_EQ(sim.net.count_to(c2.address), 0u);
}

TEST_P(Server_, CountsClientIdAlreadyConnectedOnResponse) {
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  // Two tokens with the same id: both requests pass before either is connected.
  auto& c1 = connect_client(10, 42, kServerA);
  auto& c2 = connect_client(11, 42, kServerA);
  sim.run_ms(1000);
  EXPECT_EQ(s.server->num_connected(), 1u);
  EXPECT_TRUE(c1.client->connected() != c2.client->connected());
  EXPECT_GE(drops(s, ServerDrop::kClientIdAlreadyConnected), 1u);
}

TEST_P(Server_, CountsMappingsFull) {
  auto& s = sim.add_server(Sim::config(kServerA, 1));                 // four mappings
  sim.net.drop = [](const NetDatagram& d) { return d.type() == 2; };  // challenges get lost
  std::vector<Sim::ClientNode*> cs;
  for (uint8_t i = 0; i < 5; ++i) {
    cs.push_back(&connect_client(static_cast<uint8_t>(10 + i), 100 + i, kServerA));
    sim.step();
  }
  sim.run_ms(300);
  EXPECT_EQ(s.server->mappings().size(), 4u);
  EXPECT_GE(drops(s, ServerDrop::kMappingsFull), 2u);
  EXPECT_EQ(sim.net.count_to(cs[4]->address), 0u);
  // Unanswered mappings expire with the token timeout (5 s) and make room.
  sim.net.drop = nullptr;
  for (auto* c : cs) c->client->disconnect(sim.clock.now);
  sim.run_ms(6000, 100);
  s.server->update(sim.clock.now);
  EXPECT_EQ(s.server->mappings().size(), 0u);
}

TEST_P(Server_, CountsNotConnected) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  const NetcodeAddress who = addr(10, 50000);
  TokenSpec spec;
  spec.servers = {kServerA};
  const auto bytes = make_token(spec, sim.clock.now);
  auto token = read_connect_token(bytes);
  ASSERT_TRUE(token.has_value());
  sim.net.drop = [&](const NetDatagram& d) { return d.to == who; };  // keep it pending
  auto& c = sim.add_client(who);
  c.client->connect(bytes, sim.clock.now);
  sim.step();
  sim.step();
  ASSERT_EQ(s.server->mappings().size(), 1u);
  std::array<uint8_t, kMaxPacketBytes> buf{};
  const Written w = write_keep_alive(buf, kNetProtocolId, token->client_to_server_key, 1000, 0, 0);
  ASSERT_TRUE(w);
  sim.net.inject(who, kServerA, std::vector<uint8_t>(buf.begin(), buf.begin() + w.size),
                 sim.clock.now);
  EXPECT_EQ(drops(s, ServerDrop::kNotConnected), 1u);
  EXPECT_EQ(server_drop_name(ServerDrop::kNotConnected), "not_connected");
}

TEST_P(Server_, CountsChallengeDecryptFailed) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  const NetcodeAddress who = addr(10, 50000);
  TokenSpec spec;
  spec.servers = {kServerA};
  const auto bytes = make_token(spec, sim.clock.now);
  auto token = read_connect_token(bytes);
  ASSERT_TRUE(token.has_value());
  auto& c = sim.add_client(who);
  c.client->connect(bytes, sim.clock.now);
  sim.net.drop = [&](const NetDatagram& d) { return d.to == who; };
  sim.step();
  sim.step();
  // A response sealed with the right packet key but a challenge token of our own.
  std::array<uint8_t, kChallengeTokenBytes> forged{};
  ASSERT_TRUE(encrypt_challenge_token({1, {}}, 0, random_key(), forged));
  std::array<uint8_t, kMaxPacketBytes> buf{};
  const Written w =
      write_connection_response(buf, kNetProtocolId, token->client_to_server_key, 500, 0, forged);
  ASSERT_TRUE(w);
  sim.net.inject(who, kServerA, std::vector<uint8_t>(buf.begin(), buf.begin() + w.size),
                 sim.clock.now);
  EXPECT_EQ(drops(s, server_drop(WireDrop::kChallengeDecryptFailed)), 1u);
  EXPECT_EQ(s.server->num_connected(), 0u);
}

// The challenge the server sent to `to` (read with `to`'s token keys `tok`),
// as a response packet sealed with the keys of `with`.
std::vector<uint8_t> response_with_challenge_of(Sim& sim, const NetcodeAddress& to,
                                                const ConnectToken& tok, const ConnectToken& with) {
  const NetDatagram* challenge = nullptr;
  for (const NetDatagram& d : sim.net.sent)
    if (d.to == to && d.type() == 2) challenge = &d;
  if (challenge == nullptr) return {};
  std::vector<uint8_t> bytes = challenge->bytes;
  ReadContext ctx;
  ctx.protocol_id = kNetProtocolId;
  ctx.allowed = kClientReads;
  ctx.read_key = &tok.server_to_client_key;
  Packet p;
  if (read_packet(bytes, ctx, p) != WireDrop::kOk) return {};
  std::array<uint8_t, kChallengeTokenBytes> token{};
  std::copy(p.challenge_token.begin(), p.challenge_token.end(), token.begin());
  std::array<uint8_t, kMaxPacketBytes> buf{};
  const Written w = write_connection_response(buf, kNetProtocolId, with.client_to_server_key, 500,
                                              p.challenge_sequence, token);
  return w ? std::vector<uint8_t>(buf.begin(), buf.begin() + w.size) : std::vector<uint8_t>{};
}

TEST_P(Server_, CountsChallengeMismatch) {
  // Two handshakes under way; the second answers with the first one's
  // genuine challenge (its client id and user data) on its own keys.
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  const NetcodeAddress a = addr(10, 50000), b = addr(11, 50000);
  TokenSpec sa, sb;
  sa.servers = sb.servers = {kServerA};
  sa.client_id = 1;
  sb.client_id = 2;
  const auto ta = make_token(sa, sim.clock.now), tb = make_token(sb, sim.clock.now);
  auto pa = read_connect_token(ta), pb = read_connect_token(tb);
  ASSERT_TRUE(pa.has_value() && pb.has_value());
  auto& ca = sim.add_client(a);
  auto& cb = sim.add_client(b);
  ca.client->connect(ta, sim.clock.now);
  cb.client->connect(tb, sim.clock.now);
  sim.net.drop = [&](const NetDatagram& d) { return d.to == a || d.to == b; };
  sim.step();
  sim.step();
  const auto forged = response_with_challenge_of(sim, a, *pa, *pb);
  ASSERT_FALSE(forged.empty());
  sim.net.inject(b, kServerA, forged, sim.clock.now);
  EXPECT_EQ(drops(s, ServerDrop::kChallengeMismatch), 1u);
  EXPECT_EQ(s.server->num_connected(), 0u);
}

// A server with a history of one entry, and the response of a client at `a`
// to its challenge, held back: a's token lives 2 s (as long as the backend's
// tokens, which the server is told). Empty if the response could not be made.
std::vector<uint8_t> held_back_response(Sim& sim, Sim::ServerNode*& s, const NetcodeAddress& a,
                                        TokenSpec& spec) {
  auto config = Sim::config(kServerA, 4);
  config.max_connect_token_lifetime_seconds = 2;  // the backend's, as it should be
  s = &sim.add_server(config, /*history_capacity=*/1);
  spec.servers = {kServerA};
  spec.lifetime_seconds = 2;
  spec.timeout_seconds = 30;
  const auto token = make_token(spec, sim.clock.now);
  auto read = read_connect_token(token);
  if (!read) return {};
  sim.add_client(a).client->connect(token, sim.clock.now);
  sim.net.drop = [a](const NetDatagram& d) { return d.to == a; };
  sim.step();
  sim.step();
  return response_with_challenge_of(sim, a, *read, *read);
}

TEST_P(Server_, AResponseWhoseTokenEntryWasReusedIsRefused) {
  // A handshake outlives its token (2 s), whose history entry is then
  // reclaimed by another token (a history of one entry): the late response
  // cannot be told from one whose token another worker already consumed.
  const NetcodeAddress a = addr(10, 50000);
  Sim::ServerNode* server = nullptr;
  TokenSpec sa;
  const auto late = held_back_response(sim, server, a, sa);
  ASSERT_FALSE(late.empty());
  auto& s = *server;
  sim.run_ms(3'000, 1000);  // a's token expired
  auto& cb = connect_client(11, 2, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return cb.client->connected(); }, 2000));
  // Its encryption mapping ended with its token too, so the response is not
  // even read (no_read_key); were it read, the gone history entry would
  // refuse it as token_expired.
  const uint64_t no_key = drops(s, server_drop(WireDrop::kNoReadKey));
  sim.net.inject(a, kServerA, late, sim.clock.now);
  EXPECT_EQ(s.server->num_connected(), 1u);
  EXPECT_EQ(drops(s, server_drop(WireDrop::kNoReadKey)), no_key + 1);
}

// The same with the wall clock jumping instead of time passing: a's token
// has expired by the wall clock, but its encryption mapping lives by the
// monotonic one, which did not move. Another token then takes the history's
// one entry, and a's response is read: the entry it names is gone, and it is
// refused as token_expired (the session would otherwise be installed on a
// token whose entry no longer says it is in use).
TEST_P(Server_, AResponseWhoseHistoryEntryIsGoneIsRefusedAsExpired) {
  const NetcodeAddress a = addr(10, 50000), b = addr(11, 50000);
  Sim::ServerNode* server = nullptr;
  TokenSpec sa;
  const auto late = held_back_response(sim, server, a, sa);
  ASSERT_FALSE(late.empty());
  auto& s = *server;
  Now jumped = sim.clock.now;
  jumped.unix_seconds += 3;  // the wall clock only
  TokenSpec sb = sa;
  sb.client_id = 2;
  TestNetwork scratch;
  NetcodeClient builder(scratch.port(b));
  builder.connect(make_token(sb, jumped), jumped);
  builder.update(jumped);
  ASSERT_FALSE(scratch.sent.empty());
  const uint64_t full = drops(s, ServerDrop::kTokenHistoryFull);
  sim.net.inject(b, kServerA, scratch.sent.back().bytes, jumped);
  EXPECT_EQ(drops(s, ServerDrop::kTokenHistoryFull), full) << "b's token took a's entry";
  const uint64_t expired = drops(s, server_drop(WireDrop::kTokenExpired));
  const uint64_t no_key = drops(s, server_drop(WireDrop::kNoReadKey));
  sim.net.inject(a, kServerA, late, jumped);
  EXPECT_EQ(drops(s, server_drop(WireDrop::kNoReadKey)), no_key) << "a's mapping still lives";
  EXPECT_EQ(drops(s, server_drop(WireDrop::kTokenExpired)), expired + 1);
  EXPECT_EQ(s.server->num_connected(), 0u);
  EXPECT_EQ(s.shared->seated(), 0u);
}

TEST_P(Server_, CountsWireReasons) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  const Now now = sim.clock.now;
  auto wire = [&](WireDrop d) { return drops(s, server_drop(d)); };

  sim.net.inject(addr(50, 1), kServerA, {}, now);
  EXPECT_EQ(wire(WireDrop::kTooSmall), 1u);
  sim.net.inject(addr(50, 1), kServerA, std::vector<uint8_t>(40, 0x12), now);  // denied type
  EXPECT_EQ(wire(WireDrop::kTypeNotAllowed), 1u);
  // A keep-alive prefix with an 8-byte sequence, then garbage.
  sim.net.inject(addr(50, 1), kServerA, std::vector<uint8_t>(40, 0x84), now);
  EXPECT_EQ(wire(WireDrop::kNoReadKey), 1u);
  sim.net.inject(c.address, kServerA, std::vector<uint8_t>(40, 0x84), now);
  EXPECT_EQ(wire(WireDrop::kDecryptFailed), 1u);

  const NetDatagram* req = sim.net.last(c.address, 0);
  ASSERT_NE(req, nullptr);
  auto bad = req->bytes;
  bad[500] ^= 1;
  sim.net.inject(addr(51, 1), kServerA, bad, now);
  EXPECT_EQ(wire(WireDrop::kTokenDecryptFailed), 1u);
  bad = req->bytes;
  bad.pop_back();
  sim.net.inject(addr(51, 1), kServerA, bad, now);
  EXPECT_EQ(wire(WireDrop::kRequestBadSize), 1u);

  TokenSpec other;
  other.protocol_id = kNetProtocolId + 1;
  other.servers = {kServerA};
  TestNetwork scratch;
  NetcodeClient builder(scratch.port(addr(52, 1)));
  builder.connect(make_token(other, now), now);
  builder.update(now);
  ASSERT_FALSE(scratch.sent.empty());
  sim.net.inject(addr(52, 1), kServerA, scratch.sent.back().bytes, now);
  EXPECT_EQ(wire(WireDrop::kWrongProtocolId), 1u);

  Now later = now;
  later.unix_seconds += 31;
  sim.net.inject(addr(53, 1), kServerA, req->bytes, later);
  EXPECT_EQ(wire(WireDrop::kTokenExpired), 1u);
  for (const auto& v : sim.net.violations) ADD_FAILURE() << v;
}

TEST_P(Server_, DropNamesAreUniqueAndComplete) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kServerDropCount; ++i) {
    const auto n = server_drop_name(static_cast<ServerDrop>(i));
    EXPECT_NE(n, "unknown");
    EXPECT_TRUE(names.insert(n).second) << n;
  }
  for (size_t i = 0; i < kWireDropCount; ++i) {
    EXPECT_EQ(server_drop_name(static_cast<ServerDrop>(i)),
              wire_drop_name(static_cast<WireDrop>(i)));
  }
  EXPECT_EQ(server_drop_name(ServerDrop::kTokenHistoryFull), "token_history_full");
  EXPECT_EQ(server_drop_name(ServerDrop::kCount), "unknown");
}

}  // namespace
}  // namespace bypass::conn
