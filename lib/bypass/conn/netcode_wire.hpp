/// @file
/// netcode.io 1.02 on the wire: the sizes and constants of the protocol, the
/// 32-byte key type, and the little-endian byte cursors the token and packet
/// codecs are written with. Pure functions over caller-provided bytes: no
/// allocation, no DPDK, no libsodium here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace bypass::conn {

/// The version info's size: "NETCODE 1.02" with its terminating zero, 13 bytes.
inline constexpr size_t kVersionInfoBytes = 13;
/// The version info, as tokens and packets carry it (and their associated data).
inline constexpr std::array<uint8_t, kVersionInfoBytes> kVersionInfo = {
    'N', 'E', 'T', 'C', 'O', 'D', 'E', ' ', '1', '.', '0', '2', '\0'};

inline constexpr size_t kKeyBytes = 32;              ///< a key: private, session or challenge
inline constexpr size_t kMacBytes = 16;              ///< a Poly1305 tag
inline constexpr size_t kUserDataBytes = 256;        ///< a private token's user data
inline constexpr size_t kMaxServersPerConnect = 32;  ///< server addresses in a token, at most
/// A connect token's nonce (XChaCha20-Poly1305).
inline constexpr size_t kConnectTokenNonceBytes = 24;
inline constexpr size_t kPacketNonceBytes = 12;  ///< a packet's nonce (ChaCha20-Poly1305 IETF)
/// The sealed private connect token, MAC included.
inline constexpr size_t kPrivateConnectTokenBytes = 1024;
inline constexpr size_t kConnectTokenBytes = 2048;   ///< the public token
inline constexpr size_t kChallengeTokenBytes = 300;  ///< a sealed challenge token, MAC included
inline constexpr size_t kMaxPayloadBytes = 1200;     ///< a payload packet's data, at most
inline constexpr size_t kReplayWindow = 256;         ///< sequences a replay window remembers

/// A connection request's size: prefix byte 0, version info, protocol id,
/// expire timestamp, nonce, private token.
inline constexpr size_t kConnectionRequestBytes =
    1 + kVersionInfoBytes + 8 + 8 + kConnectTokenNonceBytes + kPrivateConnectTokenBytes;
static_assert(kConnectionRequestBytes == 1078);

/// Smallest encrypted packet: prefix, one sequence byte, the MAC.
inline constexpr size_t kMinEncryptedPacketBytes = 1 + 1 + kMacBytes;
/// Largest encrypted packet: a full payload behind an 8-byte sequence.
inline constexpr size_t kMaxEncryptedPacketBytes = 1 + 8 + kMaxPayloadBytes + kMacBytes;
/// A buffer this big holds any packet of the protocol.
inline constexpr size_t kMaxPacketBytes = kConnectionRequestBytes > kMaxEncryptedPacketBytes
                                              ? kConnectionRequestBytes
                                              : kMaxEncryptedPacketBytes;

using Key = std::array<uint8_t, kKeyBytes>;                              ///< a 32-byte key
using UserData = std::array<uint8_t, kUserDataBytes>;                    ///< a token's user data
using ConnectTokenNonce = std::array<uint8_t, kConnectTokenNonceBytes>;  ///< a token's nonce
using Mac = std::array<uint8_t, kMacBytes>;                              ///< a Poly1305 tag

/// Little-endian writer over a fixed span. Every put checks room first; after
/// the first put that did not fit, ok() stays false and nothing more is written.
class ByteWriter {
 public:
  /// Writes into `out` from its start.
  explicit ByteWriter(std::span<uint8_t> out) : out_(out) {}

  /// Puts one byte.
  void u8(uint8_t v) {
    if (!room(1)) return;
    out_[pos_++] = v;
  }
  void u16(uint16_t v) { le(v, 2); }  ///< puts 2 bytes, little-endian
  void u32(uint32_t v) { le(v, 4); }  ///< puts 4 bytes, little-endian
  void u64(uint64_t v) { le(v, 8); }  ///< puts 8 bytes, little-endian
  /// Puts `b` as it is.
  void bytes(std::span<const uint8_t> b) {
    if (!room(b.size())) return;
    if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
    pos_ += b.size();
  }
  /// Zero-fills up to `end` (an offset from the start); fails if already past it.
  void zero_to(size_t end) {
    if (end < pos_ || !room(end - pos_)) {
      ok_ = false;
      return;
    }
    std::memset(out_.data() + pos_, 0, end - pos_);
    pos_ = end;
  }

  bool ok() const { return ok_; }       ///< whether every put so far fitted
  size_t size() const { return pos_; }  ///< bytes written so far

 private:
  bool room(size_t n) {
    if (!ok_ || out_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  void le(uint64_t v, size_t n) {
    if (!room(n)) return;
    for (size_t i = 0; i < n; ++i) out_[pos_ + i] = static_cast<uint8_t>(v >> (8 * i));
    pos_ += n;
  }

  std::span<uint8_t> out_;
  size_t pos_ = 0;
  bool ok_ = true;
};

/// Little-endian reader over a fixed span. A get past the end yields zero and
/// leaves ok() false for good, so a parser checks once at the end.
class ByteReader {
 public:
  /// Reads `in` from its start.
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

  uint8_t u8() { return static_cast<uint8_t>(le(1)); }     ///< gets one byte
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }  ///< gets 2 bytes, little-endian
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }  ///< gets 4 bytes, little-endian
  uint64_t u64() { return le(8); }                         ///< gets 8 bytes, little-endian
  /// The next `n` bytes as a view (empty when they are not there).
  std::span<const uint8_t> bytes(size_t n) {
    if (!room(n)) return {};
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  /// Copies the next N bytes into `out` (left as it was when they are not there).
  template <size_t N>
  void copy(std::array<uint8_t, N>& out) {
    auto s = bytes(N);
    if (s.size() == N) std::memcpy(out.data(), s.data(), N);
  }

  bool ok() const { return ok_; }                         ///< whether every get so far fitted
  size_t pos() const { return pos_; }                     ///< bytes read so far
  size_t remaining() const { return in_.size() - pos_; }  ///< bytes not yet read

 private:
  bool room(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  uint64_t le(size_t n) {
    if (!room(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t{in_[pos_ + i]} << (8 * i);
    pos_ += n;
    return v;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

/// Bytes needed for `sequence` with its high zero bytes left out: 1..8 (zero takes one).
constexpr int sequence_bytes(uint64_t sequence) {
  int n = 1;
  while (n < 8 && (sequence >> (8 * n)) != 0) ++n;
  return n;
}

/// Prefix byte of an encrypted packet: sequence byte count high, packet type low.
constexpr uint8_t prefix_byte(uint8_t packet_type, int seq_bytes) {
  return static_cast<uint8_t>((seq_bytes << 4) | (packet_type & 0x0F));
}
/// The packet type of a prefix byte (its low 4 bits).
constexpr uint8_t prefix_type(uint8_t prefix) {
  return prefix & 0x0F;
}
/// The sequence byte count of a prefix byte (its high 4 bits).
constexpr int prefix_sequence_bytes(uint8_t prefix) {
  return prefix >> 4;
}

/// The 96-bit AEAD nonce for a packet or challenge token sequence number:
/// four zero bytes, then the sequence as a little-endian uint64.
constexpr std::array<uint8_t, kPacketNonceBytes> sequence_nonce(uint64_t sequence) {
  std::array<uint8_t, kPacketNonceBytes> n{};
  for (size_t i = 0; i < 8; ++i) n[4 + i] = static_cast<uint8_t>(sequence >> (8 * i));
  return n;
}

}  // namespace bypass::conn
