#include <bypass/conn/challenge_token.hpp>

#include <sodium.h>

namespace bypass::conn {
namespace {
constexpr size_t kPlainBytes = kChallengeTokenBytes - kMacBytes;
}  // namespace

bool encrypt_challenge_token(const ChallengeToken& token, uint64_t sequence,
                             const Key& challenge_key,
                             std::span<uint8_t, kChallengeTokenBytes> out) {
  ByteWriter w(out);
  w.u64(token.client_id);
  w.bytes(token.user_data);
  w.zero_to(kChallengeTokenBytes);
  if (!w.ok()) return false;
  const auto nonce = sequence_nonce(sequence);
  unsigned long long sealed_len = 0;
  const int rc = crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &sealed_len, out.data(),
                                                           kPlainBytes, nullptr, 0, nullptr,
                                                           nonce.data(), challenge_key.data());
  return rc == 0 && sealed_len == kChallengeTokenBytes;
}

WireDrop decrypt_challenge_token(std::span<const uint8_t, kChallengeTokenBytes> sealed,
                                 uint64_t sequence, const Key& challenge_key, ChallengeToken& out) {
  const auto nonce = sequence_nonce(sequence);
  std::array<uint8_t, kPlainBytes> plain;
  unsigned long long plain_len = 0;
  const int rc = crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), &plain_len, nullptr,
                                                           sealed.data(), sealed.size(), nullptr, 0,
                                                           nonce.data(), challenge_key.data());
  if (rc != 0 || plain_len != kPlainBytes) return WireDrop::kChallengeDecryptFailed;
  ByteReader r(plain);
  out.client_id = r.u64();
  r.copy(out.user_data);
  return WireDrop::kOk;
}

}  // namespace bypass::conn
