/// @file
/// PktPool: an owning handle on an rte_pktmbuf pool, with the in-use count that
/// shutdown checks (every mbuf back in its pool).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <string>
#include <utility>

#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

/// An rte_pktmbuf pool, freed when this goes; see the file's description.
class PktPool {
 public:
  /// A pool of m.pool_size mbufs of m.data_room bytes on NUMA node `socket`; `name`
  /// must be unique in the process. The error says what to change.
  static Expected<PktPool> create(const std::string& name, const MemoryConfig& m,
                                  int socket = SOCKET_ID_ANY);
  /// No pool: get() is nullptr.
  PktPool() = default;
  /// Takes `o`'s pool; `o` is left with none.
  PktPool(PktPool&& o) noexcept : mp_(std::exchange(o.mp_, nullptr)) {}
  /// Swaps pools with `o`, which frees this one's when it goes.
  PktPool& operator=(PktPool&& o) noexcept {
    std::swap(mp_, o.mp_);
    return *this;
  }
  /// Frees the pool (every mbuf should be back in it by then).
  ~PktPool() {
    if (mp_) rte_mempool_free(mp_);
  }

  rte_mempool* get() const { return mp_; }  ///< the pool, or nullptr
  /// Mbufs out of the pool (per-lcore caches count as in the pool).
  unsigned in_use() const { return rte_mempool_in_use_count(mp_); }
  unsigned size() const { return mp_->size; }  ///< the pool's mbufs, out of it or not
  /// One mbuf from the pool, or nullptr when it has none left.
  rte_mbuf* alloc() { return rte_pktmbuf_alloc(mp_); }

 private:
  explicit PktPool(rte_mempool* mp) : mp_(mp) {}
  rte_mempool* mp_ = nullptr;
};

}  // namespace bypass
