/// @file
/// netcode.io 1.02 connect tokens. The private part (client id, timeout, server
/// addresses, both session keys, user data) is sealed by the backend with the
/// private key shared with the servers (XChaCha20-Poly1305, 1024 bytes with its
/// MAC) and opened by the server from a connection request. The public part
/// (2048 bytes) is what the backend hands a client: that sealed blob plus the
/// addresses and keys the client itself needs.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/wire_drops.hpp>
#include <bypass/core/status.hpp>

namespace bypass::conn {

/// The private connect token before sealing (and after opening).
struct PrivateConnectToken {
  uint64_t client_id = 0;       ///< the client's id, chosen by the backend
  int32_t timeout_seconds = 0;  ///< seconds without packets before a timeout; < 0: never (dev only)
  uint32_t num_server_addresses = 0;  ///< in [1, 32]
  /// The first num_server_addresses; a reader leaves the rest as it found them.
  std::array<NetcodeAddress, kMaxServersPerConnect> server_addresses{};
  Key client_to_server_key{};  ///< seals the client's packets to the server
  Key server_to_client_key{};  ///< seals the server's packets to the client
  UserData user_data{};        ///< the backend's data for the server, opaque here

  /// The server addresses in use: the first num_server_addresses.
  std::span<const NetcodeAddress> servers() const {
    return std::span(server_addresses).first(num_server_addresses);
  }
};

/// Wipes what a read private token holds that is secret, its two session keys
/// and its user data (its id, timeout and addresses are in the public token
/// too): what a server does once it has acted on a request.
void wipe_private_connect_token_secrets(PrivateConnectToken& token);

/// The public connect token, as a client receives it from the backend.
struct ConnectToken {
  uint64_t protocol_id = 0;       ///< the id of the application the token is for
  uint64_t create_timestamp = 0;  ///< unix seconds
  uint64_t expire_timestamp = 0;  ///< unix seconds
  ConnectTokenNonce nonce{};      ///< the nonce the private part was sealed with
  /// The private connect token, sealed: the client passes it on unread.
  std::array<uint8_t, kPrivateConnectTokenBytes> private_data{};
  int32_t timeout_seconds = 0;        ///< as in the private token (< 0: never)
  uint32_t num_server_addresses = 0;  ///< in [1, 32]
  /// The first num_server_addresses; a reader leaves the rest as it found them.
  std::array<NetcodeAddress, kMaxServersPerConnect> server_addresses{};
  Key client_to_server_key{};  ///< seals the client's packets to the server
  Key server_to_client_key{};  ///< opens the server's packets to the client

  /// The server addresses to try: the first num_server_addresses.
  std::span<const NetcodeAddress> servers() const {
    return std::span(server_addresses).first(num_server_addresses);
  }
};

/// Writes the private token's plaintext layout: the fields, then zeros up to
/// 1024 - 16 bytes (the MAC's room stays zero too). False if the server count
/// is not in [1, 32] or an address is neither IPv4 nor IPv6.
bool write_private_connect_token(const PrivateConnectToken& token,
                                 std::span<uint8_t, kPrivateConnectTokenBytes> out);

/// Parses plaintext (at least the fields; padding is not checked). WireDrop::kOk,
/// or WireDrop::kTokenMalformed for a bad server count or address type, or
/// fields running past `plain`.
WireDrop read_private_connect_token(std::span<const uint8_t> plain, PrivateConnectToken& out);

/// Backend: writes `token` and seals it under `private_key`, with the version
/// info, protocol id and expire timestamp as associated data. Fails on a bad
/// server count or address, or if libsodium refuses.
Status encrypt_private_connect_token(const PrivateConnectToken& token, uint64_t protocol_id,
                                     uint64_t expire_timestamp, const ConnectTokenNonce& nonce,
                                     const Key& private_key,
                                     std::span<uint8_t, kPrivateConnectTokenBytes> out);

/// The bytes at the start of a sealed private token that
/// decrypt_private_connect_token() decrypts when the fields end inside them
/// (up to 16 IPv4 or 5 IPv6 servers; zero padding follows, which the reader
/// skips): with ChaCha20's block 0, 512 bytes of keystream instead of 1,536.
inline constexpr size_t kPrivateTokenHeadBytes = 448;
/// Server: opens the sealed token and parses it. WireDrop::kOk,
/// kTokenDecryptFailed (wrong key, nonce, protocol id, expire timestamp or a
/// modified byte) or kTokenMalformed. Allocation-free; the plaintext copy is
/// wiped before return. The tag is checked over all of it, but only the first
/// kPrivateTokenHeadBytes are decrypted when the fields end inside them.
WireDrop decrypt_private_connect_token(std::span<const uint8_t, kPrivateConnectTokenBytes> sealed,
                                       uint64_t protocol_id, uint64_t expire_timestamp,
                                       const ConnectTokenNonce& nonce, const Key& private_key,
                                       PrivateConnectToken& out);

/// Writes the 2048-byte public token (zero padded). Fails on a bad server count
/// or address, or a create timestamp after the expire timestamp.
Status write_connect_token(const ConnectToken& token, std::span<uint8_t, kConnectTokenBytes> out);

/// Client: reads a public token. It must be exactly 2048 bytes with the 1.02
/// version info, create <= expire, 1..32 servers of known address types.
Expected<ConnectToken> read_connect_token(std::span<const uint8_t> in);

/// Backend: seals `priv` and wraps it in a public token for the client.
/// `public_addresses` are the addresses the client dials (empty: the private
/// token's own); the private token keeps the ones the servers check against.
Status generate_connect_token(const PrivateConnectToken& priv,
                              std::span<const NetcodeAddress> public_addresses,
                              uint64_t protocol_id, uint64_t create_timestamp,
                              uint64_t expire_timestamp, const ConnectTokenNonce& nonce,
                              const Key& private_key, std::span<uint8_t, kConnectTokenBytes> out);

}  // namespace bypass::conn
