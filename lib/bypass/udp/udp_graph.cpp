#include <bypass/udp/udp_graph.hpp>

#include <algorithm>

#include <bypass/graph/port_modules.hpp>
#include <bypass/net/endpoint_module.hpp>

namespace bypass {

void build_udp_graph(WorkerGraph& g, const std::vector<UdpPortPlan>& ports,
                     const ServiceTable& services, rte_mempool* pool, bool several_ports) {
  bool first = true;  // the first port's services run the handlers' ticks
  std::vector<ReplyParams> rps;
  for (const UdpPortPlan& pp : ports) {
    ReplyParams rp;
    rp.mac = pp.endpoint->config().mac;
    rp.ttl = pp.endpoint->config().ttl;
    rp.tx_offloads = pp.port->tx_offloads();
    rps.push_back(rp);
  }
  // Each service instance's gate 1 + i: the tx of the i-th other port.
  std::vector<PortTx*> txs;
  std::vector<std::pair<ServiceModule*, size_t>> services_at;  // and the plan they are on
  for (size_t k = 0; k < ports.size(); ++k) {
    const UdpPortPlan& pp = ports[k];
    const std::string sfx = several_ports ? "." + pp.name : "";
    const ReplyParams& rp = rps[k];
    std::vector<ServiceModule::OtherPort> others;
    for (size_t j = 0; j < ports.size(); ++j)
      if (j != k) others.push_back({ports[j].index, rps[j]});
    auto& tx = g.make<PortTx>("tx" + sfx, *pp.port, pp.tx_queue);
    txs.push_back(&tx);
    auto& ip = g.make<EndpointModule>("ip" + sfx, *pp.endpoint, pool, pp.announce);
    auto& dispatch = g.make<UdpDispatch>("udp_dispatch" + sfx, *pp.endpoint, services);
    ip.connect(EndpointModule::kTx, &tx);
    ip.connect(EndpointModule::kUdp, &dispatch);
    dispatch.connect(UdpDispatch::kIcmp, &tx);
    for (size_t i = 0; i < services.handlers.size(); ++i) {
      auto& svc = g.make<ServiceModule>("service." + std::to_string(services.ports[i]) + sfx,
                                        *services.handlers[i], pool, rp, pp.index, first, others);
      svc.connect(0, &tx);
      services_at.emplace_back(&svc, k);
      dispatch.connect(static_cast<unsigned>(1 + i), &svc);
    }
    for (uint16_t q : pp.rx_queues) g.add_source(std::make_unique<PortRx>(*pp.port, q, &ip));
    first = false;
  }
  for (auto [svc, k] : services_at) {
    unsigned gate = 1;
    for (size_t j = 0; j < txs.size(); ++j)
      if (j != k) svc->connect(gate++, txs[j]);
  }
}

void assign_service_ticks(WorkerGraph& g) {
  std::vector<const DatagramHandler*> ticking;
  for (const auto& m : g.modules()) {
    auto* svc = dynamic_cast<ServiceModule*>(m.get());
    if (svc == nullptr) continue;
    const bool first = std::find(ticking.begin(), ticking.end(), &svc->handler()) == ticking.end();
    if (first) ticking.push_back(&svc->handler());
    svc->set_ticks(first);
  }
}

std::vector<GraphPoint> udp_graph_points(const std::vector<uint16_t>& service_ports) {
  // tx also takes the Endpoint's own answers (ARP, NDP, ping): parsed, but
  // not all of them are IP.
  std::vector<GraphPoint> out = {{"udp_dispatch", true}, {"tx", false}};
  for (uint16_t p : service_ports) out.push_back({"service." + std::to_string(p), true});
  return out;
}

}  // namespace bypass
