#include <bypass/core/pool_watch.hpp>

#include <algorithm>

#include <bypass/core/worker.hpp>

namespace bypass {

void PoolWatch::arm(const std::vector<Worker*>& workers, uint64_t period_ms) {
  for (Worker* w : workers) {
    if (std::any_of(looks_.begin(), looks_.end(),
                    [w](const std::unique_ptr<Look>& l) { return l->worker == w; }))
      continue;
    auto l = std::make_unique<Look>();
    l->watch = this;
    l->worker = w;
    l->timer.set(&PoolWatch::look, l.get());
    const uint64_t every = std::max<uint64_t>(1, w->clock().ms_to_ticks(period_ms));
    w->timers().arm(l->timer, w->clock().now() + every, every);
    looks_.push_back(std::move(l));
  }
}

void PoolWatch::look(void* ctx, Worker&) {
  auto* l = static_cast<Look*>(ctx);
  l->looks.add();
  if (rte_mempool_avail_count(l->watch->pool_) == 0) l->empty.add();
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
