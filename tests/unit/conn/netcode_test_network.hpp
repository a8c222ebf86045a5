// An in-memory network for the netcode state machine tests: endpoints by
// address, a manual clock (unix seconds advance with the monotonic time),
// loss / duplication / reordering, a log of every datagram sent, and the
// server invariant checked on every send: a server sends nothing to an
// address before a connection request from that address carried a connect
// token that decrypts with the private key (checked here independently).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <bypass/conn/client.hpp>
#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_now.hpp>
#include <bypass/conn/packet_sink.hpp>
#include <bypass/conn/server.hpp>

namespace bypass::conn::test {

inline constexpr uint64_t kNetProtocolId = 0x0badc0de12345678ULL;
inline constexpr uint64_t kStartUnix = 1'800'000'000ULL;
inline constexpr uint64_t kMonoStart = 5 * kNanosPerSecond;

inline Key net_private_key() {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(0xA0 ^ (i * 13));
  return k;
}

inline NetcodeAddress addr(uint8_t last, uint16_t port) {
  return NetcodeAddress::v4(10, 0, 0, last, port);
}

inline std::string to_string(const NetcodeAddress& a) {
  if (a.type == AddressType::kIpv4) {
    return std::to_string(a.ipv4[0]) + "." + std::to_string(a.ipv4[1]) + "." +
           std::to_string(a.ipv4[2]) + "." + std::to_string(a.ipv4[3]) + ":" +
           std::to_string(a.port);
  }
  return "[v6]:" + std::to_string(a.port);
}

// Packet type of a datagram: 0 for a request, the low prefix bits otherwise.
inline int type_of(std::span<const uint8_t> b) {
  if (b.empty()) return -1;
  return b[0] == 0 ? 0 : (b[0] & 0x0F);
}

struct Clock {
  Now now{kStartUnix, kMonoStart};
  void advance_ms(uint64_t ms) {
    now.mono_ns += ms * 1'000'000ULL;
    now.unix_seconds = kStartUnix + (now.mono_ns - kMonoStart) / kNanosPerSecond;
  }
};

struct NetDatagram {
  NetcodeAddress from;
  NetcodeAddress to;
  std::vector<uint8_t> bytes;
  int type() const { return type_of(bytes); }
};

class TestNetwork {
 public:
  using Receiver = std::function<void(const NetcodeAddress&, std::span<uint8_t>, Now)>;

  class Port : public PacketSink {
   public:
    Port(TestNetwork* net, NetcodeAddress self) : net_(net), self_(self) {}
    void send(const NetcodeAddress& to, std::span<const uint8_t> packet) override {
      net_->post(self_, to, packet);
    }

   private:
    TestNetwork* net_;
    NetcodeAddress self_;
  };

  explicit TestNetwork(uint64_t protocol_id = kNetProtocolId, Key private_key = net_private_key())
      : protocol_id_(protocol_id), private_key_(private_key) {}

  PacketSink* port(const NetcodeAddress& self) {
    ports_.push_back(std::make_unique<Port>(this, self));
    return ports_.back().get();
  }
  void attach_server(const NetcodeAddress& a, NetcodeServer* s) {
    servers_.push_back(a);
    server_objects_.push_back(s);
    receivers_.push_back({a, [this, s](const NetcodeAddress& f, std::span<uint8_t> p, Now n) {
                            if (batched) {
                              s->receive_in_batch(f, p, server_now(n));
                            } else {
                              s->receive(f, p, server_now(n));
                            }
                          }});
  }
  // Servers read each delivery round as one batch (receive_in_batch, then end_batch), as the
  // netcode service does.
  bool batched = false;
  void attach_client(const NetcodeAddress& a, NetcodeClient* c) {
    receivers_.push_back({a, [this, c](const NetcodeAddress& f, std::span<uint8_t> p, Now n) {
                            c->receive(f, p, client_now(n));
                          }});
  }
  // What servers and clients are told the time is (a clock that skews,
  // jumps or runs backwards); the true time by default.
  std::function<Now(Now)> server_clock, client_clock;
  Now server_now(Now n) const { return server_clock ? server_clock(n) : n; }
  Now client_now(Now n) const { return client_clock ? client_clock(n) : n; }
  void attach(const NetcodeAddress& a, Receiver r) { receivers_.push_back({a, std::move(r)}); }
  void detach(const NetcodeAddress& a) {
    std::erase_if(receivers_, [&](const auto& r) { return r.first == a; });
  }

