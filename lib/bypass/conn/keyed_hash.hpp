// Keyed 64-bit hashes (SipHash-2-4, libsodium's crypto_shorthash) for the
// netcode server's lookup tables. Each table draws its own random key, so a
// peer choosing its source addresses (or anything else it controls) cannot
// aim them at one bucket of an open-addressing table.
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

}  // namespace bypass::conn
