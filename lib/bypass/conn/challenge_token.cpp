#include <bypass/conn/challenge_token.hpp>

#include <bypass/conn/aead.hpp>

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
  return aead::seal(out.data(), out.data(), kPlainBytes, out.data() + kPlainBytes, {}, nonce.data(),
                    challenge_key.data());
}

WireDrop decrypt_challenge_token(std::span<const uint8_t, kChallengeTokenBytes> sealed,
                                 uint64_t sequence, const Key& challenge_key, ChallengeToken& out) {
  const auto nonce = sequence_nonce(sequence);
  std::array<uint8_t, kPlainBytes> plain;
  if (!aead::open(sealed.data(), plain.data(), kPlainBytes, sealed.data() + kPlainBytes, {},
                  nonce.data(), challenge_key.data())) {
    return WireDrop::kChallengeDecryptFailed;
  }
  ByteReader r(plain);
  out.client_id = r.u64();
  r.copy(out.user_data);
  return WireDrop::kOk;
}

}  // namespace bypass::conn
