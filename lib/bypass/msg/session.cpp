// The sending half of Session (session.hpp): opening and resetting, send(),
// close, timers and packet building. The packet header's acks, RTT and
// congestion control are in session_acks.cpp; frames received and
// reassembly in session_receive.cpp.
#include <bypass/msg/session.hpp>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

namespace bypass::msg {

namespace {

// Packets one header's ack and ack bits cover, less one: after this many
// received packets that want an ack, one goes out before the next arrives.
constexpr uint32_t kAckSpan = 32;

}  // namespace

const char* to_string(SendResult r) {
  switch (r) {
    case SendResult::kOk:
      return "ok";
    case SendResult::kQueueFull:
      return "the connection's send queue is full";
    case SendResult::kNoMemory:
      return "the worker's message memory is used up";
    case SendResult::kBadChannel:
      return "no such channel";
    case SendResult::kTooBig:
      return "larger than the peer accepts";
    case SendResult::kBadUtf8:
      return "a text message must be valid UTF-8";
    case SendResult::kNotOpen:
      return "the connection is not open";
  }
  return "?";
}

Session::Session(Role role, const SessionConfig* config, ChunkPool* pool, MessageHandler* handler,
                 PacketBatch* out, SessionCounters* counters)
    : role_(role), config_(config), pool_(pool), handler_(handler), out_(out), counters_(counters) {
  close_reason_.reserve(kMaxCloseReason);
}

Session::~Session() {
  reset();
}

void Session::reset() {
  for (uint32_t i = head_; i != tail_; ++i) {
    Out& e = out_at(i);
    if (e.state != OutState::kDone) pool_->give(e.chunk);
  }
  for (size_t i = 0; i < held_.size(); ++i) {
    if (held_[i].chunk != ChunkPool::kNone) free_held(i);
  }
  held_on_.fill(0);
  head_ = cursor_ = tail_ = scan_from_ = 0;
  pending_ = resend_ = reliable_unacked_ = unreliable_queued_ = done_ = 0;
  ahead_used_ = ahead_unreliable_ = 0;
  held_used_ = 0;
}

void Session::open(uint64_t now_ns) {
  reset();
  state_ = SessionState::kHello;
  channels_.clear();
  if (role_ == Role::kServer) channels_ = config_->channels;  // capacity kept across connections
  size_t reliable = 0;
  for (ChannelKind k : channels_) reliable += k == ChannelKind::kReliable;
  held_.assign(ahead_limit() + reliable * kMaxFragments, Held{ChunkPool::kNone});
  // A ring of a power of two: indexing is a mask, and it stays right when the
  // 32-bit fragment counters wrap. The queue's limit is still send_queue.
  out_limit_ = std::clamp<uint32_t>(config_->send_queue, 1, kMaxSendQueue);
  outq_.resize(std::bit_ceil(out_limit_));
  out_mask_ = static_cast<uint32_t>(outq_.size() - 1);
  peer_max_message_ = kMaxMessageBytes;
  hello_received_ = hello_acked_ = hello_in_flight_ = opened_ = false;
  want_writable_ = false;
  send_seq_.fill(0);
  sent_.fill(Sent{});
  next_packet_ = oldest_ = 0;
  newest_acked_ = 0;
  any_acked_ = false;
  in_flight_ = 0;
  cwnd_ = config_->initial_cwnd;
  ssthresh_ = 1e9;
  last_reduction_ns_ = 0;
  prior_cwnd_ = prior_ssthresh_ = 0;
  prior_reduction_ns_ = 0;
  episode_first_ = 0;
  episode_lost_ = episode_late_ = 0;
  lost_newest_ = 0;
  lost_tracked_ = false;
  peer_window_ = 0;
  any_received_ = false;
  recv_latest_ = 0;
  recv_bits_ = 0;
  ack_owed_ = refuse_packet_ = false;
  owed_since_sent_ = 0;
  expected_.fill(0);
  delivered_.fill(0);
  any_delivered_.fill(false);
  malformed_ = 0;
  refused_ = 0;
  now_ = last_heard_ns_ = last_ping_ns_ = acked_ns_ = now_ns;
  probe_sent_ns_ = partials_checked_ns_ = 0;
  srtt_ = rttvar_ = 0;
  rto_ = config_->initial_rto_ns;
  have_rtt_ = false;
  ping_id_ = 0;
  ping_sent_ns_ = 0;
  ping_due_ = false;
  ping_rtt_ = 0;
  pong_count_ = 0;
  close_code_ = 0;
  close_reason_.clear();
  close_deadline_ns_ = 0;
  close_left_ = 0;
  close_received_ = false;
  close_sent_ns_ = 0;
}

void Session::drop(DropReason r) {
  counters_->drops[drop_index(r)]++;
  if (!is_malformed(r) || ++malformed_ <= config_->max_malformed) return;
  if (state_ != SessionState::kHello && state_ != SessionState::kOpen) return;
  counters_->closed_malformed++;
  char reason[64];
  const std::string_view name = MsgDrop::kNames[drop_index(r) - kFirstModuleDrop];
  const int n = std::snprintf(reason, sizeof reason, "protocol error: %.*s",
                              static_cast<int>(name.size()), name.data());
  close(kCloseProtocolError, std::string_view(reason, static_cast<size_t>(std::max(n, 0))));
}

void Session::receive(std::span<const uint8_t> packet, uint64_t now_ns) {
  now_ = std::max(now_, now_ns);
  if (state_ == SessionState::kIdle || state_ == SessionState::kClosed) {
    drop(MsgDrop::kClosed);
    return;
  }
  Header h;
  if (DropReason d = read_header(packet, h); d != kPass) {
    drop(d);
    return;
  }
  counters_->packets_in++;
  last_heard_ns_ = now_;
  process_acks(h, now_);
  // The window of the newest packet: a late one's would be stale.
  if (!any_received_ ||
      static_cast<int16_t>(static_cast<uint16_t>(h.sequence - recv_latest_)) >= 0) {
    peer_window_ = h.window;
  }
  refuse_packet_ = false;
  if (DropReason d = visit_frames(packet, *this); d != kPass) {
    drop(d);
    // The frames after a malformed one were not read: the packet is not
    // acked, so its sender offers them (and the malformed one, counted
    // again) once more. Acked, a message among them was lost for good.
    refuse_packet_ = true;
  }
  if (!refuse_packet_) {
    note_received(h.sequence);
    if (packet.size() > kHeaderBytes) {
      ack_owed_ = true;
      // The next header acks the latest and the 32 before it: a reader that
      // drains more than that before it writes (a client emptying its socket)
      // acks now, or the sender would take the oldest for lost.
      if (++owed_since_sent_ >= kAckSpan) flush(now_);
    }
  }
  release_done();
}

// Sending.

SendResult Session::send(uint8_t channel, bool text, std::span<const uint8_t> bytes) {
  return queue(channel, text, bytes, {}, bytes.size());
}

SendResult Session::send_shared(uint8_t channel, bool text, std::span<const uint32_t> chunks,
                                size_t bytes) {
  if (chunks.size() != fragments_for(bytes)) return SendResult::kTooBig;
  return queue(channel, text, {}, chunks, bytes);
}

SendResult Session::queue(uint8_t channel, bool text, std::span<const uint8_t> bytes,
                          std::span<const uint32_t> shared, size_t size) {
  if (state_ != SessionState::kOpen) return SendResult::kNotOpen;
  if (channel >= channels_.size()) return SendResult::kBadChannel;
  if (size > peer_max_message_) return SendResult::kTooBig;
  if (text && shared.empty() && !valid_utf8(bytes)) return SendResult::kBadUtf8;
  const size_t n = fragments_for(size);
  if (out_limit_ - std::min(queued(), out_limit_) < n) {
    want_writable_ = true;
    counters_->queue_full++;
    return SendResult::kQueueFull;
  }
  if (outq_.size() - (tail_ - head_) < n) compact();
  if (shared.empty() && !pool_->may_take(static_cast<uint32_t>(n), holding())) {
    want_writable_ = true;
    counters_->no_memory++;
    return SendResult::kNoMemory;
  }
  const uint16_t seq = send_seq_[channel]++;
  for (size_t i = 0; i < n; ++i) {
    const size_t at = i * kFragmentBytes;
    const size_t len = std::min(kFragmentBytes, size - at);
    uint32_t chunk;
    if (shared.empty()) {
      chunk = pool_->take();
      if (len != 0) std::memcpy(pool_->data(chunk), bytes.data() + at, len);
    } else {
      chunk = shared[i];
      pool_->share(chunk);
    }
    out_at(tail_++) = Out{chunk,
                          static_cast<uint16_t>(len),
                          seq,
                          0,
                          channel,
                          static_cast<uint8_t>(i),
                          static_cast<uint8_t>(n),
                          text,
                          OutState::kQueued,
                          0,
                          0};
  }
  pending_ += static_cast<uint32_t>(n);
  if (channels_[channel] != ChannelKind::kReliable) unreliable_queued_ += static_cast<uint32_t>(n);
  counters_->messages_out++;
  return SendResult::kOk;
}

void Session::release_done() {
  while (head_ != cursor_ && out_at(head_).state == OutState::kDone) {
    ++head_;
    --done_;
  }
  if (!want_writable_ || state_ != SessionState::kOpen) return;
  if (queued() > out_limit_ / 2 ||
      !pool_->may_take(static_cast<uint32_t>(kMaxFragments), holding()))
    return;
  want_writable_ = false;
  handler_->on_writable(*this);
}

void Session::close(uint16_t code, std::string_view reason) {
  if (state_ != SessionState::kHello && state_ != SessionState::kOpen) return;
  const bool was_open = state_ == SessionState::kOpen;
  state_ = SessionState::kClosing;
  close_code_ = code;
  size_t n = std::min(reason.size(), kMaxCloseReason);
  while (n > 0 && n < reason.size() && (static_cast<uint8_t>(reason[n]) & 0xC0) == 0x80) --n;
  close_reason_.assign(reason.substr(0, n));
  if (!valid_utf8({reinterpret_cast<const uint8_t*>(close_reason_.data()), close_reason_.size()})) {
    close_reason_.clear();
  }
  close_deadline_ns_ = was_open ? now_ + config_->close_linger_ns : now_;
  close_left_ = config_->close_repeats;
}

void Session::lost() {
  if (state_ == SessionState::kIdle || state_ == SessionState::kClosed) return;
  // They closed properly, or we had sent our CLOSE (after which a closing
  // side reports its own code, answered or not): the transport went first.
  if (close_received_ ||
      (state_ == SessionState::kClosing && close_left_ < config_->close_repeats)) {
    finish(close_code_, close_reason_);
    return;
  }
  finish(kCloseLost, "connection lost");
}

void Session::finish(uint16_t code, std::string_view reason) {
  if (state_ == SessionState::kClosed) return;
  state_ = SessionState::kClosed;
  reset();
  if (opened_) handler_->on_close(*this, code, reason);
}

bool Session::close_ready() const {
  if (state_ != SessionState::kClosing || close_left_ == 0) return false;
  // Repeats go a retransmission timeout apart, so that one burst of loss (or
  // one full queue) does not take them all.
  if (close_left_ < config_->close_repeats && now_ - close_sent_ns_ < rto_) return false;
  return close_received_ || now_ >= close_deadline_ns_ || (pending_ == 0 && reliable_unacked_ == 0);
}

bool Session::hello_needed() const {
  if (hello_acked_) return false;
  return role_ == Role::kClient ? state_ == SessionState::kHello : hello_received_;
}

bool Session::control_owed() const {
  return (hello_needed() && !hello_in_flight_) || pong_count_ > 0 || ping_due_ || close_ready();
}

// Timers and the wire.

void Session::tick(uint64_t now_ns) {
  now_ = std::max(now_, now_ns);
  if (state_ == SessionState::kIdle || state_ == SessionState::kClosed) return;
  const uint64_t now = now_;
  if (now - last_heard_ns_ >= config_->idle_timeout_ns) {
    if (state_ == SessionState::kClosing) {
      close_deadline_ns_ = now;  // nobody acks any more: stop waiting
    } else {
      close(kCloseIdle, "idle timeout");
      close_deadline_ns_ = now;
    }
  }
  // A peer that talks but acks none of our packets while reliable data waits
  // holds that memory for nothing: it goes too (TCP's user timeout).
  if (reliable_unacked_ == 0) {
    acked_ns_ = now;
  } else if (state_ == SessionState::kOpen && now - acked_ns_ >= config_->idle_timeout_ns) {
    close(kCloseNoAck, "no acknowledgement");
    close_deadline_ns_ = now;
  }
  // A reliable channel that held fragments for a whole idle timeout while
  // its next message did not complete: a peer that begins messages and never finishes them
  // would pin the worker's shared chunk pool (a lost fragment is resent
  // within max_rto, and the idle timeout is ten of those by default).
  // Per channel: progress on another does not hide it.
  if (state_ == SessionState::kOpen && held_used_ > ahead_unreliable_) {
    for (size_t ch = 0; ch < channels_.size(); ++ch) {
      if (held_on_[ch] == 0 || now - stall_from_[ch] < config_->idle_timeout_ns) continue;
      counters_->closed_stalled++;
      close(kCloseStalled, "a message was left incomplete");
      close_deadline_ns_ = now;
      break;
    }
  }
  // Packets unacked past the timeout are lost: the congestion window backs off.
  while (oldest_ != next_packet_) {
    Sent& s = sent_[oldest_ & 255];
    if (s.valid && s.seq == oldest_ && !s.acked && s.data && !s.lost) {
      if (now - s.sent_ns < rto_) break;
      mark_lost(s, now);
    }
    ++oldest_;
  }
  // Reliable fragments unacked past their (backed-off) timeout go again.
  // While the peer acknowledges nothing for a whole timeout, only the oldest
  // goes, as a probe (as TCP's RTO resends one segment and F-RTO waits for
  // the acks after it): a peer that stalled, or a path that held packets
  // back, then acknowledges the rest, and a window of resends is saved. Its
  // acks resume the timers of the rest; real losses then go at once.
  if (reliable_unacked_ > 0) {
    const bool silent = now - acked_ns_ >= rto_;
    for (uint32_t i = head_; i != cursor_; ++i) {
      Out& e = out_at(i);
      if (silent && e.state == OutState::kResend) break;  // the probe waits for the window
      if (e.state != OutState::kInFlight) continue;
      if (now - e.sent_ns >= rto_for(e.sends)) {
        e.state = OutState::kResend;
        ++resend_;
        ++pending_;
      }
      if (silent) break;
    }
  }
  if (hello_in_flight_ && now - hello_sent_ns_ >= rto_) hello_in_flight_ = false;
  if (ahead_unreliable_ > 0 && now - partials_checked_ns_ >= config_->max_rto_ns / 4) {
    partials_checked_ns_ = now;
    forget_old_partials();
  }
  // Held messages the application refused earlier are offered again.
  if (held_count() > 0) {
    for (uint8_t ch = 0; ch < channels_.size(); ++ch) {
      if (channels_[ch] == ChannelKind::kReliable) drain(ch);
    }
  }
  if (state_ == SessionState::kOpen && now - last_ping_ns_ >= config_->ping_interval_ns) {
    ping_due_ = true;
    last_ping_ns_ = now;
  }
  flush(now);
}

uint64_t Session::next_deadline() const {
  if (state_ == SessionState::kIdle || state_ == SessionState::kClosed) return UINT64_MAX;
  if (state_ != SessionState::kOpen || in_flight_ > 0 || reliable_unacked_ > 0 || pending_ > 0 ||
      ack_owed_ || hello_in_flight_ || held_used_ > 0 || control_owed()) {
    return now_;
  }
  return std::min(last_heard_ns_ + config_->idle_timeout_ns,
                  last_ping_ns_ + config_->ping_interval_ns);
}

void Session::flush(uint64_t now_ns) {
  now_ = std::max(now_, now_ns);
  if (state_ == SessionState::kIdle || state_ == SessionState::kClosed) return;
  while (send_one_packet(now_)) {
  }
  if (state_ == SessionState::kClosing && close_left_ == 0) {
    finish(close_code_, close_reason_);
  }
}

MessageFrame Session::frame_of(const Out& e) {
  return {
      e.channel, e.text, e.count > 1, e.msg_seq, e.index, e.count, {pool_->data(e.chunk), e.len}};
}

bool Session::send_one_packet(uint64_t now) {
  PacketWriter w(out_->room());  // written in place; counts only if committed
  Header h;
  h.sequence = next_packet_;
  h.flags = any_received_ ? kHeaderAckValid : 0;
  h.ack = recv_latest_;
  h.ack_bits = recv_bits_;
  // Room for reliable fragments: unreliable partials give way to them. 0
  // means only that the application refuses a reliable message (the peer
  // then resends only probes, below); a buffer full of fragments waiting for
  // a lost one shows as 1, so that the peer still resends at once.
  const uint32_t reliable_ahead = ahead_used_ - ahead_unreliable_;
  const uint32_t room = ahead_limit() - std::min(reliable_ahead, ahead_limit());
  h.window = refused_ != 0 ? 0 : static_cast<uint16_t>(std::clamp<uint32_t>(room, 1, 0xFFFF));
  w.header(h);
  bool eliciting = false;
  bool data = false;
  const bool hello = hello_needed();
  if (hello) {
    Hello hh;
    hh.max_message = config_->max_message;
    if (role_ == Role::kServer) {
      hh.channel_count = static_cast<uint8_t>(channels_.size());
      std::copy(channels_.begin(), channels_.end(), hh.channels);
    }
    w.hello(hh);
    eliciting = !hello_in_flight_;
  }
  while (pong_count_ > 0 && w.pong(pongs_[pong_count_ - 1])) {
    --pong_count_;
    eliciting = true;
  }
  if (ping_due_ && w.ping(ping_id_ + 1)) {
    ++ping_id_;
    ping_sent_ns_ = now;
    ping_due_ = false;
    eliciting = true;
  }
  // Data waits while this packet's entry in the sent ring (256) still holds
  // unacknowledged data: a window above 256 packets would take it for lost.
  const Sent& slot = sent_[h.sequence & 255];
  const bool may_send_data =
      (state_ == SessionState::kOpen || (state_ == SessionState::kClosing && !close_received_)) &&
      in_flight_ < cwnd_ && !(slot.valid && !slot.acked && slot.data && !slot.lost);
  bool full = false;
  // While the peer's window is 0 (its application refuses), what it refuses
  // is resent as one probe a timeout (as TCP's persist timer): resent at
  // every chance, those packets would fill the congestion window and leave
  // unreliable messages no room.
  const bool shut = peer_window_ == 0;
  bool probe = false;  // this packet carries the persist probe
  if (may_send_data && resend_ > 0 && (!shut || now - probe_sent_ns_ >= rto_)) {
    for (uint32_t i = head_; i != cursor_ && resend_ > 0; ++i) {
      Out& e = out_at(i);
      if (e.state != OutState::kResend) continue;
      if (!w.message(frame_of(e))) {
        full = true;
        break;
      }
      e.state = OutState::kInFlight;
      e.packet = h.sequence;
      e.sent_ns = now;
      e.sends = static_cast<uint8_t>(std::min(e.sends + 1, 255));
      --resend_;
      --pending_;
      data = true;
      counters_->retransmits++;
      if (shut) {
        probe_sent_ns_ = now;
        probe = true;
        break;
      }
    }
  }
  if (may_send_data && !full) {
    bool window_shut = false;
    while (cursor_ != tail_) {
      Out& e = out_at(cursor_);
      if (e.state == OutState::kDone) {  // an unreliable fragment sent past the window
        ++cursor_;
        continue;
      }
      const bool reliable = channels_[e.channel] == ChannelKind::kReliable;
      if (reliable && reliable_unacked_ >= peer_window_ + kMaxFragments) {
        window_shut = true;
        break;
      }
      if (!w.message(frame_of(e))) break;
      --pending_;
      data = true;
      if (reliable) {
        e.state = OutState::kInFlight;
        e.packet = h.sequence;
        e.sent_ns = now;
        e.sends = 1;
        if (reliable_unacked_++ == 0) acked_ns_ = now;  // the no-ack clock starts now
      } else {
        e.state = OutState::kDone;
        ++done_;
        --unreliable_queued_;
        pool_->give(e.chunk);
      }
      ++cursor_;
    }
    if (window_shut && unreliable_queued_ > 0) data |= send_past_window(w);
  }
  if (close_ready() && w.close(close_code_, close_reason_)) {
    --close_left_;
    close_sent_ns_ = now;
    eliciting = true;
  }
  if (!eliciting && !data && !ack_owed_) return false;
  if (hello) {
    hello_in_flight_ = true;
    hello_packet_ = h.sequence;
    hello_sent_ns_ = now;
  }
  // A packet without data whose ring entry still holds unacknowledged data
  // (data waits for it, above) leaves that entry alone: taking it would
  // count the data lost, and the data's own ack would find no entry.
  Sent& s = sent_[h.sequence & 255];
  const bool unacked = s.valid && !s.acked && s.data && !s.lost;
  if (!unacked || data) {
    if (unacked) mark_lost(s, now);  // cannot happen: data waits for the entry
    s = Sent{h.sequence, true, false, data, false, eliciting || data, probe, now};
  }
  if (data) ++in_flight_;
  if (!eliciting && !data) counters_->ack_only++;
  counters_->packets_out++;
  ++next_packet_;
  ack_owed_ = false;
  owed_since_sent_ = 0;
  out_->commit(id, w.size());
  release_done();
  return data && (resend_ > 0 || cursor_ != tail_) && in_flight_ < cwnd_;
}

// The peer's window holds reliable fragments back, not unreliable ones: those
// queued behind them go now. A message of several fragments goes only if the
// peer's window can hold it while it is rebuilt (the peer drops it
// otherwise); once one waits, its channel's later messages wait too, so each
// channel keeps its order. The scan starts where the last one left the first
// unreliable fragment unsent (scan_from_): what lies before is reliable or
// sent.
bool Session::send_past_window(PacketWriter& w) {
  uint32_t i = scan_from_ - cursor_ <= tail_ - cursor_ ? scan_from_ : cursor_;
  uint32_t left = unreliable_queued_;
  uint32_t waiting = 0;  // a bit per channel whose next message waits
  bool sent = false, marked = false;
  for (; i != tail_ && left > 0; ++i) {
    Out& e = out_at(i);
    if (e.state != OutState::kQueued || channels_[e.channel] == ChannelKind::kReliable) continue;
    const uint32_t bit = 1u << e.channel;
    if ((waiting & bit) != 0 || (e.count > 1 && e.count > peer_window_)) {
      waiting |= bit;
      if (!marked) {
        scan_from_ = i;
        marked = true;
      }
      --left;
      continue;
    }
    if (!w.message(frame_of(e))) break;
    --pending_;
    --left;
    --unreliable_queued_;
    ++done_;
    sent = true;
    e.state = OutState::kDone;
    pool_->give(e.chunk);
  }
  if (!marked) scan_from_ = i;
  return sent;
}

void Session::compact() {
  uint32_t to = head_;
  uint32_t cursor = cursor_;
  for (uint32_t i = head_; i != tail_; ++i) {
    if (i == cursor_) cursor = to;
    if (out_at(i).state == OutState::kDone) continue;
    if (to != i) out_at(to) = out_at(i);
    ++to;
  }
  if (cursor_ == tail_) cursor = to;
  cursor_ = cursor;
  tail_ = to;
  done_ = 0;
  scan_from_ = cursor_;
}

}  // namespace bypass::msg
