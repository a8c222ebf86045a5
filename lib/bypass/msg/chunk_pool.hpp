/// @file
/// ChunkPool: the memory a worker's message sessions queue and reassemble in:
/// fixed 1024-byte chunks (one fragment each) carved from one block taken at
/// start, handed out and back through a free list, plus one 64 KiB scratch
/// buffer a whole message is assembled in before delivery. A chunk may be
/// shared (a room publication queued to many members): it is counted, and
/// goes back to the free list when its last holder gives it. Bounds what all
/// connections of a worker hold together; nothing is allocated per packet.
/// The last eighth is kept for connections that hold little (may_take), so a
/// few whose peers stop acknowledging cannot take it all from the others.
/// One thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include <bypass/core/huge_array.hpp>
#include <bypass/msg/msg_wire.hpp>

namespace bypass::msg {

/// A worker's message chunks and scratch buffer; see the file's description.
class ChunkPool {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;  ///< take(): no chunk was free

  /// A pool of `chunks` chunks, all free.
  explicit ChunkPool(uint32_t chunks)
      : mem_(size_t{chunks} * kFragmentBytes),
        free_(chunks),
        refs_(chunks),
        top_(chunks),
        scratch_(kMaxMessageBytes) {
    for (uint32_t i = 0; i < chunks; ++i) free_[i] = chunks - 1 - i;
  }

  /// A free chunk, held once, or kNone when none is free.
  uint32_t take() {
    const uint32_t top = top_.load(std::memory_order_relaxed);
    if (top == 0) return kNone;
    const uint32_t c = free_[top - 1];
    top_.store(top - 1, std::memory_order_relaxed);
    refs_[c] = 1;
    return c;
  }
  /// One more holder of a taken chunk.
  void share(uint32_t c) { ++refs_[c]; }
  /// A holder lets go; the last one returns the chunk (the free list has a
  /// place for every chunk).
  void give(uint32_t c) {
    if (--refs_[c] != 0) return;
    const uint32_t top = top_.load(std::memory_order_relaxed);
    free_[top] = c;
    top_.store(top + 1, std::memory_order_relaxed);
  }
  /// The kFragmentBytes bytes of chunk `c`.
  uint8_t* data(uint32_t c) { return mem_.data() + size_t{c} * kFragmentBytes; }

  /// Whether a holder of `holding` chunks may take `n` more: while the pool
  /// keeps its reserve, or for a holder that stays within one whole message
  /// (kMaxFragments chunks) with them.
  bool may_take(uint32_t n, uint32_t holding) const {
    const uint32_t top = available();
    return top >= n && (top - n >= reserve() || uint64_t{holding} + n <= kMaxFragments);
  }
  /// Free chunks kept back for holders within one message (see may_take).
  uint32_t reserve() const { return capacity() / 8; }

  /// Free chunks. Also read by the control thread's reports (relaxed: the owner
  /// alone writes).
  uint32_t available() const { return top_.load(std::memory_order_relaxed); }
  /// Chunks in the pool, free or taken.
  uint32_t capacity() const { return static_cast<uint32_t>(mem_.size() / kFragmentBytes); }
  /// The buffer a whole message is assembled in (kMaxMessageBytes).
  std::span<uint8_t> scratch() { return scratch_; }

 private:
  /// Chunks start on cache lines (a 64-byte message is one line, not two) and
  /// on 2 MB pages where the kernel gives them (no TLB miss per chunk).
  HugeArray<uint8_t> mem_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> refs_;  ///< holders of each taken chunk
  std::atomic<uint32_t> top_;   ///< free_[0, top_) are free; written by the owner only
  std::vector<uint8_t> scratch_;
};

}  // namespace bypass::msg
