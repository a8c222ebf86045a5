// NetcodeServer against NetcodeClient over the in-memory network: handshake
// and payload echo both ways, keep-alives at 10 Hz, timeouts, disconnects by
// either side (ten redundant packets), server full -> denied -> next server ->
// connection denied, the token history rules (reuse from a second address,
// reuse after the session, history full refuses without evicting), the
// restart rule, replay, the "nothing sent before a token decrypted" invariant
// (checked by the network on every send). A test per refusal counter:
// server_refusals_test.cpp. Lossy networks, 100,000 clients and bad configs:
// server_network_test.cpp.
#include <bypass/conn/server.hpp>

#include <sodium.h>

#include <gtest/gtest.h>

#include <random>

#include <set>

#include <bypass/conn/challenge_token.hpp>

#include "server_fixture.hpp"

namespace bypass::conn {
namespace {

using namespace test;

// The Server_ tests of this file and of server_refusals_test.cpp, twice.
INSTANTIATE_TEST_SUITE_P(Modes, Server_, ::testing::Bool(), [](const auto& info) {
  return std::string(info.param ? "Batched" : "PerPacket");
});

TEST_P(Server_, HandshakeAndPayloadEchoBothWays) {
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  s.events->echo = true;
  auto& c = connect_client(10, 777, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  EXPECT_EQ(c.client->client_index(), 0u);
  EXPECT_EQ(c.client->max_clients(), 4u);
  ASSERT_EQ(s.events->connects.size(), 1u);
  EXPECT_EQ(s.events->connects[0].index, 0u);
  EXPECT_EQ(s.events->connects[0].client_id, 777u);
  EXPECT_EQ(s.events->connects[0].user_data_first, 0x5A);
  EXPECT_TRUE(s.server->connected(0));
  EXPECT_EQ(s.server->client_id(0), 777u);
  ASSERT_NE(s.server->client_address(0), nullptr);
  EXPECT_TRUE(*s.server->client_address(0) == c.address);
  EXPECT_EQ(s.server->num_connected(), 1u);

  // Client -> server -> (echo) -> client.
  std::vector<uint8_t> hello = {'h', 'e', 'l', 'l', 'o'};
  ASSERT_TRUE(c.client->send_payload(hello, sim.clock.now));
  sim.run_ms(50);
  ASSERT_EQ(s.events->payloads.size(), 1u);
  EXPECT_EQ(s.events->payloads[0].second, hello);
  ASSERT_EQ(c.events->payloads.size(), 1u);
  EXPECT_EQ(c.events->payloads[0], hello);

  // Server-initiated, largest payload.
  std::vector<uint8_t> big(kMaxPayloadBytes);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i);
  ASSERT_TRUE(s.server->send_payload(0, big, sim.clock.now));
  sim.run_ms(30);
  ASSERT_EQ(c.events->payloads.size(), 2u);
  EXPECT_EQ(c.events->payloads[1], big);

  // Size and slot checks.
  EXPECT_FALSE(s.server->send_payload(0, std::span<const uint8_t>(), sim.clock.now));
  std::vector<uint8_t> too_big(kMaxPayloadBytes + 1);
  EXPECT_FALSE(s.server->send_payload(0, too_big, sim.clock.now));
  EXPECT_FALSE(s.server->send_payload(1, hello, sim.clock.now));
  EXPECT_FALSE(s.server->send_payload(99, hello, sim.clock.now));
  EXPECT_FALSE(c.client->send_payload(too_big, sim.clock.now));
}

// receive_in_batch() acts on a request at the next packet or at end_batch():
// nothing is answered while it is held, and answers keep the arrival order.
TEST_P(Server_, BatchedRequestIsActedOnAtTheNextPacketInOrder) {
  sim.net.batched = true;
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  auto& a = connect_client(10, 1, kServerA);
  auto& b = connect_client(11, 2, kServerA);
  a.client->update(sim.clock.now);
  b.client->update(sim.clock.now);
  const test::NetDatagram* ra = sim.net.last(a.address, 0);
  const test::NetDatagram* rb = sim.net.last(b.address, 0);
  ASSERT_TRUE(ra != nullptr && rb != nullptr);
  std::vector<uint8_t> request_a = ra->bytes, request_b = rb->bytes;
  auto challenges = [&](const Sim::ClientNode& c) { return sim.net.count(kServerA, c.address, 2); };

  sim.net.inject_in_batch(a.address, kServerA, request_a, sim.clock.now);
  EXPECT_TRUE(s.server->holding());
  EXPECT_EQ(challenges(a), 0u);
  sim.net.inject_in_batch(b.address, kServerA, request_b, sim.clock.now);
  EXPECT_TRUE(s.server->holding());
  EXPECT_EQ(challenges(a), 1u);  // a's, at b's request
  EXPECT_EQ(challenges(b), 0u);
  // A packet of another kind (here one of no connection) acts on the held request first.
  sim.net.inject_in_batch(addr(12, 50000), kServerA, std::vector<uint8_t>(40, 0x14), sim.clock.now);
  EXPECT_FALSE(s.server->holding());
  EXPECT_EQ(challenges(b), 1u);
  s.server->end_batch();  // nothing held: nothing more
  EXPECT_EQ(challenges(a) + challenges(b), 2u);

  // And the handshakes complete through batches, with several clients per round.
  auto& c = connect_client(13, 3, kServerA);
  ASSERT_TRUE(sim.run_until(
      [&] { return a.client->connected() && b.client->connected() && c.client->connected(); },
      2000));
  EXPECT_EQ(s.server->num_connected(), 3u);
  EXPECT_FALSE(s.server->holding());
}

TEST_P(Server_, UnconfirmedSlotGetsKeepAliveBeforePayload) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = connect_client(10, 1, kServerA);
  // Stop as soon as the server installed the client, before the client answers.
  ASSERT_TRUE(sim.run_until([&] { return s.server->num_connected() == 1; }, 2000, 1));
  const size_t before = sim.net.sent.size();
  std::vector<uint8_t> p = {1, 2, 3};
  ASSERT_TRUE(s.server->send_payload(0, p, sim.clock.now));
  ASSERT_EQ(sim.net.sent.size(), before + 2);
  EXPECT_EQ(sim.net.sent[before].type(), 4);  // keep-alive first
  EXPECT_EQ(sim.net.sent[before + 1].type(), 5);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 1000));
  sim.run_ms(200);  // the client's keep-alives confirm the slot
  const size_t after = sim.net.sent.size();
  ASSERT_TRUE(s.server->send_payload(0, p, sim.clock.now));
  ASSERT_EQ(sim.net.sent.size(), after + 1);
  EXPECT_EQ(sim.net.sent[after].type(), 5);
}

