#include <bypass/conn/hash_index.hpp>

#include <algorithm>

namespace bypass::conn {

HashIndex::HashIndex(uint32_t max_entries)
    : max_entries_(std::clamp<uint32_t>(max_entries, 1, kMaxEntries)) {
  uint32_t slots = 8;
  while (slots < 2 * max_entries_) slots *= 2;
  slots_ = HugeArray<Slot>(slots);
  mask_ = slots - 1;
}

bool HashIndex::insert(uint64_t hash, uint32_t value) {
  if (size_ >= max_entries_ || value == kNone) return false;
  const auto h = static_cast<uint32_t>(hash);
  uint32_t i = h & mask_;
  while (slots_[i].value != kNone) i = (i + 1) & mask_;
  slots_[i] = Slot{value, h};
  ++size_;
  return true;
}

bool HashIndex::erase(uint64_t hash, uint32_t value) {
  const auto h = static_cast<uint32_t>(hash);
  uint32_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    if (slots_[i].value == kNone) return false;
    if (slots_[i].value == value && slots_[i].hash == h) break;
  }
  // Backward shift: pull later members of the probe run into the hole when
  // their home slot does not lie (cyclically) between the hole and them.
  uint32_t hole = i;
  for (uint32_t j = (hole + 1) & mask_; slots_[j].value != kNone; j = (j + 1) & mask_) {
    const uint32_t home = slots_[j].hash & mask_;
    const uint32_t dist_home = (j - home) & mask_;  // how far j is from its home
    const uint32_t dist_hole = (j - hole) & mask_;  // how far j is from the hole
    if (dist_home >= dist_hole) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  --size_;
  return true;
}

void HashIndex::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{});
  size_ = 0;
}

}  // namespace bypass::conn
