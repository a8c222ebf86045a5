#include <bypass/msg/room_table.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>

namespace bypass::msg {

uint64_t RoomTable::hash_of(std::string_view name) {
  return std::hash<std::string_view>{}(name);
}

RoomTable::RoomTable(uint32_t max_rooms, uint32_t per_connection, uint32_t connections)
    : per_conn_(std::max(per_connection, 1u)),
      rooms_(max_rooms),
      // At most half full, so a probe ends soon.
      index_(std::bit_ceil(uint64_t{max_rooms} * 2 + 2), 0),
      mask_(index_.size() - 1),
      slots_(uint64_t{connections} * per_conn_) {
  free_.reserve(max_rooms);
  for (uint32_t r = max_rooms; r-- > 0;) free_.push_back(r);
}

uint32_t RoomTable::find(std::string_view name) const {
  for (uint64_t i = hash_of(name) & mask_;; i = (i + 1) & mask_) {
    const uint32_t e = index_[i];
    if (e == 0) return kNone;
    if (this->name(e - 1) == name) return e - 1;
  }
}

uint32_t RoomTable::create(std::string_view name) {
  if (free_.empty() || name.empty() || name.size() > kMaxName) return kNone;
  const uint32_t r = free_.back();
  free_.pop_back();
  Room& room = rooms_[r];
  std::memcpy(room.name.data(), name.data(), name.size());
  room.len = static_cast<uint8_t>(name.size());
  room.count = 0;
  room.head = room.tail = kNone;
  room.hash = hash_of(name);
  uint64_t i = room.hash & mask_;
  while (index_[i] != 0) i = (i + 1) & mask_;
  index_[i] = r + 1;
  ++count_;
  return r;
}

void RoomTable::unindex(uint32_t r) {
  uint64_t i = rooms_[r].hash & mask_;
  while (index_[i] != r + 1) i = (i + 1) & mask_;
  // Backward shift: an entry later in the run moves into the hole unless its
  // home lies cyclically after the hole (then it is already where a probe from
  // its home finds it).
  for (uint64_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
    const uint32_t e = index_[j];
    if (e == 0) break;
    const uint64_t home = rooms_[e - 1].hash & mask_;
    if (((j - home) & mask_) >= ((j - i) & mask_)) {
      index_[i] = e;
      i = j;
    }
  }
  index_[i] = 0;
  free_.push_back(r);
  --count_;
}

uint32_t RoomTable::slot_of(uint32_t conn, uint32_t room) const {
  const uint64_t base = uint64_t{conn} * per_conn_;
  for (uint32_t k = 0; k < per_conn_; ++k)
    if (slots_[base + k].room == room) return static_cast<uint32_t>(base + k);
  return kNone;
}

bool RoomTable::is_member(uint32_t conn, uint32_t room) const {
  return slot_of(conn, room) != kNone;
}

uint32_t RoomTable::joined(uint32_t conn) const {
  const uint64_t base = uint64_t{conn} * per_conn_;
  uint32_t n = 0;
  for (uint32_t k = 0; k < per_conn_; ++k) n += slots_[base + k].room != kNone;
  return n;
}

uint32_t RoomTable::any_room_of(uint32_t conn) const {
  const uint64_t base = uint64_t{conn} * per_conn_;
  for (uint32_t k = 0; k < per_conn_; ++k)
    if (slots_[base + k].room != kNone) return slots_[base + k].room;
  return kNone;
}

bool RoomTable::join(uint32_t conn, uint32_t r) {
  const uint32_t m = slot_of(conn, kNone);
  if (m == kNone) return false;
  Room& room = rooms_[r];
  slots_[m] = {r, room.tail, kNone};
  if (room.tail != kNone)
    slots_[room.tail].next = m;
  else
    room.head = m;
  room.tail = m;
  ++room.count;
  return true;
}

bool RoomTable::leave(uint32_t conn, uint32_t r) {
  const uint32_t m = slot_of(conn, r);
  if (m == kNone) return false;
  Room& room = rooms_[r];
  const Slot s = slots_[m];
  (s.prev != kNone ? slots_[s.prev].next : room.head) = s.next;
  (s.next != kNone ? slots_[s.next].prev : room.tail) = s.prev;
  slots_[m] = Slot{};
  if (--room.count != 0) return false;
  unindex(r);
  return true;
}

}  // namespace bypass::msg