TEST_P(Server_, KeepAlivesAtTenHertzBothWays) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  sim.run_ms(500);
  const size_t s2c = sim.net.count(kServerA, c.address, 4);
  const size_t c2s = sim.net.count(c.address, kServerA, 4);
  sim.run_ms(2000);
  const size_t s2c_2s = sim.net.count(kServerA, c.address, 4) - s2c;
  const size_t c2s_2s = sim.net.count(c.address, kServerA, 4) - c2s;
  EXPECT_GE(s2c_2s, 19u);
  EXPECT_LE(s2c_2s, 21u);
  EXPECT_GE(c2s_2s, 19u);
  EXPECT_LE(c2s_2s, 21u);
  EXPECT_TRUE(c.client->connected());
  EXPECT_EQ(s.server->num_connected(), 1u);

  // A payload counts as a send: while the application sends every 50 ms no keep-alive goes out.
  const size_t ka = sim.net.count(kServerA, c.address, 4);
  std::vector<uint8_t> p = {9};
  for (int i = 0; i < 20; ++i) {
    s.server->send_payload(0, p, sim.clock.now);
    sim.run_ms(50);
  }
  EXPECT_EQ(sim.net.count(kServerA, c.address, 4), ka);
}

TEST_P(Server_, TimeoutsOnBothSides) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  TokenSpec spec;
  spec.timeout_seconds = 2;
  auto& c = connect_client(10, 1, kServerA, spec);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  sim.net.drop = [](const NetDatagram&) { return true; };  // the link dies
  const uint64_t cut = sim.clock.now.mono_ns;
  ASSERT_TRUE(sim.run_until([&] { return s.server->num_connected() == 0; }, 5000));
  const uint64_t took = sim.clock.now.mono_ns - cut;
  EXPECT_GE(took, 1'900'000'000u);
  EXPECT_LE(took, 2'100'000'000u);
  ASSERT_EQ(s.events->disconnects.size(), 1u);
  EXPECT_EQ(s.events->disconnects[0].second, DisconnectReason::kTimedOut);
  ASSERT_TRUE(sim.run_until([&] { return !c.client->connected(); }, 2000));
  EXPECT_EQ(c.client->state(), ClientState::kConnectionTimedOut);
  EXPECT_EQ(s.server->mappings().size(), 0u);  // the mapping went with the slot
}

TEST_P(Server_, NegativeTimeoutNeverTimesOut) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  TokenSpec spec;
  spec.timeout_seconds = -1;
  auto& c = connect_client(10, 1, kServerA, spec);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  sim.net.drop = [](const NetDatagram&) { return true; };
  sim.run_ms(60'000, 100);
  EXPECT_EQ(s.server->num_connected(), 1u);
  EXPECT_TRUE(c.client->connected());
}

TEST_P(Server_, DisconnectByPeer) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  c.client->disconnect(sim.clock.now);
  EXPECT_EQ(c.client->state(), ClientState::kDisconnected);
  EXPECT_EQ(sim.net.count(c.address, kServerA, 6), 10u);
  sim.step();
  EXPECT_EQ(s.server->num_connected(), 0u);
  ASSERT_EQ(s.events->disconnects.size(), 1u);
  EXPECT_EQ(s.events->disconnects[0], std::make_pair(0u, DisconnectReason::kByPeer));
  // The nine after the first find no mapping any more.
  EXPECT_EQ(drops(s, server_drop(WireDrop::kNoReadKey)), 9u);
}

