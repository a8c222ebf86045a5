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

#include "ring_path.hpp"

namespace {

using namespace bypass;

rte_mempool* g_pool = nullptr;
const MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};

// A valid UDP/IPv4 request from 198.18.0.1:1000 to 198.18.0.2:7.
std::vector<uint8_t> request(uint16_t frame_len) {
  std::vector<uint8_t> f(frame_len, 0), payload(frame_len - 42);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(42 + i);
  ring_path::udp4_frame(f.data(), kPeerMac, kOurMac, rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1)),
                        1000, rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 2)), 7, payload);
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
  EchoHandler echo;
  ServiceTable services;
  services.bind(7, &echo);
  auto path = ring_path::RingPath::open(std::to_string(n++), g_pool, endpoint_config(), services);
  if (!path) return state.SkipWithError("could not build the ring path");
  rte_mbuf* m[kMaxBurst];
  uint64_t cycles = 0, packets = 0;
  for (auto _ : state) {
    if (rte_pktmbuf_alloc_bulk(g_pool, m, kMaxBurst) != 0) return state.SkipWithError("pool empty");
    fill(m, kMaxBurst, f);
    path->put(m, kMaxBurst);
    uint64_t t0 = rte_rdtsc();
    path->poll();
    cycles += rte_rdtsc() - t0;
    packets += kMaxBurst;
    unsigned got = path->take(m, kMaxBurst);
    if (got != kMaxBurst) return state.SkipWithError("not every request was answered");
    rte_pktmbuf_free_bulk(m, got);
  }
  report(state, cycles, packets);
}

BENCHMARK(BM_Parse)->Arg(64)->Arg(1500);
BENCHMARK(BM_Endpoint)->Arg(64)->Arg(1500);
BENCHMARK(BM_EchoPoll)->Arg(64)->Arg(1500);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  auto dpdk = ring_path::start_dpdk("udp_echo_bench");
  if (!dpdk) return 1;
  g_pool = dpdk->pool.get();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
