#include <bypass/conn/replay.hpp>

namespace bypass::conn {

void ReplayProtection::reset() {
  most_recent_ = 0;
  slot_.fill(0);
  used_.reset();
}

bool ReplayProtection::already_received(uint64_t sequence) const {
  // Written as a subtraction so sequences near 2^64 cannot wrap around.
  if (most_recent_ >= kWindow && sequence <= most_recent_ - kWindow) return true;
  const size_t i = sequence % kWindow;
  // A slot holding this sequence or a later one: either a replay, or (later by
  // 256 or more) this sequence is out of the window already.
  return used_[i] && slot_[i] >= sequence;
}

void ReplayProtection::advance(uint64_t sequence) {
  if (sequence > most_recent_) most_recent_ = sequence;
  const size_t i = sequence % kWindow;
  if (used_[i] && slot_[i] >= sequence) return;  // never forget a later sequence
  slot_[i] = sequence;
  used_[i] = true;
}

}  // namespace bypass::conn
