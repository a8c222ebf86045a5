// libFuzzer target for the netcode.io server: the first byte chooses what the
// rest is.
//   0: a datagram from a stranger, as it comes (the wire reader: sizes, types,
//      version, protocol id, token decryption all refuse it in some way);
//   1: a packet of a chosen type, sequence and body, sealed with the key of a
//      connected client, so the fuzzer reaches what runs after decryption
//      (replay window, keep-alive, payload, disconnect, and the state they
//      leave behind);
//   2: a public connect token and a private token's plaintext for the readers.
// A server with one connected client is built once; the checks are the
// sanitizers' and that the server's counts stay consistent.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <bypass/conn/client.hpp>
#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/packet.hpp>
#include <bypass/conn/server.hpp>

#include "fuzz_env.hpp"

namespace {

using namespace bypass::conn;

constexpr uint64_t kProtocol = 0x1122334455667788ull;

struct Queue final : PacketSink {
  void send(const NetcodeAddress& to, std::span<const uint8_t> p) override {
    last_to = to;
    packets.emplace_back(p.begin(), p.end());
  }
  NetcodeAddress last_to;
  std::vector<std::vector<uint8_t>> packets;
};

struct World {
  Key key{};
  Key c2s{};
  NetcodeAddress server = NetcodeAddress::v4(198, 18, 0, 2, 40000);
  NetcodeAddress client = NetcodeAddress::v4(198, 18, 0, 1, 5000);
  NetcodeAddress stranger = NetcodeAddress::v4(198, 18, 0, 9, 6000);
  Queue to_clients;
  std::unique_ptr<ServerShared> history;
  std::unique_ptr<NetcodeServer> srv;
  uint64_t sequence = 0;
  uint64_t mono = 1'000'000'000;
  uint64_t unix = 1'800'000'000;

  World() {
    if (!crypto_init()) std::abort();
    key = random_key();
    auto h = ServerShared::create(4, 64);
    if (!h) std::abort();
    history = std::move(*h);
    NetcodeServerConfig c;
    c.protocol_id = kProtocol;
    c.private_key = key;
    c.public_addresses = {server};
    c.max_clients = 4;
    auto s = NetcodeServer::create(c, history.get(), &to_clients, nullptr, {unix, mono});
    if (!s) std::abort();
    srv = std::move(*s);
    connect();
  }

  // A fresh client with a fresh token. The wall clock moves on by a token's
  // lifetime each time, so the history's entries of earlier tokens expire
  // (else the fuzzer's disconnects would fill it and every token be refused).
  void connect() {
    unix += 61;
    PrivateConnectToken priv;
    priv.client_id = 7;
    priv.timeout_seconds = -1;  // never times out: the fuzzer's clock stands still
    priv.num_server_addresses = 1;
    priv.server_addresses[0] = server;
    priv.client_to_server_key = random_key();
    priv.server_to_client_key = random_key();
    c2s = priv.client_to_server_key;
    std::array<uint8_t, kConnectTokenBytes> token{};
    if (!generate_connect_token(priv, {}, kProtocol, unix, unix + 60, random_connect_token_nonce(),
                                key, token))
      std::abort();
    Queue to_server;
    NetcodeClient cl(&to_server);
    cl.connect(token, {unix, mono});
    for (int i = 0; i < 8 && !cl.connected(); ++i) {
      mono += 100'000'000;
      cl.update({unix, mono});
      for (auto& p : to_server.packets) srv->receive(client, p, {unix, mono});
      to_server.packets.clear();
      for (auto& p : to_clients.packets) cl.receive(server, p, {unix, mono});
      to_clients.packets.clear();
    }
    FUZZ_CHECK(cl.connected(), "the client did not connect again (state %d)",
               static_cast<int>(cl.state()));
    sequence = cl.next_sequence();
  }
};

World& world() {
  static World w;
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  World& w = world();
  const uint8_t mode = data[0] % 3;
  ++data;
  --size;
  std::vector<uint8_t> buf(data, data + size);
  w.to_clients.packets.clear();
  if (mode == 0) {
    w.srv->receive(w.stranger, buf, {w.unix, w.mono});
    // Bytes the fuzzer made cannot hold a token sealed with our key: nothing
    // may go back to a stranger (no amplification, no oracle).
    FUZZ_CHECK(w.to_clients.packets.empty(), "%zu packets sent to a stranger",
               w.to_clients.packets.size());
  } else if (mode == 1) {
    if (size < 9) return 0;
    const uint8_t type = 1 + data[0] % 6;
    uint64_t seq = 0;
    std::memcpy(&seq, data + 1, 8);
    seq = seq % 4 == 0 ? w.sequence++ : seq % (w.sequence + 300);  // mostly fresh, some replays
    std::span<const uint8_t> body(data + 9, size - 9);
    std::array<uint8_t, kMaxPacketBytes> out{};
    Written wr;
    switch (type) {
      case 4:
        wr = write_keep_alive(out, kProtocol, w.c2s, seq, 0, 0);
        break;
      case 5:
        wr = write_payload(out, kProtocol, w.c2s, seq,
                           body.first(std::min<size_t>(body.size(), 1200)));
        break;
      case 6:
        wr = write_disconnect(out, kProtocol, w.c2s, seq);
        break;
      default:
        wr = write_connection_denied(out, kProtocol, w.c2s, seq);  // a type servers ignore
        break;
    }
    if (wr) w.srv->receive(w.client, std::span<uint8_t>(out.data(), wr.size), {w.unix, w.mono});
    w.mono += 1'000'000;
    w.srv->update({w.unix, w.mono});
    if (!w.srv->connected(0)) w.connect();  // the fuzzer disconnected it: start again
  } else {
    (void)read_connect_token(buf);
    std::array<uint8_t, 1024> plain{};
    if (!buf.empty()) std::memcpy(plain.data(), buf.data(), std::min(buf.size(), plain.size()));
    PrivateConnectToken t;
    (void)read_private_connect_token(plain, t);
  }
  return 0;
}
