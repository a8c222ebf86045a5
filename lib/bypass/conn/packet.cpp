#include <bypass/conn/packet.hpp>

#include <bypass/conn/aead.hpp>

#include <algorithm>
#include <cstring>

namespace bypass::conn {
namespace {

// Version info, protocol id, prefix byte.
constexpr size_t kPacketAdBytes = kVersionInfoBytes + 8 + 1;
constexpr size_t kChallengeBodyBytes = 8 + kChallengeTokenBytes;
constexpr size_t kKeepAliveBodyBytes = 8;

std::array<uint8_t, kPacketAdBytes> packet_ad(uint64_t protocol_id, uint8_t prefix) {
  std::array<uint8_t, kPacketAdBytes> ad{};
  ByteWriter w(ad);
  w.bytes(kVersionInfo);
  w.u64(protocol_id);
  w.u8(prefix);
  return ad;
}

// Writes the header of an encrypted packet whose `body` bytes the caller has
// already placed at payload_offset(sequence), then seals the body in place.
Written seal(std::span<uint8_t> out, PacketType type, uint64_t protocol_id, const Key& key,
             uint64_t sequence, size_t body) {
  const int nseq = sequence_bytes(sequence);
  const uint8_t prefix = prefix_byte(static_cast<uint8_t>(type), nseq);
  out[0] = prefix;
  for (int i = 0; i < nseq; ++i) out[1 + i] = static_cast<uint8_t>(sequence >> (8 * i));
  const size_t header = 1 + static_cast<size_t>(nseq);
  const auto ad = packet_ad(protocol_id, prefix);
  const auto nonce = sequence_nonce(sequence);
  uint8_t* p = out.data() + header;
  if (!aead::seal(p, p, body, p + body, ad, nonce.data(), key.data())) {
    return Written{0, WriteError::kEncryptFailed};
  }
  return Written{header + body + kMacBytes, WriteError::kNone};
}

// Room check shared by the encrypted writers: the body goes at payload_offset().
bool fits(std::span<uint8_t> out, uint64_t sequence, size_t body) {
  return out.size() >= encrypted_packet_size(sequence, body);
}

Written write_challenge_like(std::span<uint8_t> out, PacketType type, uint64_t protocol_id,
                             const Key& key, uint64_t sequence, uint64_t challenge_sequence,
                             std::span<const uint8_t, kChallengeTokenBytes> token) {
  if (!fits(out, sequence, kChallengeBodyBytes)) return Written{0, WriteError::kBufferTooSmall};
  ByteWriter w(out.subspan(payload_offset(sequence), kChallengeBodyBytes));
  w.u64(challenge_sequence);
  w.bytes(token);
  return seal(out, type, protocol_id, key, sequence, kChallengeBodyBytes);
}

WireDrop read_request(std::span<const uint8_t> data, const ReadContext& ctx, Packet& out) {
  if (data.size() != kConnectionRequestBytes) return WireDrop::kRequestBadSize;
  if (ctx.private_key == nullptr) return WireDrop::kNoPrivateKey;
  ByteReader r(data.subspan(1));
  auto version = r.bytes(kVersionInfoBytes);
  if (!std::equal(version.begin(), version.end(), kVersionInfo.begin())) {
    return WireDrop::kBadVersionInfo;
  }
  ConnectionRequest& req = out.request;
  req.protocol_id = r.u64();
  if (req.protocol_id != ctx.protocol_id) return WireDrop::kWrongProtocolId;
  req.expire_timestamp = r.u64();
  if (req.expire_timestamp <= ctx.current_timestamp) return WireDrop::kTokenExpired;
  if (req.expire_timestamp < ctx.min_expire_timestamp) return WireDrop::kTokenPredatesStart;
  r.copy(req.nonce);
  auto sealed = r.bytes(kPrivateConnectTokenBytes);
  std::memcpy(req.token_mac.data(), sealed.data() + kPrivateConnectTokenBytes - kMacBytes,
              kMacBytes);
  const WireDrop d =
      decrypt_private_connect_token(sealed.first<kPrivateConnectTokenBytes>(), ctx.protocol_id,
                                    req.expire_timestamp, req.nonce, *ctx.private_key, req.token);
  if (d != WireDrop::kOk) return d;
  out.type = PacketType::kConnectionRequest;
  out.sequence = 0;
  return WireDrop::kOk;
}

bool replay_checked(PacketType t) {
  return t == PacketType::kKeepAlive || t == PacketType::kPayload || t == PacketType::kDisconnect;
}

}  // namespace

Written write_connection_request(std::span<uint8_t> out, uint64_t protocol_id,
                                 uint64_t expire_timestamp, const ConnectTokenNonce& nonce,
                                 std::span<const uint8_t, kPrivateConnectTokenBytes> private_data) {
  if (out.size() < kConnectionRequestBytes) return Written{0, WriteError::kBufferTooSmall};
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(PacketType::kConnectionRequest));
  w.bytes(kVersionInfo);
  w.u64(protocol_id);
  w.u64(expire_timestamp);
  w.bytes(nonce);
  w.bytes(private_data);
  return Written{w.size(), WriteError::kNone};
}

Written write_connection_request(std::span<uint8_t> out, const ConnectToken& token) {
  return write_connection_request(out, token.protocol_id, token.expire_timestamp, token.nonce,
                                  token.private_data);
}

Written write_connection_denied(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                uint64_t sequence) {
  if (!fits(out, sequence, 0)) return Written{0, WriteError::kBufferTooSmall};
  return seal(out, PacketType::kConnectionDenied, protocol_id, key, sequence, 0);
}

