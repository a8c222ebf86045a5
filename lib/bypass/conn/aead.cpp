#include <bypass/conn/aead.hpp>

#include <sodium.h>

#include <array>
#include <cstring>

namespace bypass::conn::aead {
namespace {

constexpr size_t kBlock = 64;  // block 0: the Poly1305 key; the message from block 1
constexpr size_t kMaxStream = kBlock + kMaxFusedBytes;

// libsodium's ChaCha20 takes 8 blocks at a time from 512 bytes and 4 from 256;
// what is left goes one block at a time, and one such block costs about as
// much as four. So ask for 256 bytes, or a multiple of 512.
constexpr size_t stream_bytes(size_t len) {
  const size_t need = kBlock + len;
  return need <= 256 ? 256 : (need + 511) & ~size_t{511};
}
static_assert(stream_bytes(kMaxFusedBytes) <= kMaxStream);

void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// RFC 8439's tag: Poly1305 over ad, zero padding, ciphertext, zero padding and
// both lengths.
bool mac(uint8_t* tag, const uint8_t* poly_key, std::span<const uint8_t> ad, const uint8_t* c,
         size_t len) {
  static constexpr uint8_t kZeros[16] = {};
  std::array<uint8_t, 32> tail{};
  const size_t pad = (16 - len % 16) % 16;
  put_le64(tail.data() + pad, ad.size());
  put_le64(tail.data() + pad + 8, len);
  crypto_onetimeauth_poly1305_state st;
  const bool ok =
      crypto_onetimeauth_poly1305_init(&st, poly_key) == 0 &&
      crypto_onetimeauth_poly1305_update(&st, ad.data(), ad.size()) == 0 &&
      crypto_onetimeauth_poly1305_update(&st, kZeros, (16 - ad.size() % 16) % 16) == 0 &&
      crypto_onetimeauth_poly1305_update(&st, c, len) == 0 &&
      crypto_onetimeauth_poly1305_update(&st, tail.data(), pad + 16) == 0 &&
      crypto_onetimeauth_poly1305_final(&st, tag) == 0;
  sodium_memzero(&st, sizeof st);
  return ok;
}

// out = in ^ keystream, 16 bytes at a time (in and out are the same buffer or
// disjoint; with them possibly equal a compiler keeps a plain loop scalar).
void xor_stream(const uint8_t* in, uint8_t* out, const uint8_t* ks, size_t len) {
  using V = uint8_t __attribute__((vector_size(16)));
  size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    V a, k;
    std::memcpy(&a, in + i, 16);
    std::memcpy(&k, ks + i, 16);
    a ^= k;
    std::memcpy(out + i, &a, 16);
  }
  for (; i < len; ++i) out[i] = static_cast<uint8_t>(in[i] ^ ks[i]);
}

}  // namespace

bool seal(const uint8_t* in, uint8_t* out, size_t len, uint8_t* tag, std::span<const uint8_t> ad,
          const uint8_t* nonce, const uint8_t* key) {
  if (len > kMaxFusedBytes) {
    return crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, tag, nullptr, in, len, ad.data(),
                                                              ad.size(), nullptr, nonce, key) == 0;
  }
  alignas(64) uint8_t ks[kMaxStream];
  const size_t n = stream_bytes(len);
  bool ok = crypto_stream_chacha20_ietf(ks, n, nonce, key) == 0;
  if (ok) {
    xor_stream(in, out, ks + kBlock, len);
    ok = mac(tag, ks, ad, out, len);
  }
  // All of it: the keystream and the ciphertext give back the plaintext.
  sodium_memzero(ks, n);
  return ok;
}

namespace {

// open(), decrypting the first `head` bytes only (the tag still covers `len`).
bool open_head(const uint8_t* in, uint8_t* out, size_t len, size_t head, const uint8_t* tag,
               std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key) {
  if (len > kMaxFusedBytes) {
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, nullptr, in, len, tag, ad.data(),
                                                              ad.size(), nonce, key) == 0;
  }
  if (head > len) head = len;
  alignas(64) uint8_t ks[kMaxStream];
  const size_t n = stream_bytes(head);
  uint8_t want[kTagBytes];
  bool ok = crypto_stream_chacha20_ietf(ks, n, nonce, key) == 0 && mac(want, ks, ad, in, len) &&
            crypto_verify_16(want, tag) == 0;
  if (ok) xor_stream(in, out, ks + kBlock, head);
  // All of it: with the ciphertext, the keystream gives back the plaintext
  // (keys, in a connect token), and a forged packet's keystream is one a
  // later genuine packet may use.
  sodium_memzero(ks, n);
  return ok;
}

}  // namespace

bool open(const uint8_t* in, uint8_t* out, size_t len, const uint8_t* tag,
          std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key) {
  return open_head(in, out, len, len, tag, ad, nonce, key);
}

namespace {

// XChaCha20: HChaCha20 of the key and the nonce's first 16 bytes is the key,
// four zero bytes and the nonce's last 8 the IETF nonce.
struct XKey {
  uint8_t key[kKeyBytes];
  uint8_t nonce[kNonceBytes] = {};
  XKey() = default;
  XKey(const XKey&) = delete;
  ~XKey() { sodium_memzero(key, sizeof key); }
  bool derive(const uint8_t* xnonce, const uint8_t* k) {
    for (size_t i = 0; i < 8; ++i) nonce[4 + i] = xnonce[16 + i];
    return crypto_core_hchacha20(key, xnonce, k, nullptr) == 0;
  }
};

}  // namespace

bool xseal(const uint8_t* in, uint8_t* out, size_t len, uint8_t* tag, std::span<const uint8_t> ad,
           const uint8_t* nonce, const uint8_t* key) {
  XKey x;
  return x.derive(nonce, key) && seal(in, out, len, tag, ad, x.nonce, x.key);
}

bool xopen(const uint8_t* in, uint8_t* out, size_t len, const uint8_t* tag,
           std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key) {
  return xopen_head(in, out, len, len, tag, ad, nonce, key);
}

bool xopen_head(const uint8_t* in, uint8_t* out, size_t len, size_t head, const uint8_t* tag,
                std::span<const uint8_t> ad, const uint8_t* nonce, const uint8_t* key) {
  XKey x;
  return x.derive(nonce, key) && open_head(in, out, len, head, tag, ad, x.nonce, x.key);
}

}  // namespace bypass::conn::aead
