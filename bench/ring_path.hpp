// What the data-path benchmarks (udp_echo_bench, netcode_path_bench) share:
// EAL and a packet pool for the process, a UDP/IPv4 frame builder, and
// bypass-udpd's data path over a ring-backed ethdev (RingPath: frames put on
// its RX ring go through the Endpoint and the bound services, replies come
// out of its TX ring, one poll() at a time, as a worker runs it).
#pragma once

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include <bypass/core/config.hpp>
#include <bypass/core/eal.hpp>
#include <bypass/core/mempool.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/io/eth_port.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/udp/dpdk_backend.hpp>

namespace ring_path {

using namespace bypass;

// EAL (huge pages when 256 MB are free, else none) and a pool of 4,095
// mbufs, for the life of the process; on failure prints why, with `prog`.
struct Dpdk {
  Eal eal;
  PktPool pool;
};
inline std::unique_ptr<Dpdk> start_dpdk(const char* prog) {
  Config c;
  SystemFacts sys = SystemFacts::read();
  c.eal.huge_pages =
      sys.hugetlbfs_mounted && sys.hugepages_free * sys.hugepage_bytes >= (256ull << 20);
  c.eal.memory_mb = 256;
  c.eal.control_cpu = sys.allowed_cpus.back();
  auto eal = Eal::start(c, prog);
  if (!eal) {
    std::fprintf(stderr, "%s: %s\n", prog, eal.error().c_str());
    return nullptr;
  }
  MemoryConfig mc;
  mc.pool_size = 4095;
  auto pool = PktPool::create(std::string(prog) + "_pool", mc);
  if (!pool) {
    std::fprintf(stderr, "%s: %s\n", prog, pool.error().c_str());
    return nullptr;
  }
  return std::unique_ptr<Dpdk>(new Dpdk{std::move(*eal), std::move(*pool)});
}

// A UDP/IPv4 frame carrying `payload`, checksums filled in, into `f`; its length.
inline uint16_t udp4_frame(uint8_t* f, const MacAddr& src_mac, const MacAddr& dst_mac,
                           uint32_t src_ip_be, uint16_t src_port, uint32_t dst_ip_be,
                           uint16_t dst_port, std::span<const uint8_t> payload) {
  constexpr size_t kHeaders = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
  const auto len = static_cast<uint16_t>(kHeaders + payload.size());
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f);
  eth->src_addr = to_ether(src_mac);
  eth->dst_addr = to_ether(dst_mac);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  *ip = rte_ipv4_hdr{};
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(len - sizeof(rte_ether_hdr));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = src_ip_be;
  ip->dst_addr = dst_ip_be;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  u->src_port = rte_cpu_to_be_16(src_port);
  u->dst_port = rte_cpu_to_be_16(dst_port);
  u->dgram_len = rte_cpu_to_be_16(len - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr));
  u->dgram_cksum = 0;
  if (!payload.empty()) std::memcpy(u + 1, payload.data(), payload.size());
  u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
  return len;
}

// bypass-udpd's data path for one port over a pair of rte_rings.
class RingPath {
 public:
  // `id` names the rings and the ethdev (unique in the process); the
  // services must be bound before. Null (and why, printed) on failure.
  static std::unique_ptr<RingPath> open(const std::string& id, rte_mempool* pool,
                                        const EndpointConfig& ec, ServiceTable& services) {
    auto p = std::unique_ptr<RingPath>(new RingPath);
    p->rx_ =
        rte_ring_create(("brx" + id).c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    p->tx_ =
        rte_ring_create(("btx" + id).c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!p->rx_ || !p->tx_ ||
        rte_eth_from_rings(("bench" + id).c_str(), &p->rx_, 1, &p->tx_, 1, SOCKET_ID_ANY) < 0) {
      std::fprintf(stderr, "ring path %s: could not make the ring ethdev\n", id.c_str());
      return nullptr;
    }
    PortConfig pc;
    pc.name = "bench";
    pc.device = "net_ring_bench" + id;
    auto port = EthPort::open(pc, 1, pool);
    if (!port) {
      std::fprintf(stderr, "ring path %s: %s\n", id.c_str(), port.error().c_str());
      return nullptr;
    }
    p->port_ = std::move(*port);
    p->ep_ = std::make_unique<Endpoint>(ec, rte_get_tsc_hz());
    p->worker_ = std::make_unique<Worker>(0, WorkerConfig{});
    p->graph_ = std::make_unique<WorkerGraph>(*p->worker_);
    UdpPortPlan plan;
    plan.port = p->port_.get();
    plan.name = "bench";
    plan.endpoint = p->ep_.get();
    plan.rx_queues = {0};
    build_udp_graph(*p->graph_, {plan}, services, pool, false);
    if (Status st = p->graph_->start(); !st) {
      std::fprintf(stderr, "ring path %s: %s\n", id.c_str(), st.message().c_str());
      return nullptr;
    }
    p->poller_ = p->graph_->sources().front().get();
    return p;
  }
  ~RingPath() {
    graph_.reset();
    port_.reset();
    if (rx_) rte_ring_free(rx_);
    if (tx_) rte_ring_free(tx_);
  }

  // Frames in; one poll of the worker's source; replies out (up to `n`).
  void put(rte_mbuf** m, unsigned n) {
    rte_ring_enqueue_burst(rx_, reinterpret_cast<void**>(m), n, nullptr);
  }
  void poll() { poller_->poll(*worker_); }
  unsigned take(rte_mbuf** m, unsigned n) {
    return rte_ring_dequeue_burst(tx_, reinterpret_cast<void**>(m), n, nullptr);
  }

 private:
  RingPath() = default;
  rte_ring* rx_ = nullptr;
  rte_ring* tx_ = nullptr;
  std::unique_ptr<EthPort> port_;
  std::unique_ptr<Endpoint> ep_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<WorkerGraph> graph_;
  Source* poller_ = nullptr;
};

}  // namespace ring_path
