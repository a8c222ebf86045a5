// A fixed-capacity open-addressing index from a 64-bit hash to a 32-bit value
// (an index into the owner's own array, where the real key lives): linear
// probing, deletion by backward shift (no tombstones), at most half full, so
// a lookup touches one or two slots on average. Memory is allocated once, in
// the constructor; find, insert and erase never allocate. Callers hash with a
// keyed hash (keyed_hash.hpp) so peers cannot build long probe runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <bypass/core/huge_array.hpp>

namespace bypass::conn {

class HashIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  // Largest max_entries accepted (the slot count stays within 2^31).
  static constexpr uint32_t kMaxEntries = 1u << 30;

  // Room for `max_entries` values (clamped to [1, kMaxEntries]) in a power of
  // two slot count at least twice that.
  explicit HashIndex(uint32_t max_entries);

  // The value stored under `hash` for which match(value) is true, or kNone.
  template <typename Match>
  uint32_t find(uint64_t hash, Match&& match) const {
    const auto h = static_cast<uint32_t>(hash);
    for (uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kNone) return kNone;
      if (s.hash == h && match(s.value)) return s.value;
    }
  }

  // Asks the CPU to fetch the slot a find() of `hash` starts at.
  void prefetch(uint64_t hash) const {
    __builtin_prefetch(&slots_[static_cast<uint32_t>(hash) & mask_]);
  }

  // Adds `value` under `hash`; false when max_entries values are stored. The
  // caller makes sure the key is not already present.
  bool insert(uint64_t hash, uint32_t value);
  // Removes `value` stored under `hash`; false if it is not there.
  bool erase(uint64_t hash, uint32_t value);
  void clear();

  uint32_t size() const { return size_; }
  uint32_t max_entries() const { return max_entries_; }
  size_t slot_count() const { return slots_.size(); }
  static constexpr size_t kBytesPerSlot = 8;

 private:
  struct Slot {
    uint32_t value = kNone;
    uint32_t hash = 0;  // low 32 bits of the hash: home slot, and a cheap first compare
  };
  static_assert(sizeof(Slot) == kBytesPerSlot);

  HugeArray<Slot> slots_;
  uint32_t mask_ = 0;
  uint32_t size_ = 0;
  uint32_t max_entries_ = 0;
};

}  // namespace bypass::conn
