#include <bypass/conn/keyed_hash.hpp>

#include <sodium.h>

namespace bypass::conn {

static_assert(KeyedHash::kKeyBytes == crypto_shorthash_KEYBYTES);
static_assert(crypto_shorthash_BYTES == 8);

KeyedHash::KeyedHash() {
  randombytes_buf(key_.data(), key_.size());
  for (size_t i = 0; i < 8; ++i) {
    k0_ |= uint64_t{key_[i]} << (8 * i);
    k1_ |= uint64_t{key_[8 + i]} << (8 * i);
  }
}

KeyedHash::~KeyedHash() {
  sodium_memzero(key_.data(), key_.size());
  sodium_memzero(&k0_, sizeof k0_);
  sodium_memzero(&k1_, sizeof k1_);
}

MixHash::MixHash() {
  randombytes_buf(key_.data(), sizeof key_);
}

uint64_t KeyedHash::bytes(std::span<const uint8_t> data) const {
  std::array<uint8_t, crypto_shorthash_BYTES> out{};
  // crypto_shorthash is documented to return 0; on anything else every key
  // hashes to 0, which keeps the tables correct (one long probe run), just slow.
  if (crypto_shorthash(out.data(), data.data(), data.size(), key_.data()) != 0) return 0;
  uint64_t h = 0;
  for (size_t i = 0; i < out.size(); ++i) h |= uint64_t{out[i]} << (8 * i);
  return h;
}

}  // namespace bypass::conn
