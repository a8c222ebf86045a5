// Keyed 64-bit hashes for the netcode server's lookup tables. Each table
// draws its own random key, so a peer choosing its source addresses (or
// anything else it controls) cannot aim them at one bucket.
//   - KeyedHash: SipHash-2-4, a keyed PRF, about 50 cycles. For tables any
//     source can fill: the request limiters. bytes() is libsodium's
//     crypto_shorthash; words() computes the same function inline on two
//     64-bit words (their 16 little-endian bytes), without a buffer or a call.
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
  // bytes() of the 16 bytes that are `a` then `b`, each little-endian.
  uint64_t words(uint64_t a, uint64_t b) const {
    uint64_t v0 = k0_ ^ 0x736f6d6570736575ull, v1 = k1_ ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0_ ^ 0x6c7967656e657261ull, v3 = k1_ ^ 0x7465646279746573ull;
    const auto round = [&] {
      v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
      v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
      v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
      v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
    };
    const auto block = [&](uint64_t m) {
      v3 ^= m;
      round(), round();
      v0 ^= m;
    };
    block(a);
    block(b);
    block(uint64_t{16} << 56);  // the length, in the last block's top byte
    v2 ^= 0xff;
    round(), round(), round(), round();
    return v0 ^ v1 ^ v2 ^ v3;
  }

 private:
  static uint64_t rotl(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

  std::array<uint8_t, kKeyBytes> key_{};
  uint64_t k0_ = 0, k1_ = 0;  // key_ as two little-endian words
};

class MixHash {
 public:
  // A random key. crypto_init() must have run.
  MixHash();

  uint64_t words(uint64_t a, uint64_t b, uint64_t c) const {
    return fold(fold(a ^ key_[0], b ^ key_[1]) ^ key_[2], c ^ key_[3]);
  }
  // Type, address bytes of that type and port: equal addresses hash equal.
  // Its low bits (an index's slot) are not random for neighbouring ports:
  // usually they spread better than random, and for about one key in a
  // hundred they cluster. Simulated for 10,000 consecutive ports of one host
  // in 2^18 slots with linear probing, the worst of 150 keys averaged 1.39
  // probes (a random function: 1.02). A splitmix finalizer removes that, and
  // cost 2 % per packet at 10,000 clients in netcode_bench (2026-12-01),
  // whose clients are such ports: kept out.
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
