#include <bypass/msg/rooms_app.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace bypass::msg {

namespace {

std::string_view as_text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Characters a name may not hold: controls (C0, DEL, C1), spaces, and the
// invisible ones that change how the text around them reads (bidirectional
// marks, embeddings, overrides and isolates; line and paragraph
// separators; the byte order mark), so that a name shown to other members
// is what it looks like.
bool forbidden_in_name(uint32_t c) {
  return c <= 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0x200e || c == 0x200f ||
         (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

// Answers are text, so a name is UTF-8 (a binary join of any other name
// would be joined and never answered).
bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > RoomsConfig::kMaxName) return false;
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(n.data()), n.size());
  for (size_t i = 0, len; i < bytes.size(); i += len) {
    const uint32_t c = utf8_code_point(bytes, i, len);
    if (c == kNotUtf8 || forbidden_in_name(c)) return false;
  }
  return true;
}

// A reply or a close reason, formatted on the stack: a room name is at most
// 64 bytes, so every line the app writes fits (a longer one is cut short).
class Line {
 public:
  Line& operator<<(std::string_view t) {
    const size_t n = std::min(t.size(), sizeof buf_ - len_);
    std::memcpy(buf_ + len_, t.data(), n);
    len_ += n;
    return *this;
  }
  Line& operator<<(uint64_t v) {
    const auto [end, ec] = std::to_chars(buf_ + len_, buf_ + sizeof buf_, v);
    if (ec == std::errc()) len_ = static_cast<size_t>(end - buf_);
    return *this;
  }
  operator std::string_view() const { return {buf_, len_}; }

 private:
  char buf_[192];
  size_t len_ = 0;
};

}  // namespace

Status RoomsConfig::check(uint32_t connections) const {
  auto range = [](const char* field, uint64_t v, uint64_t lo, uint64_t hi) {
    if (v >= lo && v <= hi) return Status::ok();
    return Status::error("rooms: " + std::string(field) + " is " + std::to_string(v) +
                         "; set it from " + std::to_string(lo) + " to " + std::to_string(hi) + ".");
  };
  BYPASS_TRY(range("rooms_per_connection", rooms_per_connection, 1, kMaxRoomsPerConnection));
  BYPASS_TRY(range("members_per_room", members_per_room, 2, kMaxMembersPerRoom));
  BYPASS_TRY(range("max_rooms", max_rooms, 1, kMaxRooms));
  BYPASS_TRY(range("slow_member_ms", slow_member_ms, kMinSlowMemberMs, kMaxSlowMemberMs));
  const uint64_t memberships = uint64_t{connections} * rooms_per_connection;
  if (memberships > kMaxMemberships)
    return Status::error("rooms: rooms_per_connection times " + std::to_string(connections) +
                         " connections is " + std::to_string(memberships) +
                         " room memberships, more than " + std::to_string(kMaxMemberships) +
                         " a worker: lower rooms_per_connection or the connections.");
  return Status::ok();
}

Status RoomsApp::attach(MessageServer* server) {
  BYPASS_TRY(config_.check(server->max_connections()));
  server_ = server;
  table_ = std::make_unique<RoomTable>(config_.max_rooms, config_.rooms_per_connection,
                                       server->max_connections());
  // What a publication and its fan-out use, sized once: nothing grows on a worker.
  out_.reserve(kMaxMessageBytes);
  chunks_.reserve(kMaxFragments);
  slow_.reserve(config_.members_per_room);
  room_wait_.assign(config_.max_rooms, RingWait{});
  return Status::ok();
}

size_t RoomsApp::members(std::string_view room) const {
  const uint32_t r = table_ ? table_->find(room) : RoomTable::kNone;
  return r == RoomTable::kNone ? 0 : table_->members(r);
}

void RoomsApp::on_open(Session& s) {
  // A slot's rooms went with its last connection's close; none are inherited.
  for (uint32_t r; (r = table_->any_room_of(s.id)) != RoomTable::kNone;) leave_room(s, r, true);
}