  void post(const NetcodeAddress& from, const NetcodeAddress& to, std::span<const uint8_t> b) {
    NetDatagram d{from, to, std::vector<uint8_t>(b.begin(), b.end())};
    if (is_server(from) && !validated(from, to)) {
      violations.push_back("server " + to_string(from) + " sent type " + std::to_string(d.type()) +
                           " to " + to_string(to) + " before any valid token came from there");
    }
    sent.push_back(d);
    // "Every Nth" counts per flow (from, to): a global count would, with
    // clients in lock step, keep hitting the same flow and never let it through.
    const uint64_t n = ++flow_count(from, to);
    if (drop_every != 0 && n % drop_every == 0) return;
    if (loss_percent != 0 && rng_() % 100 < loss_percent) return;
    if (drop && drop(d)) return;
    queue_.push_back(d);
    if (duplicate_every != 0 && n % duplicate_every == 0) queue_.push_back(d);
  }

  // Delivers what was queued before this call (answers wait for the next round).
  void deliver(Now now) {
    std::vector<NetDatagram> batch(queue_.begin(), queue_.end());
    queue_.clear();
    if (reorder) std::reverse(batch.begin(), batch.end());
    for (NetDatagram& d : batch) inject_in_batch(d.from, d.to, d.bytes, now);
    end_batches();
  }

  // Hands a datagram to the endpoint at `to` at once (tests forge packets
  // with this): with batched servers, as a batch of its own.
  void inject(const NetcodeAddress& from, const NetcodeAddress& to, std::vector<uint8_t> bytes,
              Now now) {
    inject_in_batch(from, to, std::move(bytes), now);
    end_batches();
  }
  void end_batches() {
    if (batched)
      for (NetcodeServer* s : server_objects_) s->end_batch();
  }
  // The same, as one datagram of a batch that goes on (batched servers may
  // hold a request until end_batches()).
  void inject_in_batch(const NetcodeAddress& from, const NetcodeAddress& to,
                       std::vector<uint8_t> bytes, Now now) {
    if (is_server(to)) note_request(from, to, bytes, now);
    for (auto& [a, r] : receivers_) {
      if (a == to) {
        r(from, bytes, now);
        return;
      }
    }
  }

