/// @file
/// JournalSink: how a worker hands state changes (a neighbour learned, changed
/// or gone; a connection opened or closed) to the control thread, which keeps
/// the journal (control/journal.hpp). One bounded single-producer,
/// single-consumer ring per worker: push() never blocks, never allocates and
/// makes no system call (the time comes from the vDSO); an event that does not
/// fit is counted, not waited for.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include <bypass/core/counter.hpp>

namespace bypass {

/// What changed.
enum class JournalKind : uint8_t {
  kNeighborLearned,   ///< a neighbour's MAC address learned (port, ip, mac)
  kNeighborChanged,   ///< a neighbour's MAC address changed (port, ip, mac, old_mac)
  kNeighborExpired,   ///< a neighbour forgotten (port, ip, mac)
  kLinkUp,            ///< a port's link came up (port)
  kLinkDown,          ///< a port's link went down (port)
  kConnectionOpened,  ///< a connection opened (id, ip)
  kConnectionClosed,  ///< a connection closed (id, ip, code)
  kConfigApplied,     ///< a config applied (control thread)
};

/// One state change. Plain bytes, so that the ring copies it with memcpy.
struct JournalEvent {
  JournalKind kind = JournalKind::kNeighborLearned;  ///< what changed
  uint8_t family = 0;                                ///< 4 or 6 for an address, else 0
  uint16_t port = 0;                                 ///< the port's index
  uint32_t worker = 0;                               ///< from 1; 0 is the control thread
  int64_t unix_ns = 0;                               ///< when, in Unix nanoseconds
  std::array<uint8_t, 16> ip{};                      ///< the address (4 bytes for IPv4)
  ///@{
  /// A neighbour's MAC address, and the one it had before.
  std::array<uint8_t, 6> mac{}, old_mac{};
  ///@}
  uint64_t id = 0;    ///< a connection's client id
  uint32_t code = 0;  ///< why a connection closed
};

/// One worker's ring of events to the control thread; see the file's description.
class JournalSink {
 public:
  /// A ring for `worker` of at least `capacity` events (a power of two, 16 or more).
  explicit JournalSink(uint32_t worker, size_t capacity = 1024)
      : worker_(worker), slots_(round_up(capacity)), mask_(slots_.size() - 1) {}
  uint32_t worker() const { return worker_; }  ///< the worker it belongs to

  /// Producer (the worker): stamps the event with the time and the worker.
  /// Returns false, and counts it in dropped(), when the ring is full.
  bool push(JournalEvent e) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) {
      dropped_.add();
      return false;
    }
    e.worker = worker_;
    e.unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    slots_[head & mask_] = e;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  /// Consumer (the control thread): the oldest event into `out`; false if there is none.
  bool pop(JournalEvent* out) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return false;
    *out = slots_[tail & mask_];
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  uint64_t dropped() const { return dropped_.get(); }  ///< events that found the ring full

 private:
  static size_t round_up(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
  }
  uint32_t worker_;
  std::vector<JournalEvent> slots_;
  uint64_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  Counter dropped_;
};

}  // namespace bypass
