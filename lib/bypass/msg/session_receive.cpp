// The receiving half of Session (session.hpp): the frames a packet carries,
// in-order delivery of reliable messages, reassembly of fragments and the
// held fragments' bookkeeping. The sending half, acks and timers are in
// session.cpp.
#include <bypass/msg/session.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace bypass::msg {

namespace {

// How far behind the newest fragment an unreliable partial message is kept.
constexpr int kUnreliableReach = 32;

}  // namespace

void Session::on_hello(const Hello& h) {
  if (hello_received_ || state_ != SessionState::kHello) return;
  if (h.version != kProtocolVersion) {
    drop(MsgDrop::kBadVersion);
    char reason[96];
    const int n = std::snprintf(reason, sizeof reason,
                                role_ == Role::kServer
                                    ? "message protocol version %u is not supported; this "
                                      "server speaks %u"
                                    : "the server speaks message protocol version %u; this "
                                      "client speaks %u",
                                h.version, kProtocolVersion);
    close(kCloseBadVersion, std::string_view(reason, static_cast<size_t>(std::max(n, 0))));
    return;
  }
  if (role_ == Role::kClient) {
    if (h.channel_count == 0) {
      drop(MsgDrop::kBadHello);
      return;
    }
    channels_.assign(h.channels, h.channels + h.channel_count);
    size_t reliable = 0;
    for (ChannelKind k : channels_) reliable += k == ChannelKind::kReliable;
    held_.assign(ahead_limit() + reliable * kMaxFragments, Held{ChunkPool::kNone});
    hello_acked_ = true;  // the server answered ours
    hello_in_flight_ = false;
  }
  hello_received_ = true;
  peer_max_message_ = std::min<uint32_t>(h.max_message, kMaxMessageBytes);
  state_ = SessionState::kOpen;
  opened_ = true;
  handler_->on_open(*this);
}

void Session::on_ping(uint32_t ping_id) {
  if (pong_count_ < pongs_.size()) pongs_[pong_count_++] = ping_id;
}

void Session::on_pong(uint32_t pong_id) {
  if (pong_id != ping_id_ || ping_sent_ns_ == 0) return;
  ping_rtt_ = now_ - ping_sent_ns_;
  ping_sent_ns_ = 0;
}

void Session::on_close(const CloseFrame& c) {
  if (close_received_) return;
  close_received_ = true;
  if (state_ == SessionState::kClosing) {
    // The answer to ours (or theirs crossed ours): the handshake is done, and
    // our code stands. Finished now, before the transport goes away.
    finish(close_code_, close_reason_);
    return;
  }
  state_ = SessionState::kClosing;
  close_code_ = c.code;
  close_reason_.assign(c.reason);
  // Close frames back, one per burst, then done: as many as a closing side
  // sends, so that on a lossy path the other side still hears the answer.
  close_left_ = config_->close_repeats;
}

void Session::on_message(const MessageFrame& m) {
  if (!hello_received_) {
    drop(MsgDrop::kNoHello);
    refuse_packet_ = true;  // resent after the hello
    return;
  }
  if (close_received_ || state_ == SessionState::kClosed) {
    drop(MsgDrop::kClosed);
    return;
  }
  if (m.channel >= channels_.size()) {
    drop(MsgDrop::kBadChannel);
    return;
  }
  const size_t least = m.fragment ? (m.count - 1) * kFragmentBytes + 1 : m.data.size();
  if (least > config_->max_message) {
    drop(MsgDrop::kTooBig);
    skip_malformed(m);
    return;
  }
  if (!m.fragment && m.text && !valid_utf8(m.data)) {
    drop(MsgDrop::kBadUtf8);
    skip_malformed(m);
    return;
  }
  if (channels_[m.channel] == ChannelKind::kReliable) {
    reliable_frame(m);
  } else {
    unreliable_frame(m);
  }
}

