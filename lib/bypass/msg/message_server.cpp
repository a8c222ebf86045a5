#include <bypass/msg/message_server.hpp>

#include <algorithm>
#include <new>

namespace bypass::msg {

namespace {
constexpr uint32_t kNotLive = UINT32_MAX;
}

MessageServer::MessageServer(MessageServerConfig config, MessageHandler* app,
                             ConnectionTransport* transport, uint32_t max_connections)
    : config_(std::move(config)),
      pool_(config_.pool_chunks),
      app_(app),
      transport_(transport),
      sessions_(max_connections),
      touched_flag_(max_connections, 0),
      live_at_(max_connections, kNotLive),
      due_(max_connections, UINT64_MAX) {
  touched_.reserve(max_connections);
  live_.reserve(max_connections);
}

MessageServer::~MessageServer() = default;

Session* MessageServer::session(uint32_t conn) {
  if (conn >= sessions_.size() || live_at_[conn] == kNotLive) return nullptr;
  return sessions_[conn].get();
}

void MessageServer::touch(Session& s) {
  due_[s.id] = 0;  // settled at the flush
  if (touched_flag_[s.id]) return;
  touched_flag_[s.id] = 1;
  touched_.push_back(s.id);
}

void MessageServer::on_connect(uint32_t conn, uint64_t client_id,
                               std::span<const uint8_t> user_data, uint64_t now_ns) {
  if (conn >= sessions_.size()) return;
  auto& s = sessions_[conn];
  // A slot's session and its queues are allocated when it first opens (about
  // 13.4 KiB with the defaults) and kept. Without the memory, the connection is
  // closed and counted instead of the process ending.
  try {
    if (!s) {
      s = std::make_unique<Session>(Role::kServer, &config_.session, &pool_, app_, &batch_,
                                    &counters_);
      s->id = conn;
    }
    s->open(now_ns);
  } catch (const std::bad_alloc&) {
    s.reset();
    no_session_memory_.add();
    transport_->disconnect(conn);  // comes back through on_disconnect, which finds no session
    return;
  }
  s->client_id = client_id;
  std::fill(s->user_data.begin(), s->user_data.end(), 0);
  std::copy_n(user_data.begin(), std::min(user_data.size(), s->user_data.size()),
              s->user_data.begin());
  due_[conn] = now_ns;
  if (live_at_[conn] == kNotLive) {
    live_at_[conn] = static_cast<uint32_t>(live_.size());
    live_.push_back(conn);
  }
}

void MessageServer::on_payload(uint32_t conn, std::span<const uint8_t> payload, uint64_t now_ns) {
  Session* s = session(conn);
  if (!s) return;
  // Counted from on_open() to the disconnect, as on_disconnect() uncounts:
  // a packet may open a session and close it too (HELLO, then CLOSE).
  const bool had_opened = s->opened_once();
  s->receive(payload, now_ns);
  if (!had_opened && s->opened_once()) ++open_;
  touch(*s);
  due_[conn] = 0;  // settled at the flush
}

void MessageServer::on_disconnect(uint32_t conn) {
  Session* s = session(conn);
  if (!s) return;
  if (s->opened_once()) --open_;
  // What it finished and the batch still holds is not sent: the server
  // sends by slot, and the slot may be the next client's by the flush.
  batch_.forget(conn);
  s->lost();
  // Out of the live set (swap with the last).
  const uint32_t at = live_at_[conn];
  live_[at] = live_.back();
  live_at_[live_[at]] = at;
  live_.pop_back();
  live_at_[conn] = kNotLive;
}

void MessageServer::settle(Session& s) {
  if (!s.finished()) return;
  batch_.drain();                // its last packets (the close) before its connection goes
  transport_->disconnect(s.id);  // comes back through on_disconnect
}

void MessageServer::flush(uint64_t now_ns) {
  // A flush may touch others (an application sending from on_close): walk by index.
  for (size_t i = 0; i < touched_.size(); ++i) {
    const uint32_t conn = touched_[i];
    touched_flag_[conn] = 0;
    if (Session* s = session(conn)) {
      s->flush(now_ns);
      due_[conn] = s->next_deadline();
      settle(*s);
    }
  }
  touched_.clear();
  batch_.drain();
}

void MessageServer::tick(uint64_t now_ns) {
  for (size_t i = 0; i < live_.size();) {
    const uint32_t conn = live_[i];
    if (due_[conn] > now_ns) {  // idle until its next ping or timeout
      ++i;
      continue;
    }
    Session& s = *sessions_[conn];
    ++ticked_;
    s.tick(now_ns);
    due_[conn] = s.next_deadline();
    settle(s);
    if (i < live_.size() && live_[i] == conn) ++i;  // else it left: the last moved here
  }
  flush(now_ns);
}

void MessageServer::transmit(std::span<const OutPacket> packets) {
  send_failed_.add(transport_->send_payloads(packets));
}

void MessageServer::report(std::vector<std::pair<std::string, uint64_t>>& out) const {
  const SessionCounters& c = counters_;
  out.emplace_back("msg.open", open_sessions());
  out.emplace_back("msg.messages_in", c.messages_in);
  out.emplace_back("msg.messages_out", c.messages_out);
  out.emplace_back("msg.packets_in", c.packets_in);
  out.emplace_back("msg.packets_out", c.packets_out);
  out.emplace_back("msg.ack_only", c.ack_only);
  out.emplace_back("msg.retransmits", c.retransmits);
  out.emplace_back("msg.fast_retransmits", c.fast_retransmits);
  out.emplace_back("msg.packets_lost", c.packets_lost);
  out.emplace_back("msg.spurious_losses", c.spurious_losses);
  out.emplace_back("msg.queue_full", c.queue_full);
  out.emplace_back("msg.no_memory", c.no_memory);
  out.emplace_back("msg.closed_malformed", c.closed_malformed);
  out.emplace_back("msg.closed_stalled", c.closed_stalled);
  out.emplace_back("msg.send_failed", send_failed_);
  out.emplace_back("msg.closed_no_session_memory", no_session_memory_);
  out.emplace_back("msg.pool_free", pool_.available());
  out.emplace_back("msg.links_sent", links_sent_);
  out.emplace_back("msg.links_received", links_received_);
  out.emplace_back("msg.links_stale", links_stale_);
  out.emplace_back("msg.links_dropped", links_dropped_);
  out.emplace_back("msg.links_ring_full", links_ring_full_);
  out.emplace_back("msg.links_slow_closed", links_slow_closed_);
  for (size_t i = kFirstModuleDrop; i < MsgDrop::kEnd; ++i) {
    if (c.drops[i] != 0) {
      out.emplace_back("msg.drop." + std::string(MsgDrop::kNames[i - kFirstModuleDrop]),
                       c.drops[i]);
    }
  }
}

}  // namespace bypass::msg