TEST_P(Server_, DisconnectByUs) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  const size_t before = sim.net.count(kServerA, c.address, 6);
  s.server->disconnect(0, sim.clock.now);
  EXPECT_EQ(sim.net.count(kServerA, c.address, 6) - before, 10u);
  EXPECT_EQ(s.server->num_connected(), 0u);
  EXPECT_FALSE(s.server->connected(0));
  ASSERT_EQ(s.events->disconnects.size(), 1u);
  EXPECT_EQ(s.events->disconnects[0], std::make_pair(0u, DisconnectReason::kByUs));
  sim.step();
  EXPECT_EQ(c.client->state(), ClientState::kDisconnected);
  s.server->disconnect(0, sim.clock.now);  // not connected: nothing
  EXPECT_EQ(s.events->disconnects.size(), 1u);
}

TEST_P(Server_, DisconnectAllAndSlotReuseLowestFirst) {
  auto& s = sim.add_server(Sim::config(kServerA, 3));
  auto& c0 = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c0.client->connected(); }, 2000));
  auto& c1 = connect_client(11, 2, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c1.client->connected(); }, 2000));
  auto& c2 = connect_client(12, 3, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c2.client->connected(); }, 2000));
  EXPECT_EQ(c2.client->client_index(), 2u);
  s.server->disconnect(1, sim.clock.now);
  sim.step();
  auto& c3 = connect_client(13, 4, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c3.client->connected(); }, 2000));
  EXPECT_EQ(c3.client->client_index(), 1u);
  s.server->disconnect_all(sim.clock.now);
  EXPECT_EQ(s.server->num_connected(), 0u);
  EXPECT_EQ(s.events->disconnects.size(), 4u);
}

TEST_P(Server_, FullServersDenyAndClientTriesNextAddress) {
  auto& a = sim.add_server(Sim::config(kServerA, 1));
  auto& b = sim.add_server(Sim::config(kServerB, 1));
  auto& ca = connect_client(10, 1, kServerA);
  auto& cb = connect_client(11, 2, kServerB);
  ASSERT_TRUE(
      sim.run_until([&] { return ca.client->connected() && cb.client->connected(); }, 2000));
  TokenSpec spec;
  spec.servers = {kServerA, kServerB};
  auto& c = connect_client(12, 3, kServerA, spec);
  std::vector<uint32_t> tried;
  ASSERT_TRUE(sim.run_until(
      [&] {
        if (c.client->state() == ClientState::kConnectionDenied) return true;
        if (tried.empty() || tried.back() != c.client->server_address_index()) {
          tried.push_back(c.client->server_address_index());
        }
        return false;
      },
      3000));
  EXPECT_EQ(tried, (std::vector<uint32_t>{0, 1}));
  EXPECT_GE(drops(a, ServerDrop::kServerFull), 1u);
  EXPECT_GE(drops(b, ServerDrop::kServerFull), 1u);
  EXPECT_GE(sim.net.count(kServerA, c.address, 1), 1u);
  EXPECT_GE(sim.net.count(kServerB, c.address, 1), 1u);
  EXPECT_EQ(sim.net.count(kServerA, c.address, 2), 0u);  // no challenge when full
}