// A malformed reliable message is skipped (section 5), as a rebuilt one is
// in try_complete(): when it is the next one, the channel moves past it (it
// waited for it for good) and whatever is held of it, now behind, is freed;
// one ahead of order is not acked, so that its resend is skipped in its turn
// (and a sender that keeps sending it is closed for its malformed frames).
// The one place a message is given up on before it completes.
void Session::skip_malformed(const MessageFrame& m) {
  if (channels_[m.channel] != ChannelKind::kReliable) return;
  const int d = static_cast<int16_t>(static_cast<uint16_t>(m.sequence - expected_[m.channel]));
  if (d < 0 || d >= kReliableWindow) return;
  if (d > 0) {
    refuse_packet_ = true;
    return;
  }
  advance(m.channel);
  if (held_used_ > 0) forget_behind(m.channel);
  drain(m.channel);
}

void Session::advance(uint8_t channel) {
  ++expected_[channel];
  stall_from_[channel] = now_;
  if (refused_ == 0) return;
  refused_ &= ~(1u << channel);
  // The window opens again: the peer hears it now, not at its next probe.
  if (refused_ == 0) ack_owed_ = true;
}

bool Session::deliver(uint8_t channel, bool text, std::span<const uint8_t> bytes) {
  if (!handler_->on_message(*this, channel, text, bytes)) {
    drop(MsgDrop::kAppBusy);
    if (channels_[channel] == ChannelKind::kReliable) refused_ |= 1u << channel;
    return false;
  }
  counters_->messages_in++;
  return true;
}

void Session::reliable_frame(const MessageFrame& m) {
  const int d = static_cast<int16_t>(static_cast<uint16_t>(m.sequence - expected_[m.channel]));
  if (d < 0) {
    drop(MsgDrop::kDuplicate);
    return;
  }
  if (d >= kReliableWindow) {
    drop(MsgDrop::kOutOfWindow);
    refuse_packet_ = true;  // not acked: never taken, it must not count as delivered
    return;
  }
  // A copy already held (the application refused it when it was drained)
  // is the one offered again: the resend is a duplicate.
  if (held_used_ > 0 && is_held(m)) {
    drop(MsgDrop::kDuplicate);
    if (d == 0) drain(m.channel);
    return;
  }
  if (d == 0 && !m.fragment) {
    // Whole, but fragments of it are held: the two disagree (malformed).
    for (size_t i = 0; held_used_ > 0 && i < held_.size(); ++i) {
      const Held& h = held_[i];
      if (h.chunk != ChunkPool::kNone && h.channel == m.channel && h.msg_seq == m.sequence) {
        drop(MsgDrop::kBadFragment);
        skip_malformed(m);
        return;
      }
    }
    if (!deliver(m.channel, m.text, m.data)) {
      stall_from_[m.channel] = now_;  // whole: the wait is ours, not the peer's
      refuse_packet_ = true;          // not acked: offered again when it is resent
      return;
    }
    advance(m.channel);
    if (held_used_ > 0) forget_behind(m.channel);
    drain(m.channel);
    return;
  }
  // Unreliable partial messages give way to reliable data.
  if (!hold(m, d != 0) && !(evict_unreliable(m) && hold(m, d != 0))) {
    refuse_packet_ = true;  // not acked: the sender tries again
    return;
  }
  if (d == 0) drain(m.channel);
}

void Session::unreliable_frame(const MessageFrame& m) {
  const bool sequenced = channels_[m.channel] == ChannelKind::kUnreliableSequenced;
  if (sequenced && any_delivered_[m.channel] &&
      static_cast<int16_t>(static_cast<uint16_t>(m.sequence - delivered_[m.channel])) <= 0) {
    drop(MsgDrop::kStale);
    return;
  }
  auto delivered = [&] {
    delivered_[m.channel] = m.sequence;
    any_delivered_[m.channel] = true;
    if (!sequenced) return;
    // Partial messages older than this one can only be stale now.
    for (size_t i = 0; i < held_.size(); ++i) {
      const Held& h = held_[i];
      if (h.chunk != ChunkPool::kNone && h.channel == m.channel &&
          static_cast<int16_t>(static_cast<uint16_t>(h.msg_seq - m.sequence)) < 0) {
        free_held(i);
        drop(MsgDrop::kStale);
      }
    }
  };
  // Partial messages far behind this one lost a fragment for good: on a
  // plain unreliable channel nothing else would ever free them (and after
  // the sequence wraps, a new message's fragments would complete them).
  if (ahead_unreliable_ > 0) forget_unreliable_behind(m.channel, m.sequence);
  if (!m.fragment) {
    if (deliver(m.channel, m.text, m.data)) delivered();
    return;
  }
  if (is_held(m)) {
    drop(MsgDrop::kDuplicate);
    return;
  }
  if (!hold(m, true) && !(evict_unreliable(m) && hold(m, true))) return;
  if (try_complete(m.channel, m.sequence) == Completion::kDelivered) delivered();
}

