/// @file
/// UdpMessageClient: a whole message client for a program on an ordinary
/// Linux host (a game, an app, a bot, a test driver). It reads a connect
/// token, opens the UDP socket that reaches the token's servers, and runs a
/// MessageClient (netcode plus a message Session) on it with the system's
/// clocks. The program gives it a MessageHandler, then either calls poll() in
/// its own loop, or waits on fd() in its event loop and calls run() whenever
/// the socket is readable and every tick_ns (10 ms) besides.
///
/// Part of libbypass-client (pkg-config bypass-client): libsodium only, no
/// DPDK, no threads. One thread uses it; the handler's calls come from inside
/// poll() and run().
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <bypass/conn/client.hpp>
#include <bypass/core/status.hpp>
#include <bypass/msg/chunk_pool.hpp>
#include <bypass/msg/message_client.hpp>
#include <bypass/msg/session.hpp>

namespace bypass::msg {

/// How a UdpMessageClient is set up.
struct UdpClientOptions {
  /// Limits and timers of the session. Its channels are the server's, from
  /// the server's hello (this config's `channels` is not used by a client).
  SessionConfig session;
  /// Chunks in the client's pool (a chunk holds one message fragment): what
  /// it can hold queued and being reassembled at once.
  uint32_t chunks = 1024;
  /// The netcode client's send interval and redundant disconnects.
  conn::NetcodeClientConfig netcode;
  /// Datagrams taken from the socket in one run() at most (1 or more), so
  /// that a flood cannot keep the timers (acks, keep-alives) from their turn.
  uint32_t max_receive = 256;
  /// The timers' period (retransmissions, pings, keep-alives, timeouts), 1 ms
  /// to 1 s: run() runs them when this long has passed since they last ran,
  /// and poll() waits no longer than until then.
  uint64_t tick_ns = 10'000'000;
};

/// A message client on its own UDP socket; see the file's description.
class UdpMessageClient {
 public:
  /// `app` must outlive the client. Nothing happens until connect().
  explicit UdpMessageClient(MessageHandler* app, UdpClientOptions options = {});
  /// Closes the socket as it is: close() and poll until finished() first for
  /// the server to hear of it at once.
  ~UdpMessageClient();
  UdpMessageClient(const UdpMessageClient&) = delete;
  UdpMessageClient& operator=(const UdpMessageClient&) = delete;

  /// Reads the 2,048-byte public connect token, opens a socket that reaches
  /// its servers (IPv4, IPv6, or both) and starts connecting to the first.
  /// An error sentence (and nothing started) for a token that is not one, has
  /// expired, options out of range, or a socket the kernel refuses; the
  /// token's keys never appear in it (and its copy here is wiped). Once only
  /// per client.
  Status connect(std::span<const uint8_t> token);

  /// Waits for datagrams up to `timeout_ms` (a negative one: until the timers
  /// are due), never past the timers' turn, then does what run() does. Returns
  /// at once, doing nothing, before connect() and once finished().
  void poll(int timeout_ms);

  /// Takes the datagrams waiting on the socket (up to max_receive), runs the
  /// timers if tick_ns has passed, and sends what the session has to send.
  void run();

  /// The socket, for a program's own poll or epoll loop (-1 before connect()).
  int fd() const { return fd_; }

  /// Closes with `code` and `reason` (1000, 4000-4999): what was queued goes
  /// first, then the close frame; before the session has opened, the
  /// connection attempt just ends. poll() or run() on until finished().
  void close(uint16_t code, std::string_view reason);

  /// The message session: send(), its state, its limits.
  Session& session() { return client_.session(); }
  /// The netcode client's state (its negative values are the ways it failed).
  conn::ClientState state() const { return client_.state(); }
  /// The netcode client underneath: its drops, its server, its client index.
  const conn::NetcodeClient& netcode() const { return client_.netcode(); }
  /// The session's counters: messages, packets, retransmissions, drops by reason.
  const SessionCounters& counters() const { return counters_; }

  /// True once there is nothing more to do: the connection failed, or the
  /// session closed and the netcode connection is gone.
  bool finished() const;

  /// Datagrams the kernel would not send (sendto() failed); the protocol's
  /// retransmissions and keep-alives make up for them.
  uint64_t send_errors() const { return sink_.errors; }

 private:
  class Sink final : public conn::PacketSink {
   public:
    void send(const conn::NetcodeAddress& to, std::span<const uint8_t> packet) override;
    int fd = -1;
    bool dual = false;  ///< an IPv6 socket that reaches IPv4 servers too
    uint64_t errors = 0;
  };

  UdpClientOptions options_;
  ChunkPool pool_;
  SessionCounters counters_;
  Sink sink_;
  MessageClient client_;
  int fd_ = -1;
  bool started_ = false;
  uint64_t next_tick_ns_ = 0;
};

}  // namespace bypass::msg
