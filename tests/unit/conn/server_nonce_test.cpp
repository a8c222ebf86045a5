// No nonce repeats under one key, on the wire: two workers of one service and
// their clients through loss, duplication and reordering, a full service that
// denies, disconnects from both sides, reconnects with new tokens, and a
// restart of both workers with the same private key while clients with old
// tokens keep trying. Every packet sent is opened with the key it was sealed
// under (tried against every key a token carried, so nothing is taken on
// trust from the sender), and each (key, sequence) pair, and each challenge
// token's sequence per worker, must be new.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include <bypass/conn/packet.hpp>
#include <bypass/conn/server.hpp>

#include "server_fixture.hpp"

namespace bypass::conn {
namespace {

using namespace test;

// An IPv4 address as a map key (the test's addresses are all IPv4).
using Where = std::pair<std::array<uint8_t, 4>, uint16_t>;
Where where(const NetcodeAddress& a) {
  return {a.ipv4, a.port};
}

// The keys of every private token a request on the wire carried, by the
// address it came from.
struct TokenKeys {
  std::vector<Key> client_to_server, server_to_client;
};
std::map<Where, TokenKeys> keys_by_sender(const std::vector<NetDatagram>& sent) {
  std::map<Where, TokenKeys> keys;
  const Key pk = net_private_key();
  for (const NetDatagram& d : sent) {
    if (d.type() != 0) continue;
    std::vector<uint8_t> copy = d.bytes;
    ReadContext ctx;
    ctx.protocol_id = kNetProtocolId;
    ctx.allowed = kServerReads;
    ctx.private_key = &pk;
    ctx.current_timestamp = kStartUnix - 1;  // every token the test minted is good then
    Packet p;
    if (read_packet(copy, ctx, p) != WireDrop::kOk) continue;
    TokenKeys& k = keys[where(d.from)];
    for (auto [list, key] : {std::pair{&k.client_to_server, p.request.token.client_to_server_key},
                             std::pair{&k.server_to_client, p.request.token.server_to_client_key}})
      if (std::find(list->begin(), list->end(), key) == list->end()) list->push_back(key);
  }
  return keys;
}

class ServerNonces : public ServerBase, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    ServerBase::SetUp();
    sim.net.batched = GetParam();
    sim.net.loss_percent = 20;
    sim.net.duplicate_every = 5;
    sim.net.reorder = true;
  }

  // Two workers of one service of 3 clients.
  void start_workers() {
    shared_.push_back(std::move(*ServerShared::create(3)));
    for (const NetcodeAddress& a : {kServerA, kServerB}) {
      auto& s = sim.add_server(Sim::config(a, 3), 0, shared_.back().get());
      s.events->echo = true;
    }
  }
  // A crash: the workers stop and their state is gone, objects kept for the network's sake.
  void stop_workers() {
    for (auto& s : sim.servers) {
      sim.net.detach(s->address);
      stopped_.push_back(std::move(s));
    }
    sim.servers.clear();
  }
  Sim::ClientNode& dial(Sim::ClientNode* c, uint8_t host, uint64_t id) {
    TokenSpec spec;
    spec.client_id = id;
    spec.servers = {kServerA, kServerB};  // a denied client tries the other worker too
    if (c == nullptr) c = &sim.add_client(addr(host, 50000));
    tokens_[c] = make_token(spec, sim.clock.now);
    c->client->connect(tokens_[c], sim.clock.now);
    return *c;
  }
  // A payload from every connected client, a step of 20 ms, `n` times.
  void talk(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& c : sim.clients) {
        if (!c->client->connected()) continue;
        const std::vector<uint8_t> p = {static_cast<uint8_t>(i), 0x42};
        c->client->send_payload(p, sim.clock.now);
      }
      sim.step(20);
    }
  }

  std::vector<std::unique_ptr<ServerShared>> shared_;
  std::vector<std::unique_ptr<Sim::ServerNode>> stopped_;
  std::map<Sim::ClientNode*, std::array<uint8_t, kConnectTokenBytes>> tokens_;  // the latest each
};

