// netcode.io 1.02 packets: writing the seven packet types into a caller's
// buffer and reading them back by the standard's read steps, with a named
// drop reason for every refusal. The connection request travels in clear (its
// private token is sealed by the backend); the six other types carry a prefix
// byte, a variable-length sequence number and a ChaCha20-Poly1305 IETF body
// whose associated data is the version info, protocol id and prefix byte.
// Allocation-free: writes go to the caller's span, reads decrypt in place and
// return views into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/replay.hpp>
#include <bypass/conn/wire_drops.hpp>

namespace bypass::conn {

enum class PacketType : uint8_t {
  kConnectionRequest = 0,
  kConnectionDenied = 1,
  kConnectionChallenge = 2,
  kConnectionResponse = 3,
  kKeepAlive = 4,
  kPayload = 5,
  kDisconnect = 6,
};
inline constexpr unsigned kNumPacketTypes = 7;

// A set of packet types, one bit per type.
using PacketMask = uint8_t;
constexpr PacketMask mask_of(PacketType t) {
  return static_cast<PacketMask>(1u << static_cast<unsigned>(t));
}
// What a server reads (it ignores challenges and denials) ...
inline constexpr PacketMask kServerReads =
    mask_of(PacketType::kConnectionRequest) | mask_of(PacketType::kConnectionResponse) |
    mask_of(PacketType::kKeepAlive) | mask_of(PacketType::kPayload) |
    mask_of(PacketType::kDisconnect);
// ... and what a client reads (it ignores requests and responses).
inline constexpr PacketMask kClientReads =
    mask_of(PacketType::kConnectionDenied) | mask_of(PacketType::kConnectionChallenge) |
    mask_of(PacketType::kKeepAlive) | mask_of(PacketType::kPayload) |
    mask_of(PacketType::kDisconnect);

enum class WriteError : uint8_t {
  kNone = 0,
  kBufferTooSmall,  // the output span cannot hold the packet
  kBadPayloadSize,  // a payload packet carries 1 to 1200 bytes
  kEncryptFailed,   // libsodium refused (not expected once sodium_init() ran)
};

// Outcome of a write: the packet's size, or why there is no packet.
struct Written {
  size_t size = 0;
  WriteError error = WriteError::kNone;
  explicit operator bool() const { return error == WriteError::kNone; }
};

// Where a payload goes in an encrypted packet with this sequence number: a
// caller may write the payload there and pass that same region to
// write_payload, which then seals it in place without a copy.
constexpr size_t payload_offset(uint64_t sequence) {
  return 1 + static_cast<size_t>(sequence_bytes(sequence));
}
// Size of an encrypted packet with `body` bytes of per-type data.
constexpr size_t encrypted_packet_size(uint64_t sequence, size_t body) {
  return payload_offset(sequence) + body + kMacBytes;
}

// Connection request (1078 bytes, not encrypted).
Written write_connection_request(std::span<uint8_t> out, uint64_t protocol_id,
                                 uint64_t expire_timestamp, const ConnectTokenNonce& nonce,
                                 std::span<const uint8_t, kPrivateConnectTokenBytes> private_data);
// The same from the client's public token.
Written write_connection_request(std::span<uint8_t> out, const ConnectToken& token);

// Encrypted packets. `key` is the sender's: client-to-server on the client,
// server-to-client on the server. `sequence` must never repeat under one key.
Written write_connection_denied(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                uint64_t sequence);
Written write_connection_challenge(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                   uint64_t sequence, uint64_t challenge_sequence,
                                   std::span<const uint8_t, kChallengeTokenBytes> challenge_token);
Written write_connection_response(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                  uint64_t sequence, uint64_t challenge_sequence,
                                  std::span<const uint8_t, kChallengeTokenBytes> challenge_token);
Written write_keep_alive(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                         uint64_t sequence, uint32_t client_index, uint32_t max_clients);
// `payload` may overlap `out` (see payload_offset()).
Written write_payload(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                      uint64_t sequence, std::span<const uint8_t> payload);
Written write_disconnect(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                         uint64_t sequence);

// What the reader checks a packet against.
struct ReadContext {
  uint64_t protocol_id = 0;
  PacketMask allowed = 0;  // kServerReads or kClientReads

  // Connection requests (server side).
  const Key* private_key = nullptr;   // shared with the backend
  uint64_t current_timestamp = 0;     // unix seconds: tokens expiring at or before are refused
  uint64_t min_expire_timestamp = 0;  // restart rule: server start + max token lifetime (0: off)

  // Encrypted packets.
  const Key* read_key = nullptr;       // the sender's key for this source address
  ReplayProtection* replay = nullptr;  // the connection's (keep-alive, payload, disconnect)
};

// A connection request whose private token opened.
struct ConnectionRequest {
  uint64_t protocol_id = 0;
  uint64_t expire_timestamp = 0;
  ConnectTokenNonce nonce{};
  Mac token_mac{};  // the sealed token's last 16 bytes: its key in the connect token history
  PrivateConnectToken token;
};

// A packet that passed every read step. Spans point into the buffer read.
struct Packet {
  PacketType type = PacketType::kConnectionRequest;
  uint64_t sequence = 0;                     // encrypted types
  ConnectionRequest request;                 // kConnectionRequest
  uint64_t challenge_sequence = 0;           // challenge, response
  std::span<const uint8_t> challenge_token;  // challenge, response: 300 bytes, still sealed
  uint32_t client_index = 0;                 // keep-alive
  uint32_t max_clients = 0;                  // keep-alive
  std::span<const uint8_t> payload;          // payload: 1 to 1200 bytes, decrypted
};

// Reads one packet by the standard's steps, in its order. Returns WireDrop::kOk and
// fills `out`, or the WireDrop reason the packet was refused for.
// Encrypted bodies are decrypted in place in `data`. The replay window
// advances once a packet decrypted, even if its size then proves wrong.
WireDrop read_packet(std::span<uint8_t> data, const ReadContext& ctx, Packet& out);

}  // namespace bypass::conn