void RoomsApp::reply(Session& s, std::string_view text) {
  const SendResult r =
      s.send(0, true, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  if (r != SendResult::kOk) ++refused_;
}

bool RoomsApp::on_message(Session& s, uint8_t channel, bool text, std::span<const uint8_t> b) {
  const std::string_view all = as_text(b);
  const size_t nl = all.find('\n');
  const std::string_view line = all.substr(0, nl);
  const size_t sp = line.find(' ');
  const std::string_view verb = line.substr(0, sp);
  const std::string_view room = sp == std::string_view::npos ? "" : line.substr(sp + 1);
  if (!valid_name(room) && (verb == "join" || verb == "leave" || verb == "pub")) {
    reply(s, "error a room name is 1 to 64 bytes of UTF-8 with no spaces or control characters");
    return true;
  }
  if (verb == "join") {
    join(s, room);
  } else if (verb == "leave") {
    leave(s, room, false);
  } else if (verb == "pub") {
    const std::span<const uint8_t> payload =
        nl == std::string_view::npos ? std::span<const uint8_t>() : b.subspan(nl + 1);
    return publish(s, channel, text, room, payload);
  } else {
    reply(s, "error unknown command: send \"join ROOM\", \"leave ROOM\" or \"pub ROOM\\n...\"");
  }
  return true;
}

void RoomsApp::join(Session& s, std::string_view name) {
  RoomTable& t = *table_;
  uint32_t r = t.find(name);
  if (r != RoomTable::kNone && t.is_member(s.id, r)) {
    reply(s, Line() << "joined " << name << " " << t.members(r));
    return;
  }
  if (t.joined(s.id) >= config_.rooms_per_connection) {
    reply(s, Line() << "error this connection is in " << t.joined(s.id)
                    << " rooms, the most allowed: leave one first");
    return;
  }
  if (r == RoomTable::kNone) {
    r = t.create(name);
    if (r == RoomTable::kNone) {
      reply(s, "error the server holds its most rooms: join an existing one");
      return;
    }
    room_wait_[r] = RingWait{};  // the index's last room's wait is not this one's
    room_count_.store(t.rooms(), std::memory_order_relaxed);
    server_->subscribe(t.key(r), true);  // before "joined": publications come here from now
  }
  if (t.members(r) >= config_.members_per_room) {
    reply(s, Line() << "error room " << name << " is full");
    return;
  }
  if (!t.join(s.id, r)) {  // the table's bound is the config's: not reached
    reply(s, "error this connection is in the most rooms allowed: leave one first");
    return;
  }
  reply(s, Line() << "joined " << name << " " << t.members(r));
}

void RoomsApp::leave(Session& s, std::string_view name, bool quiet) {
  RoomTable& t = *table_;
  const uint32_t r = t.find(name);
  if (r == RoomTable::kNone || !t.is_member(s.id, r)) {
    if (!quiet) reply(s, Line() << "error not in room " << name);
    return;
  }
  leave_room(s, r, quiet);
}

void RoomsApp::leave_room(Session& s, uint32_t r, bool quiet) {
  RoomTable& t = *table_;
  const uint64_t key = t.key(r);
  Line left;
  if (!quiet) left << "left " << t.name(r);
  if (t.leave(s.id, r)) {
    server_->subscribe(key, false);
    room_count_.store(t.rooms(), std::memory_order_relaxed);
  }
  if (!quiet) reply(s, left);
}

bool RoomsApp::publish(Session& s, uint8_t channel, bool text, std::string_view name,
                       std::span<const uint8_t> payload) {
  const uint32_t r = table_->find(name);
  if (r == RoomTable::kNone || !table_->is_member(s.id, r)) {
    reply(s, Line() << "error join room " << name << " before publishing to it");
    return true;
  }
  // "msg ROOM CLIENT\n" + payload, framed once for every member (out_ keeps
  // its capacity: no allocation per publication).
  char id[24];
  const auto [id_end, ec] = std::to_chars(id, id + sizeof id, s.client_id);
  (void)ec;
  const size_t head = 4 + name.size() + 1 + static_cast<size_t>(id_end - id) + 1;
  if (head + payload.size() > kMaxMessageBytes) {
    reply(s, Line() << "error a publication is at most " << kMaxMessageBytes - head
                    << " bytes in this room");
    return true;
  }
  out_.resize(head + payload.size());
  uint8_t* w = out_.data();
  std::memcpy(w, "msg ", 4);
  std::memcpy(w + 4, name.data(), name.size());
  w[4 + name.size()] = ' ';
  std::memcpy(w + 5 + name.size(), id, static_cast<size_t>(id_end - id));
  w[head - 1] = '\n';
  if (!payload.empty()) std::memcpy(w + head, payload.data(), payload.size());
  if (text && !valid_utf8(out_)) {
    reply(s, "error a text publication is UTF-8, room name included");
    return true;
  }
  // Every other worker's ring must take it, or it waits: the publisher's
  // message is offered again, and no member anywhere misses it.
  struct Head {
    uint8_t channel, text;
    uint16_t name;
  } head_rec{channel, text, static_cast<uint16_t>(name.size())};
  // With broadcast()'s kind byte, within what every ring takes whole.
  static_assert(1 + sizeof head_rec <= WorkerLinks::kMaxRecordHead);
  const std::span<const uint8_t> rec_head(reinterpret_cast<const uint8_t*>(&head_rec),
                                          sizeof head_rec);
  const uint64_t across =
      server_->subscribers(table_->key(r)) & ~(uint64_t{1} << server_->worker());
  // A member whose reliable queue is full makes the publication wait (the
  // publisher's message is offered again), as long as the room's debt is
  // under slow_member_ms; then it goes, and the members still full are
  // closed. At most half the publisher's idle_timeout: its session closes a
  // message refused that long with 4004.
  RingWait& wait_here = room_wait_[r];
  settle(wait_here, s.now_ns());
  const bool wait = !all_have_room(r, channel, out_.size(), s.id);
  const uint64_t limit =
      std::min(uint64_t{config_.slow_member_ms} * 1'000'000, s.config().idle_timeout_ns / 2);
  if (wait && wait_here.debt_ns < limit) {
    wait_here.waiting = true;
    ++waited_;
    return false;
  }
  if (!server_->broadcast_fits(sizeof head_rec + out_.size(), across)) {
    server_->note_ring_full();
    return false;
  }
  if (!cut(out_, s.holding())) return false;  // the pool is short: offered again later
  // The publisher's own copy is the flow control: if its queue is full, the
  // publication waits (offered again) rather than reaching only some members.
  const SendResult mine_r = s.send_shared(channel, text, chunks_, out_.size());
  if (mine_r == SendResult::kQueueFull || mine_r == SendResult::kNoMemory) {
    release_chunks();
    return false;
  }
  ++published_;
  wait_here.waiting = false;
  if (wait) wait_here.debt_ns = 0;  // the members still full are closed now
  if (mine_r == SendResult::kOk) ++delivered_;
  if (mine_r == SendResult::kTooBig) ++skipped_too_big_;  // over the publisher's own limit
  fan_out(r, channel, text, out_.size(), s.id);
  release_chunks();
  uint32_t reached = 0;
  if (across != 0 && server_->broadcast(rec_head, out_, across, &reached) && reached != 0)
    ++sent_across_;
  return true;
}

bool RoomsApp::cut(std::span<const uint8_t> bytes, uint32_t holding) {
  const size_t n = fragments_for(bytes.size());
  ChunkPool& pool = server_->pool();
  if (!pool.may_take(static_cast<uint32_t>(n), holding)) return false;
  chunks_.clear();
  for (size_t i = 0; i < n; ++i) {
    const uint32_t c = pool.take();
    const size_t at = i * kFragmentBytes;
    const size_t len = std::min(kFragmentBytes, bytes.size() - at);
    if (len != 0) std::memcpy(pool.data(c), bytes.data() + at, len);
    chunks_.push_back(c);
  }
  return true;
}

void RoomsApp::release_chunks() {
  for (uint32_t c : chunks_) server_->pool().give(c);
  chunks_.clear();
}

void RoomsApp::fan_out(uint32_t room, uint8_t channel, bool text, size_t bytes, uint32_t skip) {
  slow_.clear();
  table_->for_each_member(room, [&](uint32_t m) {
    if (m == skip) return;
    Session* member = server_->session(m);
    if (!member) return;
    if (!member->open_for_messages()) {
      ++skipped_closing_;
      return;
    }
    const bool reliable = member->channels()[channel] == ChannelKind::kReliable;
    const SendResult r = member->send_shared(channel, text, chunks_, bytes);
    if (r == SendResult::kOk) {
      ++delivered_;
      server_->touch(*member);
    } else if (r == SendResult::kTooBig) {
      ++skipped_too_big_;  // over what this member accepts: its own limit, not its speed
    } else if (!reliable) {
      ++dropped_unreliable_;
    } else if (r == SendResult::kQueueFull) {
      slow_.push_back(m);
    } else {
      ++dropped_reliable_;  // nothing else can fail a shared send; counted if it does
    }
  });
  for (uint32_t m : slow_) {
    if (Session* member = server_->session(m)) {
      ++slow_closed_;
      member->close(kCloseSlowConsumer, Line() << "slow consumer: room " << table_->name(room)
                                               << " publications piled up");
      server_->touch(*member);
    }
  }
}

bool RoomsApp::all_have_room(uint32_t room, uint8_t channel, size_t bytes, uint32_t skip) {
  bool all = true;
  table_->for_each_member(room, [&](uint32_t m) {
    if (m == skip) return;
    const Session* member = server_->session(m);
    if (member && member->open_for_messages() &&
        member->channels()[channel] == ChannelKind::kReliable &&
        bytes <= member->peer_max_message() && !member->has_room(bytes))
      all = false;
  });
  return all;
}

bool RoomsApp::on_linked(std::span<const uint8_t> rec, uint32_t from, uint64_t now_ns) {
  RingWait& w = ring_wait_[from % WorkerLinks::kMaxWorkers];
  settle(w, now_ns);
  // The record leaves the ring (delivered or dropped).
  auto gone = [&] {
    w.waiting = false;
    ++received_across_;
    return true;
  };
  if (rec.size() < 4) {
    ++dropped_malformed_;
    return gone();
  }
  const uint8_t channel = rec[0];
  const bool text = rec[1] != 0;
  uint16_t name_len;
  std::memcpy(&name_len, rec.data() + 2, 2);
  const std::span<const uint8_t> framed = rec.subspan(4);
  if (framed.size() < 4 + size_t{name_len}) {
    ++dropped_malformed_;
    return gone();
  }
  const std::string_view name(reinterpret_cast<const char*>(framed.data()) + 4, name_len);
  const uint32_t room = table_->find(name);
  if (room == RoomTable::kNone || channel >= server_->channel_count()) {
    ++dropped_no_room_;  // its last member here left while it was on the way
    return gone();
  }
  // A poll can bring what another worker published over many of this
  // worker's ticks at once: a member whose reliable queue is full now is not
  // yet slow. The record waits in its ring (and, the ring filling, the
  // publishers behind it) while such members drain; one still full after
  // slow_member_ms is closed as a slow consumer when the record goes out.
  // The wait is counted as the ring's debt (RingWait), not per record.
  const bool wait = !all_have_room(room, channel, framed.size(), UINT32_MAX);
  if (wait && w.debt_ns < uint64_t{config_.slow_member_ms} * 1'000'000) {
    w.waiting = true;
    ++waited_;
    return false;
  }
  // From another worker: no session of ours asks, so not from the reserve.
  if (!cut(framed, UINT32_MAX)) return false;  // the pool is short: the rest waits in the ring
  gone();
  if (wait) w.debt_ns = 0;  // the members still full are closed now
  fan_out(room, channel, text, framed.size(), UINT32_MAX);
  release_chunks();
  return true;
}

void RoomsApp::settle(RingWait& w, uint64_t now_ns) {
  // Time since the last turn goes to the debt while it waited, and pays it
  // back one for one while publications went (or none came).
  if (now_ns >= w.last_ns) {
    const uint64_t dt = now_ns - w.last_ns;
    w.debt_ns = w.waiting ? w.debt_ns + dt : w.debt_ns - std::min(w.debt_ns, dt);
  }
  w.last_ns = now_ns;
}

void RoomsApp::on_close(Session& s, uint16_t, std::string_view) {
  for (uint32_t r; (r = table_->any_room_of(s.id)) != RoomTable::kNone;) leave_room(s, r, true);
}

void RoomsApp::report(std::vector<std::pair<std::string, uint64_t>>& out) const {
  out.emplace_back("rooms.rooms", rooms());
  out.emplace_back("rooms.published", published_);
  out.emplace_back("rooms.delivered", delivered_);
  out.emplace_back("rooms.dropped_unreliable", dropped_unreliable_);
  out.emplace_back("rooms.slow_closed", slow_closed_);
  out.emplace_back("rooms.skipped_too_big", skipped_too_big_);
  out.emplace_back("rooms.dropped_reliable", dropped_reliable_);
  out.emplace_back("rooms.replies_refused", refused_);
  out.emplace_back("rooms.sent_across", sent_across_);
  out.emplace_back("rooms.received_across", received_across_);
  out.emplace_back("rooms.dropped_no_room", dropped_no_room_);
  out.emplace_back("rooms.dropped_malformed", dropped_malformed_);
  out.emplace_back("rooms.skipped_closing", skipped_closing_);
  out.emplace_back("rooms.waited_for_room", waited_);
}

}  // namespace bypass::msg
