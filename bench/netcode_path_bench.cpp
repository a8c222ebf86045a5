// What one worker core serves of netcode payload echo through bypass-udpd's
// whole data path: Ethernet frames from a ring-backed ethdev, the Endpoint
// (parse, checks, UDP checksum in software as on AF_XDP or AF_PACKET), the
// netcode service (open, replay check, seal), the reply frame built and sent
// with a TX burst. Clients connect through the real handshake first (in
// memory, bench/netcode_fixture.hpp); then bursts of 32 pre-built frames from
// connected clients, round robin, are polled through, TSC around each poll.
// Prints cycles per packet, echoes per second of one core, the in-process
// service alone on the same packets (same run), the difference (the data
// path's own cost), and the ratio against the reference server's rate that
// issue 10 measured on this kind of machine (97-115k echoes/s at 100 B,
// 60-66k at 1200 B, one core, its own sockets).
// Starts EAL (huge pages when 256 MB are free); run as root:
//   build/bench/netcode_path_bench [clients, default 100000]
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstdio>
#include <string>

#include <bypass/core/config.hpp>
#include <bypass/core/eal.hpp>
#include <bypass/core/mempool.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/io/eth_port.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/udp/dpdk_backend.hpp>

#include "netcode_fixture.hpp"

namespace {

using namespace netcode_fixture;

const MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};

// Client `c`'s payload packet of `payload` bytes in a UDP/IPv4 frame to the server.
uint16_t frame(Client& c, const SockAddr& server, size_t payload, uint8_t* f) {
  constexpr size_t kHeaders = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
  std::vector<uint8_t> body(payload, 0x5a);
  const Written w = write_payload({f + kHeaders, 1400}, kProtocol, c.c2s, c.sequence++, body);
  const auto len = static_cast<uint16_t>(kHeaders + w.size);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f);
  eth->src_addr = to_ether(kPeerMac);
  eth->dst_addr = to_ether(kOurMac);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  *ip = rte_ipv4_hdr{};
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(len - sizeof(rte_ether_hdr));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = c.addr.ip.v4_be();
  ip->dst_addr = server.ip.v4_be();
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  u->src_port = rte_cpu_to_be_16(c.addr.port);
  u->dst_port = rte_cpu_to_be_16(server.port);
  u->dgram_len = rte_cpu_to_be_16(len - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr));
  u->dgram_cksum = 0;
  u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
  return len;
}

struct Path {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
  std::unique_ptr<EthPort> port;
  std::unique_ptr<Endpoint> ep;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<WorkerGraph> graph;
  ServiceTable services;
  Source* poller = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  const uint32_t max_clients = argc > 1 ? static_cast<uint32_t>(std::atoi(argv[1])) : 100000;
  if (!crypto_init()) return 1;
  Config c;
  SystemFacts sys = SystemFacts::read();
  c.eal.huge_pages =
      sys.hugetlbfs_mounted && sys.hugepages_free * sys.hugepage_bytes >= (256ull << 20);
  c.eal.memory_mb = 256;
  c.eal.control_cpu = sys.allowed_cpus.back();
  auto eal = Eal::start(c, "netcode_path_bench");
  if (!eal) {
    std::fprintf(stderr, "netcode_path_bench: %s\n", eal.error().c_str());
    return 1;
  }
  MemoryConfig mc;
  mc.pool_size = 4095;
  auto pool = PktPool::create("netcode_path_pool", mc);
  if (!pool) {
    std::fprintf(stderr, "netcode_path_bench: %s\n", pool.error().c_str());
    return 1;
  }
  std::printf(
      "netcode_path_bench: netcode payload echo through bypass-udpd's data path on one core "
      "(ring ethdev, Endpoint, UDP checksum in software, netcode service, reply, TX burst), "
      "bursts of %u, %u clients connected\n",
      kBatch, max_clients);

  Bench b(max_clients);
  std::vector<Client> clients(max_clients);
  for (uint32_t i = 0; i < max_clients; i += kBatch)
    b.connect_batch(i, std::min(kBatch, max_clients - i), &clients[i]);

