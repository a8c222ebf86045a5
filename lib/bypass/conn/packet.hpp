/// @file
/// netcode.io 1.02 packets: writing the seven packet types into a caller's
/// buffer and reading them back by the standard's read steps, with a named
/// drop reason for every refusal. The connection request travels in clear (its
/// private token is sealed by the backend); the six other types carry a prefix
/// byte, a variable-length sequence number and a ChaCha20-Poly1305 IETF body
/// whose associated data is the version info, protocol id and prefix byte.
/// Allocation-free: writes go to the caller's span, reads decrypt in place and
/// return views into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/replay.hpp>
#include <bypass/conn/wire_drops.hpp>

namespace bypass::conn {

/// The packet types, numbered as on the wire (a prefix byte's low 4 bits).
enum class PacketType : uint8_t {
  kConnectionRequest = 0,    ///< client to server, in clear, carrying the sealed private token
  kConnectionDenied = 1,     ///< server to client: it will not take the client (it is full)
  kConnectionChallenge = 2,  ///< server to client: a challenge token to send back
  kConnectionResponse = 3,   ///< client to server: the challenge token, returned
  kKeepAlive = 4,            ///< either way; the server's carries the client's slot
  kPayload = 5,              ///< either way: 1 to 1200 bytes of application data
  kDisconnect = 6,           ///< either way: the connection is over
};
/// How many packet types there are.
inline constexpr unsigned kNumPacketTypes = 7;

/// A set of packet types, one bit per type.
using PacketMask = uint8_t;
/// The set holding `t` alone.
constexpr PacketMask mask_of(PacketType t) {
  return static_cast<PacketMask>(1u << static_cast<unsigned>(t));
}
/// What a server reads (it ignores challenges and denials) ...
inline constexpr PacketMask kServerReads =
    mask_of(PacketType::kConnectionRequest) | mask_of(PacketType::kConnectionResponse) |
    mask_of(PacketType::kKeepAlive) | mask_of(PacketType::kPayload) |
    mask_of(PacketType::kDisconnect);
/// ... and what a client reads (it ignores requests and responses).
inline constexpr PacketMask kClientReads =
    mask_of(PacketType::kConnectionDenied) | mask_of(PacketType::kConnectionChallenge) |
    mask_of(PacketType::kKeepAlive) | mask_of(PacketType::kPayload) |
    mask_of(PacketType::kDisconnect);

/// Why a packet writer wrote nothing.
enum class WriteError : uint8_t {
  kNone = 0,        ///< not an error: the packet was written
  kBufferTooSmall,  ///< the output span cannot hold the packet
  kBadPayloadSize,  ///< a payload packet carries 1 to 1200 bytes
  kEncryptFailed,   ///< libsodium refused (not expected once sodium_init() ran)
};

/// Outcome of a write: the packet's size, or why there is no packet.
struct Written {
  size_t size = 0;                       ///< bytes written at the start of the output span
  WriteError error = WriteError::kNone;  ///< kNone, or why nothing was written
  /// Whether the packet was written.
  explicit operator bool() const { return error == WriteError::kNone; }
};

/// Where a payload goes in an encrypted packet with this sequence number: a
/// caller may write the payload there and pass that same region to
/// write_payload(), which then seals it in place without a copy.
constexpr size_t payload_offset(uint64_t sequence) {
  return 1 + static_cast<size_t>(sequence_bytes(sequence));
}
/// Size of an encrypted packet with `body` bytes of per-type data.
constexpr size_t encrypted_packet_size(uint64_t sequence, size_t body) {
  return payload_offset(sequence) + body + kMacBytes;
}

/// Connection request (1078 bytes, not encrypted), from its fields.
Written write_connection_request(std::span<uint8_t> out, uint64_t protocol_id,
                                 uint64_t expire_timestamp, const ConnectTokenNonce& nonce,
                                 std::span<const uint8_t, kPrivateConnectTokenBytes> private_data);
/// The same from the client's public token.
Written write_connection_request(std::span<uint8_t> out, const ConnectToken& token);

/// @name Encrypted packets
/// `key` is the sender's: client-to-server on the client, server-to-client on
/// the server. `sequence` must never repeat under one key.
///@{

/// Connection denied (no body).
Written write_connection_denied(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                uint64_t sequence);
/// Connection challenge: `challenge_sequence` and the sealed challenge token.
Written write_connection_challenge(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                   uint64_t sequence, uint64_t challenge_sequence,
                                   std::span<const uint8_t, kChallengeTokenBytes> challenge_token);
/// Connection response: the challenge sequence and token, as the challenge had them.
Written write_connection_response(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                                  uint64_t sequence, uint64_t challenge_sequence,
                                  std::span<const uint8_t, kChallengeTokenBytes> challenge_token);
/// Keep-alive, with the client's slot and the server's slot count (a client
/// sends zeros).
Written write_keep_alive(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                         uint64_t sequence, uint32_t client_index, uint32_t max_clients);
/// Payload of 1 to 1200 bytes; `payload` may overlap `out` (see payload_offset()).
Written write_payload(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                      uint64_t sequence, std::span<const uint8_t> payload);
/// Disconnect (no body).
Written write_disconnect(std::span<uint8_t> out, uint64_t protocol_id, const Key& key,
                         uint64_t sequence);
///@}

/// What the reader checks a packet against.
struct ReadContext {
  uint64_t protocol_id = 0;  ///< the application's: packets of another are refused
  PacketMask allowed = 0;    ///< kServerReads or kClientReads