TEST_P(Server_, FullOnResponseDenies) {
  auto& s = sim.add_server(Sim::config(kServerA, 1));
  // Both handshakes run in the same steps: both get a challenge, one gets the slot.
  auto& c1 = connect_client(10, 1, kServerA);
  auto& c2 = connect_client(11, 2, kServerA);
  ASSERT_TRUE(sim.run_until(
      [&] {
        return c1.client->state() != ClientState::kSendingConnectionRequest &&
               c1.client->state() != ClientState::kSendingConnectionResponse &&
               c2.client->state() != ClientState::kSendingConnectionRequest &&
               c2.client->state() != ClientState::kSendingConnectionResponse;
      },
      3000));
  EXPECT_EQ(s.server->num_connected(), 1u);
  EXPECT_TRUE(c1.client->connected() != c2.client->connected());
  const auto& loser = c1.client->connected() ? c2 : c1;
  EXPECT_EQ(loser.client->state(), ClientState::kConnectionDenied);
  EXPECT_EQ(drops(s, ServerDrop::kServerFull), 1u);
  EXPECT_EQ(sim.net.count(kServerA, loser.address, 2), 1u);  // had its challenge
  EXPECT_EQ(sim.net.count(kServerA, loser.address, 1), 1u);  // then the denial
}

TEST_P(Server_, TokenFromSecondAddressRefused) {
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  TokenSpec spec;
  spec.client_id = 5;
  spec.servers = {kServerA};
  const auto token = make_token(spec, sim.clock.now);
  auto& c1 = sim.add_client(addr(10, 50000));
  auto& thief = sim.add_client(addr(66, 50000));
  c1.client->connect(token, sim.clock.now);
  sim.step();  // the owner's request is first
  thief.client->connect(token, sim.clock.now);
  ASSERT_TRUE(sim.run_until([&] { return c1.client->connected(); }, 2000));
  sim.run_ms(500);
  EXPECT_GE(
      drops(s, ServerDrop::kTokenAlreadyUsed) + drops(s, ServerDrop::kClientIdAlreadyConnected),
      5u);
  EXPECT_GE(drops(s, ServerDrop::kTokenAlreadyUsed), 1u);
  EXPECT_EQ(sim.net.count_to(thief.address), 0u);
  EXPECT_EQ(s.server->num_connected(), 1u);
}

TEST_P(Server_, TokenFromSecondAddressRefusedWhilePending) {
  // Same as above with the owner stuck before its response: the entry is pending.
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  const NetcodeAddress owner = addr(10, 50000);
  sim.net.drop = [&](const NetDatagram& d) { return d.from == owner && d.type() == 3; };
  TokenSpec spec;
  spec.servers = {kServerA};
  const auto token = make_token(spec, sim.clock.now);
  auto& c1 = sim.add_client(owner);
  auto& thief = sim.add_client(addr(66, 50000));
  c1.client->connect(token, sim.clock.now);
  sim.step();
  thief.client->connect(token, sim.clock.now);
  sim.run_ms(500);
  EXPECT_EQ(c1.client->state(), ClientState::kSendingConnectionResponse);
  EXPECT_GE(drops(s, ServerDrop::kTokenAlreadyUsed), 4u);
  EXPECT_EQ(drops(s, ServerDrop::kClientIdAlreadyConnected), 0u);
  EXPECT_EQ(sim.net.count_to(thief.address), 0u);
}

