/// @file
/// MessageServer: the message protocol (msg/session.hpp) over every
/// connection of one connection server (a netcode server): a Session per
/// connection slot, made at the slot's first connect and reused after, one
/// ChunkPool for all of them, and the application (a MessageHandler) behind
/// it. The owner forwards connects, payloads and disconnects, then calls
/// flush() at the end of each burst and tick() from its timer; finished
/// sessions are disconnected through the transport. One thread.
///
/// On several workers, each has a MessageServer for the connections that live
/// there, linked to the others by rings (WorkerLinks): send_to() reaches a
/// connection on any worker (a ConnRef names it), and applications pass their
/// own records (room publications) with broadcast(). The owner calls poll() at
/// the end of each burst and at each tick, before flush().
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
#include <bypass/msg/worker_links.hpp>

namespace bypass::msg {

/// What the connection layer offers the message layer.
class ConnectionTransport {
 public:
  virtual ~ConnectionTransport() = default;
  /// Payloads of up to 1200 bytes, each to its connection (OutPacket::conn),
  /// a flush's worth at a time; returns how many did not go.
  virtual size_t send_payloads(std::span<const OutPacket> packets) = 0;
  /// Ends the connection (its session finished).
  virtual void disconnect(uint32_t conn) = 0;
};

/// Where a connection lives: its worker, its slot there, and its client id (a
/// slot taken since by another client does not get what was meant for this one).
struct ConnRef {
  uint32_t worker = 0;     ///< the worker's index among the linked
  uint32_t slot = 0;       ///< the connection slot on that worker
  uint64_t client_id = 0;  ///< the client it was taken for
};

/// An application that takes records other workers' applications broadcast.
class LinkedApp {
 public:
  virtual ~LinkedApp() = default;
  /// One record from worker `from`, at `now_ns` (the owner's clock); false:
  /// not now (it stays first in that worker's ring and comes again at a
  /// later poll).
  virtual bool on_linked(std::span<const uint8_t> record, uint32_t from, uint64_t now_ns) = 0;
};

/// A message server's settings.
struct MessageServerConfig {
  SessionConfig session;         ///< every session's
  uint32_t pool_chunks = 16384;  ///< 16 MiB of 1 KiB fragments for all connections
};

/// The message protocol over one worker's connections (see the file comment).
class MessageServer final : PacketOut {
 public:
  /// `app` and `transport` must outlive the server; slots 0 .. max_connections - 1.
  MessageServer(MessageServerConfig config, MessageHandler* app, ConnectionTransport* transport,
                uint32_t max_connections);
  ~MessageServer() override;

  /// A connection opened in slot `conn` (the token's client id and user data).
  void on_connect(uint32_t conn, uint64_t client_id, std::span<const uint8_t> user_data,
                  uint64_t now_ns);
  /// A payload the connection in slot `conn` sent.
  void on_payload(uint32_t conn, std::span<const uint8_t> payload, uint64_t now_ns);
  /// The connection in slot `conn` is gone (timed out or disconnected).
  void on_disconnect(uint32_t conn);
  /// Flushes the sessions touched since the last flush.
  void flush(uint64_t now_ns);
  /// Timers of every live session, then their flushes.
  void tick(uint64_t now_ns);

  /// The session of a connection slot, or null when none is live there.
  Session* session(uint32_t conn);
  /// Connection slots: 0 .. max_connections() - 1.
  uint32_t max_connections() const { return static_cast<uint32_t>(sessions_.size()); }