TEST_P(ServerNonces, NoKeyEverSealsTwoPacketsWithOneNonce) {
  start_workers();
  std::vector<Sim::ClientNode*> cs;
  for (uint8_t i = 0; i < 5; ++i) cs.push_back(&dial(nullptr, 10 + i, 100 + i));  // 5 for 3 seats
  sim.run_ms(1500);
  talk(50);
  // Both sides end connections (redundant disconnect packets), and the
  // clients that left or were denied come back with new tokens.
  for (auto* c : cs) {
    if (c->client->connected() && c->client->client_index() == 0) {
      for (auto& s : sim.servers)
        if (s->server->connected(0)) s->server->disconnect(0, sim.clock.now);
      break;
    }
  }
  for (auto* c : cs) {
    if (c->client->connected()) {
      c->client->disconnect(sim.clock.now);
      break;
    }
  }
  sim.run_ms(300);
  for (size_t i = 0; i < cs.size(); ++i)
    if (!cs[i]->client->connected()) dial(cs[i], 0, 200 + i);
  sim.run_ms(1500);
  talk(50);
  // Both workers restart with the same private key; every client dials
  // again with the token it has, which the new workers refuse (it may
  // predate their start: its keys may have sealed packets from sequence 0
  // already), then the first three get new ones.
  stop_workers();
  const size_t restart = sim.net.sent.size();
  start_workers();
  for (auto* c : cs) c->client->connect(tokens_[c], sim.clock.now);
  sim.run_ms(6000);  // the first worker, silent, then (after the token's timeout) the second
  for (auto& s : sim.servers)
    EXPECT_GT(drops(*s, server_drop(WireDrop::kTokenPredatesStart)), 0u)
        << "no old token reached the restarted worker " << to_string(s->address);
  for (size_t i = 0; i < 3; ++i) dial(cs[i], 0, 400 + i);
  sim.run_ms(1500);
  talk(50);

  // Open every packet with the key it was sealed under.
  const auto keys = keys_by_sender(sim.net.sent);
  std::set<std::pair<Key, uint64_t>> seen;
  // A worker's challenge tokens: its own random key, its own sequence.
  std::set<std::tuple<Where, bool, uint64_t>> challenges;
  std::map<int, size_t> by_type;
  std::map<Key, std::set<Where>> denied_by;
  size_t repeats = 0, challenge_repeats = 0, unopened = 0;
  for (size_t i = 0; i < sim.net.sent.size(); ++i) {
    const NetDatagram& d = sim.net.sent[i];
    if (d.type() <= 0) continue;  // requests carry the backend's token nonce
    const bool from_server = d.from == kServerA || d.from == kServerB;
    const auto it = keys.find(where(from_server ? d.to : d.from));
    ASSERT_NE(it, keys.end()) << "a packet for a client whose token never came";
    bool opened = false;
    for (const Key& k : from_server ? it->second.server_to_client : it->second.client_to_server) {
      std::vector<uint8_t> copy = d.bytes;
      ReadContext ctx;
      ctx.protocol_id = kNetProtocolId;
      ctx.allowed = from_server ? kClientReads : kServerReads;
      ctx.read_key = &k;
      Packet p;
      if (read_packet(copy, ctx, p) != WireDrop::kOk) continue;
      opened = true;
      ++by_type[d.type()];
      repeats += !seen.emplace(k, p.sequence).second;
      if (p.type == PacketType::kConnectionChallenge)
        challenge_repeats +=
            !challenges.emplace(where(d.from), i >= restart, p.challenge_sequence).second;
      if (p.type == PacketType::kConnectionDenied) denied_by[k].insert(where(d.from));
      break;
    }
    unopened += !opened;
  }
  EXPECT_EQ(repeats, 0u) << "a (key, nonce) pair sealed twice";
  EXPECT_EQ(challenge_repeats, 0u) << "a worker sealed two challenge tokens with one sequence";
  EXPECT_EQ(unopened, 0u) << "packets no token's key opens";
  // The run covered what matters: every sealed type, both directions, and a
  // key that both workers denied.
  for (int t = 1; t <= 6; ++t) EXPECT_GT(by_type[t], 0u) << "no packet of type " << t;
  EXPECT_TRUE(std::any_of(denied_by.begin(), denied_by.end(), [](const auto& kv) {
    return kv.second.size() == 2;
  })) << "no client was denied by both workers under one key";
  EXPECT_GT(std::count_if(challenges.begin(), challenges.end(),
                          [](const auto& c) { return std::get<1>(c); }),
            0)
      << "no challenge after the restart";
}

INSTANTIATE_TEST_SUITE_P(Modes, ServerNonces, ::testing::Bool(), [](const auto& info) {
  return info.param ? std::string("Batched") : std::string("OneByOne");
});

}  // namespace
}  // namespace bypass::conn
