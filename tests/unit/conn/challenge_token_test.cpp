// Challenge tokens: round trip, the plaintext layout under the seal, refusal on
// a modified byte, the wrong key or the wrong sequence, and the known answer
// cross-checked against the reference implementation (netcode_vectors.hpp).
#include <bypass/conn/challenge_token.hpp>

#include <sodium.h>

#include <gtest/gtest.h>

#include "netcode_vectors.hpp"

namespace bypass::conn {
namespace {

using namespace test;

class ChallengeToken_ : public ConnTest {};

std::array<uint8_t, kChallengeTokenBytes> sealed_challenge() {
  std::array<uint8_t, kChallengeTokenBytes> out;
  EXPECT_TRUE(
      encrypt_challenge_token({kClientId, user_data()}, kChallengeSequence, challenge_key(), out));
  return out;
}

TEST_F(ChallengeToken_, RoundTrip) {
  const auto sealed = sealed_challenge();
  ChallengeToken back;
  ASSERT_EQ(decrypt_challenge_token(sealed, kChallengeSequence, challenge_key(), back),
            WireDrop::kOk);
  EXPECT_EQ(back.client_id, kClientId);
  EXPECT_EQ(back.user_data, user_data());
}

TEST_F(ChallengeToken_, PlaintextIsIdUserDataThenZeros) {
  // Open with libsodium directly: four zero bytes then the sequence, little-endian, as nonce.
  const auto sealed = sealed_challenge();
  std::array<uint8_t, 12> nonce{0, 0, 0, 0, 0x34, 0x12, 0, 0, 0, 0, 0, 0};
  std::array<uint8_t, kChallengeTokenBytes - kMacBytes> plain;
  unsigned long long n = 0;
  ASSERT_EQ(crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), &n, nullptr, sealed.data(),
                                                      sealed.size(), nullptr, 0, nonce.data(),
                                                      challenge_key().data()),
            0);
  ASSERT_EQ(n, plain.size());
  EXPECT_EQ(hex(std::span(plain).first(8)), "0807060504030201");
  const UserData u = user_data();
  EXPECT_TRUE(std::equal(u.begin(), u.end(), plain.begin() + 8));
  for (size_t i = 8 + kUserDataBytes; i < plain.size(); ++i) ASSERT_EQ(plain[i], 0) << i;
}

TEST_F(ChallengeToken_, RefusesModifiedBytesWrongKeyWrongSequence) {
  const auto sealed = sealed_challenge();
  ChallengeToken out;
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x40;
    ASSERT_EQ(decrypt_challenge_token(bad, kChallengeSequence, challenge_key(), out),
              WireDrop::kChallengeDecryptFailed)
        << "byte " << i;
  }
  Key wrong = challenge_key();
  wrong[0] ^= 1;
  EXPECT_EQ(decrypt_challenge_token(sealed, kChallengeSequence, wrong, out),
            WireDrop::kChallengeDecryptFailed);
  EXPECT_EQ(decrypt_challenge_token(sealed, kChallengeSequence + 1, challenge_key(), out),
            WireDrop::kChallengeDecryptFailed);
}

// Known answer: produced by this code and checked equal, byte for byte, to the
// reference implementation's output for the same inputs (netcode_vectors.hpp).
TEST_F(ChallengeToken_, KnownAnswer) {
  EXPECT_EQ(sha256_hex(sealed_challenge()),
            "d7904edc04f4e097a746de087c186a57fa53d941b82b75e856a21c913b459c2e");
}

}  // namespace
}  // namespace bypass::conn