  size_t count(const NetcodeAddress& from, const NetcodeAddress& to, int type) const {
    return static_cast<size_t>(std::count_if(sent.begin(), sent.end(), [&](const NetDatagram& d) {
      return d.from == from && d.to == to && (type < 0 || d.type() == type);
    }));
  }
  size_t count_to(const NetcodeAddress& to) const {
    return static_cast<size_t>(
        std::count_if(sent.begin(), sent.end(), [&](const NetDatagram& d) { return d.to == to; }));
  }
  const NetDatagram* last(const NetcodeAddress& from, int type) const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      if (it->from == from && it->type() == type) return &*it;
    }
    return nullptr;
  }

  std::vector<NetDatagram> sent;        // every datagram posted, lost ones included
  std::vector<std::string> violations;  // server invariant breaches
  std::function<bool(const NetDatagram&)> drop;
  uint64_t drop_every = 0;       // per flow
  uint64_t duplicate_every = 0;  // per flow
  uint64_t loss_percent = 0;     // random loss, seeded: runs repeat exactly
  bool reorder = false;          // each delivery round in reverse order

 private:
  bool is_server(const NetcodeAddress& a) const {
    return std::find(servers_.begin(), servers_.end(), a) != servers_.end();
  }
  bool validated(const NetcodeAddress& server, const NetcodeAddress& to) const {
    return std::any_of(validated_.begin(), validated_.end(),
                       [&](const auto& p) { return p.first == server && p.second == to; });
  }
  // Independently of the server: does this request carry a token that opens?
  void note_request(const NetcodeAddress& from, const NetcodeAddress& server,
                    std::span<const uint8_t> b, Now now) {
    if (b.size() != kConnectionRequestBytes || b[0] != 0) return;
    ByteReader r(b.subspan(1 + kVersionInfoBytes));
    const uint64_t pid = r.u64();
    const uint64_t expire = r.u64();
    ConnectTokenNonce nonce;
    r.copy(nonce);
    auto sealed = r.bytes(kPrivateConnectTokenBytes);
    if (!r.ok() || pid != protocol_id_ || expire <= now.unix_seconds) return;
    PrivateConnectToken t;
    if (decrypt_private_connect_token(sealed.first<kPrivateConnectTokenBytes>(), pid, expire, nonce,
                                      private_key_, t) != WireDrop::kOk) {
      return;
    }
    if (!validated(server, from)) validated_.emplace_back(server, from);
  }

  uint64_t& flow_count(const NetcodeAddress& from, const NetcodeAddress& to) {
    for (auto& f : flows_) {
      if (f.from == from && f.to == to) return f.count;
    }
    flows_.push_back({from, to, 0});
    return flows_.back().count;
  }

  struct Flow {
    NetcodeAddress from;
    NetcodeAddress to;
    uint64_t count;
  };
  uint64_t protocol_id_;
  Key private_key_;
  std::vector<Flow> flows_;
  std::mt19937_64 rng_{12345};
  std::deque<NetDatagram> queue_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<NetcodeAddress> servers_;
  std::vector<NetcodeServer*> server_objects_;
  std::vector<std::pair<NetcodeAddress, Receiver>> receivers_;
  std::vector<std::pair<NetcodeAddress, NetcodeAddress>> validated_;
};

// A connect token from the test backend.
struct TokenSpec {
  uint64_t client_id = 1;
  std::vector<NetcodeAddress> servers;         // in the private token (what servers check)
  std::vector<NetcodeAddress> public_servers;  // what the client dials (empty: the same)
  uint64_t lifetime_seconds = 30;
  int32_t timeout_seconds = 5;
  uint64_t protocol_id = kNetProtocolId;
  uint8_t user_data_fill = 0x5A;
};

inline std::array<uint8_t, kConnectTokenBytes> make_token(const TokenSpec& spec, Now now,
                                                          const Key& pk = net_private_key()) {
  PrivateConnectToken priv;
  priv.client_id = spec.client_id;
  priv.timeout_seconds = spec.timeout_seconds;
  priv.num_server_addresses = static_cast<uint32_t>(spec.servers.size());
  std::copy(spec.servers.begin(), spec.servers.end(), priv.server_addresses.begin());
  priv.client_to_server_key = random_key();
  priv.server_to_client_key = random_key();
  priv.user_data.fill(spec.user_data_fill);
  std::array<uint8_t, kConnectTokenBytes> out{};
  const Status s = generate_connect_token(
      priv, spec.public_servers, spec.protocol_id, now.unix_seconds,
      now.unix_seconds + spec.lifetime_seconds, random_connect_token_nonce(), pk, out);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return out;
}

// Records a server's events; echoes payloads back when asked to.
struct ServerEvents : ConnectionHandler {
  struct Connect {
    uint32_t index;
    uint64_t client_id;
    uint8_t user_data_first;
  };
  void on_connect(uint32_t i, uint64_t id, std::span<const uint8_t, kUserDataBytes> ud) override {
    connects.push_back({i, id, ud[0]});
  }
  void on_payload(uint32_t i, std::span<const uint8_t> p) override {
    payloads.emplace_back(i, std::vector<uint8_t>(p.begin(), p.end()));
    if (echo && server != nullptr) server->send_payload(i, p, *now);
  }
  void on_disconnect(uint32_t i, DisconnectReason r) override { disconnects.emplace_back(i, r); }

