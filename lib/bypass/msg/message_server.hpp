// MessageServer: the message protocol (msg/session.hpp) over every
// connection of one connection server (a netcode server): a Session per
// connection slot, made at the slot's first connect and reused after, one
// ChunkPool for all of them, and the application (a MessageHandler) behind
// it. The owner forwards connects, payloads and disconnects, then calls
// flush() at the end of each burst and tick() from its timer; finished
// sessions are disconnected through the transport. One thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <bypass/msg/chunk_pool.hpp>
#include <bypass/msg/session.hpp>

namespace bypass::msg {

// What the connection layer offers the message layer.
class ConnectionTransport {
 public:
  virtual ~ConnectionTransport() = default;
  // A payload of up to 1200 bytes to the connection; false if it did not go.
  virtual bool send_payload(uint32_t conn, std::span<const uint8_t> payload) = 0;
  virtual void disconnect(uint32_t conn) = 0;
};

struct MessageServerConfig {
  SessionConfig session;
  uint32_t pool_chunks = 16384;  // 16 MiB of 1 KiB fragments for all connections
};

class MessageServer final : PacketOut {
 public:
  MessageServer(MessageServerConfig config, MessageHandler* app, ConnectionTransport* transport,
                uint32_t max_connections);
  ~MessageServer() override;

  void on_connect(uint32_t conn, uint64_t client_id, std::span<const uint8_t> user_data,
                  uint64_t now_ns);
  void on_payload(uint32_t conn, std::span<const uint8_t> payload, uint64_t now_ns);
  void on_disconnect(uint32_t conn);
  // Flushes the sessions touched since the last flush.
  void flush(uint64_t now_ns);
  // Timers of every live session, then their flushes.
  void tick(uint64_t now_ns);

  // The session of a connection slot, or null when none is live there.
  Session* session(uint32_t conn);
  // Marks a session touched outside a payload (an application pushing to it).
  void touch(Session& s);

  uint32_t open_sessions() const { return open_.load(std::memory_order_relaxed); }
  // Session ticks run so far (idle sessions are skipped until a ping is due).
  uint64_t ticked() const { return ticked_; }
  const SessionCounters& counters() const { return counters_; }
  const ChunkPool& pool() const { return pool_; }
  ChunkPool& pool() { return pool_; }
  size_t channel_count() const { return config_.session.channels.size(); }
  void report(std::vector<std::pair<std::string, uint64_t>>& out) const;

 private:
  void transmit(Session& s, std::span<const uint8_t> packet) override;
  void settle(Session& s);

  MessageServerConfig config_;
  ChunkPool pool_;
  MessageHandler* app_;
  ConnectionTransport* transport_;
  SessionCounters counters_;
  std::vector<std::unique_ptr<Session>> sessions_;  // by slot
  std::vector<uint8_t> touched_flag_;
  std::vector<uint32_t> touched_;  // capacity max_connections: never grows
  std::vector<uint32_t> live_;     // slots with a session, in no order
  std::vector<uint32_t> live_at_;  // slot -> index in live_
  std::vector<uint64_t> due_;      // slot -> when its session next needs a tick
  uint64_t ticked_ = 0;
  std::atomic<uint32_t> open_{0};  // read by the control thread's reports
  Counter send_failed_;
};

}  // namespace bypass::msg