TEST_P(Server_, TokenConsumedAfterSessionEnds) {
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  TokenSpec spec;
  spec.servers = {kServerA};
  const auto token = make_token(spec, sim.clock.now);
  auto& c1 = sim.add_client(addr(10, 50000));
  c1.client->connect(token, sim.clock.now);
  ASSERT_TRUE(sim.run_until([&] { return c1.client->connected(); }, 2000));
  c1.client->disconnect(sim.clock.now);
  sim.step();
  ASSERT_EQ(s.server->num_connected(), 0u);
  const uint64_t used = drops(s, ServerDrop::kTokenAlreadyUsed);

  // Same address, same token.
  c1.client->connect(token, sim.clock.now);
  sim.run_ms(500);
  EXPECT_FALSE(c1.client->connected());
  EXPECT_GE(drops(s, ServerDrop::kTokenAlreadyUsed) - used, 4u);
  // Another address, same token.
  auto& c2 = sim.add_client(addr(11, 50000));
  c2.client->connect(token, sim.clock.now);
  sim.run_ms(500);
  EXPECT_FALSE(c2.client->connected());
  EXPECT_EQ(sim.net.count_to(c2.address), 0u);
  EXPECT_EQ(s.server->num_connected(), 0u);
  // A fresh token for the same client id works.
  auto& c3 = connect_client(12, 1, kServerA);
  EXPECT_TRUE(sim.run_until([&] { return c3.client->connected(); }, 2000));
}

TEST_P(Server_, HistoryFullRefusesWithoutEvicting) {
  auto& s = sim.add_server(Sim::config(kServerA, 8), /*history_capacity=*/2);
  auto& c1 = connect_client(10, 1, kServerA);
  auto& c2 = connect_client(11, 2, kServerA);
  ASSERT_TRUE(
      sim.run_until([&] { return c1.client->connected() && c2.client->connected(); }, 2000));
  TokenSpec late;
  late.lifetime_seconds = 90;
  late.timeout_seconds = 60;
  auto& c3 = connect_client(12, 3, kServerA, late);
  sim.run_ms(1000);
  EXPECT_EQ(c3.client->state(), ClientState::kSendingConnectionRequest);
  EXPECT_GE(drops(s, ServerDrop::kTokenHistoryFull), 9u);
  EXPECT_EQ(sim.net.count_to(c3.address), 0u);
  EXPECT_EQ(s.shared->history().live(sim.clock.now.unix_seconds), 2u);

  // Nothing was evicted: client 1's consumed token is still refused after it leaves.
  c1.client->disconnect(sim.clock.now);
  sim.step();
  auto& again = sim.add_client(addr(13, 50000));
  // (c1's token bytes are gone with its state; replay its request instead.)
  const NetDatagram* req = sim.net.last(c1.address, 0);
  ASSERT_NE(req, nullptr);
  const uint64_t used = drops(s, ServerDrop::kTokenAlreadyUsed);
  sim.net.inject(again.address, kServerA, req->bytes, sim.clock.now);
  EXPECT_EQ(drops(s, ServerDrop::kTokenAlreadyUsed), used + 1);

  // Once the first two tokens expire (30 s) their entries make room for the third.
  ASSERT_TRUE(sim.run_until([&] { return c3.client->connected(); }, 40'000, 100));
  EXPECT_EQ(s.server->client_id(c3.client->client_index()), 3u);
}

TEST_P(Server_, SharedHistoryAcrossServers) {
  // Two servers (workers) share one history. A is full and denies; the client
  // moves on to B from the same address: the entry is pending for that address,
  // so B admits it, and the session consumes the token for both.
  auto shared = ServerShared::create(5);
  ASSERT_TRUE(shared.has_value());
  auto& a = sim.add_server(Sim::config(kServerA, 1), 0, shared->get());
  auto& b = sim.add_server(Sim::config(kServerB, 4), 0, shared->get());
  auto& filler = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return filler.client->connected(); }, 2000));
  TokenSpec spec;
  spec.client_id = 2;
  spec.servers = {kServerA, kServerB};
  const auto token = make_token(spec, sim.clock.now);
  auto& c = sim.add_client(addr(11, 50000));
  c.client->connect(token, sim.clock.now);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 3000));
  EXPECT_EQ(c.client->server_address_index(), 1u);
  EXPECT_GE(drops(a, ServerDrop::kServerFull), 1u);
  EXPECT_EQ(b.server->num_connected(), 1u);
  // A has room again; the token's request replayed to A from another address:
  // its client id is connected (on B), which A knows.
  filler.client->disconnect(sim.clock.now);
  sim.step();
  const NetDatagram* req = sim.net.last(c.address, 0);
  ASSERT_NE(req, nullptr);
  const uint64_t id_taken = drops(a, ServerDrop::kClientIdAlreadyConnected);
  sim.net.inject(addr(12, 50000), kServerA, req->bytes, sim.clock.now);
  EXPECT_EQ(drops(a, ServerDrop::kClientIdAlreadyConnected), id_taken + 1);
  // Once the client has left B, the token is still consumed for A as well.
  c.client->disconnect(sim.clock.now);
  sim.step();
  EXPECT_EQ(b.server->num_connected(), 0u);
  const uint64_t used = drops(a, ServerDrop::kTokenAlreadyUsed);
  sim.net.inject(addr(12, 50000), kServerA, req->bytes, sim.clock.now);
  EXPECT_EQ(drops(a, ServerDrop::kTokenAlreadyUsed), used + 1);
  EXPECT_EQ(a.server->num_connected(), 0u);
  EXPECT_EQ(shared->get()->seated(), 0u);
}

