#include <bypass/io/ports.hpp>

namespace bypass {

Expected<std::vector<std::unique_ptr<EthPort>>> open_ports(const Config& c, rte_mempool* pool) {
  std::vector<std::unique_ptr<EthPort>> ports;
  for (const auto& pc : c.ports) {
    auto p = EthPort::open(pc, c.tx_queues(pc), pool);
    if (!p) return p.status();
    ports.push_back(std::move(p.value()));
  }
  return ports;
}

}  // namespace bypass
