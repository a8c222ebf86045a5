// UdpMessageClient (libbypass-client's whole client) over a real loopback UDP
// socket: a netcode server with the message layer's echo application runs in
// the test on a socket of its own, the client connects with a minted token,
// its messages come back whole and in order, and it closes with 1000. And
// its mistakes: a token that is not one, an expired one, a second connect().
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "../conn/netcode_test_network.hpp"
#include "session_link.hpp"

#include <bypass/conn/netcode_service.hpp>
#include <bypass/conn/server_shared.hpp>
#include <bypass/msg/echo_app.hpp>
#include <bypass/msg/message_server.hpp>
#include <bypass/msg/udp_message_client.hpp>
#include <bypass/udp/udp_socket.hpp>

namespace bypass::msg {
namespace {

// The server's side of a loopback socket.
struct SocketOut final : conn::PacketSink {
  int fd = -1;
  void send(const conn::NetcodeAddress& to, std::span<const uint8_t> packet) override {
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(conn::from_netcode(to), ss);
    ASSERT_GE(sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&ss), len),
              0);
  }
};

// The netcode server's events into the message server, and back.
struct LoopbackBridge : conn::ConnectionHandler, ConnectionTransport {
  conn::NetcodeServer* server = nullptr;
  MessageServer* messages = nullptr;
  conn::Now now{};
  void on_connect(uint32_t i, uint64_t id,
                  std::span<const uint8_t, conn::kUserDataBytes> ud) override {
    messages->on_connect(i, id, ud, now.mono_ns);
  }
  void on_payload(uint32_t i, std::span<const uint8_t> p) override {
    messages->on_payload(i, p, now.mono_ns);
  }
  void on_disconnect(uint32_t i, conn::DisconnectReason) override { messages->on_disconnect(i); }
  size_t send_payloads(std::span<const OutPacket> packets) override {
    size_t failed = 0;
    for (const OutPacket& p : packets) failed += !server->send_payload(p.conn, p.data(), now);
    return failed;
  }
  void disconnect(uint32_t c) override { server->disconnect(c, now); }
};

struct Echoed : MessageHandler {
  void on_open(Session& s) override {
    for (size_t i = 0; i < sizes.size(); ++i)
      EXPECT_EQ(s.send(0, false, test::pattern(sizes[i], static_cast<uint32_t>(i))),
                SendResult::kOk);
  }
  bool on_message(Session& s, uint8_t ch, bool text, std::span<const uint8_t> b) override {
    got.push_back({ch, text, {b.begin(), b.end()}});
    if (got.size() == sizes.size()) s.close(kCloseNormal, "done");
    return true;
  }
  void on_close(Session&, uint16_t code, std::string_view) override { close_code = code; }
  std::vector<size_t> sizes = {1, 1000, 1200, 65536, 7};
  std::vector<test::Got> got;
  uint16_t close_code = 0;
};

TEST(UdpMessageClient, EchoedOverALoopbackSocketAndClosed) {
  ASSERT_TRUE(conn::crypto_init().is_ok());
  auto fd = open_udp(IpAddr::v4(htonl(0x7f000001)), 0, false, 0);
  ASSERT_TRUE(fd.has_value()) << fd.error();
  sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  ASSERT_EQ(getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &blen), 0);
  const conn::NetcodeAddress server_addr = conn::to_netcode(from_sockaddr(bound));

  auto shared = conn::ServerShared::create(4);
  ASSERT_TRUE(shared.has_value());
  conn::NetcodeServerConfig sc;
  sc.protocol_id = conn::test::kNetProtocolId;
  sc.private_key = conn::test::net_private_key();
  sc.public_addresses = {server_addr};
  sc.max_clients = 4;
  SocketOut out;
  out.fd = *fd;
  LoopbackBridge bridge;
  bridge.now = conn::system_now();
  auto server = conn::NetcodeServer::create(sc, shared->get(), &out, &bridge, bridge.now);
  ASSERT_TRUE(server.has_value()) << server.error();
  bridge.server = server->get();
  EchoApp echo;
  MessageServer messages(MessageServerConfig{}, &echo, &bridge, sc.max_clients);
  bridge.messages = &messages;

  Echoed app;
  UdpMessageClient client(&app);
  EXPECT_EQ(client.fd(), -1);
  conn::test::TokenSpec spec;
  spec.servers = {server_addr};
  ASSERT_TRUE(client.connect(conn::test::make_token(spec, conn::system_now())).is_ok());
  ASSERT_GE(client.fd(), 0);

  // Both ends in this thread, each taking what its socket has; bounded by
  // rounds, not by time (a round waits 1 ms at most).
  uint8_t rx[2048];
  for (int round = 0; round < 20'000 && !client.finished(); ++round) {
    pollfd p[2] = {{*fd, POLLIN, 0}, {client.fd(), POLLIN, 0}};
    (void)::poll(p, 2, 1);
    bridge.now = conn::system_now();
    for (;;) {
      sockaddr_storage from;
      socklen_t flen = sizeof from;
      const ssize_t n =
          recvfrom(*fd, rx, sizeof rx, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 0) break;
      (*server)->receive(conn::to_netcode(from_sockaddr(from)), {rx, static_cast<size_t>(n)},
                         bridge.now);
    }
    (*server)->update(bridge.now);
    messages.flush(bridge.now.mono_ns);
    client.poll(0);
  }
  ASSERT_EQ(app.got.size(), app.sizes.size());
  for (size_t i = 0; i < app.sizes.size(); ++i) {
    EXPECT_EQ(app.got[i].channel, 0);
    EXPECT_EQ(app.got[i].bytes, test::pattern(app.sizes[i], static_cast<uint32_t>(i))) << i;
  }
  EXPECT_EQ(app.close_code, kCloseNormal);
  EXPECT_TRUE(client.finished());
  EXPECT_EQ(client.state(), conn::ClientState::kDisconnected);
  EXPECT_EQ(client.counters().messages_in.get(), app.sizes.size());
  EXPECT_EQ(client.send_errors(), 0u);

  // Once is all: another connection is another client.
  const Status again = client.connect(conn::test::make_token(spec, conn::system_now()));
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.message(),
            "this client has connected once already: make a new UdpMessageClient for another "
            "connection.");
  close(*fd);
}

