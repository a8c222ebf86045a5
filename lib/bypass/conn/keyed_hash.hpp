// Keyed 64-bit hashes for the netcode server's lookup tables. Each table
// draws its own random key, so a peer choosing its source addresses (or
// anything else it controls) cannot aim them at one bucket.
//   - KeyedHash: SipHash-2-4 (libsodium's crypto_shorthash), about 50
//     cycles. For tables any source can fill: the per-source request limiter.
//   - MixHash: two rounds of a 64x64->128-bit multiply folded by xor, keyed
//     by four random words, a few cycles and inline. Not a PRF; for tables
//     whose entries only a valid connect token creates (the encryption
//     mappings: a source gets one only for a token that decrypted, one token
//     per address), or whose keys no peer picks (token MACs, client ids that
//     the backend assigns). Every payload packet pays one lookup, so this is
//     the per-packet hash.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <bypass/conn/netcode_address.hpp>

namespace bypass::conn {

class KeyedHash {
 public:
  static constexpr size_t kKeyBytes = 16;

  // A random key. crypto_init() must have run.
  KeyedHash();
  ~KeyedHash();
  KeyedHash(const KeyedHash&) = default;
  KeyedHash& operator=(const KeyedHash&) = default;

  uint64_t bytes(std::span<const uint8_t> data) const;
  // Type, address bytes of that type and port: equal addresses hash equal.
  uint64_t address(const NetcodeAddress& a) const;
  uint64_t u64(uint64_t v) const;

 private:
  std::array<uint8_t, kKeyBytes> key_{};
};

class MixHash {
 public:
  // A random key. crypto_init() must have run.
  MixHash();

  uint64_t words(uint64_t a, uint64_t b, uint64_t c) const {
    return fold(fold(a ^ key_[0], b ^ key_[1]) ^ key_[2], c ^ key_[3]);
  }
  // Type, address bytes of that type and port: equal addresses hash equal.
  uint64_t address(const NetcodeAddress& a) const {
    const uint64_t tail = uint64_t{static_cast<uint8_t>(a.type)} | uint64_t{a.port} << 8;
    if (a.type == AddressType::kIpv6) {
      uint64_t hi = 0, lo = 0;
      for (size_t i = 0; i < 4; ++i) hi |= uint64_t{a.ipv6[i]} << (16 * i);
      for (size_t i = 0; i < 4; ++i) lo |= uint64_t{a.ipv6[4 + i]} << (16 * i);
      return words(hi, lo, tail);
    }
    uint64_t v4 = 0;
    if (a.type == AddressType::kIpv4)
      for (size_t i = 0; i < 4; ++i) v4 |= uint64_t{a.ipv4[i]} << (8 * i);
    return words(v4, 0, tail);
  }

 private:
  static uint64_t fold(uint64_t x, uint64_t y) {
    const unsigned __int128 p = static_cast<unsigned __int128>(x) * y;
    return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
  }
  std::array<uint64_t, 4> key_{};
};

}  // namespace bypass::conn