TEST_P(Server_, WorkersOfOneServiceShareSeatsClientIdsAndNonceRanges) {
  // Two servers (workers) of one service of 2 clients, each with 2 slots.
  auto shared = ServerShared::create(2);
  ASSERT_TRUE(shared.has_value());
  auto& a = sim.add_server(Sim::config(kServerA, 2), 0, shared->get());
  auto& b = sim.add_server(Sim::config(kServerB, 2), 0, shared->get());
  // Each seals challenge and denied packets in its own part of [2^63, 2^64).
  EXPECT_EQ(a.server->global_sequence(), NetcodeServer::kGlobalSequenceStart);
  EXPECT_EQ(b.server->global_sequence(),
            NetcodeServer::kGlobalSequenceStart + NetcodeServer::kGlobalPartition);
  auto& c1 = connect_client(10, 1, kServerA);
  auto& c2 = connect_client(11, 2, kServerB);
  ASSERT_TRUE(
      sim.run_until([&] { return c1.client->connected() && c2.client->connected(); }, 2000));
  EXPECT_EQ(shared->get()->seated(), 2u);
  // A has a free slot, but the service is full: denied.
  auto& c3 = connect_client(12, 3, kServerA);
  ASSERT_TRUE(
      sim.run_until([&] { return c3.client->state() == ClientState::kConnectionDenied; }, 2000));
  EXPECT_GE(drops(a, ServerDrop::kServerFull), 1u);
  EXPECT_EQ(a.server->num_connected(), 1u);
  // Client id 1 is connected on A: B refuses it (a fresh token, another address).
  c2.client->disconnect(sim.clock.now);
  sim.step();
  EXPECT_EQ(shared->get()->seated(), 1u);
  auto& twin = connect_client(13, 1, kServerB);
  sim.run_ms(500);
  EXPECT_FALSE(twin.client->connected());
  EXPECT_GE(drops(b, ServerDrop::kClientIdAlreadyConnected), 1u);
  // Once it leaves A, the id is free everywhere: the twin, still trying, gets in.
  c1.client->disconnect(sim.clock.now);
  sim.step();
  ASSERT_TRUE(sim.run_until([&] { return twin.client->connected(); }, 2000));
  EXPECT_EQ(b.server->client_id(twin.client->client_index()), 1u);
  EXPECT_GT(b.server->global_sequence(),
            NetcodeServer::kGlobalSequenceStart + NetcodeServer::kGlobalPartition);
  EXPECT_LT(a.server->global_sequence(),
            NetcodeServer::kGlobalSequenceStart + NetcodeServer::kGlobalPartition);
}

