// Cycles per packet of bypass-udpd's echo path on one core, by stage, for
// 64-byte and 1500-byte frames: parse only, the Endpoint (parse + checks +
// sorting), and the whole poll (RX burst from a ring port, Endpoint, echo
// handler, reply built in place, TX burst). Time is rte_rdtsc around each
// burst of 32; refilling the requests happens outside the timed region.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include <bypass/core/eal.hpp>
#include <bypass/core/mempool.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/io/eth_port.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/udp/dpdk_backend.hpp>
#include <bypass/udp/handlers.hpp>

namespace {

using namespace bypass;

rte_mempool* g_pool = nullptr;
const MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};

// A valid UDP/IPv4 request from 198.18.0.1:1000 to 198.18.0.2:7.
std::vector<uint8_t> request(uint16_t frame_len) {
  std::vector<uint8_t> f(frame_len, 0);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
  eth->src_addr = to_ether(kPeerMac);
  eth->dst_addr = to_ether(kOurMac);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(frame_len - sizeof(rte_ether_hdr));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1));
  ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 2));
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* u = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  u->src_port = rte_cpu_to_be_16(1000);
  u->dst_port = rte_cpu_to_be_16(7);
  u->dgram_len = rte_cpu_to_be_16(frame_len - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr));
  for (size_t i = 42; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i);
  u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
  return f;
}

void fill(rte_mbuf** m, unsigned n, const std::vector<uint8_t>& f) {
  for (unsigned i = 0; i < n; ++i) {
    rte_pktmbuf_reset(m[i]);
    std::memcpy(rte_pktmbuf_append(m[i], static_cast<uint16_t>(f.size())), f.data(), f.size());
  }
}

EndpointConfig endpoint_config() {
  EndpointConfig c;
  c.mac = kOurMac;
  c.addrs.push_back(*IfAddr::parse("198.18.0.2/24"));
  return c;
}

void report(benchmark::State& state, uint64_t cycles, uint64_t packets) {
  state.counters["cycles/pkt"] = static_cast<double>(cycles) / static_cast<double>(packets);
  state.counters["ns/pkt"] = static_cast<double>(cycles) * 1e9 /
                             static_cast<double>(rte_get_tsc_hz()) / static_cast<double>(packets);
  state.SetItemsProcessed(static_cast<int64_t>(packets));
}

void BM_Parse(benchmark::State& state) {
  auto f = request(static_cast<uint16_t>(state.range(0)));
  rte_mbuf* m[kMaxBurst];
  if (rte_pktmbuf_alloc_bulk(g_pool, m, kMaxBurst) != 0) return state.SkipWithError("pool empty");
  fill(m, kMaxBurst, f);
  uint64_t cycles = 0, packets = 0;
  for (auto _ : state) {
    uint64_t t0 = rte_rdtsc();
    for (rte_mbuf* x : m) {
      Parsed p;
      benchmark::DoNotOptimize(parse_frame(x, p));
    }
    cycles += rte_rdtsc() - t0;
    packets += kMaxBurst;
  }
  rte_pktmbuf_free_bulk(m, kMaxBurst);
  report(state, cycles, packets);
}

void BM_Endpoint(benchmark::State& state) {
  auto f = request(static_cast<uint16_t>(state.range(0)));
  Endpoint ep(endpoint_config(), rte_get_tsc_hz());
  Worker w(0, WorkerConfig{});
  uint64_t cycles = 0, packets = 0;
  for (auto _ : state) {
    Batch in, tx;
    UdpBatch udp;
    if (rte_pktmbuf_alloc_bulk(g_pool, in.data(), kMaxBurst) != 0)
      return state.SkipWithError("pool empty");
    in.set_size(kMaxBurst);
    fill(in.data(), kMaxBurst, f);
    uint64_t t0 = rte_rdtsc();
    ep.process(w, in, tx, udp);
    cycles += rte_rdtsc() - t0;
    packets += kMaxBurst;
    if (udp.pkts.size() != kMaxBurst) return state.SkipWithError("datagrams were dropped");
    udp.pkts.free_all();
  }
  report(state, cycles, packets);
}

// The whole echo path through a ring-backed ethdev, as a worker runs it.
void BM_EchoPoll(benchmark::State& state) {
  auto f = request(static_cast<uint16_t>(state.range(0)));
  static int n = 0;
  std::string id = std::to_string(n++);
  rte_ring* rx =
      rte_ring_create(("brx" + id).c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx =
      rte_ring_create(("btx" + id).c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_eth_from_rings(("bench" + id).c_str(), &rx, 1, &tx, 1, SOCKET_ID_ANY);
  PortConfig pc;
  pc.name = "bench";
  pc.device = "net_ring_bench" + id;
  auto port = EthPort::open(pc, 1, g_pool);
  if (!port) return state.SkipWithError(port.error().c_str());
  Endpoint ep(endpoint_config(), rte_get_tsc_hz());
  EchoHandler echo;
  ServiceTable services;
  services.bind(7, &echo);
  Worker w(0, WorkerConfig{});
  WorkerGraph graph(w);
  UdpPortPlan plan;
  plan.port = port->get();
  plan.name = "bench";
  plan.endpoint = &ep;
  plan.rx_queues = {0};
  build_udp_graph(graph, {plan}, services, g_pool, false);
  if (Status st = graph.start(); !st) return state.SkipWithError(st.message().c_str());
  Source& poller = *graph.sources().front();
  rte_mbuf* m[kMaxBurst];
  uint64_t cycles = 0, packets = 0;
  for (auto _ : state) {
    if (rte_pktmbuf_alloc_bulk(g_pool, m, kMaxBurst) != 0) return state.SkipWithError("pool empty");
    fill(m, kMaxBurst, f);
    rte_ring_enqueue_burst(rx, reinterpret_cast<void**>(m), kMaxBurst, nullptr);
    uint64_t t0 = rte_rdtsc();
    poller.poll(w);
    cycles += rte_rdtsc() - t0;
    packets += kMaxBurst;
    unsigned got = rte_ring_dequeue_burst(tx, reinterpret_cast<void**>(m), kMaxBurst, nullptr);
    if (got != kMaxBurst) return state.SkipWithError("not every request was answered");
    rte_pktmbuf_free_bulk(m, got);
  }
  report(state, cycles, packets);
  port->reset();
  rte_ring_free(rx);
  rte_ring_free(tx);
}

BENCHMARK(BM_Parse)->Arg(64)->Arg(1500);
BENCHMARK(BM_Endpoint)->Arg(64)->Arg(1500);
BENCHMARK(BM_EchoPoll)->Arg(64)->Arg(1500);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Config c;
  SystemFacts sys = SystemFacts::read();
  c.eal.huge_pages =
      sys.hugetlbfs_mounted && sys.hugepages_free * sys.hugepage_bytes >= (256ull << 20);
  c.eal.memory_mb = 256;
  c.eal.control_cpu = sys.allowed_cpus.back();
  auto eal = Eal::start(c, "udp_echo_bench");
  if (!eal) {
    std::fprintf(stderr, "%s\n", eal.error().c_str());
    return 1;
  }
  MemoryConfig mc;
  mc.pool_size = 4095;
  auto pool = PktPool::create("bench_pool", mc);
  if (!pool) {
    std::fprintf(stderr, "%s\n", pool.error().c_str());
    return 1;
  }
  g_pool = pool->get();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
