/// @file
/// Batch: the unit of work on the fast path. A fixed-capacity array of up to
/// kMaxBurst rte_mbuf pointers, seen as a std::span. Never a linked list, never
/// allocated per packet. DropBatch collects packets to free in bulk later.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <span>

namespace bypass {

/// The most packets a Batch holds, and the burst size of RX and TX calls.
inline constexpr uint16_t kMaxBurst = 32;

/// Up to kMaxBurst packets; see the file's description. It does not own them:
/// whoever holds the batch sends, hands on or frees them.
class Batch {
 public:
  /// An empty batch.
  Batch() = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  uint16_t size() const { return size_; }              ///< packets in the batch
  bool empty() const { return size_ == 0; }            ///< no packet
  bool full() const { return size_ == kMaxBurst; }     ///< kMaxBurst packets
  uint16_t room() const { return kMaxBurst - size_; }  ///< packets push() may still add

  /// The packet at index `i` (below size()).
  rte_mbuf* operator[](uint16_t i) const { return pkts_[i]; }
  /// The array of kMaxBurst slots, for a PMD or ring to fill (then set_size()).
  rte_mbuf** data() { return pkts_.data(); }
  /// The packets, as a span.
  std::span<rte_mbuf*> span() { return {pkts_.data(), size_}; }
  /// The packets, as a span.
  std::span<rte_mbuf* const> span() const { return {pkts_.data(), size_}; }
  rte_mbuf** begin() { return pkts_.data(); }        ///< the first packet
  rte_mbuf** end() { return pkts_.data() + size_; }  ///< one past the last packet

  /// Appends one packet; the caller checks full() first (asserted in debug builds).
  void push(rte_mbuf* m) { pkts_[size_++] = m; }
  /// Sets the count after a PMD or ring filled data() directly.
  void set_size(uint16_t n) { size_ = n; }
  /// Forgets the packets (without freeing them).
  void clear() { size_ = 0; }
  /// Keeps the packets from index `from` on, moved to the front (after a short TX).
  void drop_front(uint16_t n) {
    for (uint16_t i = n; i < size_; ++i) pkts_[i - n] = pkts_[i];
    size_ = static_cast<uint16_t>(size_ - n);
  }
  /// Frees every packet in bulk and empties the batch.
  void free_all() {
    if (size_) rte_pktmbuf_free_bulk(pkts_.data(), size_);
    size_ = 0;
  }

 private:
  std::array<rte_mbuf*, kMaxBurst> pkts_;
  uint16_t size_ = 0;
};

}  // namespace bypass