Written write_connection_challenge(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                   uint64_t sequence, uint64_t challenge_sequence,
                                   std::span<const uint8_t, kChallengeTokenBytes> challenge_token) {
  return write_challenge_like(out, PacketType::kConnectionChallenge, protocol_id, key, sequence,
                              challenge_sequence, challenge_token);
}

Written write_connection_response(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                  uint64_t sequence, uint64_t challenge_sequence,
                                  std::span<const uint8_t, kChallengeTokenBytes> challenge_token) {
  return write_challenge_like(out, PacketType::kConnectionResponse, protocol_id, key, sequence,
                              challenge_sequence, challenge_token);
}

Written write_keep_alive(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                         uint64_t sequence, uint32_t client_index, uint32_t max_clients) {
  if (!fits(out, sequence, kKeepAliveBodyBytes)) return Written{0, WriteError::kBufferTooSmall};
  ByteWriter w(out.subspan(payload_offset(sequence), kKeepAliveBodyBytes));
  w.u32(client_index);
  w.u32(max_clients);
  return seal(out, PacketType::kKeepAlive, protocol_id, key, sequence, kKeepAliveBodyBytes);
}

Written write_payload(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                      uint64_t sequence, std::span<const uint8_t> payload) {
  if (payload.empty() || payload.size() > kMaxPayloadBytes) {
    return Written{0, WriteError::kBadPayloadSize};
  }
  if (!fits(out, sequence, payload.size())) return Written{0, WriteError::kBufferTooSmall};
  uint8_t* body = out.data() + payload_offset(sequence);
  if (payload.data() != body) std::memmove(body, payload.data(), payload.size());
  return seal(out, PacketType::kPayload, protocol_id, key, sequence, payload.size());
}

Written write_disconnect(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                         uint64_t sequence) {
  if (!fits(out, sequence, 0)) return Written{0, WriteError::kBufferTooSmall};
  return seal(out, PacketType::kDisconnect, protocol_id, key, sequence, 0);
}

WireDrop read_packet(std::span<uint8_t> data, const ReadContext& ctx, Packet& out) {
  if (data.empty()) return WireDrop::kTooSmall;
  const uint8_t prefix = data[0];

  if (prefix == 0) {
    if ((ctx.allowed & mask_of(PacketType::kConnectionRequest)) == 0) {
      return WireDrop::kTypeNotAllowed;
    }
    return read_request(data, ctx, out);
  }

  // Encrypted packets, in the order of the standard's read steps.
  if (data.size() < kMinEncryptedPacketBytes) return WireDrop::kTooSmall;
  const uint8_t type_bits = prefix_type(prefix);
  // Type 0 is the connection request, which has a zero prefix byte and no encryption.
  if (type_bits == 0 || type_bits >= kNumPacketTypes) return WireDrop::kBadPacketType;
  const auto type = static_cast<PacketType>(type_bits);
  if ((ctx.allowed & mask_of(type)) == 0) return WireDrop::kTypeNotAllowed;
  const int nseq = prefix_sequence_bytes(prefix);
  if (nseq < 1 || nseq > 8) return WireDrop::kBadSequenceBytes;
  const size_t header = 1 + static_cast<size_t>(nseq);
  if (data.size() < header + kMacBytes) return WireDrop::kTooSmall;
  if (ctx.read_key == nullptr) return WireDrop::kNoReadKey;

  uint64_t sequence = 0;
  for (int i = 0; i < nseq; ++i) sequence |= uint64_t{data[1 + i]} << (8 * i);

  const bool replay = ctx.replay != nullptr && replay_checked(type);
  if (replay && ctx.replay->already_received(sequence)) return WireDrop::kReplayed;

  const auto ad = packet_ad(ctx.protocol_id, prefix);
  const auto nonce = sequence_nonce(sequence);
  uint8_t* p = data.data() + header;
  const size_t body_len = data.size() - header - kMacBytes;
  if (!aead::open(p, p, body_len, p + body_len, ad, nonce.data(), ctx.read_key->data())) {
    return WireDrop::kDecryptFailed;
  }

  if (replay) ctx.replay->advance(sequence);

  const std::span<const uint8_t> body(p, static_cast<size_t>(body_len));
  out.challenge_token = {};
  out.payload = {};
  switch (type) {
    case PacketType::kConnectionDenied:
    case PacketType::kDisconnect:
      if (!body.empty()) return WireDrop::kBadBodySize;
      break;
    case PacketType::kConnectionChallenge:
    case PacketType::kConnectionResponse: {
      if (body.size() != kChallengeBodyBytes) return WireDrop::kBadBodySize;
      ByteReader r(body);
      out.challenge_sequence = r.u64();
      out.challenge_token = r.bytes(kChallengeTokenBytes);
      break;
    }
    case PacketType::kKeepAlive: {
      if (body.size() != kKeepAliveBodyBytes) return WireDrop::kBadBodySize;
      ByteReader r(body);
      out.client_index = r.u32();
      out.max_clients = r.u32();
      break;
    }
    case PacketType::kPayload:
      if (body.empty()) return WireDrop::kPayloadEmpty;
      if (body.size() > kMaxPayloadBytes) return WireDrop::kPayloadTooLarge;
      out.payload = body;
      break;
    case PacketType::kConnectionRequest:
      return WireDrop::kBadPacketType;  // excluded above
  }
  out.type = type;
  out.sequence = sequence;
  return WireDrop::kOk;
}

}  // namespace bypass::conn
