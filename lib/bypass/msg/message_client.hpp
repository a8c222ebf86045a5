// MessageClient: the client side of bypass's message protocol: a netcode
// client (conn/client.hpp) with a message Session on top. Opens the session
// when netcode connects, reports loss of the connection as a close with
// 1006, and drops the netcode connection once the session has closed. The
// owner feeds it datagrams and calls update() (timers and sends) and
// flush() (sends only) with the time. One thread.
#pragma once

#include <cstdint>
#include <span>

#include <bypass/conn/client.hpp>
#include <bypass/msg/chunk_pool.hpp>
#include <bypass/msg/session.hpp>

namespace bypass::msg {

class MessageClient final : conn::ClientHandler, PacketOut {
 public:
  // Everything passed must outlive the client.
  MessageClient(conn::PacketSink* sink, MessageHandler* app, const SessionConfig* config,
                ChunkPool* pool, SessionCounters* counters, conn::NetcodeClientConfig nc = {});

  void connect(std::span<const uint8_t> connect_token, conn::Now now);
  void receive(const conn::NetcodeAddress& from, std::span<uint8_t> packet, conn::Now now);
  void update(conn::Now now);
  void flush(conn::Now now);

  Session& session() { return session_; }
  const conn::NetcodeClient& netcode() const { return netcode_; }
  conn::ClientState state() const { return netcode_.state(); }

 private:
  void on_state_change(conn::ClientState from, conn::ClientState to) override;
  void on_payload(std::span<const uint8_t> payload) override;
  void transmit(std::span<const OutPacket> packets) override;
  void settle();

  conn::Now now_{};
  PacketBatch batch_{this, 1};  // one session, packets as they are finished
  Session session_;
  conn::NetcodeClient netcode_;
};

}  // namespace bypass::msg
