// RoomTable: the rooms of one worker and which connections are in them, in
// memory sized once at construction, so joining, leaving and publishing
// never allocate. Rooms are found by name through an open-addressing index
// (linear probing, backward-shift deletion). A room's members are packed
// into a list of cache-line chunks of 14 (a publication's fan-out reads them
// like an array); a leaving member's place takes the room's last member.
// Each connection has a fixed number of membership slots that say where it
// sits. Per worker: no locks.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace bypass::msg {

class RoomTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kMaxName = 64;

  // Room for `max_rooms` rooms at once, `per_connection` rooms for each of
  // `connections` connection slots (0 .. connections-1).
  RoomTable(uint32_t max_rooms, uint32_t per_connection, uint32_t connections);

  // The room of that name (1..kMaxName bytes), or kNone.
  uint32_t find(std::string_view name) const;
  // A new, empty room of a name that no room has; kNone when max_rooms exist.
  uint32_t create(std::string_view name);
  std::string_view name(uint32_t room) const {
    return {rooms_[room].name.data(), rooms_[room].len};
  }
  // The name's hash (keyed, the same in every worker), as the workers'
  // directory keys it.
  uint64_t key(uint32_t room) const { return rooms_[room].hash; }
  uint32_t members(uint32_t room) const { return rooms_[room].count; }
  uint32_t rooms() const { return static_cast<uint32_t>(rooms_.size() - free_.size()); }

  bool is_member(uint32_t conn, uint32_t room) const;
  uint32_t joined(uint32_t conn) const;  // rooms `conn` is in
  // Adds `conn` to the room; false if it is in per_connection rooms already
  // (the caller checks is_member first).
  bool join(uint32_t conn, uint32_t room);
  // Takes `conn` out of `room`; an emptied room is removed (true).
  bool leave(uint32_t conn, uint32_t room);
  // A room `conn` is in, or kNone.
  uint32_t any_room_of(uint32_t conn) const;

  // f(conn) for each member; f may not join or leave.
  template <typename F>
  void for_each_member(uint32_t room, F&& f) const {
    uint32_t left = rooms_[room].count;
    for (uint32_t c = rooms_[room].head; left != 0;) {
      const Chunk& chunk = chunks_[c];
      const uint32_t n = left < kPerChunk ? left : kPerChunk;
      c = chunk.next;  // read before f runs, so the walk does not wait on it
      for (uint32_t i = 0; i < n; ++i) f(chunk.conn[i]);
      left -= n;
    }
  }

  static uint64_t hash_of(std::string_view name);

 private:
  struct Room {
    std::array<char, kMaxName> name{};
    uint8_t len = 0;
    uint32_t count = 0;
    uint32_t head = kNone, tail = kNone;  // chunks
    uint64_t hash = 0;
  };
  // Members of one room, packed: all chunks but the tail are full.
  static constexpr uint32_t kPerChunk = 14;
  struct alignas(64) Chunk {
    std::array<uint32_t, kPerChunk> conn;
    uint32_t prev, next;
  };
  // Membership slot conn * per_connection + k: the room, and the member's
  // cell (chunk * kPerChunk + place) in its member list.
  struct Slot {
    uint32_t room = kNone;
    uint32_t cell = kNone;
  };
  uint32_t slot_of(uint32_t conn, uint32_t room) const;  // kNone if not a member
  void unindex(uint32_t room);

  uint32_t per_conn_;
  std::vector<Room> rooms_;
  std::vector<uint32_t> free_;   // room indices not in use (a stack)
  std::vector<uint32_t> index_;  // room + 1 by hash; 0: empty
  uint64_t mask_;
  std::vector<Slot> slots_;
  std::vector<Chunk> chunks_;
  std::vector<uint32_t> free_chunks_;
};

}  // namespace bypass::msg
