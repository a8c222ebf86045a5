#include <bypass/conn/server_shared.hpp>

#include <string>

namespace bypass::conn {

Expected<std::unique_ptr<ServerShared>> ServerShared::create(uint32_t max_clients,
                                                             uint32_t history_capacity) {
  if (max_clients < 1 || max_clients > ClaimTable::kMaxCapacity / kHistoryPerClient)
    return Status::error("netcode server: max_clients must be in [1, " +
                         std::to_string(ClaimTable::kMaxCapacity / kHistoryPerClient) + "], got " +
                         std::to_string(max_clients));
  auto history = TokenHistory::create(history_capacity != 0 ? history_capacity
                                                            : kHistoryPerClient * max_clients);
  if (!history) return history.status();
  auto ids = ClaimTable::create(kIdsPerClient * max_clients);
  if (!ids) return ids.status();
  return std::unique_ptr<ServerShared>(
      new ServerShared(max_clients, std::move(*history), std::move(*ids)));
}

bool ServerShared::take_seat() {
  uint32_t n = seated_.load(std::memory_order_acquire);
  while (n < max_clients_) {
    if (seated_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) return true;
  }
  return false;
}

Expected<uint32_t> ServerShared::take_partition() {
  const uint32_t p = partitions_.fetch_add(1, std::memory_order_acq_rel);
  if (p >= kMaxServers)
    return Status::error("netcode server: at most " + std::to_string(kMaxServers) +
                         " servers (workers) can share one service's state");
  return p;
}

}  // namespace bypass::conn