TEST(UdpMessageClient, ATokenItCannotUseIsOneSentenceAndNoSocket) {
  ASSERT_TRUE(conn::crypto_init().is_ok());
  Echoed app;
  UdpMessageClient client(&app);
  const std::vector<uint8_t> short_token(100, 0);
  const Status s = client.connect(short_token);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(),
            "the connect token: 100 bytes, not the 2048 a token is: give the whole token as it "
            "was minted.");
  EXPECT_EQ(client.fd(), -1);

  conn::test::TokenSpec spec;
  spec.servers = {conn::NetcodeAddress::v4(127, 0, 0, 1, 9)};
  conn::Now long_ago = conn::system_now();
  long_ago.unix_seconds -= 3600;  // minted an hour ago, good for 30 s
  const Status expired = client.connect(conn::test::make_token(spec, long_ago));
  ASSERT_FALSE(expired.is_ok());
  EXPECT_EQ(expired.message(), "the connect token has expired: mint a new one.");
  EXPECT_EQ(client.fd(), -1);
  EXPECT_FALSE(client.finished());  // nothing was started
}

// Closed before the server ever answered: the attempt ends at once (no
// session to close yet), and poll() with a negative timeout returns at the
// timers' turn instead of waiting for a datagram that never comes.
TEST(UdpMessageClient, ClosedWhileConnectingEndsTheAttempt) {
  ASSERT_TRUE(conn::crypto_init().is_ok());
  auto quiet = open_udp(IpAddr::v4(htonl(0x7f000001)), 0, false, 0);  // never answers
  ASSERT_TRUE(quiet.has_value()) << quiet.error();
  sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  ASSERT_EQ(getsockname(*quiet, reinterpret_cast<sockaddr*>(&bound), &blen), 0);
  Echoed app;
  UdpMessageClient client(&app);
  conn::test::TokenSpec spec;
  spec.servers = {conn::to_netcode(from_sockaddr(bound))};
  ASSERT_TRUE(client.connect(conn::test::make_token(spec, conn::system_now())).is_ok());
  for (int i = 0; i < 3; ++i) client.poll(-1);
  EXPECT_EQ(client.state(), conn::ClientState::kSendingConnectionRequest);
  uint8_t rx[2048];
  EXPECT_EQ(recv(*quiet, rx, sizeof rx, MSG_DONTWAIT), 1078) << "a connection request came";
  client.close(kCloseNormal, "changed my mind");
  EXPECT_TRUE(client.finished());
  EXPECT_EQ(client.state(), conn::ClientState::kDisconnected);
  EXPECT_EQ(app.close_code, 0) << "no session was open";
  client.poll(-1);  // finished: returns at once
  close(*quiet);
}

TEST(UdpMessageClient, OptionsOutOfRangeAreOneSentence) {
  ASSERT_TRUE(conn::crypto_init().is_ok());
  conn::test::TokenSpec spec;
  spec.servers = {conn::NetcodeAddress::v4(127, 0, 0, 1, 9)};
  Echoed app;
  UdpClientOptions none;
  none.max_receive = 0;
  UdpMessageClient a(&app, none);
  EXPECT_EQ(a.connect(conn::test::make_token(spec, conn::system_now())).message(),
            "UdpClientOptions::max_receive is 0: set it to 1 or more.");
  UdpClientOptions fast;
  fast.tick_ns = 1000;
  UdpMessageClient b(&app, fast);
  EXPECT_EQ(b.connect(conn::test::make_token(spec, conn::system_now())).message(),
            "UdpClientOptions::tick_ns is 1000: set it from 1000000 (1 ms) to 1000000000 (1 s).");
  EXPECT_EQ(b.fd(), -1);
}

}  // namespace
}  // namespace bypass::msg
