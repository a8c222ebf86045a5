// PktPool: an owning handle on an rte_pktmbuf pool, with the in-use count that
// shutdown checks (every mbuf back in its pool).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <string>
#include <utility>

#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

class PktPool {
 public:
  static Expected<PktPool> create(const std::string& name, const MemoryConfig& m,
                                  int socket = SOCKET_ID_ANY);
  PktPool() = default;
  PktPool(PktPool&& o) noexcept : mp_(std::exchange(o.mp_, nullptr)) {}
  PktPool& operator=(PktPool&& o) noexcept {
    std::swap(mp_, o.mp_);
    return *this;
  }
  ~PktPool() {
    if (mp_) rte_mempool_free(mp_);
  }

  rte_mempool* get() const { return mp_; }
  // Mbufs out of the pool (per-lcore caches count as in the pool).
  unsigned in_use() const { return rte_mempool_in_use_count(mp_); }
  unsigned size() const { return mp_->size; }
  rte_mbuf* alloc() { return rte_pktmbuf_alloc(mp_); }

 private:
  explicit PktPool(rte_mempool* mp) : mp_(mp) {}
  rte_mempool* mp_ = nullptr;
};

}  // namespace bypass
