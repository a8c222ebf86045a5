#include <bypass/io/ports.hpp>

#include <bypass/io/fault_config.hpp>

#include <chrono>
#include <thread>

namespace bypass {

Expected<PortSet> PortSet::open(const Config& c, rte_mempool* pool) {
  PortSet s;
  for (const auto& pc : c.ports) {
    const unsigned before = rte_mempool_in_use_count(pool);
    auto p = EthPort::open(pc, c.tx_queues(pc), pool);
    if (!p) return p.status();
    if ((*p)->driver() == "net_af_xdp") s.kept_ += rte_mempool_in_use_count(pool) - before;
    s.eth_.push_back(std::move(p.value()));
    Port* port = s.eth_.back().get();
    std::unique_ptr<FaultyPort> f;
    if (pc.faults) {
      auto plan = fault_plan_from(*pc.faults, "port '" + pc.name + "' faults");
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
  // net_af_xdp frees sent mbufs only when a later TX call reaps the kernel's
  // completions: give it a few empty calls (the workers have stopped).
  for (auto& e : eth_) {
    if (e->driver() != "net_af_xdp") continue;
    for (int round = 0; round < 5; ++round) {
      for (uint16_t q = 0; q < e->tx_queues(); ++q) e->tx_burst(q, nullptr, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  for (auto& e : eth_) e->stop();
}

std::string PortSet::reset_sentence() const {
  for (size_t i = 0; i < ports_.size(); ++i)
    if (ports_[i]->reset_requested())
      return "port '" + ports_[i]->name() + "' (" + eth_[i]->driver() +
             ") was reset by its device and is not set up again while bypass runs: stopping; "
             "start bypass again to serve on it.";
  return "";
}

}  // namespace bypass
