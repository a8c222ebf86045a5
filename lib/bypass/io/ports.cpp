#include <bypass/io/ports.hpp>

#include <bypass/io/fault_config.hpp>

namespace bypass {

Expected<PortSet> PortSet::open(const Config& c, rte_mempool* pool) {
  PortSet s;
  for (const auto& pc : c.ports) {
    auto p = EthPort::open(pc, c.tx_queues(pc), pool);
    if (!p) return p.status();
    s.eth_.push_back(std::move(p.value()));
    Port* port = s.eth_.back().get();
    std::unique_ptr<FaultyPort> f;
    if (pc.faults) {
      auto plan = fault_plan_from_toml(*pc.faults, "port '" + pc.name + "' faults");
      if (!plan) return plan.status();
      auto fp = FaultyPort::create(*port, *plan, pool);
      if (!fp) return fp.status();
      f = std::move(fp.value());
      port = f.get();
    }
    s.faulty_.push_back(std::move(f));
    s.ports_.push_back(port);
  }
  return s;
}

void PortSet::stop() {
  for (auto& f : faulty_)
    if (f) f->drain();
  for (auto& e : eth_) e->stop();
}

}  // namespace bypass
