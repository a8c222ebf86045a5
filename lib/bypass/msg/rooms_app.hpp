// The rooms application: named rooms that connections join and leave, and
// publish to; every member gets each publication, in the order its
// publisher sent them, on the channel it was published on. Commands are
// messages whose first line says what to do (docs/protocol.md, "Rooms"):
//   "join ROOM", "leave ROOM", "pub ROOM\n<payload>"
// and the server answers "joined ROOM N", "left ROOM", "msg ROOM CLIENT\n<payload>"
// or "error <what to change>". Bounds: rooms per connection, members per
// room, name length. A reliable publication first waits for a member whose
// reliable queue is full to drain, up to slow_member_ms (a burst, or a poll
// that brings many ticks' worth at once, is not a slow member); the members
// still full then are closed with 4001 (slow consumer). From another worker
// the record waits in its ring; from this one, the publisher's message is
// offered again (left unacknowledged). Unreliable publications to a full
// member are dropped and counted.
//
// Each worker has a RoomsApp for the members connected to it. A publication is
// framed once into the worker's chunks, which every local member's queue
// shares (no copy per member), and copied once into the ring to each other
// worker of the service that has members of the room (MessageServer::broadcast
// over WorkerLinks, to the workers the WorkerDirectory names for the room's
// bucket), which does the same for its members when it polls. A ring without room makes the
// publication wait (offered again), so no member misses a reliable publication. "joined ROOM N"
// counts the members on the joiner's worker. Per worker, no locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/core/status.hpp>
#include <bypass/msg/message_server.hpp>
#include <bypass/msg/room_table.hpp>
#include <bypass/msg/session.hpp>

namespace bypass::msg {

struct RoomsConfig {
  uint32_t rooms_per_connection = 16;  // 1 to kMaxRoomsPerConnection
  uint32_t members_per_room = 1024;    // per worker, as "joined ROOM N" counts; 2 to 1 Mi
  uint32_t max_rooms = 4096;           // per worker; 1 to 1 Mi
  static constexpr size_t kMaxName = 64;
  // How long a reliable publication waits for a member's full reliable
  // queue before that member is closed as a slow consumer (10 ms to 10
  // minutes; from this worker's own publishers, at most half the session's
  // idle_timeout, so the publisher is not closed for the wait with 4004).
  uint32_t slow_member_ms = 1000;

  static constexpr uint32_t kMaxRoomsPerConnection = 1024;
  static constexpr uint32_t kMaxMembersPerRoom = uint32_t{1} << 20;
  static constexpr uint32_t kMaxRooms = uint32_t{1} << 20;
  static constexpr uint32_t kMinSlowMemberMs = 10;
  static constexpr uint32_t kMaxSlowMemberMs = 600'000;
  // A worker's room table holds a membership slot per connection and room it
  // may join, made at start.
  static constexpr uint64_t kMaxMemberships = uint64_t{1} << 24;

  // Whether these bounds can serve `connections` connections a worker; if
  // not, one sentence that names the field to change and its range.
  Status check(uint32_t connections) const;
  bool operator==(const RoomsConfig&) const = default;
};

class RoomsApp final : public MessageHandler, public LinkedApp {
 public:
  explicit RoomsApp(RoomsConfig config = {}) : config_(config) {}
  // The server whose sessions are the members (set before traffic).
  // (Link the server with this app as its LinkedApp for rooms across workers.)
  // Sizes the room table for the server's connections (before traffic);
  // refuses a config that check() refuses, with its sentence.
  [[nodiscard]] Status attach(MessageServer* server);
  // A publication another worker framed: to this worker's members of its room.
  bool on_linked(std::span<const uint8_t> record, uint32_t from, uint64_t now_ns) override;

  void on_open(Session&) override;
  bool on_message(Session& s, uint8_t channel, bool text, std::span<const uint8_t> b) override;
  void on_close(Session& s, uint16_t code, std::string_view reason) override;
  void on_writable(Session&) override {}

  size_t rooms() const { return room_count_.load(std::memory_order_relaxed); }
  size_t members(std::string_view room) const;
  void report(std::vector<std::pair<std::string, uint64_t>>& out) const;

 private:
  void reply(Session& s, std::string_view text);
  void join(Session& s, std::string_view room);
  void leave(Session& s, std::string_view room, bool quiet);
  void leave_room(Session& s, uint32_t room, bool quiet);
  bool publish(Session& s, uint8_t channel, bool text, std::string_view room,
               std::span<const uint8_t> payload);
  // Frames `bytes` into fresh chunks (chunks_); false if the pool is short
  // for an asker holding `holding` chunks (ChunkPool::may_take).
  bool cut(std::span<const uint8_t> bytes, uint32_t holding);
  void release_chunks();
  // Queues the publication in chunks_ to every member of `room` but `skip`.
  void fan_out(uint32_t room, uint8_t channel, bool text, size_t bytes, uint32_t skip);
  // Whether every open member of `room` but `skip` whose `channel` is
  // reliable has room for a message of `bytes` now.
  bool all_have_room(uint32_t room, uint8_t channel, size_t bytes, uint32_t skip);

  RoomsConfig config_;
  MessageServer* server_ = nullptr;
  std::unique_ptr<RoomTable> table_;  // from attach()
  // Reserved in attach(), never grown: a publication being framed, members
  // to close after a fan-out, a publication framed once.
  std::vector<uint8_t> out_;
  std::vector<uint32_t> slow_;
  std::vector<uint32_t> chunks_;
  // Read by the control thread's reports.
  std::atomic<size_t> room_count_{0};
  Counter skipped_too_big_, dropped_reliable_;
  Counter published_, delivered_, dropped_unreliable_, slow_closed_, refused_, sent_across_,
      received_across_;
  Counter skipped_closing_;    // members closing when a publication came
  Counter dropped_no_room_;    // another worker's records for a room this one no longer holds
  Counter dropped_malformed_;  // another worker's records that do not parse (a bug if ever)
  Counter waited_;             // turns at which a publication waited for a member
  // How long each other worker's ring has waited for members' room, as a
  // debt: time spent waiting adds to it, time while records go or the ring
  // is empty pays it back one for one. Once it reaches slow_member_ms, the
  // record goes and the members still full are closed. Per record, a member
  // that drains a little just before each deadline would hold the ring (and
  // every room behind it) for good; as a debt, a ring waits at most as long
  // as it flows. One per ring: another ring's records do not pay this one's.
  struct RingWait {
    uint64_t debt_ns = 0;
    uint64_t last_ns = 0;  // the last record's turn
    bool waiting = false;  // the record first in the ring waits for room
  };
  std::array<RingWait, WorkerLinks::kMaxWorkers> ring_wait_{};
  // The same debt for this worker's own publications, one per room (by its
  // index in the table; reset when the index is given to a new room): a
  // room whose members keep up pays nothing for another's slow member.
  std::vector<RingWait> room_wait_;
  // Accounts the time since w's last turn: added to its debt if it waited,
  // paid back if not.
  static void settle(RingWait& w, uint64_t now_ns);
};

}  // namespace bypass::msg
