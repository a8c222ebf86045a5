#include <bypass/msg/room_table.hpp>

#include <algorithm>
#include <bit>
#include <cstring>

#include <bypass/conn/keyed_hash.hpp>

namespace bypass::msg {

uint64_t RoomTable::hash_of(std::string_view name) {
  // Keyed (SipHash), one random key per process: every worker's table and
  // the workers' directory agree, and a client cannot choose names that
  // land in one slot (std::hash's is known) to make every lookup a long
  // probe, or aim them at the directory's bucket of a popular room.
  static const conn::KeyedHash key;
  return key.bytes({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
}

RoomTable::RoomTable(uint32_t max_rooms, uint32_t per_connection, uint32_t connections)
    : per_conn_(std::max(per_connection, 1u)),
      rooms_(max_rooms),
      // At most half full, so a probe ends soon.
      index_(std::bit_ceil(uint64_t{max_rooms} * 2 + 2), 0),
      mask_(index_.size() - 1),
      slots_(uint64_t{connections} * per_conn_),
      // Every room's tail may be part full; the other chunks are full.
      chunks_(slots_.size() / kPerChunk + max_rooms + 1) {
  free_.reserve(max_rooms);
  for (uint32_t r = max_rooms; r-- > 0;) free_.push_back(r);
  free_chunks_.reserve(chunks_.size());
  for (size_t c = chunks_.size(); c-- > 0;) free_chunks_.push_back(static_cast<uint32_t>(c));
}

uint32_t RoomTable::find(std::string_view name) const {
  const uint64_t h = hash_of(name);
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint32_t e = index_[i];
    if (e == 0) return kNone;
    if (rooms_[e - 1].hash == h && this->name(e - 1) == name) return e - 1;
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
  const uint32_t place = room.count % kPerChunk;
  if (place == 0) {  // the tail is full (or there is none): a new one
    const uint32_t c = free_chunks_.back();
    free_chunks_.pop_back();
    chunks_[c].prev = room.tail;
    chunks_[c].next = kNone;
    (room.tail != kNone ? chunks_[room.tail].next : room.head) = c;
    room.tail = c;
  }
  chunks_[room.tail].conn[place] = conn;
  slots_[m] = {r, room.tail * kPerChunk + place};
  ++room.count;
  return true;
}

bool RoomTable::leave(uint32_t conn, uint32_t r) {
  const uint32_t m = slot_of(conn, r);
  if (m == kNone) return false;
  Room& room = rooms_[r];
  // The room's last member moves into the leaver's cell.
  const uint32_t cell = slots_[m].cell;
  const uint32_t last_place = (room.count - 1) % kPerChunk;
  const uint32_t last = chunks_[room.tail].conn[last_place];
  if (last != conn) {
    chunks_[cell / kPerChunk].conn[cell % kPerChunk] = last;
    slots_[slot_of(last, r)].cell = cell;
  }
  slots_[m] = Slot{};
  --room.count;
  if (last_place == 0) {  // the tail emptied
    const uint32_t c = room.tail;
    room.tail = chunks_[c].prev;
    (room.tail != kNone ? chunks_[room.tail].next : room.head) = kNone;
    free_chunks_.push_back(c);
  }
  if (room.count != 0) return false;
  unindex(r);
  return true;
}

}  // namespace bypass::msg