  Path p;
  p.rx = rte_ring_create("ncp_rx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.tx = rte_ring_create("ncp_tx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (rte_eth_from_rings("ncp", &p.rx, 1, &p.tx, 1, SOCKET_ID_ANY) < 0) {
    std::fprintf(stderr, "netcode_path_bench: could not make the ring ethdev\n");
    return 1;
  }
  PortConfig pc;
  pc.name = "bench";
  pc.device = "net_ring_ncp";
  auto port = EthPort::open(pc, 1, pool->get());
  if (!port) {
    std::fprintf(stderr, "netcode_path_bench: %s\n", port.error().c_str());
    return 1;
  }
  p.port = std::move(*port);
  EndpointConfig ec;
  ec.mac = kOurMac;
  ec.addrs.push_back(*IfAddr::parse("198.18.0.2/24"));
  p.ep = std::make_unique<Endpoint>(ec, rte_get_tsc_hz());
  p.services.bind(kPort, &b.service());
  p.worker = std::make_unique<Worker>(0, WorkerConfig{});
  p.graph = std::make_unique<WorkerGraph>(*p.worker);
  UdpPortPlan plan;
  plan.port = p.port.get();
  plan.name = "bench";
  plan.endpoint = p.ep.get();
  plan.rx_queues = {0};
  build_udp_graph(*p.graph, {plan}, p.services, pool->get(), false);
  if (Status st = p.graph->start(); !st) {
    std::fprintf(stderr, "netcode_path_bench: %s\n", st.message().c_str());
    return 1;
  }
  p.poller = p.graph->sources().front().get();

  const double hz = static_cast<double>(rte_get_tsc_hz());
  for (size_t payload : {size_t{100}, size_t{1200}}) {
    static uint8_t frames[kBatch][1600];
    uint16_t lens[kBatch];
    size_t next = 0;
    std::vector<double> per;
    for (int r = 0; r < 3000; ++r) {
      rte_mbuf* m[kBatch];
      if (rte_pktmbuf_alloc_bulk(pool->get(), m, kBatch) != 0) {
        std::fprintf(stderr, "netcode_path_bench: packet pool empty\n");
        return 1;
      }
      for (unsigned j = 0; j < kBatch; ++j) {
        lens[j] = frame(clients[next++ % clients.size()], b.server(), payload, frames[j]);
        std::memcpy(rte_pktmbuf_append(m[j], lens[j]), frames[j], lens[j]);
      }
      rte_ring_enqueue_burst(p.rx, reinterpret_cast<void**>(m), kBatch, nullptr);
      const uint64_t t0 = rte_rdtsc();
      p.poller->poll(*p.worker);
      per.push_back(static_cast<double>(rte_rdtsc() - t0) / kBatch);
      const unsigned got =
          rte_ring_dequeue_burst(p.tx, reinterpret_cast<void**>(m), kBatch, nullptr);
      if (got != kBatch) {
        std::fprintf(stderr, "netcode_path_bench: %u echoes for %u payloads\n", got, kBatch);
        return 1;
      }
      rte_pktmbuf_free_bulk(m, got);
    }
    // The service alone on the same clients, same run.
    std::vector<double> alone;
    for (int r = 0; r < 3000; ++r)
      alone.push_back(static_cast<double>(b.echo_batch(clients, next, payload)) / kBatch);
    const double path = median(per), svc = median(alone);
    const double rate = hz / path;
    const double ref_lo = payload == 100 ? 97e3 : 60e3, ref_hi = payload == 100 ? 115e3 : 66e3;
    std::printf(
        "echo %4zu B: %.0f cycles/packet median through the data path, %.0fk echoes/s per core; "
        "the service alone %.0f, the data path's own cost %.0f; against the reference server's "
        "%.0f-%.0fk/s: %.1f-%.1fx\n",
        payload, path, rate / 1e3, svc, path - svc, ref_lo / 1e3, ref_hi / 1e3, rate / ref_hi,
        rate / ref_lo);
  }
  p.graph.reset();
  p.port.reset();
  return 0;
}
