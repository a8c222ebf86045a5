// netcode.io 1.02 challenge tokens: the client id and user data a server seals
// under its own random challenge key (ChaCha20-Poly1305 IETF, no associated
// data, nonce from the challenge sequence number) and sends in a challenge
// packet; the client echoes it back in its response, which proves it can
// receive at its source address. 300 bytes sealed, MAC included.
#pragma once

#include <cstdint>
#include <span>

#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/wire_drops.hpp>

namespace bypass::conn {

struct ChallengeToken {
  uint64_t client_id = 0;
  UserData user_data{};
};

// Writes and seals `token` into `out`. False only if libsodium fails.
bool encrypt_challenge_token(const ChallengeToken& token, uint64_t sequence,
                             const Key& challenge_key,
                             std::span<uint8_t, kChallengeTokenBytes> out);

// Opens a sealed token. WireDrop::kOk, or WireDrop::kChallengeDecryptFailed (wrong
// key or sequence, or a modified byte). Allocation-free.
WireDrop decrypt_challenge_token(std::span<const uint8_t, kChallengeTokenBytes> sealed,
                                 uint64_t sequence, const Key& challenge_key, ChallengeToken& out);

}  // namespace bypass::conn