// Timeouts and keep-alives hold while the server's and the client's clocks
// jitter (up to 30 ms either way each step), step back 3 s and jump 2 s
// ahead: the client stays connected and keep-alives keep coming both ways.
// A real silence still ends it, about one timeout later.
TEST_P(Server_, TimeoutsAndKeepAlivesHoldWhenClocksSkewJumpAndRunBackwards) {
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  TokenSpec spec;
  spec.timeout_seconds = 5;
  auto& c = connect_client(10, 1, kServerA, spec);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  std::mt19937 rng(5);
  int64_t server_off = 0, client_off = 0, server_jitter = 0, client_jitter = 0;
  auto skewed = [](int64_t off, int64_t jitter) {
    return [off, jitter](Now n) {
      n.mono_ns = static_cast<uint64_t>(static_cast<int64_t>(n.mono_ns) + off + jitter);
      return n;
    };
  };
  const size_t keep_alives_before = sim.net.count(kServerA, c.address, 4);
  for (int i = 0; i < 1000; ++i) {              // 10 s in steps of 10 ms
    if (i == 200) server_off -= 3'000'000'000;  // the server's clock steps back 3 s
    if (i == 400) client_off -= 3'000'000'000;  // then the client's
    if (i == 600) server_off += 2'000'000'000;  // jumps ahead 2 s
    if (i == 800) client_off += 2'000'000'000;
    server_jitter = static_cast<int64_t>(rng() % 61) * 1'000'000 - 30'000'000;
    client_jitter = static_cast<int64_t>(rng() % 61) * 1'000'000 - 30'000'000;
    sim.net.server_clock = skewed(server_off, server_jitter);
    sim.net.client_clock = skewed(client_off, client_jitter);
    sim.step(10);
    ASSERT_TRUE(c.client->connected()) << "step " << i;
    ASSERT_EQ(s.server->num_connected(), 1u) << "step " << i;
  }
  // 10 Hz for 10 s, less what the steps back and the jitter cost.
  EXPECT_GE(sim.net.count(kServerA, c.address, 4) - keep_alives_before, 70u);
  EXPECT_GE(sim.net.count(c.address, kServerA, 4), 70u);
  // The link dies: the server times the client out after about 5 s of its time.
  sim.net.drop = [](const NetDatagram&) { return true; };
  int steps = 0;
  ASSERT_TRUE(sim.run_until(
      [&] {
        ++steps;
        return s.server->num_connected() == 0;
      },
      10'000));
  EXPECT_GE(steps, 450);
  EXPECT_LE(steps, 620);
}

TEST_P(Server_, RestartRuleRefusesTokensFromBeforeTheStart) {
  // A token issued 10 s before the (re)start, with a 30 s lifetime.
  TokenSpec spec;
  spec.servers = {kServerA};
  const auto old_token = make_token(spec, sim.clock.now);
  sim.run_ms(10'000, 1000);
  auto& s = sim.add_server(Sim::config(kServerA, 4));  // same key, fresh history
  EXPECT_EQ(s.server->min_expire_timestamp(), sim.clock.now.unix_seconds + 30);
  auto& c = sim.add_client(addr(10, 50000));
  c.client->connect(old_token, sim.clock.now);
  sim.run_ms(500);
  EXPECT_FALSE(c.client->connected());
  EXPECT_GE(drops(s, server_drop(WireDrop::kTokenPredatesStart)), 4u);
  EXPECT_EQ(sim.net.count_to(c.address), 0u);
  // A token issued now passes.
  auto& fresh = connect_client(11, 2, kServerA);
  EXPECT_TRUE(sim.run_until([&] { return fresh.client->connected(); }, 2000));
}

TEST_P(Server_, RestartRuleCountsFromTheFirstPacketOrTickNotConstruction) {
  // A reload builds the new server while the old one still serves, then
  // swaps it in: the rule's start is when it begins to serve.
  auto& s = sim.add_server(Sim::config(kServerA, 4));
  const uint64_t built = s.server->min_expire_timestamp();
  sim.clock.advance_ms(5'000);  // built, not yet serving
  sim.step();
  EXPECT_EQ(s.server->min_expire_timestamp(), built + 5);
  sim.run_ms(5'000, 1000);  // serving: it stays
  EXPECT_EQ(s.server->min_expire_timestamp(), built + 5);
}

TEST_P(Server_, RestartLifetimeSettingAndDefault) {
  auto c = Sim::config(kServerA, 1);
  c.max_connect_token_lifetime_seconds = 45;
  auto& s1 = sim.add_server(c);
  EXPECT_EQ(s1.server->min_expire_timestamp(), sim.clock.now.unix_seconds + 45);
  auto c2 = Sim::config(kServerB, 1);
  c2.max_connect_token_lifetime_seconds = 0;
  auto& s2 = sim.add_server(c2);
  EXPECT_EQ(s2.server->min_expire_timestamp(), sim.clock.now.unix_seconds + 30);
  EXPECT_EQ(s1.server->global_sequence(), 1ULL << 63);
}

TEST_P(Server_, ReplayedPayloadRefused) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  auto& c = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  std::vector<uint8_t> p = {1, 2, 3, 4};
  ASSERT_TRUE(c.client->send_payload(p, sim.clock.now));
  sim.step();
  ASSERT_EQ(s.events->payloads.size(), 1u);
  const NetDatagram* d = sim.net.last(c.address, 5);
  ASSERT_NE(d, nullptr);
  sim.net.inject(c.address, kServerA, d->bytes, sim.clock.now);
  EXPECT_EQ(s.events->payloads.size(), 1u);
  EXPECT_EQ(drops(s, server_drop(WireDrop::kReplayed)), 1u);
  // And on the client: a replayed server payload.
  ASSERT_TRUE(s.server->send_payload(0, p, sim.clock.now));
  sim.step();
  ASSERT_EQ(c.events->payloads.size(), 1u);
  const NetDatagram* sd = sim.net.last(kServerA, 5);
  ASSERT_NE(sd, nullptr);
  sim.net.inject(kServerA, c.address, sd->bytes, sim.clock.now);
  EXPECT_EQ(c.events->payloads.size(), 1u);
  EXPECT_EQ(c.client->drops()[static_cast<size_t>(WireDrop::kReplayed)], 1u);
}

// --- Invariants --------------------------------------------------------------

TEST_P(Server_, NothingSentToAddressesWithoutAValidToken) {
  auto& s = sim.add_server(Sim::config(kServerA, 2));
  // Forged requests: random bytes of the right size, a real token under another key.
  std::vector<uint8_t> junk(kConnectionRequestBytes);
  randombytes_buf(junk.data(), junk.size());
  junk[0] = 0;
  for (uint8_t i = 0; i < 20; ++i) sim.net.inject(addr(70 + i, 9), kServerA, junk, sim.clock.now);
  TokenSpec spec;
  spec.servers = {kServerA};
  Key wrong = random_key();
  TestNetwork scratch(kNetProtocolId, wrong);
  NetcodeClient builder(scratch.port(addr(90, 1)));
  builder.connect(make_token(spec, sim.clock.now, wrong), sim.clock.now);
  builder.update(sim.clock.now);
  sim.net.inject(addr(90, 1), kServerA, scratch.sent.back().bytes, sim.clock.now);
  for (int i = 0; i < 100; ++i) {
    std::vector<uint8_t> p(1 + (i * 37) % 400);
    randombytes_buf(p.data(), p.size());
    sim.net.inject(addr(91, static_cast<uint16_t>(i)), kServerA, p, sim.clock.now);
  }
  sim.run_ms(1000);
  EXPECT_TRUE(sim.net.sent.empty());
  EXPECT_EQ(s.server->mappings().size(), 0u);
  EXPECT_EQ(s.shared->history().live(sim.clock.now.unix_seconds), 0u);
}

TEST_P(Server_, GlobalAndSlotSequencesStayApart) {
  auto& s = sim.add_server(Sim::config(kServerA, 1));
  auto& c = connect_client(10, 1, kServerA);
  ASSERT_TRUE(sim.run_until([&] { return c.client->connected(); }, 2000));
  EXPECT_GE(s.server->global_sequence(), (1ULL << 63) + 1);  // one challenge at least
  EXPECT_GE(s.server->next_sequence(0), 1u);
  EXPECT_LT(s.server->next_sequence(0), 1ULL << 63);
  // The challenge went out with an 8-byte sequence, the keep-alive with a short one.
  const NetDatagram* ch = sim.net.last(kServerA, 2);
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->bytes[0] >> 4, 8);
  EXPECT_EQ(ch->bytes.size(), 1u + 8 + 8 + kChallengeTokenBytes + kMacBytes);
  const NetDatagram* ka = sim.net.last(kServerA, 4);
  ASSERT_NE(ka, nullptr);
  EXPECT_EQ(ka->bytes[0] >> 4, 1);
}

}  // namespace
}  // namespace bypass::conn