  /// @name Connection requests (server side)
  ///@{
  const Key* private_key = nullptr;   ///< shared with the backend
  uint64_t current_timestamp = 0;     ///< unix seconds: tokens expiring at or before are refused
  uint64_t min_expire_timestamp = 0;  ///< restart rule: server start + max token lifetime (0: off)
  ///@}

  /// @name Encrypted packets
  ///@{
  const Key* read_key = nullptr;  ///< the sender's key for this source address
  /// The connection's replay window, checked and advanced for keep-alive,
  /// payload and disconnect packets (none: not checked).
  ReplayProtection* replay = nullptr;
  ///@}
};

/// A connection request whose private token opened.
struct ConnectionRequest {
  uint64_t protocol_id = 0;       ///< the request's (equal to the reader's)
  uint64_t expire_timestamp = 0;  ///< the token's, unix seconds
  ConnectTokenNonce nonce{};      ///< the private token's nonce
  Mac token_mac{};  ///< the sealed token's last 16 bytes: its key in the connect token history
  PrivateConnectToken token;  ///< the private token, opened
};

/// A packet that passed every read step. Spans point into the buffer read.
struct Packet {
  /// The type read: it says which of the fields below are set.
  PacketType type = PacketType::kConnectionRequest;
  uint64_t sequence = 0;                     ///< encrypted types (0 for a request)
  ConnectionRequest request;                 ///< kConnectionRequest
  uint64_t challenge_sequence = 0;           ///< challenge, response
  std::span<const uint8_t> challenge_token;  ///< challenge, response: 300 bytes, still sealed
  uint32_t client_index = 0;                 ///< keep-alive
  uint32_t max_clients = 0;                  ///< keep-alive
  std::span<const uint8_t> payload;          ///< payload: 1 to 1200 bytes, decrypted
};

/// Reads one packet by the standard's steps, in its order. Returns WireDrop::kOk
/// and fills `out`, or the WireDrop reason the packet was refused for.
/// Encrypted bodies are decrypted in place in `data`. The replay window
/// advances once a packet decrypted, even if its size then proves wrong.
WireDrop read_packet(std::span<uint8_t> data, const ReadContext& ctx, Packet& out);

}  // namespace bypass::conn
