#include <bypass/conn/replay.hpp>

namespace bypass::conn {

static_assert(ReplayProtection::kWindow % 64 == 0, "the window is whole 64-bit words");

void ReplayProtection::reset() {
  most_recent_ = 0;
  bits_.fill(0);
}

bool ReplayProtection::already_received(uint64_t sequence) const {
  // Written as a subtraction so sequences near 2^64 cannot wrap around.
  if (most_recent_ >= kWindow && sequence <= most_recent_ - kWindow) return true;
  // Ahead of the newest: its bit is left from 256 or more before, stale.
  return sequence <= most_recent_ && bit(sequence);
}

void ReplayProtection::advance(uint64_t sequence) {
  if (most_recent_ >= kWindow && sequence <= most_recent_ - kWindow) return;
  if (sequence > most_recent_) {
    // Clear the bits of most_recent_ + 1 .. sequence: they held sequences
    // that have now left the window. A whole window's jump clears them all.
    uint64_t n = sequence - most_recent_;
    if (n >= kWindow) {
      bits_.fill(0);
    } else {
      uint64_t at = (most_recent_ + 1) % kWindow;
      while (n > 0) {
        const uint64_t off = at % 64;
        const uint64_t take = n < 64 - off ? n : 64 - off;
        const uint64_t mask = take == 64 ? ~uint64_t{0} : ((uint64_t{1} << take) - 1) << off;
        bits_[at / 64] &= ~mask;
        n -= take;
        at = (at + take) % kWindow;
      }
    }
    most_recent_ = sequence;
  }
  bits_[(sequence % kWindow) / 64] |= uint64_t{1} << (sequence % 64);
}

}  // namespace bypass::conn
