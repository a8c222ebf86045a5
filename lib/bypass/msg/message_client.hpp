/// @file
/// MessageClient: the client side of bypass's message protocol: a netcode
/// client (conn/client.hpp) with a message Session on top. Opens the session
/// when netcode connects, reports loss of the connection as a close (with
/// 1006, or the code of a close already sent or received), and drops the
/// netcode connection once the session has closed. The
/// owner feeds it datagrams and calls update() (timers and sends) and
/// flush() (sends only) with the time. One thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include <bypass/conn/client.hpp>
#include <bypass/msg/chunk_pool.hpp>
#include <bypass/msg/session.hpp>

namespace bypass::msg {

/// One client connection of the message protocol (see the file comment).
class MessageClient final : conn::ClientHandler, PacketOut {
 public:
  /// Everything passed must outlive the client. The session takes `app`,
  /// `config`, `pool` and `counters`; the netcode client sends through `sink`
  /// with the settings `nc`.
  MessageClient(conn::PacketSink* sink, MessageHandler* app, const SessionConfig* config,
                ChunkPool* pool, SessionCounters* counters, conn::NetcodeClientConfig nc = {});

  /// Connects with a 2048-byte public connect token, as
  /// conn::NetcodeClient::connect() does; the session opens (and its hello goes
  /// out) once netcode has connected.
  void connect(std::span<const uint8_t> connect_token, conn::Now now);
  /// As connect() with a token already read (conn::read_connect_token()).
  void connect(const conn::ConnectToken& token, conn::Now now);
  /// One datagram from `from`, decrypted in place; its payload goes to the
  /// session, and the application's callbacks run inside.
  void receive(const conn::NetcodeAddress& from, std::span<uint8_t> packet, conn::Now now);
  /// Netcode's timers and packets, then the session's timers (Session::tick());
  /// drops the netcode connection if the session has closed.
  void update(conn::Now now);
  /// Puts the session's queued messages and acks on the wire
  /// (Session::flush()); drops the netcode connection if the session has closed.
  void flush(conn::Now now);

  /// Closes: the session's close (queued messages, then the close frame with
  /// `code` and `reason`) once it has opened; before that, the connection
  /// attempt ends at once (netcode's disconnect packets if it got that far).
  void close(uint16_t code, std::string_view reason, conn::Now now);

  /// The message session, for send(), close() and its state.
  Session& session() { return session_; }
  /// The netcode client underneath, for its state and counters.
  const conn::NetcodeClient& netcode() const { return netcode_; }
  /// The netcode client's state.
  conn::ClientState state() const { return netcode_.state(); }

 private:
  void on_state_change(conn::ClientState from, conn::ClientState to) override;
  void on_payload(std::span<const uint8_t> payload) override;
  void transmit(std::span<const OutPacket> packets) override;
  void settle();

  conn::Now now_{};
  PacketBatch batch_{this, 1};  ///< one session, packets as they are finished
  Session session_;
  conn::NetcodeClient netcode_;
};

}  // namespace bypass::msg
