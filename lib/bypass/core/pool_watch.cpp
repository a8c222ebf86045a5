#include <bypass/core/pool_watch.hpp>

#include <rte_lcore.h>

#include <algorithm>

#include <bypass/core/worker.hpp>

namespace bypass {

void PoolWatch::arm(const std::vector<Worker*>& workers, uint64_t period_ms) {
  disarm();
  for (Worker* w : workers) {
    auto l = std::make_unique<Look>();
    l->watch = this;
    l->timer.set(&PoolWatch::look, l.get());
    const uint64_t every = std::max<uint64_t>(1, w->clock().ms_to_ticks(period_ms));
    w->timers().arm(l->timer, w->clock().now() + every, every);
    looks_.push_back(std::move(l));
  }
}

// A Timer cancels itself when destroyed (from the wheel it is on, if the
// wheel is still there: a wheel that goes first makes its timers forget it).
void PoolWatch::disarm() {
  looks_.clear();
}

bool PoolWatch::empty_for(rte_mempool* pool, unsigned lcore_id) {
  const rte_mempool_cache* own = rte_mempool_default_cache(pool, lcore_id);
  if (own != nullptr && own->len != 0) return false;
  // The shared store is what rte_mempool_avail_count() finds beyond the
  // lcores' caches (DPDK exports no call for it alone). The two reads are
  // not one instant: a burst moving between a cache and the store meanwhile
  // can tip one look either way, which a count of looks absorbs.
  unsigned cached = 0;
  if (pool->cache_size != 0)
    for (unsigned i = 0; i < RTE_MAX_LCORE; ++i) cached += pool->local_cache[i].len;
  return rte_mempool_avail_count(pool) <= cached;
}

void PoolWatch::look(void* ctx, Worker&) {
  auto* l = static_cast<Look*>(ctx);
  l->looks.add();
  if (empty_for(l->watch->pool_, rte_lcore_id())) l->empty.add();
}

uint64_t PoolWatch::empty() const {
  uint64_t n = 0;
  for (const auto& l : looks_) n += l->empty.get();
  return n;
}

uint64_t PoolWatch::looks() const {
  uint64_t n = 0;
  for (const auto& l : looks_) n += l->looks.get();
  return n;
}

}  // namespace bypass
