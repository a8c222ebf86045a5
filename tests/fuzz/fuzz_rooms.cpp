// libFuzzer target for the rooms application (msg/rooms_app) on a message
// server: three client sessions joined to it directly (no netcode), driven
// by records of the input: [op][client][length hi][length lo][bytes]. Ops
// (op % 6), for client (client % 3):
//   0: the bytes as a text message on channel 0 (a command: join, leave,
//      pub ROOM\n...; not UTF-8: sent as binary instead);
//   1: the bytes as a binary message on channel 1 (unreliable);
//   2: the bytes as a packet straight to the server, as a peer could send;
//   3: time passes (bytes[0] ms) and every side runs its timers;
//   4: the client stops reading (or reads again): a slow member;
//   5: the bytes as a record from another worker's ring (worker `client`),
//      as RoomsApp::on_linked reads a publication framed elsewhere.
// After each record the packets cross both ways. At the end every connection
// goes; checks: the sanitizers', that the server's pool is whole again and
// that no room is left.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include <bypass/msg/message_server.hpp>
#include <bypass/msg/rooms_app.hpp>

namespace {

using namespace bypass::msg;

constexpr uint32_t kClients = 3;

struct Client final : MessageHandler, PacketOut {
  void on_open(Session&) override {}
  bool on_message(Session&, uint8_t, bool, std::span<const uint8_t>) override { return !deaf; }
  void on_close(Session&, uint16_t, std::string_view) override {}
  void transmit(std::span<const OutPacket> packets) override {
    for (const OutPacket& p : packets) wire.emplace_back(p.data().begin(), p.data().end());
  }
  bool deaf = false;
  std::vector<std::vector<uint8_t>> wire;
  PacketBatch batch{this, 1};
};

struct Hub final : ConnectionTransport {
  size_t send_payloads(std::span<const OutPacket> packets) override {
    for (const OutPacket& p : packets)
      if (p.conn < kClients) to_client[p.conn].emplace_back(p.data().begin(), p.data().end());
    return 0;
  }
  void disconnect(uint32_t c) override { gone[c % kClients] = true; }
  std::deque<std::vector<uint8_t>> to_client[kClients];
  bool gone[kClients] = {};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RoomsConfig rc;
  rc.rooms_per_connection = 4;
  rc.members_per_room = 3;
  RoomsApp rooms(rc);
  Hub hub;
  MessageServerConfig mc;
  mc.session.channels = {ChannelKind::kReliable, ChannelKind::kUnreliable};
  mc.session.send_queue = 64;
  mc.pool_chunks = 512;
  MessageServer server(mc, &rooms, &hub, kClients);
  if (!rooms.attach(&server).is_ok()) __builtin_trap();
  SessionConfig cc;
  cc.send_queue = 64;
  ChunkPool client_pool(1024);
  SessionCounters counters;
  std::vector<std::unique_ptr<Client>> sides;
  std::vector<std::unique_ptr<Session>> clients;
  uint64_t now = 1'000'000'000;
  for (uint32_t i = 0; i < kClients; ++i) {
    sides.push_back(std::make_unique<Client>());
    clients.push_back(std::make_unique<Session>(Role::kClient, &cc, &client_pool, sides[i].get(),
                                                &sides[i]->batch, &counters));
    server.on_connect(i, 100 + i, {}, now);
    clients[i]->open(now);
  }
  auto cross = [&] {
    for (uint32_t i = 0; i < kClients; ++i) {
      clients[i]->flush(now);
      for (auto& p : sides[i]->wire)
        if (!hub.gone[i]) server.on_payload(i, p, now);
      sides[i]->wire.clear();
    }
    server.flush(now);
    for (uint32_t i = 0; i < kClients; ++i) {
      for (auto& p : hub.to_client[i]) clients[i]->receive(p, now);
      hub.to_client[i].clear();
    }
  };
  for (int i = 0; i < 3; ++i) cross();  // the hellos
  size_t at = 0;
  while (at + 4 <= size) {
    const uint8_t op = data[at] % 6;
    const uint32_t c = data[at + 1] % kClients;
    const size_t len = std::min<size_t>((size_t{data[at + 2]} << 8 | data[at + 3]), size - at - 4);
    std::span<const uint8_t> b(data + at + 4, len);
    at += 4 + len;
    switch (op) {
      case 0:
        if (clients[c]->send(0, true, b) == SendResult::kBadUtf8) clients[c]->send(0, false, b);
        break;
      case 1:
        clients[c]->send(1, false, b);
        break;
      case 2:
        if (!hub.gone[c]) server.on_payload(c, b, now);
        break;
      case 3:
        now += 1'000'000ull * (b.empty() ? 1 : b[0]);
        server.tick(now);
        for (auto& s : clients) s->tick(now);
        break;
      case 4:
        sides[c]->deaf = !sides[c]->deaf;
        break;
      case 5:
        rooms.on_linked(b, c + 1, now);
        break;
    }
    cross();
  }
  for (uint32_t i = 0; i < kClients; ++i) server.on_disconnect(i);
  if (rooms.rooms() != 0) {
    std::fprintf(stderr, "fuzz_rooms: %zu rooms left with every connection gone\n", rooms.rooms());
    std::abort();
  }
  if (server.pool().available() != server.pool().capacity()) {
    std::fprintf(stderr, "fuzz_rooms: %u of %u chunks not given back\n",
                 server.pool().capacity() - server.pool().available(), server.pool().capacity());
    std::abort();
  }
  return 0;
}
