/// @file
/// Replay protection for netcode.io encrypted packets (keep-alive, payload,
/// disconnect): remembers the newest sequence received and which of the 256
/// up to it arrived, so a recorded packet played back is refused. One per
/// connection and direction; 40 bytes (one cache line with room to spare),
/// allocation-free.
///
/// Accepts what the reference's 256 slots of sequences accept: a sequence is
/// refused when it is 256 or more behind the newest, or was received. The
/// window is a ring of 256 bits, bit s % 256 for sequence s; moving the newest
/// forward clears the bits of the sequences it passes over.
#pragma once

#include <array>
#include <cstdint>

#include <bypass/conn/netcode_wire.hpp>

namespace bypass::conn {

/// The replay window of one connection in one direction (see the file comment).
class ReplayProtection {
 public:
  static constexpr uint64_t kWindow = kReplayWindow;  ///< sequences remembered: 256

  /// An empty window, as after reset().
  ReplayProtection() { reset(); }

  /// Forgets everything (a new connection).
  void reset();

  /// True if `sequence` must be refused: 256 or more behind the newest one
  /// received, or already received. Checked before decrypting.
  bool already_received(uint64_t sequence) const;

  /// Records `sequence` as received (nothing if it is 256 or more behind the
  /// newest), making it the newest if it is ahead. Call only after the packet
  /// decrypted.
  void advance(uint64_t sequence);

  /// The newest sequence recorded (0 before any).
  uint64_t most_recent() const { return most_recent_; }

 private:
  static constexpr unsigned kWords = kWindow / 64;
  bool bit(uint64_t s) const { return (bits_[(s % kWindow) / 64] >> (s % 64)) & 1; }

  uint64_t most_recent_ = 0;
  /// Bit s % 256: sequence s, for s in (most_recent_ - 256, most_recent_], was received.
  std::array<uint64_t, kWords> bits_{};
};

}  // namespace bypass::conn
