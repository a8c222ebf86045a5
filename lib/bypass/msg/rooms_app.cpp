#include <bypass/msg/rooms_app.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace bypass::msg {

namespace {

std::string_view as_text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Answers are text, so a name is UTF-8 (a binary join of any other name
// would be joined and never answered).
bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > RoomsConfig::kMaxName) return false;
  if (!valid_utf8({reinterpret_cast<const uint8_t*>(n.data()), n.size()})) return false;
  return std::none_of(n.begin(), n.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

}  // namespace

std::vector<std::string>& RoomsApp::joined(uint32_t conn) {
  if (joined_.size() <= conn) joined_.resize(conn + 1);
  return joined_[conn];
}

size_t RoomsApp::members(const std::string& room) const {
  auto it = rooms_.find(std::string_view(room));
  return it == rooms_.end() ? 0 : it->second.members.size();
}

void RoomsApp::on_open(Session& s) {
  joined(s.id).clear();
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
  std::vector<std::string>& mine = joined(s.id);
  std::string key(name);
  if (std::find(mine.begin(), mine.end(), key) != mine.end()) {
    reply(s, "joined " + key + " " + std::to_string(members(key)));
    return;
  }
  if (mine.size() >= config_.rooms_per_connection) {
    reply(s, "error this connection is in " + std::to_string(mine.size()) +
                 " rooms, the most allowed: leave one first");
    return;
  }
  auto it = rooms_.find(std::string_view(key));
  if (it == rooms_.end()) {
    if (rooms_.size() >= config_.max_rooms) {
      reply(s, "error the server holds its most rooms: join an existing one");
      return;
    }
    it = rooms_.emplace(key, Room{}).first;
    room_count_.store(rooms_.size(), std::memory_order_relaxed);
    server_->subscribe(key_of(key), true);  // before "joined": publications come here from now
  }
  if (it->second.members.size() >= config_.members_per_room) {
    reply(s, "error room " + key + " is full");
    return;
  }
  it->second.members.push_back(s.id);
  mine.push_back(key);
  reply(s, "joined " + key + " " + std::to_string(it->second.members.size()));
}

void RoomsApp::leave(Session& s, std::string_view name, bool quiet) {
  std::vector<std::string>& mine = joined(s.id);
  auto at = std::find(mine.begin(), mine.end(), name);
  if (at == mine.end()) {
    if (!quiet) reply(s, "error not in room " + std::string(name));
    return;
  }
  auto it = rooms_.find(std::string_view(*at));
  if (it != rooms_.end()) {
    std::erase(it->second.members, s.id);
    if (it->second.members.empty()) {
      server_->subscribe(key_of(it->first), false);
      rooms_.erase(it);
      room_count_.store(rooms_.size(), std::memory_order_relaxed);
    }
  }
  if (!quiet) reply(s, "left " + *at);
  mine.erase(at);
}

bool RoomsApp::publish(Session& s, uint8_t channel, bool text, std::string_view name,
                       std::span<const uint8_t> payload) {
  std::vector<std::string>& mine = joined(s.id);
  if (std::find(mine.begin(), mine.end(), name) == mine.end()) {
    reply(s, "error join room " + std::string(name) + " before publishing to it");
    return true;
  }
  // "msg ROOM CLIENT\n" + payload, framed once for every member (out_ keeps
  // its capacity: no allocation per publication).
  char id[24];
  const auto [id_end, ec] = std::to_chars(id, id + sizeof id, s.client_id);
  (void)ec;
  const size_t head = 4 + name.size() + 1 + static_cast<size_t>(id_end - id) + 1;
  if (head + payload.size() > kMaxMessageBytes) {
    reply(s, "error a publication is at most " + std::to_string(kMaxMessageBytes - head) +
                 " bytes in this room");
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
  const std::span<const uint8_t> rec_head(reinterpret_cast<const uint8_t*>(&head_rec),
                                          sizeof head_rec);
  const uint64_t across = server_->subscribers(key_of(name)) & ~(uint64_t{1} << server_->worker());
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
  if (mine_r == SendResult::kOk) ++delivered_;
  if (mine_r == SendResult::kTooBig) ++skipped_too_big_;  // over the publisher's own limit
  fan_out(name, channel, text, out_.size(), s.id);
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

void RoomsApp::fan_out(std::string_view name, uint8_t channel, bool text, size_t bytes,
                       uint32_t skip) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return;
  slow_.clear();
  for (uint32_t m : it->second.members) {
    if (m == skip) continue;
    Session* member = server_->session(m);
    if (!member) continue;
    if (!member->open_for_messages()) {
      ++skipped_closing_;
      continue;
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
  }
  for (uint32_t m : slow_) {
    if (Session* member = server_->session(m)) {
      ++slow_closed_;
      member->close(kCloseSlowConsumer,
                    "slow consumer: room " + std::string(name) + " publications piled up");
      server_->touch(*member);
    }
  }
}

bool RoomsApp::all_have_room(std::string_view name, uint8_t channel, size_t bytes) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) return true;
  for (uint32_t m : it->second.members) {
    const Session* member = server_->session(m);
    if (member && member->open_for_messages() &&
        member->channels()[channel] == ChannelKind::kReliable &&
        bytes <= member->peer_max_message() && !member->has_room(bytes))
      return false;
  }
  return true;
}

bool RoomsApp::on_linked(std::span<const uint8_t> rec, uint32_t from, uint64_t now_ns) {
  // Whatever this record's fate, a record of `from` that goes (or is
  // dropped) ends that ring's wait.
  uint64_t& since = waiting_since_ns_[from % WorkerLinks::kMaxWorkers];
  if (rec.size() < 4) {
    since = kWaitingNot;
    return true;
  }
  const uint8_t channel = rec[0];
  const bool text = rec[1] != 0;
  uint16_t name_len;
  std::memcpy(&name_len, rec.data() + 2, 2);
  const std::span<const uint8_t> framed = rec.subspan(4);
  if (framed.size() < 4 + size_t{name_len}) {
    since = kWaitingNot;
    return true;
  }
  const std::string_view name(reinterpret_cast<const char*>(framed.data()) + 4, name_len);
  if (rooms_.find(name) == rooms_.end() || channel >= server_->channel_count()) {
    since = kWaitingNot;
    ++received_across_;
    return true;
  }
  // A poll can bring what another worker published over many of this
  // worker's ticks at once: a member whose reliable queue is full now is not
  // yet slow. The record waits in its ring (and, the ring filling, the
  // publishers behind it) while such members drain; one still full after
  // slow_member_ms is closed as a slow consumer when the record goes out.
  if (!all_have_room(name, channel, framed.size())) {
    if (since == kWaitingNot || now_ns < since) since = now_ns;
    if (now_ns - since < uint64_t{config_.slow_member_ms} * 1'000'000) {
      ++waited_;
      return false;
    }
  }
  // From another worker: no session of ours asks, so not from the reserve.
  if (!cut(framed, UINT32_MAX)) return false;  // the pool is short: the rest waits in the ring
  since = kWaitingNot;
  ++received_across_;
  fan_out(name, channel, text, framed.size(), UINT32_MAX);
  release_chunks();
  return true;
}

void RoomsApp::on_close(Session& s, uint16_t, std::string_view) {
  if (s.id >= joined_.size()) return;
  while (!joined_[s.id].empty()) leave(s, std::string(joined_[s.id].back()), true);
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
  out.emplace_back("rooms.skipped_closing", skipped_closing_);
  out.emplace_back("rooms.waited_for_room", waited_);
}

}  // namespace bypass::msg
