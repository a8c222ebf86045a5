/// @file
/// RendezvousTable: rendezvous (highest random weight) hashing, precomputed.
/// Each of 65536 slots holds the member that scores highest for it, with a
/// score keyed by the member's own value (an address), so that removing a
/// member moves only the slots it held and adding one takes slots only for
/// itself. A lookup is one read: slot = flow hash mod 65536. Built on the
/// control thread, then only read (by any number of workers).
#pragma once

#include <cstdint>
#include <vector>

namespace bypass {

/// Flow hash to member (a backend's address), by rendezvous hashing.
class RendezvousTable {
 public:
  static constexpr uint32_t kSlots = 65536;  ///< slots in the table

  /// The table for `members` (distinct values; none: every pick() is 0).
  explicit RendezvousTable(const std::vector<uint32_t>& members) : slots_(kSlots, 0) {
    empty_ = members.empty();
    for (uint32_t s = 0; s < kSlots; ++s) {
      uint64_t best = 0;
      for (uint32_t m : members)
        if (const uint64_t v = score(s, m); v >= best) best = v, slots_[s] = m;
    }
  }
  bool empty() const { return empty_; }  ///< no members
  /// The member for a flow's hash.
  uint32_t pick(uint32_t flow_hash) const { return slots_[flow_hash % kSlots]; }

 private:
  static uint64_t score(uint64_t slot, uint64_t member) {  // splitmix64's finaliser
    uint64_t z = slot << 32 ^ member;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::vector<uint32_t> slots_;
  bool empty_ = true;
};

}  // namespace bypass
