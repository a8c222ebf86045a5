// Ring<T, Producer, Consumer>: a typed, owning wrapper over rte_ring that passes
// T* between cores. The producer and consumer modes are part of the type, as in
// DPDK's names (sp/mp, sc/mc), so each call compiles to the one rte_ring function
// it needs. "burst" calls are best effort; "bulk" calls are all or nothing.
// MbufRing::send_or_drop() frees and counts (full_count()) the packets that do
// not fit, so a full ring never leaks or stalls.
#pragma once

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include <bypass/core/batch.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

enum class Producer { kSingle, kMulti };
enum class Consumer { kSingle, kMulti };

template <typename T, Producer P = Producer::kSingle, Consumer C = Consumer::kSingle>
class Ring {
 public:
  // capacity is rounded up to a power of two by DPDK unless `exact` is set.
  static Expected<Ring> create(const std::string& name, unsigned capacity,
                               int socket = SOCKET_ID_ANY, bool exact = true) {
    if (capacity == 0 || capacity > RTE_RING_SZ_MASK)
      return Status::error("ring '" + name + "' capacity " + std::to_string(capacity) +
                           " is out of range: choose between 1 and " +
                           std::to_string(RTE_RING_SZ_MASK) + ".");
    unsigned flags = (P == Producer::kSingle ? RING_F_SP_ENQ : 0) |
                     (C == Consumer::kSingle ? RING_F_SC_DEQ : 0) | (exact ? RING_F_EXACT_SZ : 0);
    rte_ring* r = rte_ring_create(name.c_str(), capacity, socket, flags);
    if (r == nullptr) {
      if (rte_errno == EEXIST)
        return Status::error("a ring named '" + name +
                             "' already exists: give each ring a unique name.");
      return Status::error(
          "ring '" + name + "' of " + std::to_string(capacity) +
          " entries could not be created: not enough DPDK memory; reserve more huge "
          "pages or lower the ring size.");
    }
    return Ring(r);
  }

  Ring() = default;
  Ring(Ring&& o) noexcept : r_(std::exchange(o.r_, nullptr)) { full_.store(o.full_.load()); }
  Ring& operator=(Ring&& o) noexcept {
    if (this != &o) {
      reset();
      r_ = std::exchange(o.r_, nullptr);
      full_.store(o.full_.load());
    }
    return *this;
  }
  ~Ring() { reset(); }

  // Enqueues as many as fit; returns how many. The rest stay with the caller,
  // who sees the shortfall in the result (nothing is counted here: this is
  // the hot path, see ring_bench).
  unsigned enqueue_burst(std::span<T* const> objs) {
    void* const* p = reinterpret_cast<void* const*>(objs.data());
    if constexpr (P == Producer::kSingle)
      return rte_ring_sp_enqueue_burst(r_, p, objs.size(), nullptr);
    else
      return rte_ring_mp_enqueue_burst(r_, p, objs.size(), nullptr);
  }
  // Enqueues all or none; returns whether it did.
  bool enqueue_bulk(std::span<T* const> objs) {
    void* const* p = reinterpret_cast<void* const*>(objs.data());
    unsigned n;
    if constexpr (P == Producer::kSingle)
      n = rte_ring_sp_enqueue_bulk(r_, p, objs.size(), nullptr);
    else
      n = rte_ring_mp_enqueue_bulk(r_, p, objs.size(), nullptr);
    if (n == 0 && !objs.empty()) [[unlikely]]
      count_full(objs.size());
    return n != 0 || objs.empty();
  }
  // Dequeues up to out.size(); returns how many.
  unsigned dequeue_burst(std::span<T*> out) {
    void** p = reinterpret_cast<void**>(out.data());
    if constexpr (C == Consumer::kSingle)
      return rte_ring_sc_dequeue_burst(r_, p, out.size(), nullptr);
    else
      return rte_ring_mc_dequeue_burst(r_, p, out.size(), nullptr);
  }
  bool dequeue_bulk(std::span<T*> out) {
    void** p = reinterpret_cast<void**>(out.data());
    if constexpr (C == Consumer::kSingle)
      return rte_ring_sc_dequeue_bulk(r_, p, out.size(), nullptr) != 0;
    else
      return rte_ring_mc_dequeue_bulk(r_, p, out.size(), nullptr) != 0;
  }

  unsigned count() const { return rte_ring_count(r_); }
  unsigned capacity() const { return rte_ring_get_capacity(r_); }
  bool empty() const { return rte_ring_empty(r_); }
  // Objects refused because the ring was full, since creation: by
  // enqueue_bulk and by MbufRing::send_or_drop (not by enqueue_burst).
  uint64_t full_count() const { return full_.load(std::memory_order_relaxed); }
  rte_ring* raw() const { return r_; }
  std::string name() const { return r_ ? std::string(r_->name) : std::string(); }
  bool valid() const { return r_ != nullptr; }

 protected:
  void count_full(uint64_t n) {
    if constexpr (P == Producer::kSingle)
      full_.store(full_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    else
      full_.fetch_add(n, std::memory_order_relaxed);
  }

 private:
  explicit Ring(rte_ring* r) : r_(r) {}
  void reset() {
    if (r_) rte_ring_free(r_);
    r_ = nullptr;
  }

  rte_ring* r_ = nullptr;
  std::atomic<uint64_t> full_{0};
};

// A ring of packets: what does not fit is freed and counted, and whatever is
// still inside when the ring is destroyed goes back to its pool.
template <Producer P = Producer::kSingle, Consumer C = Consumer::kSingle>
class MbufRing : public Ring<rte_mbuf, P, C> {
 public:
  using Base = Ring<rte_mbuf, P, C>;
  static Expected<MbufRing> create(const std::string& name, unsigned capacity,
                                   int socket = SOCKET_ID_ANY) {
    auto r = Base::create(name, capacity, socket);
    if (!r) return r.status();
    return MbufRing(std::move(r.value()));
  }
  MbufRing() = default;
  MbufRing(MbufRing&&) noexcept = default;
  MbufRing& operator=(MbufRing&& o) noexcept {
    drain();
    Base::operator=(std::move(o));
    return *this;
  }
  ~MbufRing() { drain(); }

  // Sends the whole batch; packets that do not fit are freed and counted.
  // Returns how many were enqueued. The batch is empty afterwards.
  unsigned send_or_drop(Batch& b) {
    unsigned n = this->enqueue_burst(b.span());
    if (n < b.size()) [[unlikely]] {
      this->count_full(b.size() - n);
      rte_pktmbuf_free_bulk(b.data() + n, b.size() - n);
    }
    b.clear();
    return n;
  }
  // Fills the batch with up to its free room.
  unsigned receive(Batch& b) {
    unsigned n = this->dequeue_burst({b.data() + b.size(), b.room()});
    b.set_size(static_cast<uint16_t>(b.size() + n));
    return n;
  }
  // Frees every packet still in the ring.
  void drain() {
    if (!this->valid()) return;
    Batch b;
    while (receive(b) > 0) b.free_all();
  }

 private:
  explicit MbufRing(Base&& b) : Base(std::move(b)) {}
};

}  // namespace bypass
