// MessageServer across workers: send_to(), broadcast() and poll() over the
// service's WorkerLinks (message_server.hpp).
#include <cstring>

#include <bypass/msg/message_server.hpp>

namespace bypass::msg {

namespace {

enum Kind : uint8_t { kAppRecord = 0, kDirect = 1 };

// What travels before a direct message's bytes.
struct DirectHead {
  uint8_t kind, channel, text, pad;
  uint32_t slot;
  uint64_t client_id;
};
static_assert(sizeof(DirectHead) == 16);
static_assert(sizeof(DirectHead) <= WorkerLinks::kMaxRecordHead);

template <typename T>
std::span<const uint8_t> bytes_of(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof v};
}

}  // namespace

void MessageServer::link(WorkerLinks* links, uint32_t me, LinkedApp* app) {
  links_ = links;
  me_ = me;
  linked_ = app;
  subscribed_.assign(links ? WorkerDirectory::kBuckets : 0, 0);
}

void MessageServer::subscribe(uint64_t key, bool on) {
  if (!links_) return;
  uint32_t& n = subscribed_[WorkerDirectory::bucket(key)];
  if (on && n++ == 0) links_->directory().set(me_, key, true);
  if (!on && n != 0 && --n == 0) links_->directory().set(me_, key, false);
}

uint64_t MessageServer::subscribers(uint64_t key) const {
  return links_ ? links_->directory().workers(key) : 0;
}

SendResult MessageServer::send_to(const ConnRef& to, uint8_t channel, bool text,
                                  std::span<const uint8_t> bytes) {
  if (!links_ || to.worker == me_) {
    Session* s = to.worker == me_ ? session(to.slot) : nullptr;
    if (!s || s->client_id != to.client_id) return SendResult::kNotOpen;
    const SendResult r = s->send(channel, text, bytes);
    if (r == SendResult::kOk) touch(*s);
    return r;
  }
  if (to.worker >= links_->workers() || !links_->active(to.worker)) return SendResult::kNotOpen;
  if (channel >= config_.session.channels.size()) return SendResult::kBadChannel;
  if (bytes.size() > kMaxMessageBytes) return SendResult::kTooBig;
  if (text && !valid_utf8(bytes)) return SendResult::kBadUtf8;
  const DirectHead head{kDirect, channel, text, 0, to.slot, to.client_id};
  if (!links_->ring(me_, to.worker)->push({bytes_of(head), bytes})) {
    ++links_ring_full_;
    return SendResult::kQueueFull;
  }
  ++links_sent_;
  return SendResult::kOk;
}

bool MessageServer::broadcast_fits(size_t bytes, uint64_t to) const {
  if (!links_) return true;
  for (uint32_t w = 0; w < links_->workers(); ++w) {
    if (w != me_ && (to >> w & 1) && links_->active(w) && !links_->ring(me_, w)->fits(1 + bytes))
      return false;
  }
  return true;
}

bool MessageServer::broadcast(std::span<const uint8_t> head, std::span<const uint8_t> body,
                              uint64_t to, uint32_t* reached) {
  if (reached != nullptr) *reached = 0;
  if (!links_) return true;
  if (!broadcast_fits(head.size() + body.size(), to)) {
    ++links_ring_full_;
    return false;
  }
  const uint8_t kind = kAppRecord;
  for (uint32_t w = 0; w < links_->workers(); ++w) {
    if (w == me_ || !(to >> w & 1) || !links_->active(w)) continue;
    // Fits: checked above, only this worker writes this ring, and a ring that
    // became active since is empty.
    links_->ring(me_, w)->push({bytes_of(kind), head, body});
    ++links_sent_;
    if (reached != nullptr) ++*reached;
  }
  return true;
}

bool MessageServer::take_direct(std::span<const uint8_t> record) {
  DirectHead head;
  std::memcpy(&head, record.data(), sizeof head);
  const std::span<const uint8_t> bytes = record.subspan(sizeof head);
  Session* s = session(head.slot);
  if (!s || s->client_id != head.client_id || !s->open_for_messages() ||
      head.channel >= config_.session.channels.size()) {
    ++links_stale_;
    return true;
  }
  const SendResult r = s->send(head.channel, head.text != 0, bytes);
  if (r == SendResult::kOk) {
    touch(*s);
  } else if (r == SendResult::kNoMemory) {
    return false;  // this worker's pool is short, not the connection slow: kept for the next poll
  } else if (r == SendResult::kQueueFull && s->channels()[head.channel] == ChannelKind::kReliable) {
    ++links_slow_closed_;  // the message is not delivered: the connection closes
    s->close(kCloseSlowConsumer, "slow consumer: messages from other workers piled up");
    touch(*s);
  } else {
    ++links_dropped_;  // unreliable and no room, or over what the peer accepts
  }
  return true;
}

void MessageServer::poll(uint64_t now_ns) {
  if (!links_) return;
  if (!polled_) {
    links_->activate(me_);
    polled_ = true;
  }
  for (uint32_t w = 0; w < links_->workers(); ++w) {
    if (w == me_) continue;
    ByteRing* ring = links_->ring(w, me_);
    // What was written when this poll began, not what the other worker
    // writes meanwhile: a poll ends, and the owner flushes and ticks.
    const uint64_t end = ring->written();
    while (ring->read() < end) {
      const std::span<const uint8_t> rec = ring->peek();
      if (rec.empty()) break;
      if (rec[0] == kDirect && rec.size() >= sizeof(DirectHead)) {
        if (!take_direct(rec)) break;  // stays first
      } else if (rec[0] == kAppRecord && linked_ &&
                 !linked_->on_linked(rec.subspan(1), w, now_ns)) {
        break;  // the application cannot take it now: it stays first
      }
      ++links_received_;
      ring->pop();
    }
  }
}

}  // namespace bypass::msg
