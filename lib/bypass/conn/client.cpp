#include <bypass/conn/client.hpp>

#include <sodium.h>

namespace bypass::conn {

std::string_view client_state_name(ClientState s) {
  switch (s) {
    case ClientState::kConnectTokenExpired:
      return "connect_token_expired";
    case ClientState::kInvalidConnectToken:
      return "invalid_connect_token";
    case ClientState::kConnectionTimedOut:
      return "connection_timed_out";
    case ClientState::kConnectionResponseTimedOut:
      return "connection_response_timed_out";
    case ClientState::kConnectionRequestTimedOut:
      return "connection_request_timed_out";
    case ClientState::kConnectionDenied:
      return "connection_denied";
    case ClientState::kDisconnected:
      return "disconnected";
    case ClientState::kSendingConnectionRequest:
      return "sending_connection_request";
    case ClientState::kSendingConnectionResponse:
      return "sending_connection_response";
    case ClientState::kConnected:
      return "connected";
  }
  return "unknown";
}

NetcodeClient::NetcodeClient(PacketSink* sink, ClientHandler* handler, NetcodeClientConfig config)
    : sink_(sink), handler_(handler), config_(config) {
  if (config_.send_interval_ns == 0) config_.send_interval_ns = 100'000'000;
  if (config_.disconnect_packets == 0) config_.disconnect_packets = 10;
}

NetcodeClient::~NetcodeClient() {
  reset();
}

void NetcodeClient::set_state(ClientState s) {
  if (s == state_) return;
  const ClientState old = state_;
  state_ = s;
  if (handler_ != nullptr) handler_->on_state_change(old, s);
}

void NetcodeClient::reset() {
  // The sequence is not reset: it only grows for the client's whole life, so
  // no token's key seals two packets under one nonce, whichever tokens the
  // app gives in whatever order (A, then B, then A again).
  sodium_memzero(&token_, sizeof(token_));
  token_ = ConnectToken{};
  sodium_memzero(challenge_token_.data(), challenge_token_.size());
  sodium_memzero(tx_.data(), tx_.size());
  server_index_ = 0;
  server_address_ = NetcodeAddress{};
  client_index_ = 0;
  max_clients_ = 0;
  challenge_sequence_ = 0;
  replay_.reset();
}

void NetcodeClient::reset_for_server(Now now) {
  last_receive_ns_ = now.mono_ns;
  send_now_ = true;
  challenge_sequence_ = 0;
  challenge_token_.fill(0);
  replay_.reset();
}

void NetcodeClient::connect(std::span<const uint8_t> connect_token, Now now) {
  disconnect(now);
  Expected<ConnectToken> t = read_connect_token(connect_token);
  if (!t) {
    reset();
    set_state(ClientState::kInvalidConnectToken);
    return;
  }
  connect(*t, now);
  sodium_memzero(&*t, sizeof(ConnectToken));
}

void NetcodeClient::connect(const ConnectToken& token, Now now) {
  disconnect(now);
  now = time_(now);
  reset();
  bool valid = token.num_server_addresses >= 1 &&
               token.num_server_addresses <= kMaxServersPerConnect &&
               token.create_timestamp <= token.expire_timestamp;
  for (uint32_t i = 0; valid && i < token.num_server_addresses; ++i) {
    const AddressType t = token.server_addresses[i].type;
    valid = t == AddressType::kIpv4 || t == AddressType::kIpv6;
  }
  if (!valid) {
    set_state(ClientState::kInvalidConnectToken);
    return;
  }
  token_ = token;
  server_index_ = 0;
  server_address_ = token_.server_addresses[0];
  connect_start_ns_ = now.mono_ns;
  reset_for_server(now);
  set_state(ClientState::kSendingConnectionRequest);
}

bool NetcodeClient::next_server(Now now) {
  if (server_index_ + 1 >= token_.num_server_addresses) return false;
  ++server_index_;
  server_address_ = token_.server_addresses[server_index_];
  reset_for_server(now);
  // Already in kSendingConnectionRequest when a request failed: no state change then.
  set_state(ClientState::kSendingConnectionRequest);
  return true;
}

void NetcodeClient::fail(ClientState error) {
  reset();
  set_state(error);
}

template <typename Write>
bool NetcodeClient::send(Now now, Write&& write) {
  const Written w = write(std::span<uint8_t>(tx_), sequence_);
  if (!w) return false;
  ++sequence_;
  last_send_ns_ = now.mono_ns;
  send_now_ = false;
  sink_->send(server_address_, std::span<const uint8_t>(tx_.data(), w.size));
  return true;
}

void NetcodeClient::receive(const NetcodeAddress& from, std::span<uint8_t> packet, Now now) {
  now = time_(now);
  if (static_cast<int>(state_) <= 0 || !(from == server_address_)) {
    ++ignored_;
    return;
  }
  ReadContext ctx;
  ctx.protocol_id = token_.protocol_id;
  ctx.allowed = kClientReads;
  ctx.current_timestamp = now.unix_seconds;
  ctx.read_key = &token_.server_to_client_key;
  ctx.replay = &replay_;
  const WireDrop d = read_packet(packet, ctx, rx_);
  if (d != WireDrop::kOk) {
    ++drops_[static_cast<size_t>(d)];
    return;
  }
  const Packet& p = rx_;
  switch (p.type) {
    case PacketType::kConnectionDenied:
      if (state_ == ClientState::kSendingConnectionRequest ||
          state_ == ClientState::kSendingConnectionResponse) {
        if (!next_server(now)) fail(ClientState::kConnectionDenied);
        return;
      }
      break;
    case PacketType::kConnectionChallenge:
      if (state_ == ClientState::kSendingConnectionRequest) {
        challenge_sequence_ = p.challenge_sequence;
        std::copy(p.challenge_token.begin(), p.challenge_token.end(), challenge_token_.begin());
        last_receive_ns_ = now.mono_ns;
        set_state(ClientState::kSendingConnectionResponse);
        return;
      }
      break;
    case PacketType::kKeepAlive:
      if (state_ == ClientState::kConnected) {
        last_receive_ns_ = now.mono_ns;
        return;
      }
      // The slot the server gave must be one of its slots: a keep-alive that
      // says otherwise does not connect (a server in error, not a peer to trust).
      if (state_ == ClientState::kSendingConnectionResponse && p.max_clients > 0 &&
          p.client_index < p.max_clients) {
        last_receive_ns_ = now.mono_ns;
        client_index_ = p.client_index;
        max_clients_ = p.max_clients;
        set_state(ClientState::kConnected);
        return;
      }
      break;
    case PacketType::kPayload:
      if (state_ == ClientState::kConnected) {
        last_receive_ns_ = now.mono_ns;
        if (handler_ != nullptr) handler_->on_payload(p.payload);
        return;
      }
      break;
    case PacketType::kDisconnect:
      if (state_ == ClientState::kConnected) {
        fail(ClientState::kDisconnected);
        return;
      }
      break;
    default:
      break;
  }
  ++ignored_;
}

void NetcodeClient::update(Now now) {
  now = time_(now);
  const bool connecting = state_ == ClientState::kSendingConnectionRequest ||
                          state_ == ClientState::kSendingConnectionResponse;
  if (connecting) {
    // create <= expire was checked in connect(); a lifetime too long to count in
    // nanoseconds never ends.
    const uint64_t lifetime_s = token_.expire_timestamp - token_.create_timestamp;
    const bool ends = lifetime_s <= (UINT64_MAX - connect_start_ns_) / kNanosPerSecond;
    if (ends && now.mono_ns >= connect_start_ns_ + lifetime_s * kNanosPerSecond) {
      fail(ClientState::kConnectTokenExpired);
      return;
    }
  }
  if (static_cast<int>(state_) > 0 && token_.timeout_seconds > 0 &&
      last_receive_ns_ + static_cast<uint64_t>(token_.timeout_seconds) * kNanosPerSecond <
          now.mono_ns) {
    if (state_ == ClientState::kConnected) {
      fail(ClientState::kConnectionTimedOut);
    } else if (!next_server(now)) {
      fail(state_ == ClientState::kSendingConnectionRequest
               ? ClientState::kConnectionRequestTimedOut
               : ClientState::kConnectionResponseTimedOut);
    }
    return;
  }

  if (!send_now_ && now.mono_ns < last_send_ns_ + config_.send_interval_ns) return;
  const uint64_t pid = token_.protocol_id;
  const Key& key = token_.client_to_server_key;
  switch (state_) {
    case ClientState::kSendingConnectionRequest:
      send(now,
           [&](std::span<uint8_t> out, uint64_t) { return write_connection_request(out, token_); });
      break;
    case ClientState::kSendingConnectionResponse:
      send(now, [&](std::span<uint8_t> out, uint64_t seq) {
        return write_connection_response(out, pid, key, seq, challenge_sequence_, challenge_token_);
      });
      break;
    case ClientState::kConnected:
      send(now, [&](std::span<uint8_t> out, uint64_t seq) {
        return write_keep_alive(out, pid, key, seq, 0, 0);
      });
      break;
    default:
      break;
  }
}

bool NetcodeClient::send_payload(std::span<const uint8_t> payload, Now now) {
  now = time_(now);
  if (state_ != ClientState::kConnected) return false;
  if (payload.empty() || payload.size() > kMaxPayloadBytes) return false;
  const uint64_t pid = token_.protocol_id;
  const Key& key = token_.client_to_server_key;
  return send(now, [&](std::span<uint8_t> out, uint64_t seq) {
    return write_payload(out, pid, key, seq, payload);
  });
}

void NetcodeClient::disconnect(Now now) {
  now = time_(now);
  if (static_cast<int>(state_) <= 0) return;
  const uint64_t pid = token_.protocol_id;
  const Key& key = token_.client_to_server_key;
  for (uint32_t k = 0; k < config_.disconnect_packets; ++k) {
    send(now, [&](std::span<uint8_t> out, uint64_t seq) {
      return write_disconnect(out, pid, key, seq);
    });
  }
  fail(ClientState::kDisconnected);
}

}  // namespace bypass::conn
