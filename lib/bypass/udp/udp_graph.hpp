// The UDP server's default graph on one worker, for each port it serves:
//
//   rx(port, queue) -> ip -udp-> udp_dispatch -> service.<udp port> -> tx
//                      ip -answers-> tx        udp_dispatch -icmp-> tx
//
// `ip` is the port's Endpoint, `tx` sends on the worker's own TX queue with
// the retry and drop policy of PortTx. With several ports every name gets
// ".<port name>", and each service.<udp port> also feeds the other ports'
// tx, for what its handler sends to peers kept on them. The points a config
// may insert a module in front of are udp_dispatch, tx and service.<udp
// port> (behind the Endpoint's parse).
#pragma once

#include <rte_mempool.h>

#include <string>
#include <vector>

#include <bypass/graph/graph.hpp>
#include <bypass/graph/registry.hpp>
#include <bypass/io/port.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/udp/udp_modules.hpp>

namespace bypass {

struct UdpPortPlan {
  Port* port = nullptr;
  uint8_t index = 0;  // the port's index in the config (kept in handlers' Peers)
  std::string name;   // the port's config name
  Endpoint* endpoint = nullptr;
  std::vector<uint16_t> rx_queues;  // polled by this worker
  uint16_t tx_queue = 0;            // this worker's
  bool announce = false;            // this worker announces the port's addresses
};

// Adds the default graph to `g` (the handlers of `services` are the worker's own).
void build_udp_graph(WorkerGraph& g, const std::vector<UdpPortPlan>& ports,
                     const ServiceTable& services, rte_mempool* pool, bool several_ports);

// After hand-offs pruned `g` (placement.hpp): the first service module left
// for each handler runs its ticks. build_udp_graph gives them to the first
// port's, which a worker that does not poll that port no longer has.
void assign_service_ticks(WorkerGraph& g);

// The named points of that graph, for checking [[module]] before EAL.
std::vector<GraphPoint> udp_graph_points(const std::vector<uint16_t>& service_ports);

}  // namespace bypass