bool Session::is_held(const MessageFrame& m) const {
  for (const Held& h : held_) {
    // A whole message (count 1) is not a fragment of one held (count 2 or more).
    if (h.chunk != ChunkPool::kNone && h.channel == m.channel && h.msg_seq == m.sequence &&
        h.index == m.index && h.count == m.count) {
      return true;
    }
  }
  return false;
}

bool Session::hold(const MessageFrame& m, bool ahead) {
  // Fragments of one message must agree on their count and kind.
  for (const Held& h : held_) {
    if (h.chunk != ChunkPool::kNone && h.channel == m.channel && h.msg_seq == m.sequence &&
        (h.count != m.count || h.text != m.text)) {
      drop(MsgDrop::kBadFragment);
      // The message cannot be rebuilt: on a reliable channel it is skipped
      // in its turn, or the channel would wait for it for good (its
      // fragments, then behind the channel, are freed with the step). Ahead
      // of order the fragments stay and the packet is not acked: the resend
      // disagrees with them again, in its turn.
      skip_malformed(m);
      return true;  // consumed: not worth a resend
    }
  }
  // Fragments ahead of order never take the pool's reserve (they are resent);
  // the next ones in order, at most a message's worth per reliable channel,
  // take whatever is left, so that a message being rebuilt can finish.
  if (ahead && (ahead_used_ >= ahead_limit() || pool_->available() <= pool_->reserve())) {
    drop(MsgDrop::kNoBuffer);
    return false;
  }
  const uint32_t chunk = pool_->take();
  if (chunk == ChunkPool::kNone) {
    drop(MsgDrop::kNoBuffer);
    return false;
  }
  for (Held& h : held_) {
    if (h.chunk != ChunkPool::kNone) continue;
    std::memcpy(pool_->data(chunk), m.data.data(), m.data.size());
    const bool unreliable = channels_[m.channel] != ChannelKind::kReliable;
    // The first reliable fragment held starts the stall clock (tick()).
    if (!unreliable && held_on_[m.channel]++ == 0) stall_from_[m.channel] = now_;
    h = Held{chunk,       m.sequence, static_cast<uint16_t>(m.data.size()),
             m.channel,   m.index,    m.count,
             m.text,      ahead,      unreliable,
             coarse_now()};
    ahead_used_ += ahead;
    ahead_unreliable_ += ahead && unreliable;
    ++held_used_;
    return true;
  }
  pool_->give(chunk);  // cannot happen: slots are sized for the reserve
  drop(MsgDrop::kNoBuffer);
  return false;
}

bool Session::evict_unreliable(const MessageFrame& m) {
  for (size_t i = 0; i < held_.size(); ++i) {
    const Held& h = held_[i];
    if (h.chunk == ChunkPool::kNone || channels_[h.channel] == ChannelKind::kReliable) continue;
    if (h.channel == m.channel && h.msg_seq == m.sequence) continue;  // the one it would finish
    const uint8_t ch = h.channel;
    const uint16_t seq = h.msg_seq;
    for (size_t j = i; j < held_.size(); ++j) {
      if (held_[j].chunk != ChunkPool::kNone && held_[j].channel == ch && held_[j].msg_seq == seq) {
        free_held(j);
      }
    }
    drop(MsgDrop::kNoBuffer);
    return true;
  }
  return false;
}

