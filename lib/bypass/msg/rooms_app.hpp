// The rooms application: named rooms that connections join and leave, and
// publish to; every member gets each publication, in the order its
// publisher sent them, on the channel it was published on. Commands are
// messages whose first line says what to do (docs/protocol.md, "Rooms"):
//   "join ROOM", "leave ROOM", "pub ROOM\n<payload>"
// and the server answers "joined ROOM N", "left ROOM", "msg ROOM CLIENT\n<payload>"
// or "error <what to change>". Bounds: rooms per connection, members per
// room, name length. A member whose reliable queue is full when a
// publication comes is closed with 4001 (slow consumer); unreliable
// publications to it are dropped and counted. One worker's rooms; per worker,
// no locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/msg/message_server.hpp>
#include <bypass/msg/session.hpp>

namespace bypass::msg {

struct RoomsConfig {
  uint32_t rooms_per_connection = 16;
  uint32_t members_per_room = 1024;
  uint32_t max_rooms = 4096;  // per worker
  static constexpr size_t kMaxName = 64;
  bool operator==(const RoomsConfig&) const = default;
};

class RoomsApp final : public MessageHandler {
 public:
  explicit RoomsApp(RoomsConfig config = {}) : config_(config) {}
  // The server whose sessions are the members (set before traffic).
  void attach(MessageServer* server) { server_ = server; }

  void on_open(Session& s) override;
  bool on_message(Session& s, uint8_t channel, bool text, std::span<const uint8_t> b) override;
  void on_close(Session& s, uint16_t code, std::string_view reason) override;
  void on_writable(Session&) override {}

  size_t rooms() const { return room_count_.load(std::memory_order_relaxed); }
  size_t members(const std::string& room) const;
  void report(std::vector<std::pair<std::string, uint64_t>>& out) const;

 private:
  struct Room {
    std::vector<uint32_t> members;  // connection slots
  };
  // Lookups by string_view, without building a string per publication.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view n) const { return std::hash<std::string_view>{}(n); }
  };
  void reply(Session& s, std::string_view text);
  void join(Session& s, std::string_view room);
  void leave(Session& s, std::string_view room, bool quiet);
  bool publish(Session& s, uint8_t channel, bool text, std::string_view room,
               std::span<const uint8_t> payload);
  std::vector<std::string>& joined(uint32_t conn);

  RoomsConfig config_;
  MessageServer* server_ = nullptr;
  std::unordered_map<std::string, Room, NameHash, std::equal_to<>> rooms_;
  std::vector<std::vector<std::string>> joined_;  // by connection slot
  std::vector<uint8_t> out_;                      // a publication being framed
  std::vector<uint32_t> slow_;                    // members to close after a fan-out
  // Read by the control thread's reports.
  std::atomic<size_t> room_count_{0};
  Counter published_, delivered_, dropped_unreliable_, slow_closed_, refused_;
};

}  // namespace bypass::msg
