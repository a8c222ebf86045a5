// ChaCha20-Poly1305 as netcode uses it (IETF, RFC 8439, and its XChaCha20
// variant), built from libsodium's ChaCha20 stream and Poly1305 primitives so
// that one stream call yields the Poly1305 key and the message's keystream
// together, rounded up to libsodium's multi-block sizes (256 bytes, then
// multiples of 512). libsodium's one-call AEAD makes two stream calls, each
// of which ends in its one-block path: at 100 bytes that is about a third of
// the cost. The bytes are those of crypto_aead_(x)chacha20poly1305_ietf_*
// (tests compare every length); past kMaxFusedBytes the calls are libsodium's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace bypass::conn::aead {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kXNonceBytes = 24;
inline constexpr size_t kTagBytes = 16;
// The longest message sealed and opened by the single stream call.
inline constexpr size_t kMaxFusedBytes = 2048 - 64;

// Seals `len` bytes of `in` into `out` (the same buffer, or one that does not
// overlap it) and writes the 16-byte tag. False only if libsodium fails.
[[nodiscard]] bool seal(const uint8_t* in, uint8_t* out, size_t len, uint8_t* tag,
                        std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key);

// Checks `tag` over `in` and, only if it matches, decrypts `len` bytes into
// `out` (same buffer or disjoint). On a mismatch nothing is decrypted: `out`
// is left as it was (past kMaxFusedBytes, libsodium's way: zeroed).
[[nodiscard]] bool open(const uint8_t* in, uint8_t* out, size_t len, const uint8_t* tag,
                        std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key);

// The same with XChaCha20's 24-byte nonce (netcode's private connect token).
[[nodiscard]] bool xseal(const uint8_t* in, uint8_t* out, size_t len, uint8_t* tag,
                         std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key);
[[nodiscard]] bool xopen(const uint8_t* in, uint8_t* out, size_t len, const uint8_t* tag,
                         std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key);
// xopen() that checks the tag over all `len` bytes but decrypts only the
// first `head` of them (all of them past kMaxFusedBytes), for a message whose
// tail its reader may not need: the keystream of the rest is not made.
[[nodiscard]] bool xopen_head(const uint8_t* in, uint8_t* out, size_t len, size_t head,
                              const uint8_t* tag, std::span<const uint8_t> ad, const uint8_t* nonce,
                              const uint8_t* key);

}  // namespace bypass::conn::aead
