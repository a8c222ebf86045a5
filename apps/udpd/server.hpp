// bypass-udpd's two ways to serve the same handlers: DpdkServer (ports,
// Endpoints and UdpPollers on pinned workers) and the Linux socket backend.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/io/ports.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/udp/dpdk_backend.hpp>
#include <bypass/udp/handlers.hpp>

namespace bypass::udpd {

struct UdpdOptions {
  std::string backend = "dpdk";  // or "sockets"
  std::vector<IpAddr> bind;      // sockets: addresses to bind (default: every port's addresses)
  uint32_t icmp_errors_per_sec = 100;
  std::vector<ServiceConfig> services;
};

// Reads [udpd] and [[udpd.service]], and checks the ports' addresses.
Expected<UdpdOptions> read_udpd_options(const Config& c);

// The DPDK side: one Endpoint per (worker, port), one handler per (worker,
// service), one UdpPoller per RX queue.
class DpdkServer {
 public:
  static Expected<std::unique_ptr<DpdkServer>> build(const Config& c, const UdpdOptions& o,
                                                     PortSet& ports, rte_mempool* pool);
  std::vector<Worker*> workers();
  // Final stats: handlers, endpoints and pollers, as text.
  std::string report() const;

 private:
  struct PerWorker {
    std::unique_ptr<Worker> worker;
    std::vector<std::unique_ptr<Endpoint>> endpoints;  // by port
    std::vector<std::unique_ptr<DatagramHandler>> handlers;
    std::unique_ptr<ServiceTable> services;
    std::vector<std::unique_ptr<UdpPoller>> pollers;
  };
  std::vector<PerWorker> per_worker_;
  std::unique_ptr<DpdkHandlerContext> ctx_;
};

}  // namespace bypass::udpd
