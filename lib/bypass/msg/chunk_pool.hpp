// ChunkPool: the memory a worker's message sessions queue and reassemble in:
// fixed 1024-byte chunks (one fragment each) carved from one block taken at
// start, handed out and back through a free list, plus one 64 KiB scratch
// buffer a whole message is assembled in before delivery. A chunk may be
// shared (a room publication queued to many members): it is counted, and
// goes back to the free list when its last holder gives it. Bounds what all
// connections of a worker hold together; nothing is allocated per packet.
// One thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <bypass/msg/msg_wire.hpp>

namespace bypass::msg {

class ChunkPool {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit ChunkPool(uint32_t chunks)
      : mem_(size_t{chunks} * kFragmentBytes),
        free_(chunks),
        refs_(chunks),
        scratch_(kMaxMessageBytes) {
    for (uint32_t i = 0; i < chunks; ++i) free_[i] = chunks - 1 - i;
  }

  uint32_t take() {
    if (free_.empty()) return kNone;
    const uint32_t c = free_.back();
    free_.pop_back();
    refs_[c] = 1;
    return c;
  }
  // One more holder of a taken chunk.
  void share(uint32_t c) { ++refs_[c]; }
  // A holder lets go; the last one returns the chunk (capacity reserved: never allocates).
  void give(uint32_t c) {
    if (--refs_[c] == 0) free_.push_back(c);
  }
  uint8_t* data(uint32_t c) { return mem_.data() + size_t{c} * kFragmentBytes; }

  uint32_t available() const { return static_cast<uint32_t>(free_.size()); }
  uint32_t capacity() const { return static_cast<uint32_t>(mem_.size() / kFragmentBytes); }
  std::span<uint8_t> scratch() { return scratch_; }

 private:
  std::vector<uint8_t> mem_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> refs_;  // holders of each taken chunk
  std::vector<uint8_t> scratch_;
};

}  // namespace bypass::msg
