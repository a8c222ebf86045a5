#include <bypass/conn/keyed_hash.hpp>

#include <sodium.h>

namespace bypass::conn {

static_assert(KeyedHash::kKeyBytes == crypto_shorthash_KEYBYTES);
static_assert(crypto_shorthash_BYTES == 8);

KeyedHash::KeyedHash() {
  randombytes_buf(key_.data(), key_.size());
}

KeyedHash::~KeyedHash() {
  sodium_memzero(key_.data(), key_.size());
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

uint64_t KeyedHash::address(const NetcodeAddress& a) const {
  // The wire encoding is canonical (the unused member is left out): at most 19 bytes.
  std::array<uint8_t, 1 + 16 + 2> buf{};
  ByteWriter w(buf);
  if (!write_address(w, a)) {
    w.u8(static_cast<uint8_t>(a.type));
    w.u16(a.port);
  }
  return bytes(std::span<const uint8_t>(buf.data(), w.size()));
}

uint64_t KeyedHash::u64(uint64_t v) const {
  std::array<uint8_t, 8> buf{};
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(v >> (8 * i));
  return bytes(buf);
}

}  // namespace bypass::conn
