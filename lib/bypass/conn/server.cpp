#include <bypass/conn/server.hpp>

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>

#include <bypass/conn/challenge_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_service.hpp>

namespace bypass::conn {
namespace {

bool valid_address(const NetcodeAddress& a) {
  return a.type == AddressType::kIpv4 || a.type == AddressType::kIpv6;
}

}  // namespace

Expected<std::unique_ptr<NetcodeServer>> NetcodeServer::create(const NetcodeServerConfig& config,
                                                               ServerShared* shared,
                                                               PacketSink* sink,
                                                               ConnectionHandler* handler,
                                                               Now now) {
  if (shared == nullptr || sink == nullptr) {
    return Status::error("netcode server: shared state and a packet sink are required");
  }
  if (config.max_clients < 1 || config.max_clients > kMaxClients) {
    return Status::error("netcode server: max_clients must be in [1, " +
                         std::to_string(kMaxClients) + "], got " +
                         std::to_string(config.max_clients));
  }
  if (config.public_addresses.empty() || config.public_addresses.size() > kMaxServersPerConnect) {
    return Status::error(
        "netcode server: give 1 to 32 public addresses (the addresses the backend writes into "
        "connect tokens for this server), got " +
        std::to_string(config.public_addresses.size()));
  }
  if (!std::all_of(config.public_addresses.begin(), config.public_addresses.end(), valid_address)) {
    return Status::error("netcode server: every public address must be IPv4 or IPv6 with a port");
  }
  if (config.keep_alive_interval_ns == 0) {
    return Status::error(
        "netcode server: keep_alive_interval_ns must be above zero (10 Hz is "
        "100000000)");
  }
  if (config.disconnect_packets < 1 || config.disconnect_packets > 64) {
    return Status::error("netcode server: disconnect_packets must be in [1, 64], got " +
                         std::to_string(config.disconnect_packets));
  }
  BYPASS_TRY(crypto_init());
  if (sodium_is_zero(config.private_key.data(), config.private_key.size())) {
    return Status::error(
        "netcode server: the private key is all zeros, a placeholder; load the key shared with "
        "the backend");
  }
  auto partition = shared->take_partition();
  if (!partition) return partition.status();
  return std::unique_ptr<NetcodeServer>(
      new NetcodeServer(config, shared, *partition, sink, handler, now));
}

NetcodeServer::NetcodeServer(const NetcodeServerConfig& config, ServerShared* shared,
                             uint32_t partition, PacketSink* sink, ConnectionHandler* handler,
                             Now now)
    : config_(config),
      shared_(shared),
      history_(&shared->history()),
      sink_(sink),
      handler_(handler),
      max_clients_(config.max_clients),
      challenge_key_(random_key()),
      slots_(config.max_clients),
      replay_(config.max_clients),
      free_slots_(config.max_clients),
      free_slot_count_(config.max_clients),
      mappings_(config.max_clients * kMappingsPerClient) {
  global_sequence_ = kGlobalSequenceStart + uint64_t{partition} * kGlobalPartition;
  global_end_ = global_sequence_ + kGlobalPartition;  // 0 (2^64) for the last part
  const int64_t lifetime = config.max_connect_token_lifetime_seconds > 0
                               ? config.max_connect_token_lifetime_seconds
                               : kDefaultTokenLifetimeSeconds;
  token_lifetime_ = static_cast<uint64_t>(lifetime);
  min_expire_timestamp_ = now.unix_seconds + token_lifetime_;
  // A stack, lowest index on top: the first clients take slots 0, 1, 2, ...;
  // later the slot freed last (the warmest in cache) is taken first.
  for (uint32_t i = 0; i < max_clients_; ++i) free_slots_[i] = max_clients_ - 1 - i;
}

NetcodeServer::~NetcodeServer() {
  sodium_memzero(challenge_key_.data(), challenge_key_.size());
  sodium_memzero(config_.private_key.data(), config_.private_key.size());
  sodium_memzero(tx_.data(), tx_.size());
  for (Packet& p : rx_) sodium_memzero(&p.request.token, sizeof(p.request.token));
}

// ---------------------------------------------------------------------------
// Sending

// The service gives room in its outbox, so the packet is sealed where it
// leaves from; a sink gets a copy of tx_. False when `write` fails (nothing
// goes); true when the packet went, or had nowhere to go (counted by the
// service) and its sequence number is spent all the same.
template <typename Write>
bool NetcodeServer::write_out(const NetcodeAddress& to, const Key& key, uint64_t sequence,
                              Write&& write) {
  if (service_ != nullptr) {
    uint8_t* p = service_->room(to, kMaxPacketBytes);
    if (p == nullptr) return true;
    const Written w = write(std::span<uint8_t>(p, kMaxPacketBytes), key, sequence);
    service_->commit(w ? w.size : 0);
    return static_cast<bool>(w);
  }
  const Written w = write(std::span<uint8_t>(tx_), key, sequence);
  if (w) sink_->send(to, std::span<const uint8_t>(tx_.data(), w.size));
  return static_cast<bool>(w);
}

void NetcodeServer::deliver(uint32_t client_index, std::span<const uint8_t> payload) {
  if (service_ != nullptr) {
    service_->on_payload(client_index, payload);
  } else if (handler_ != nullptr) {
    handler_->on_payload(client_index, payload);
  }
}

template <typename Write>
bool NetcodeServer::send_global(const NetcodeAddress& to, const Key& key, Write&& write) {
  // This server's part of [2^63, 2^64): past its end is another server's part,
  // wrapping to 0 would enter the slots' range.
  if (global_sequence_ < kGlobalSequenceStart ||
      (global_end_ != 0 && global_sequence_ >= global_end_)) {
    count(ServerDrop::kSendFailed);
    return false;
  }
  if (!write_out(to, key, global_sequence_, write)) {
    count(ServerDrop::kSendFailed);
    return false;
  }
  ++global_sequence_;
  return true;
}

template <typename Write>
bool NetcodeServer::send_to_slot(uint32_t client_index, Now now, Write&& write) {
  Slot& s = slots_[client_index];
  // Per-slot sequences stay below 2^63, the start of the global range.
  if (s.sequence >= kGlobalSequenceStart) {
    count(ServerDrop::kSendFailed);
    return false;
  }
  EncryptionMappings::Mapping& m = mappings_.at(s.mapping);
  if (!write_out(m.address, m.send_key, s.sequence, write)) {
    count(ServerDrop::kSendFailed);
    return false;
  }
  ++s.sequence;
  s.last_send_ns = now.mono_ns;
  m.last_access_ns = now.mono_ns;
  return true;
}

bool NetcodeServer::send_keep_alive(uint32_t client_index, Now now) {
  const uint64_t pid = config_.protocol_id;
  const uint32_t max = max_clients_;
  return send_to_slot(client_index, now, [&](std::span<uint8_t> out, const Key& key, uint64_t seq) {
    return write_keep_alive(out, pid, key, seq, client_index, max);
  });
}

bool NetcodeServer::send_payload(uint32_t client_index, std::span<const uint8_t> payload, Now now) {
  now = time_(now);
  if (payload.empty() || payload.size() > kMaxPayloadBytes) return false;
  if (!connected(client_index)) return false;
  if (!slots_[client_index].confirmed && !send_keep_alive(client_index, now)) return false;
  const uint64_t pid = config_.protocol_id;
  return send_to_slot(client_index, now, [&](std::span<uint8_t> out, const Key& key, uint64_t seq) {
    return write_payload(out, pid, key, seq, payload);
  });
}

// ---------------------------------------------------------------------------
// Slots

uint32_t NetcodeServer::pop_free_slot() {
  if (free_slot_count_ == 0) return kNone;
  return free_slots_[--free_slot_count_];
}

void NetcodeServer::push_free_slot(uint32_t client_index) {
  free_slots_[free_slot_count_++] = client_index;
}

bool NetcodeServer::is_our_address(std::span<const NetcodeAddress> token_servers) const {
  for (const NetcodeAddress& a : token_servers) {
    for (const NetcodeAddress& ours : config_.public_addresses) {
      if (a == ours) return true;
    }
  }
  return false;
}

void NetcodeServer::install(uint32_t mapping, uint64_t client_id, ClaimTable::Ref id_claim,
                            std::span<const uint8_t, kUserDataBytes> user_data, Now now) {
  const uint32_t i = pop_free_slot();  // the caller checked that one is free
  EncryptionMappings::Mapping& m = mappings_.at(mapping);
  mappings_.bind(mapping, i);
  Slot& s = slots_[i];
  s = Slot{};
  s.connected = true;
  s.client_id = client_id;
  s.id_claim = id_claim;
  s.mapping = mapping;
  s.timeout_ns =
      m.timeout_seconds > 0 ? static_cast<uint64_t>(m.timeout_seconds) * kNanosPerSecond : 0;
  s.last_send_ns = now.mono_ns;
  s.last_receive_ns = now.mono_ns;
  replay_[i].reset();
  num_connected_.store(num_connected_.load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);  // the worker alone writes it
  send_keep_alive(i, now);
  if (handler_ != nullptr) handler_->on_connect(i, client_id, user_data);
}

void NetcodeServer::free_slot(uint32_t client_index) {
  Slot& s = slots_[client_index];
  shared_->release_client_id(s.id_claim);
  shared_->return_seat();
  mappings_.remove(s.mapping);
  replay_[client_index].reset();
  s = Slot{};
  push_free_slot(client_index);
  num_connected_.store(num_connected_.load(std::memory_order_relaxed) - 1,
                       std::memory_order_relaxed);
}

void NetcodeServer::disconnect(uint32_t client_index, Now now) {
  now = time_(now);
  if (!connected(client_index)) return;
  const uint64_t pid = config_.protocol_id;
  for (uint32_t k = 0; k < config_.disconnect_packets; ++k) {
    send_to_slot(client_index, now, [&](std::span<uint8_t> out, const Key& key, uint64_t seq) {
      return write_disconnect(out, pid, key, seq);
    });
  }
  free_slot(client_index);
  if (handler_ != nullptr) handler_->on_disconnect(client_index, DisconnectReason::kByUs);
}

void NetcodeServer::disconnect_all(Now now) {
  end_batch();
  for (uint32_t i = 0; i < max_clients_; ++i) disconnect(i, now);
}

bool NetcodeServer::connected(uint32_t client_index) const {
  return client_index < max_clients_ && slots_[client_index].connected;
}

uint64_t NetcodeServer::client_id(uint32_t client_index) const {
  return connected(client_index) ? slots_[client_index].client_id : 0;
}

const NetcodeAddress* NetcodeServer::client_address(uint32_t client_index) const {
  return connected(client_index) ? &mappings_.at(slots_[client_index].mapping).address : nullptr;
}

uint64_t NetcodeServer::next_sequence(uint32_t client_index) const {
  return connected(client_index) ? slots_[client_index].sequence : 0;
}

// ---------------------------------------------------------------------------
// Receiving

void NetcodeServer::prefetch(std::span<const NetcodeAddress> from, const uint8_t* prefix,
                             uint32_t* m) const {
  const size_t n = from.size();
  for (size_t i = 0; i < n; ++i) mappings_.prefetch_index(from[i]);
  for (size_t i = 0; i < n; ++i) {
    m[i] = prefix[i] != 0 ? mappings_.find(from[i]) : kNone;
    if (m[i] != kNone) mappings_.prefetch_mapping(m[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    if (m[i] == kNone) continue;
    const uint32_t c = mappings_.at(m[i]).client_index;
    if (c == kNone) continue;
    __builtin_prefetch(&slots_[c]);
    __builtin_prefetch(&replay_[c]);
  }
}

void NetcodeServer::receive(const NetcodeAddress& from, std::span<uint8_t> packet, Now now,
                            uint32_t mapping_hint) {
  (void)receive(from, packet, now, mapping_hint, false);
}

bool NetcodeServer::receive_in_batch(const NetcodeAddress& from, std::span<uint8_t> packet, Now now,
                                     uint32_t mapping_hint) {
  return receive(from, packet, now, mapping_hint, true);
}

void NetcodeServer::end_batch() {
  if (!holding_) return;
  holding_ = false;
  acting_on_held_ = true;
  act_on_request(held_from_, rx_[reading_ ^ 1], held_now_);
  acting_on_held_ = false;
}

void NetcodeServer::act_on_request(const NetcodeAddress& from, Packet& p, Now now) {
  on_request(from, p.request, now);
  wipe_private_connect_token_secrets(p.request.token);
}

// The restart rule counts from when this server begins to serve (its first
// packet or tick), not from when it was built: a reload builds the new
// service while the old one still serves, and tokens the old one takes
// meanwhile are not in the new one's history.
void NetcodeServer::begin_serving(Now now) {
  serving_ = true;
  min_expire_timestamp_ = std::max(min_expire_timestamp_, now.unix_seconds + token_lifetime_);
}

bool NetcodeServer::receive(const NetcodeAddress& from, std::span<uint8_t> packet, Now now,
                            uint32_t mapping_hint, bool hold_requests) {
  now = time_(now);
  if (!serving_) [[unlikely]]
    begin_serving(now);
  const bool request = packet.size() == kConnectionRequestBytes && packet[0] == 0;
  if (!request || !hold_requests) end_batch();  // a held request acts first
  ReadContext ctx;
  ctx.protocol_id = config_.protocol_id;
  ctx.allowed = kServerReads;
  ctx.private_key = &config_.private_key;
  ctx.current_timestamp = now.unix_seconds;
  ctx.min_expire_timestamp = min_expire_timestamp_;

  // What a handshake will claim in the shared tables is fetched into cache
  // while its packet is opened (a few thousand cycles): the token's MAC, on
  // the wire at the end of a request, and the client id of a pending response.
  uint32_t mapping = kNone;
  uint32_t client = kNone;
  if (request) {
    Mac mac;
    std::memcpy(mac.data(), packet.data() + kConnectionRequestBytes - kMacBytes, kMacBytes);
    history_->prefetch(mac);
    mappings_.prefetch_free(holding_ ? 1 : 0);
  } else if (!packet.empty() && packet[0] != 0) {
    mapping = mappings_.find_live(from, now.mono_ns, mapping_hint);
    if (mapping != kNone) {
      EncryptionMappings::Mapping& m = mappings_.at(mapping);
      ctx.read_key = &m.receive_key;
      client = m.client_index;
      if (client != kNone) {
        ctx.replay = &replay_[client];
      } else {
        shared_->prefetch_client_id(m.client_id);
        if (free_slot_count_ != 0) {  // the slot install() will take
          prefetch_slot(free_slots_[free_slot_count_ - 1]);
          if (service_ != nullptr) service_->prefetch_connect(free_slots_[free_slot_count_ - 1]);
        }
      }
    }
  }

  Packet& p = rx_[reading_];
  const WireDrop d = read_packet(packet, ctx, p);
  if (d != WireDrop::kOk) {
    count(d);
    // A request that opened but did not parse may have left key bytes behind.
    if (d == WireDrop::kTokenMalformed) wipe_private_connect_token_secrets(p.request.token);
    return false;
  }

  switch (p.type) {
    case PacketType::kConnectionRequest:
      // Looked up after the address checks (held back, after the next packet).
      shared_->prefetch_client_id(p.request.token.client_id);
      if (!hold_requests) {
        act_on_request(from, p, now);
        return false;
      }
      end_batch();  // the request held before this one
      holding_ = true;
      held_from_ = from;
      held_now_ = now;
      reading_ ^= 1;
      return true;
    case PacketType::kConnectionResponse:
      on_response(from, p, mapping, now);
      return false;
    case PacketType::kKeepAlive:
    case PacketType::kPayload:
    case PacketType::kDisconnect:
      break;
    default:
      return false;  // not in kServerReads
  }

  if (client == kNone) {
    count(ServerDrop::kNotConnected);
    return false;
  }
  Slot& s = slots_[client];
  if (p.type == PacketType::kDisconnect) {
    free_slot(client);
    if (handler_ != nullptr) handler_->on_disconnect(client, DisconnectReason::kByPeer);
    return false;
  }
  s.last_receive_ns = now.mono_ns;
  s.confirmed = true;
  if (service_ != nullptr) service_->heard(client);
  if (p.type == PacketType::kPayload && handler_ != nullptr) {
    deliver(client, p.payload);
  }
  return false;
}

void NetcodeServer::on_request(const NetcodeAddress& from, const ConnectionRequest& request,
                               Now now) {
  const PrivateConnectToken& token = request.token;
  if (!is_our_address(token.servers())) {
    count(ServerDrop::kNotOurAddress);
    return;
  }
  if (const uint32_t m = mappings_.find(from);
      m != kNone && mappings_.at(m).client_index != kNone) {
    count(ServerDrop::kAddressAlreadyConnected);
    return;
  }
  if (shared_->client_id_taken(token.client_id)) {
    count(ServerDrop::kClientIdAlreadyConnected);
    return;
  }
  const TokenHistory::Admission admission =
      history_->admit(request.token_mac, from, request.expire_timestamp, now.unix_seconds);
  switch (admission.verdict) {
    case TokenHistory::Verdict::kAdmitted:
      break;
    case TokenHistory::Verdict::kAlreadyUsed:
      return count(ServerDrop::kTokenAlreadyUsed);
    case TokenHistory::Verdict::kFull:
      return count(ServerDrop::kTokenHistoryFull);
    case TokenHistory::Verdict::kBusy:
      return count(ServerDrop::kTokenHistoryBusy);
    case TokenHistory::Verdict::kExpired:
      return count(WireDrop::kTokenExpired);
  }

  const uint64_t pid = config_.protocol_id;
  if (free_slot_count_ == 0 || shared_->seated() >= shared_->max_clients()) {
    count(ServerDrop::kServerFull);
    send_global(from, token.server_to_client_key,
                [&](std::span<uint8_t> out, const Key& key, uint64_t seq) {
                  return write_connection_denied(out, pid, key, seq);
                });
    return;
  }

  // A pending mapping lasts no longer than its token: one whose timeout is
  // negative (none) would otherwise hold its entry for good.
  // (Capped at a century so that the nanoseconds cannot overflow.)
  constexpr uint64_t kCentury = 100ull * 365 * 86400;
  const uint64_t token_left_ns =
      request.expire_timestamp > now.unix_seconds
          ? std::min(request.expire_timestamp - now.unix_seconds, kCentury) * kNanosPerSecond
          : 0;
  const uint32_t m =
      mappings_.add(from, token.server_to_client_key, token.client_to_server_key,
                    token.timeout_seconds, admission.ref, now.mono_ns, now.mono_ns + token_left_ns);
  if (m == kNone) {
    count(ServerDrop::kMappingsFull);
    return;
  }
  mappings_.at(m).client_id = token.client_id;

  std::array<uint8_t, kChallengeTokenBytes> sealed;  // written whole, or not sent
  if (!encrypt_challenge_token(ChallengeToken{token.client_id, token.user_data},
                               challenge_sequence_, challenge_key_, sealed)) {
    count(ServerDrop::kSendFailed);
    return;
  }
  const uint64_t challenge_sequence = challenge_sequence_++;
  send_global(from, token.server_to_client_key,
              [&](std::span<uint8_t> out, const Key& key, uint64_t seq) {
                return write_connection_challenge(out, pid, key, seq, challenge_sequence, sealed);
              });
}

void NetcodeServer::on_response(const NetcodeAddress& from, const Packet& packet, uint32_t mapping,
                                Now now) {
  (void)from;
  ChallengeToken challenge;
  const WireDrop d = decrypt_challenge_token(packet.challenge_token.first<kChallengeTokenBytes>(),
                                             packet.challenge_sequence, challenge_key_, challenge);
  if (d != WireDrop::kOk) {
    count(d);
    return;
  }
  EncryptionMappings::Mapping& m = mappings_.at(mapping);
  if (m.client_index != kNone) {
    count(ServerDrop::kAddressAlreadyConnected);
    return;
  }
  // A challenge this server issued, but to another token's handshake (kept
  // from an earlier connection, say): it would connect that client id, with
  // that token's user data, on this token's keys. The standard does not ask
  // for this check; its clients always return the challenge they were sent.
  if (challenge.client_id != m.client_id) {
    count(ServerDrop::kChallengeMismatch);
    return;
  }
  // The client id, a seat, then the token, in that order: a refusal for the
  // first two leaves the token PENDING, so the client may still connect with it.
  const ClaimTable::Result id = shared_->claim_client_id(challenge.client_id);
  if (id.outcome != ClaimTable::Outcome::kInserted) {
    count(ServerDrop::kClientIdAlreadyConnected);
    return;
  }
  if (free_slot_count_ == 0 || !shared_->take_seat()) {
    shared_->release_client_id(id.ref);
    count(ServerDrop::kServerFull);
    const uint64_t pid = config_.protocol_id;
    send_global(m.address, m.send_key, [&](std::span<uint8_t> out, const Key& key, uint64_t seq) {
      return write_connection_denied(out, pid, key, seq);
    });
    return;
  }
  // Another worker's handshake of the same token (from the same address) may
  // have installed it: then this one must not, or two sessions would share the
  // token's keys and nonces. An entry that is gone (its token expired and the
  // entry was reused) can no longer say so: refused too.
  const TokenHistory::Consumption used = history_->consume(m.history);
  if (used != TokenHistory::Consumption::kConsumed) {
    shared_->return_seat();
    shared_->release_client_id(id.ref);
    count(used == TokenHistory::Consumption::kGone ? server_drop(WireDrop::kTokenExpired)
                                                   : ServerDrop::kTokenAlreadyUsed);
    return;
  }
  install(mapping, challenge.client_id, id.ref, challenge.user_data, now);
}

// ---------------------------------------------------------------------------
// Time

void NetcodeServer::update(Now now) {
  end_batch();
  now = time_(now);
  if (!serving_) [[unlikely]]
    begin_serving(now);
  for (uint32_t i = 0; i < max_clients_; ++i) {
    const Slot& s = slots_[i];
    if (!s.connected) continue;
    if (s.timeout_ns != 0 && now.mono_ns >= s.last_receive_ns + s.timeout_ns) {
      free_slot(i);
      if (handler_ != nullptr) handler_->on_disconnect(i, DisconnectReason::kTimedOut);
      continue;
    }
    if (now.mono_ns >= s.last_send_ns + config_.keep_alive_interval_ns) send_keep_alive(i, now);
  }
  mappings_.sweep(now.mono_ns, kSweepPerUpdate);
}

}  // namespace bypass::conn
