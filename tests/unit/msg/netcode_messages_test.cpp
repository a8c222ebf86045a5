// The message layer over real netcode connections (conn/): a netcode server
// with a MessageServer and its echo application, and MessageClients, on the
// in-memory network of the netcode tests with 30 % loss, duplication every
// fifth datagram, reordering and corrupted datagrams. Every reliable message
// comes back once, whole and in order; corrupted datagrams die in the AEAD.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "../conn/netcode_test_network.hpp"
#include "session_link.hpp"

#include <bypass/msg/echo_app.hpp>
#include <bypass/msg/message_client.hpp>
#include <bypass/msg/message_server.hpp>

namespace bypass::msg {
namespace {

using conn::test::addr;
using conn::test::Clock;
using conn::test::TestNetwork;
using conn::test::TokenSpec;

// The netcode server's events into the message server, and back.
struct Bridge : conn::ConnectionHandler, ConnectionTransport {
  conn::NetcodeServer* server = nullptr;
  MessageServer* messages = nullptr;
  const conn::Now* now = nullptr;
  void on_connect(uint32_t i, uint64_t id,
                  std::span<const uint8_t, conn::kUserDataBytes> ud) override {
    messages->on_connect(i, id, ud, now->mono_ns);
  }
  void on_payload(uint32_t i, std::span<const uint8_t> p) override {
    messages->on_payload(i, p, now->mono_ns);
  }
  void on_disconnect(uint32_t i, conn::DisconnectReason) override { messages->on_disconnect(i); }
  size_t send_payloads(std::span<const OutPacket> packets) override {
    size_t failed = 0;
    for (const OutPacket& p : packets) failed += !server->send_payload(p.conn, p.data(), *now);
    return failed;
  }
  void disconnect(uint32_t c) override { server->disconnect(c, *now); }
};

struct ClientApp : MessageHandler {
  void on_open(Session&) override { ++opened; }
  bool on_message(Session&, uint8_t ch, bool text, std::span<const uint8_t> b) override {
    got.push_back({ch, text, {b.begin(), b.end()}});
    return true;
  }
  void on_close(Session&, uint16_t code, std::string_view) override { close_code = code; }
  int opened = 0;
  uint16_t close_code = 0;
  std::vector<test::Got> got;
};

TEST(NetcodeMessages, EchoSurvivesLossDuplicationReorderingAndCorruption) {
  ASSERT_TRUE(conn::crypto_init().is_ok());
  Clock clock;
  TestNetwork net;
  net.loss_percent = 30;
  net.duplicate_every = 5;
  net.reorder = true;
  const conn::NetcodeAddress server_addr = addr(1, 40000);

  auto history = conn::ServerShared::create(8);
  ASSERT_TRUE(history.has_value());
  conn::NetcodeServerConfig sc;
  sc.protocol_id = conn::test::kNetProtocolId;
  sc.private_key = conn::test::net_private_key();
  sc.public_addresses = {server_addr};
  sc.max_clients = 8;
  Bridge bridge;
  bridge.now = &clock.now;
  auto server =
      conn::NetcodeServer::create(sc, history->get(), net.port(server_addr), &bridge, clock.now);
  ASSERT_TRUE(server.has_value()) << server.error();
  bridge.server = server->get();
  net.attach_server(server_addr, server->get());
  MessageServerConfig mc;
  EchoApp echo;
  MessageServer messages(mc, &echo, &bridge, sc.max_clients);
  bridge.messages = &messages;

  constexpr int kClients = 3;
  SessionConfig cc;
  ChunkPool client_pool(4096);
  SessionCounters client_counters;
  std::vector<std::unique_ptr<ClientApp>> apps;
  std::vector<std::unique_ptr<MessageClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    const conn::NetcodeAddress a = addr(static_cast<uint8_t>(10 + i), 5000);
    apps.push_back(std::make_unique<ClientApp>());
    clients.push_back(std::make_unique<MessageClient>(net.port(a), apps.back().get(), &cc,
                                                      &client_pool, &client_counters));
    MessageClient* c = clients.back().get();
    net.attach(a, [c](const conn::NetcodeAddress& f, std::span<uint8_t> p, conn::Now n) {
      c->receive(f, p, n);
    });
    TokenSpec spec;
    spec.client_id = 100 + i;
    spec.servers = {server_addr};
    spec.timeout_seconds = 10;
    c->connect(conn::test::make_token(spec, clock.now), clock.now);
  }

