/// @file
/// ConnectionList: a handler's connections as the control thread may read
/// them while the worker runs (bypassctl conns). The worker writes a slot when
/// a connection opens or closes (rare), under a sequence lock of atomics; the
/// reader copies a slot and retries if a write overlapped. No lock, no wait
/// on the worker's side.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <bypass/core/prefetch.hpp>
#include <bypass/net/addr.hpp>

namespace bypass {

/// One connection, as listed.
struct ConnectionRow {
  uint64_t client_id = 0;   ///< the client's id
  SockAddr remote;          ///< the client's address and port
  uint64_t since_unix = 0;  ///< when it opened: Unix time, seconds
  unsigned worker = 0;      ///< from 1
  uint16_t service = 0;     ///< the UDP port of its service
};

/// A handler's open connections, one slot each; see the file's description.
class ConnectionList {
 public:
  /// Room for `slots` connections, in slots 0 to slots - 1.
  explicit ConnectionList(size_t slots) : slots_(std::make_unique<Slot[]>(slots)), n_(slots) {}

  ///@{
  /// Worker: slot `i` holds a connection now, or (close) none.
  void open(size_t i, uint64_t client_id, const SockAddr& remote, uint64_t since_unix) {
    if (i >= n_) return;
    Slot& s = slots_[i];
    const uint64_t seq = s.seq.load(std::memory_order_relaxed);
    s.seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    uint64_t lo = 0, hi = 0;
    for (int k = 0; k < 8; ++k) {
      lo |= uint64_t{remote.ip.b[k]} << (8 * k);
      hi |= uint64_t{remote.ip.b[8 + k]} << (8 * k);
    }
    s.id.store(client_id, std::memory_order_relaxed);
    s.ip_lo.store(lo, std::memory_order_relaxed);
    s.ip_hi.store(hi, std::memory_order_relaxed);
    s.meta.store(
        1 | uint64_t{static_cast<uint8_t>(remote.ip.family)} << 8 | uint64_t{remote.port} << 16,
        std::memory_order_relaxed);
    s.since.store(since_unix, std::memory_order_relaxed);
    s.seq.store(seq + 2, std::memory_order_release);
  }
  /// Before open(i): the slot's lines, fetched for writing.
  void prefetch(size_t i) const {
    if (i < n_) prefetch_object<kForWrite>(&slots_[i]);
  }
  void close(size_t i) {
    if (i >= n_) return;
    Slot& s = slots_[i];
    const uint64_t seq = s.seq.load(std::memory_order_relaxed);
    s.seq.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    s.meta.store(0, std::memory_order_relaxed);
    s.seq.store(seq + 2, std::memory_order_release);
  }
  ///@}

  /// Control thread: appends the open connections.
  void read(std::vector<ConnectionRow>& out) const {
    for (size_t i = 0; i < n_; ++i) {
      const Slot& s = slots_[i];
      for (int tries = 0; tries < 64; ++tries) {
        const uint64_t a = s.seq.load(std::memory_order_acquire);
        if (a & 1) continue;
        const uint64_t meta = s.meta.load(std::memory_order_relaxed);
        ConnectionRow r;
        r.client_id = s.id.load(std::memory_order_relaxed);
        const uint64_t lo = s.ip_lo.load(std::memory_order_relaxed);
        const uint64_t hi = s.ip_hi.load(std::memory_order_relaxed);
        r.since_unix = s.since.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.seq.load(std::memory_order_relaxed) != a) continue;
        if (!(meta & 1)) break;
        r.remote.ip.family = static_cast<IpAddr::Family>((meta >> 8) & 0xff);
        r.remote.port = static_cast<uint16_t>(meta >> 16);
        for (int k = 0; k < 8; ++k) {
          r.remote.ip.b[k] = static_cast<uint8_t>(lo >> (8 * k));
          r.remote.ip.b[8 + k] = static_cast<uint8_t>(hi >> (8 * k));
        }
        out.push_back(r);
        break;
      }
    }
  }

 private:
  struct Slot {
    std::atomic<uint64_t> seq{0}, id{0}, ip_lo{0}, ip_hi{0}, meta{0}, since{0};
  };
  std::unique_ptr<Slot[]> slots_;
  size_t n_;
};

}  // namespace bypass
