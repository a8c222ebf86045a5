// Replay protection for netcode.io encrypted packets (keep-alive, payload,
// disconnect): remembers the newest sequence received and which of the 256
// before it arrived, so a recorded packet played back is refused. One per
// connection and direction; fixed size, allocation-free.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>

#include <bypass/conn/netcode_wire.hpp>

namespace bypass::conn {

class ReplayProtection {
 public:
  static constexpr uint64_t kWindow = kReplayWindow;

  ReplayProtection() { reset(); }

  // Forgets everything (a new connection).
  void reset();

  // True if `sequence` must be refused: 256 or more behind the newest one
  // received, or already received. Checked before decrypting.
  bool already_received(uint64_t sequence) const;

  // Records `sequence` as received. Call only after the packet decrypted.
  void advance(uint64_t sequence);

  uint64_t most_recent() const { return most_recent_; }

 private:
  uint64_t most_recent_ = 0;
  std::array<uint64_t, kWindow> slot_{};  // the sequence last received at sequence % 256
  std::bitset<kWindow> used_;             // slot_ holds a sequence
};

}  // namespace bypass::conn
