/// @file
/// Keys for netcode.io: libsodium start-up, the 32-byte private key shared by
/// the backend and the servers (read from raw bytes or 64 hex digits, as a key
/// file holds it), and random keys and connect token nonces. Control plane
/// only; errors say what is wrong with a key, never what it contains.
#pragma once

#include <span>
#include <string>

#include <bypass/conn/netcode_wire.hpp>
#include <bypass/core/status.hpp>

namespace bypass::conn {

/// Starts libsodium (idempotent, thread-safe). Call once before anything else in bypass::conn.
Status crypto_init();

/// A private key from exactly 32 raw bytes, or from 64 hex digits (either case)
/// optionally followed by whitespace (a trailing newline). An all-zero key is
/// refused: it is a placeholder, not a secret. So are 32 bytes that are all
/// hex digits but for trailing whitespace: a hex key written too short.
Expected<Key> parse_private_key(std::span<const uint8_t> bytes);

/// Hex digits (either case), two a byte, into the front of `out`; false if
/// they are not that or do not fit. (A key's, a token's user data.)
bool decode_hex(std::span<const uint8_t> hex, std::span<uint8_t> out);

/// parse_private_key() over the contents of the file at `path` (a regular
/// file of at most 256 bytes); an error names the file. The bytes read are
/// wiped afterwards.
Expected<Key> load_private_key_file(const std::string& path);

/// A random key (session keys, challenge key, a new private key), from libsodium.
Key random_key();
/// A random connect token nonce, from libsodium.
ConnectTokenNonce random_connect_token_nonce();

}  // namespace bypass::conn
