// libFuzzer target for the message protocol (msg/): a server session and a
// client session, opened with a hello exchange, then driven by records of
// the input: [op][length hi][length lo][bytes]. Ops (op % 5):
//   0: the bytes as a packet to the server, as a peer could send anything;
//   1: time passes (bytes[0] ms) and both sides run their timers;
//   2: the server sends the bytes as a message (bytes[0] picks channel, kind);
//   3: both flush, and each side's packets reach the other (bytes[0] drops some);
//   4: the server's application refuses messages (or takes them again).
// Checks: the sanitizers', and that closing both sessions gives every chunk
// back to its pool.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <bypass/msg/session.hpp>

namespace {

using namespace bypass::msg;

struct Side final : MessageHandler, PacketOut {
  bool busy = false;
  bool echo = false;
  std::vector<std::vector<uint8_t>> wire;
  Session* self = nullptr;
  void on_open(Session&) override {}
  bool on_message(Session& s, uint8_t ch, bool text, std::span<const uint8_t> b) override {
    if (busy) return false;
    if (echo) s.send(ch, text, b);
    return true;
  }
  void on_close(Session&, uint16_t, std::string_view) override {}
  void transmit(std::span<const OutPacket> packets) override {
    for (const OutPacket& p : packets) wire.emplace_back(p.data().begin(), p.data().end());
  }
  PacketBatch batch{this, 1};
};

void exchange(Side& from, Session& to, uint64_t now, uint8_t drop_mask) {
  size_t i = 0;
  for (auto& p : from.wire) {
    if (((drop_mask >> (i++ % 8)) & 1) == 0) to.receive(p, now);
  }
  from.wire.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SessionConfig sc;
  sc.channels = {ChannelKind::kReliable, ChannelKind::kUnreliable,
                 ChannelKind::kUnreliableSequenced, ChannelKind::kReliable};
  sc.send_queue = 128;
  SessionConfig cc;
  cc.send_queue = 128;
  // Built once: every input must give every chunk back (checked below).
  static ChunkPool server_pool(256), client_pool(256);
  SessionCounters sn, cn;
  Side server_side, client_side;
  server_side.echo = true;
  Session server(Role::kServer, &sc, &server_pool, &server_side, &server_side.batch, &sn);
  Session client(Role::kClient, &cc, &client_pool, &client_side, &client_side.batch, &cn);
  uint64_t now = 1'000'000'000;
  server.open(now);
  client.open(now);
  for (int i = 0; i < 3; ++i) {
    client.flush(now);
    exchange(client_side, server, now, 0);
    server.flush(now);
    exchange(server_side, client, now, 0);
  }
  size_t at = 0;
  while (at + 3 <= size) {
    const uint8_t op = data[at] % 5;
    const size_t len = std::min<size_t>((size_t{data[at + 1]} << 8 | data[at + 2]), size - at - 3);
    std::span<const uint8_t> b(data + at + 3, len);
    at += 3 + len;
    const uint8_t first = b.empty() ? 0 : b[0];
    switch (op) {
      case 0:
        server.receive(b, now);
        break;
      case 1:
        now += uint64_t{first} * 1'000'000;
        server.tick(now);
        client.tick(now);
        break;
      case 2:
        server.send(first % 5, (first & 0x80) != 0, b.empty() ? b : b.subspan(1));
        break;
      case 3:
        server.flush(now);
        client.flush(now);
        exchange(server_side, client, now, first);
        exchange(client_side, server, now, static_cast<uint8_t>(first >> 4));
        break;
      case 4:
        server_side.busy = (first & 1) != 0;
        break;
    }
  }
  server.lost();
  client.lost();
  if (server_pool.available() != server_pool.capacity() ||
      client_pool.available() != client_pool.capacity()) {
    std::fprintf(stderr, "fuzz_msg: chunks not returned: server %u of %u, client %u of %u\n",
                 server_pool.available(), server_pool.capacity(), client_pool.available(),
                 client_pool.capacity());
    std::abort();
  }
  return 0;
}