void Session::forget_behind(uint8_t channel) {
  for (size_t i = 0; i < held_.size(); ++i) {
    const Held& h = held_[i];
    if (h.chunk != ChunkPool::kNone && h.channel == channel &&
        static_cast<int16_t>(static_cast<uint16_t>(h.msg_seq - expected_[channel])) < 0) {
      free_held(i);
    }
  }
}

void Session::forget_old_partials() {
  const uint16_t now = coarse_now();
  // Within the 16-bit clock's reach (68 s): a check runs each max_rto / 4.
  const uint32_t limit =
      static_cast<uint32_t>(std::clamp<uint64_t>(config_->max_rto_ns >> kCoarseShift, 1, 30'000));
  for (size_t i = 0; i < held_.size() && ahead_unreliable_ > 0; ++i) {
    const Held& h = held_[i];
    if (h.chunk == ChunkPool::kNone || !h.unreliable) continue;
    if (static_cast<uint16_t>(now - h.since) < limit) continue;
    free_held(i);
    drop(MsgDrop::kStale);
  }
}

void Session::forget_unreliable_behind(uint8_t channel, uint16_t seq) {
  for (size_t i = 0; i < held_.size(); ++i) {
    const Held& h = held_[i];
    if (h.chunk != ChunkPool::kNone && h.channel == channel &&
        static_cast<int16_t>(static_cast<uint16_t>(seq - h.msg_seq)) > kUnreliableReach) {
      free_held(i);
      drop(MsgDrop::kStale);
    }
  }
}

void Session::free_held(size_t i) {
  Held& h = held_[i];
  pool_->give(h.chunk);
  if (!h.unreliable) --held_on_[h.channel];
  ahead_used_ -= h.ahead;
  ahead_unreliable_ -= h.ahead && h.unreliable;
  --held_used_;
  h.chunk = ChunkPool::kNone;
}

Session::Completion Session::try_complete(uint8_t channel, uint16_t seq) {
  size_t idx[kMaxFragments];
  size_t found = 0;
  uint8_t count = 0;
  for (size_t i = 0; i < held_.size(); ++i) {
    const Held& h = held_[i];
    if (h.chunk == ChunkPool::kNone || h.channel != channel || h.msg_seq != seq) continue;
    count = h.count;
    idx[h.index] = i;
    ++found;
  }
  if (found == 0 || found != count) return Completion::kIncomplete;
  const bool text = held_[idx[0]].text;
  std::span<const uint8_t> bytes;
  if (count == 1) {
    const Held& h = held_[idx[0]];
    bytes = {pool_->data(h.chunk), h.len};
  } else {
    std::span<uint8_t> scratch = pool_->scratch();
    size_t n = 0;
    for (size_t k = 0; k < count; ++k) {
      const Held& h = held_[idx[k]];
      std::memcpy(scratch.data() + n, pool_->data(h.chunk), h.len);
      n += h.len;
    }
    bytes = scratch.first(n);
  }
  if (bytes.size() > config_->max_message) {  // each fragment fit; all of them do not
    for (size_t k = 0; k < count; ++k) free_held(idx[k]);
    drop(MsgDrop::kTooBig);
    return Completion::kDelivered;  // consumed: the sequence moves on
  }
  const bool good = !text || valid_utf8(bytes);
  if (good && !deliver(channel, text, bytes)) {
    // Refused for now: a reliable message stays held and is offered again
    // at the next tick; an unreliable one is let go.
    if (channels_[channel] == ChannelKind::kReliable) {
      stall_from_[channel] = now_;  // complete: the wait is ours, not the peer's
      return Completion::kRefused;
    }
  }
  for (size_t k = 0; k < count; ++k) free_held(idx[k]);
  if (!good) drop(MsgDrop::kBadUtf8);
  return Completion::kDelivered;
}

void Session::drain(uint8_t channel) {
  while (held_used_ > 0 && state_ != SessionState::kClosed &&
         try_complete(channel, expected_[channel]) == Completion::kDelivered) {
    advance(channel);
  }
}

}  // namespace bypass::msg
