/// @file
/// PoolWatch: how often the packet pool was found empty. A timer on each
/// worker looks at the pool about every millisecond (of the worker's clock)
/// and counts the looks that found nothing that worker could take: the
/// pool's shared store and the worker's own lcore cache both empty (mbufs in
/// another worker's cache are out of its reach, so they do not count). Some
/// drivers count nothing when they cannot refill a ring for want of an mbuf
/// (DPDK 22.11's net_af_packet has no rx_nombuf), and a gauge read once a
/// second can miss a dry spell of a few hundred milliseconds: this count
/// keeps it. A look sums the lcores' caches (a few hundred cycles), on a
/// timer, never per packet.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/core/timer.hpp>

namespace bypass {

class Worker;

/// Counts the times a pool was found empty; see the file's description.
class PoolWatch {
 public:
  /// Watches `pool`, which must outlive the runs of the workers it is armed on.
  explicit PoolWatch(rte_mempool* pool) : pool_(pool) {}
  PoolWatch(const PoolWatch&) = delete;
  PoolWatch& operator=(const PoolWatch&) = delete;

  /// Arms a look every `period_ms` on each of `workers`, which must not be
  /// running, after disarm(): the counts start again from 0.
  void arm(const std::vector<Worker*>& workers, uint64_t period_ms = 1);
  /// Takes the looks off the workers, which must have stopped (or be gone).
  void disarm();

  /// Looks that found the pool empty since arm(), all workers.
  uint64_t empty() const;
  /// Looks in all since arm().
  uint64_t looks() const;
  /// The pool's mbufs.
  unsigned size() const { return pool_->size; }

  /// Whether a worker on `lcore_id` (or a thread of no lcore) can take no
  /// mbuf from `pool`: its shared store and that lcore's cache are empty.
  static bool empty_for(rte_mempool* pool, unsigned lcore_id);

 private:
  struct Look {  // one worker's timer and counts (the timer must not move)
    PoolWatch* watch = nullptr;
    Timer timer;
    Counter empty, looks;
  };
  static void look(void* ctx, Worker& w);

  rte_mempool* pool_;
  std::vector<std::unique_ptr<Look>> looks_;
};

}  // namespace bypass