  NetcodeServer* server = nullptr;
  const Now* now = nullptr;
  bool echo = false;
  std::vector<Connect> connects;
  std::vector<std::pair<uint32_t, std::vector<uint8_t>>> payloads;
  std::vector<std::pair<uint32_t, DisconnectReason>> disconnects;
};

struct ClientEvents : ClientHandler {
  void on_state_change(ClientState from, ClientState to) override {
    changes.emplace_back(from, to);
  }
  void on_payload(std::span<const uint8_t> p) override {
    payloads.emplace_back(p.begin(), p.end());
  }
  std::vector<std::pair<ClientState, ClientState>> changes;
  std::vector<std::vector<uint8_t>> payloads;
};

// Servers, clients, a network and a clock, stepped together.
class Sim {
 public:
  struct ServerNode {
    NetcodeAddress address;
    std::unique_ptr<ServerShared> own;
    ServerShared* shared = nullptr;
    std::unique_ptr<ServerEvents> events;
    std::unique_ptr<NetcodeServer> server;
  };
  struct ClientNode {
    NetcodeAddress address;
    std::unique_ptr<ClientEvents> events;
    std::unique_ptr<NetcodeClient> client;
  };

  static NetcodeServerConfig config(const NetcodeAddress& a, uint32_t max_clients) {
    NetcodeServerConfig c;
    c.protocol_id = kNetProtocolId;
    c.private_key = net_private_key();
    c.public_addresses = {a};
    c.max_clients = max_clients;
    return c;
  }

  // A server with shared state of its own (a history of 8 x max clients
  // unless given), or `shared` (as servers on several workers).
  ServerNode& add_server(const NetcodeServerConfig& c, uint32_t history_capacity = 0,
                         ServerShared* shared = nullptr) {
    auto node = std::make_unique<ServerNode>();
    node->address = c.public_addresses.at(0);
    if (shared == nullptr) {
      auto h = ServerShared::create(c.max_clients, history_capacity);
      EXPECT_TRUE(h.has_value());
      node->own = std::move(*h);
      shared = node->own.get();
    }
    node->shared = shared;
    node->events = std::make_unique<ServerEvents>();
    node->events->now = &clock.now;
    auto s =
        NetcodeServer::create(c, shared, net.port(node->address), node->events.get(), clock.now);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error());
    node->server = std::move(*s);
    node->events->server = node->server.get();
    net.attach_server(node->address, node->server.get());
    servers.push_back(std::move(node));
    return *servers.back();
  }

  ClientNode& add_client(const NetcodeAddress& a) {
    auto node = std::make_unique<ClientNode>();
    node->address = a;
    node->events = std::make_unique<ClientEvents>();
    node->client = std::make_unique<NetcodeClient>(net.port(a), node->events.get());
    net.attach_client(a, node->client.get());
    clients.push_back(std::move(node));
    return *clients.back();
  }

  void step(uint64_t ms = 10) {
    clock.advance_ms(ms);
    for (auto& c : clients) c->client->update(net.client_now(clock.now));
    for (auto& s : servers) s->server->update(net.server_now(clock.now));
    net.deliver(clock.now);
  }
  void run_ms(uint64_t ms, uint64_t step_ms = 10) {
    for (uint64_t t = 0; t < ms; t += step_ms) step(step_ms);
  }
  bool run_until(const std::function<bool()>& done, uint64_t max_ms, uint64_t step_ms = 10) {
    for (uint64_t t = 0; t < max_ms; t += step_ms) {
      if (done()) return true;
      step(step_ms);
    }
    return done();
  }

  Clock clock;
  TestNetwork net;
  std::vector<std::unique_ptr<ServerNode>> servers;
  std::vector<std::unique_ptr<ClientNode>> clients;
};

}  // namespace bypass::conn::test