  // Reliable on channel 0, sizes up to 64 KiB, sent as each queue allows.
  const std::vector<size_t> sizes = {1, 100, 1024, 1025, 4000, 65536, 7, 30000};
  std::vector<size_t> next(kClients, 0);
  uint64_t corrupted = 0;
  auto all_back = [&] {
    for (int i = 0; i < kClients; ++i) {
      if (apps[i]->got.size() < sizes.size()) return false;
    }
    return true;
  };
  for (int ms = 0; ms < 120'000 && !all_back(); ++ms) {
    clock.advance_ms(1);
    // Corrupt one datagram in fifty on its way: flip a byte past the prefix.
    if (ms % 50 == 0 && !net.sent.empty()) {
      auto d = net.sent.back();
      if (d.bytes.size() > 20) {
        d.bytes[d.bytes.size() / 2] ^= 0x40;
        net.inject(d.from, d.to, d.bytes, clock.now);
        ++corrupted;
      }
    }
    net.deliver(clock.now);
    messages.flush(clock.now.mono_ns);
    for (int i = 0; i < kClients; ++i) {
      MessageClient& c = *clients[i];
      while (c.session().open_for_messages() && next[i] < sizes.size() &&
             c.session().send(0, false, test::pattern(sizes[next[i]], i * 100 + next[i])) ==
                 SendResult::kOk) {
        ++next[i];
      }
      if (ms % 10 == 0) {
        c.update(clock.now);
      } else {
        c.flush(clock.now);
      }
    }
    if (ms % 10 == 0) {
      (*server)->update(clock.now);
      messages.tick(clock.now.mono_ns);
    }
  }
  ASSERT_TRUE(all_back());
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(apps[i]->got.size(), sizes.size()) << i;
    for (size_t k = 0; k < sizes.size(); ++k) {
      EXPECT_EQ(apps[i]->got[k].bytes, test::pattern(sizes[k], i * 100 + k)) << i << " " << k;
    }
  }
  EXPECT_EQ(messages.open_sessions(), static_cast<uint32_t>(kClients));
  EXPECT_GT(messages.counters().retransmits, 0u);
  EXPECT_GT(corrupted, 0u);
  EXPECT_GT((*server)->drops()[static_cast<size_t>(conn::ServerDrop::kDecryptFailed)] +
                (*server)->drops()[static_cast<size_t>(conn::ServerDrop::kReplayed)],
            0u);
  EXPECT_TRUE(net.violations.empty());

  // Client 0 closes with a code; the server's connection goes too.
  clients[0]->session().close(kCloseNormal, "done");
  for (int ms = 0;
       ms < 5000 && ((*server)->num_connected() != kClients - 1 || apps[0]->close_code == 0);
       ++ms) {
    clock.advance_ms(1);
    net.deliver(clock.now);
    messages.flush(clock.now.mono_ns);
    for (auto& c : clients) c->update(clock.now);
    (*server)->update(clock.now);
    messages.tick(clock.now.mono_ns);
  }
  EXPECT_EQ(apps[0]->close_code, kCloseNormal);
  EXPECT_EQ((*server)->num_connected(), static_cast<uint32_t>(kClients - 1));
  EXPECT_EQ(messages.open_sessions(), static_cast<uint32_t>(kClients - 1));
}

}  // namespace
}  // namespace bypass::msg
