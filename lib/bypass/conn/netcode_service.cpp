#include <bypass/conn/netcode_service.hpp>

#include <sodium.h>

#include <cstring>

#include <bypass/conn/keys.hpp>

namespace bypass::conn {

NetcodeAddress to_netcode(const SockAddr& a) {
  if (a.ip.is_v4()) {
    const uint8_t* b = a.ip.b.data();
    return NetcodeAddress::v4(b[0], b[1], b[2], b[3], a.port);
  }
  std::array<uint16_t, 8> g{};
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(a.ip.b[2 * i] << 8 | a.ip.b[2 * i + 1]);
  return NetcodeAddress::v6(g, a.port);
}

SockAddr from_netcode(const NetcodeAddress& a) {
  SockAddr s;
  s.port = a.port;
  if (a.type == AddressType::kIpv4) {
    uint32_t be;
    std::memcpy(&be, a.ipv4.data(), 4);
    s.ip.set_v4(be);
  } else {
    uint8_t b[16];
    for (int i = 0; i < 8; ++i) {
      b[2 * i] = static_cast<uint8_t>(a.ipv6[i] >> 8);
      b[2 * i + 1] = static_cast<uint8_t>(a.ipv6[i]);
    }
    s.ip.set_v6(b);
  }
  return s;
}

NetcodeService::~NetcodeService() = default;

Status NetcodeService::start(HandlerContext& ctx) {
  BYPASS_TRY(crypto_init());
  shared_ = config_.shared.state;
  if (!*shared_) {
    auto shared = ServerShared::create(config_.max_clients);
    if (!shared) return shared.status();
    *shared_ = std::move(*shared);
  }
  NetcodeServerConfig sc;
  sc.protocol_id = config_.protocol_id;
  sc.private_key = config_.private_key;
  for (const SockAddr& a : config_.public_addresses) sc.public_addresses.push_back(to_netcode(a));
  sc.max_clients = config_.max_clients;
  sc.keep_alive_interval_ns = uint64_t(config_.keep_alive_ms) * 1'000'000;
  sc.max_connect_token_lifetime_seconds = config_.token_lifetime_seconds;
  // The restart rule needs only the wall clock; the monotonic time starts at
  // the first batch (only differences matter).
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  auto server =
      NetcodeServer::create(sc, shared_->get(), this, this, {static_cast<uint64_t>(ts.tv_sec), 0});
  sodium_memzero(sc.private_key.data(), sc.private_key.size());  // the server has its copy
  if (!server) return server.status();
  server_ = std::move(*server);
  server_->serve_directly(this);
  // At a program's start the rule counts from now, before it says it
  // serves: a token minted after that line is never refused as older than
  // the start (it was, when the first tick came a second later).
  if (!ctx.replacing()) server_->begin_serving({static_cast<uint64_t>(ts.tv_sec), 0});
  peers_.assign(config_.max_clients, Peer{});
  client_ids_.assign(config_.max_clients, 0);
  listed_ = std::make_unique<ConnectionList>(config_.max_clients);
  limiter_ = std::make_unique<RequestLimiter>(
      RequestLimiter::Bound{config_.requests_per_second, config_.request_burst},
      RequestLimiter::Bound{config_.host_requests_per_second,
                            2 * config_.host_requests_per_second});
  if (config_.app.make) {
    auto app = config_.app.make();
    if (!app) return app.status();
    own_app_ = std::move(*app);
  } else if (!is_built_in_application(config_.application)) {
    return Status::error("netcode: application \"" + config_.application +
                         "\" is the program's own: make the service with "
                         "make_service_handler() and the registry that has it.");
  }
  if (config_.application == "echo" || config_.application == "rooms" || own_app_) {
    msg::MessageServerConfig mc;
    mc.session.channels = config_.channels;
    mc.session.max_message = config_.max_message;
    mc.pool_chunks = config_.message_memory_mib * 1024;
    msg::ConnectionTransport* transport = this;
    msg::MessageHandler* app = &echo_app_;
    msg::LinkedApp* linked = nullptr;
    if (own_app_) {
      app = own_app_.get();
      linked = own_app_.get();
    } else if (config_.application == "rooms") {
      rooms_app_ = std::make_unique<msg::RoomsApp>(config_.rooms);
      app = rooms_app_.get();
      linked = rooms_app_.get();
    }
    messages_ = std::make_unique<msg::MessageServer>(mc, app, transport, config_.max_clients);
    if (rooms_app_) BYPASS_TRY(rooms_app_->attach(messages_.get()));
    links_ = config_.shared.links;
    auto me = links_->join();
    if (!me) return me.status();
    messages_->link(links_.get(), *me, linked);
    // Linked first, so that the application's worker(), subscribe() and
    // broadcast() work from attach() on.
    if (own_app_) BYPASS_TRY(own_app_->attach(messages_.get()));
  }
  return Status::ok();
}

void NetcodeService::on_datagrams(std::span<Datagram> batch, Outbox& out) {
  out_ = &out;
  now_ = now_of(out);
  // In runs of kAhead: the sources, what their packets will touch fetched
  // into cache for the whole run, then each packet.
  constexpr size_t kAhead = 32;
  NetcodeAddress from[kAhead];
  for (size_t at = 0; at < batch.size(); at += kAhead) {
    const size_t n = std::min(kAhead, batch.size() - at);
    uint8_t prefix[kAhead];
    uint32_t hint[kAhead];
    RequestLimiter::Buckets buckets[kAhead];  // a connection request's
    for (size_t i = 0; i < n; ++i) {
      const Datagram& d = batch[at + i];
      from[i] = to_netcode(d.src);
      prefix[i] = d.len > 0 ? d.data[0] : 0xff;
      if (prefix[i] == 0) buckets[i] = limiter_->buckets(from[i]);
    }
    server_->prefetch({from, n}, prefix, hint);
    for (size_t i = 0; i < n; ++i) {
      Datagram& d = batch[at + i];
      current_ = &d;
      current_from_ = from[i];
      // A connection request (prefix byte 0) costs a 1 KB decrypt: bounded per source.
      if (prefix[i] == 0) {
        const auto verdict = limiter_->allow_at(buckets[i], now_.mono_ns);
        if (verdict != RequestLimiter::Verdict::kAllowed) {
          (verdict == RequestLimiter::Verdict::kAddressLimited ? rate_limited_ : host_rate_limited_)
              .add();
          continue;
        }
      }
      // The server may hold a request until its next packet: keep its reply path.
      if (server_->receive_in_batch(current_from_, {d.data, d.len}, now_, hint[i])) {
        held_ = &d;
        held_from_ = current_from_;
      } else if (!server_->holding()) {
        held_ = nullptr;
      }
    }
  }
  current_ = nullptr;
  server_->end_batch();
  held_ = nullptr;
  if (messages_) messages_->poll(now_.mono_ns);   // what the other workers sent
  if (messages_) messages_->flush(now_.mono_ns);  // what the burst queued, coalesced
  out_ = nullptr;
}

void NetcodeService::on_tick(Outbox& out) {
  out_ = &out;
  now_ = now_of(out);
  server_->update(now_);
  if (messages_) messages_->poll(now_.mono_ns);
  if (messages_) messages_->tick(now_.mono_ns);
  out_ = nullptr;
}

size_t NetcodeService::send_payloads(std::span<const msg::OutPacket> packets) {
  size_t sent = 0;
  for (const msg::OutPacket& p : packets) sent += server_->send_payload(p.conn, p.data(), now_);
  payloads_out_.add(sent);
  return packets.size() - sent;
}

void NetcodeService::disconnect(uint32_t conn) {
  server_->disconnect(conn, now_);
}

void NetcodeService::send(const NetcodeAddress& to, std::span<const uint8_t> packet) {
  if (uint8_t* p = room(to, packet.size())) std::memcpy(p, packet.data(), packet.size());
}

uint8_t* NetcodeService::room(const NetcodeAddress& to, size_t max) {
  // A held request's reply goes back the way the request came, even when the
  // packet being read (which had it acted on) is from the same source: that
  // one may have come to another of our addresses, or by another link.
  const Datagram* sender = nullptr;
  const Peer* path = nullptr;
  if (held_ && server_->acting_on_held() && to == held_from_) {
    sender = held_;
  } else if (current_ && to == current_from_) {
    sender = current_;
  } else {
    const uint32_t m = server_->mappings().find(to);
    const uint32_t slot = m == EncryptionMappings::kNone ? EncryptionMappings::kNone
                                                         : server_->mappings().at(m).client_index;
    if (slot < peers_.size()) path = &peers_[slot];
  }
  if (!sender && !path) {
    no_path_.add();
    return nullptr;
  }
  uint8_t* p = !out_ ? nullptr : sender ? out_->reserve(*sender, max) : out_->reserve(*path, max);
  if (!p) outbox_full_.add();
  return p;
}

void NetcodeService::on_connect(uint32_t client_index, uint64_t client_id,
                                std::span<const uint8_t, kUserDataBytes> user_data) {
  connects_.add();
  if (current_ && client_index < peers_.size()) current_->put_peer(peers_[client_index]);
  if (client_index < client_ids_.size()) client_ids_[client_index] = client_id;
  note(JournalKind::kConnectionOpened, client_index, 0);
  if (client_index < peers_.size())
    listed_->open(client_index, client_id, peers_[client_index].remote, now_.unix_seconds);
  if (messages_) messages_->on_connect(client_index, client_id, user_data, now_.mono_ns);
}

void NetcodeService::note(JournalKind k, uint32_t client_index, uint32_t code) {
  if (!journal_ || client_index >= peers_.size()) return;
  JournalEvent e;
  e.kind = k;
  e.code = code;
  e.id = client_ids_[client_index];
  const IpAddr& ip = peers_[client_index].remote.ip;
  e.family = ip.family == IpAddr::Family::kV6 ? 6 : 4;
  e.ip = ip.b;
  journal_->push(e);
}

void NetcodeService::on_payload(uint32_t client_index, std::span<const uint8_t> payload) {
  payloads_in_.add();
  if (messages_) {
    messages_->on_payload(client_index, payload, now_.mono_ns);
  } else if (server_->send_payload(client_index, payload, now_)) {  // payload_echo
    payloads_out_.add();
  }
}

void NetcodeService::on_disconnect(uint32_t client_index, DisconnectReason reason) {
  disconnects_.add();
  note(JournalKind::kConnectionClosed, client_index, static_cast<uint32_t>(reason));
  listed_->close(client_index);
  if (messages_) messages_->on_disconnect(client_index);
}

void NetcodeService::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  out.emplace_back("netcode.connected", server_ ? server_->num_connected() : 0);
  out.emplace_back("netcode.connects", connects_.get());
  out.emplace_back("netcode.disconnects", disconnects_.get());
  out.emplace_back("netcode.payloads_in", payloads_in_.get());
  out.emplace_back("netcode.payloads_out", payloads_out_.get());
  out.emplace_back("netcode.drop.outbox_full", outbox_full_.get());
  out.emplace_back("netcode.drop.no_path", no_path_.get());
  out.emplace_back("netcode.drop.request_rate_limited", rate_limited_.get());
  out.emplace_back("netcode.drop.request_host_rate_limited", host_rate_limited_.get());
  if (messages_) messages_->report(out);
  if (rooms_app_) rooms_app_->report(out);
  if (own_app_) own_app_->counters(out);
  if (!server_) return;
  for (size_t i = 0; i < kServerDropCount; ++i)
    if (const uint64_t n = server_->drops()[i])
      out.emplace_back("netcode.drop." + std::string(server_drop_name(static_cast<ServerDrop>(i))),
                       n);
}

}  // namespace bypass::conn