  /// Joins this server to the service's other workers (before traffic);
  /// `app`, if any, takes what their applications broadcast.
  void link(WorkerLinks* links, uint32_t me, LinkedApp* app = nullptr);
  /// This connection, as any worker's application can name it.
  ConnRef ref(const Session& s) const { return {me_, s.id, s.client_id}; }
  /// This worker's index among the linked.
  uint32_t worker() const { return me_; }
  /// A whole message to a connection on any worker: queued at once if it
  /// lives here; else copied into the ring to its worker (kQueueFull if that
  /// ring has no room now: try again later, no on_writable follows). There, a
  /// reliable message that finds the queue full closes the connection with
  /// 4001, an unreliable one is dropped; a stale ConnRef is counted.
  SendResult send_to(const ConnRef& to, uint8_t channel, bool text, std::span<const uint8_t> bytes);
  /// Whether a record of `bytes` fits in every ring broadcast() would use now.
  bool broadcast_fits(size_t bytes, uint64_t to = kAllWorkers) const;
  /// An application record (head, then body) to every other worker in `to` (a
  /// bit per worker) that takes records now; false if a ring lacks room (then
  /// nothing was sent). `reached`, if given: how many workers it went to.
  /// Head and body together are at most kMaxBroadcastBytes: a larger record
  /// never fits a ring, and false would come every time.
  bool broadcast(std::span<const uint8_t> head, std::span<const uint8_t> body,
                 uint64_t to = kAllWorkers, uint32_t* reached = nullptr);
  static constexpr uint64_t kAllWorkers = ~uint64_t{0};  ///< every worker's bit
  /// The largest record broadcast() can pass (a 64 KiB message and a head).
  static constexpr size_t kMaxBroadcastBytes = kMaxMessageBytes + WorkerLinks::kMaxRecordHead - 1;
  /// The application's interest in records about `key` (a room) starts or
  /// ends on this worker: counted, so the service's WorkerDirectory says
  /// which workers hold any key of its bucket.
  void subscribe(uint64_t key, bool on);
  /// The workers that hold a key of `key`'s bucket (none when not linked).
  uint64_t subscribers(uint64_t key) const;
  /// Takes what the other workers had sent when it began (at `now_ns`).
  void poll(uint64_t now_ns);
  /// A record that waits because a ring lacks room, counted (links_ring_full)
  /// by an application that checked broadcast_fits() itself.
  void note_ring_full() { ++links_ring_full_; }
  /// Marks a session touched outside a payload (an application pushing to it).
  void touch(Session& s);

  /// Sessions open now (any thread may read it).
  uint32_t open_sessions() const { return open_.load(std::memory_order_relaxed); }
  /// Session ticks run so far (idle sessions are skipped until a ping is due).
  uint64_t ticked() const { return ticked_; }
  /// What all its sessions counted.
  const SessionCounters& counters() const { return counters_; }
  /// The chunks every session's queues and reassembly use.
  const ChunkPool& pool() const { return pool_; }
  /// The same, to cut a message into chunks once for several sessions (send_shared).
  ChunkPool& pool() { return pool_; }
  /// The channels each session has.
  size_t channel_count() const { return config_.session.channels.size(); }
  /// Its counters by name ("msg.messages_in", "msg.drop.REASON", ...), for reports.
  void report(std::vector<std::pair<std::string, uint64_t>>& out) const;

  /// Packets a flush hands the transport at once.
  static constexpr uint32_t kBatch = 32;

 private:
  void transmit(std::span<const OutPacket> packets) override;
  void settle(Session& s);

  MessageServerConfig config_;
  ChunkPool pool_;
  MessageHandler* app_;
  ConnectionTransport* transport_;
  SessionCounters counters_;
  PacketBatch batch_{this, kBatch};                 ///< every session's finished packets
  std::vector<std::unique_ptr<Session>> sessions_;  ///< by slot
  std::vector<uint8_t> touched_flag_;
  std::vector<uint32_t> touched_;  ///< capacity max_connections: never grows
  std::vector<uint32_t> live_;     ///< slots with a session, in no order
  std::vector<uint32_t> live_at_;  ///< slot -> index in live_
  std::vector<uint64_t> due_;      ///< slot -> when its session next needs a tick
  uint64_t ticked_ = 0;
  /// False: not taken now (the pool is short); the record stays first in its ring.
  bool take_direct(std::span<const uint8_t> record);
  WorkerLinks* links_ = nullptr;
  LinkedApp* linked_ = nullptr;
  uint32_t me_ = 0;
  bool polled_ = false;               ///< the others send to this worker once it has polled
  std::vector<uint32_t> subscribed_;  ///< keys held per directory bucket (when linked)
  Counter links_sent_, links_received_, links_stale_, links_ring_full_, links_dropped_;
  Counter links_slow_closed_;      ///< direct messages that found a reliable queue full
  std::atomic<uint32_t> open_{0};  ///< read by the control thread's reports
  Counter send_failed_;
  Counter no_session_memory_;  ///< connections closed at open: no memory for their session
};

}  // namespace bypass::msg
