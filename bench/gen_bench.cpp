// gen_bench: the per-packet costs of the traffic generator's core pieces
// (lib/bypass/gen), each on the benchmark thread:
//
//   hist/record/digits:D        Histogram::record of varied latencies (3 or 2 digits)
//   pacer/due/simulated         Pacer::due at 14.88 Mpps, time from a counter
//   pacer/due/rdtsc             the same with rte_rdtsc() per call
//   tx/pick_restamp/<stream>    TemplateCursor::next + restamp (seq, timestamp,
//                               incremental UDP checksum) of the entry's prebuilt
//                               mbuf; rte_rdtsc once per burst of 32
//   tx/build/<stream>           StreamTable::build: the whole frame into an mbuf
//   rx/on_packet                RxTracker::on_packet in order, latency recorded
//   rx/read_and_track           read_gen_header from an mbuf + on_packet
//
// One benchmark iteration is a chunk of kChunk operations timed with rte_rdtsc.
// Counters: ns/op and cyc/op are the median chunk (a preemption by another
// process on this shared machine does not move it); ns/op_avg is the average.
//
// Defaults (any --benchmark_* flag given on the command line wins):
//   --benchmark_repetitions=5 --benchmark_display_aggregates_only=true
//   --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/eal.hpp>
#include <bypass/gen/histogram.hpp>
#include <bypass/gen/pacer.hpp>
#include <bypass/gen/rx_tracker.hpp>
#include <bypass/gen/stream.hpp>

#include "bench_args.hpp"

namespace {

using namespace bypass::gen;

constexpr unsigned kChunk = 1024;  // operations per timed iteration
constexpr unsigned kBurst = 32;

uint64_t g_hz = 0;
rte_mempool* g_pool = nullptr;

class ChunkClock {
 public:
  void start() { first_ = last_ = rte_rdtsc(); }
  void lap() {
    uint64_t now = rte_rdtsc();
    if (samples_.size() < (1u << 20)) samples_.push_back(now - last_);
    last_ = now;
  }
  void report(benchmark::State& state) {
    if (samples_.empty()) return;
    auto mid = samples_.begin() + static_cast<std::ptrdiff_t>(samples_.size() / 2);
    std::nth_element(samples_.begin(), mid, samples_.end());
    const double hz = static_cast<double>(g_hz);
    const double ops = static_cast<double>(kChunk) * static_cast<double>(state.iterations());
    state.counters["cyc/op"] = static_cast<double>(*mid) / kChunk;
    state.counters["ns/op"] = static_cast<double>(*mid) / kChunk * 1e9 / hz;
    state.counters["ns/op_avg"] = static_cast<double>(last_ - first_) / ops * 1e9 / hz;
    state.SetItemsProcessed(static_cast<int64_t>(ops));
  }

 private:
  std::vector<uint64_t> samples_;
  uint64_t first_ = 0, last_ = 0;
};

// Latencies around 10 us with a tail, as the RX side sees them.
std::vector<uint64_t> latencies() {
  std::vector<uint64_t> v(4096);
  uint64_t x = 88172645463325252ull;
  for (auto& l : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double u = static_cast<double>(x >> 11) * 0x1.0p-53;
    l = 2000 + static_cast<uint64_t>(-std::log(1.0 - u) * 8000.0);
  }
  return v;
}

void hist_record(benchmark::State& state) {
  Histogram h({1, 3'600'000'000'000ull, static_cast<unsigned>(state.range(0))});
  std::vector<uint64_t> v = latencies();
  ChunkClock clock;
  unsigned i = 0;
  clock.start();
  for (auto _ : state) {
    for (unsigned k = 0; k < kChunk; ++k) h.record(v[i++ & 4095]);
    clock.lap();
  }
  benchmark::DoNotOptimize(h.count());
  clock.report(state);
}

void pacer_due(benchmark::State& state, bool rdtsc) {
  Pacer p(g_hz, Rate::line(10000, 64), kBurst);
  uint64_t now = rte_rdtsc(), granted = 0;
  p.start(now);
  ChunkClock clock;
  clock.start();
  for (auto _ : state) {
    for (unsigned k = 0; k < kChunk; ++k) {
      now = rdtsc ? rte_rdtsc() : now + 50;
      granted += p.due(now);
    }
    clock.lap();
  }
  benchmark::DoNotOptimize(granted);
  clock.report(state);
}

StreamTable table_of(const char* arg) {
  auto s = parse_stream_arg(arg);
  if (!s) {
    std::fprintf(stderr, "gen_bench: %s\n", s.error().c_str());
    std::exit(2);
  }
  auto t = StreamTable::expand(*s);
  if (!t) {
    std::fprintf(stderr, "gen_bench: %s\n", t.error().c_str());
    std::exit(2);
  }
  return std::move(*t);
}

// Prebuilt mbufs, one per table entry (as a generator that keeps its frames).
void tx_pick_restamp(benchmark::State& state, const char* arg) {
  StreamTable t = table_of(arg);
  std::vector<rte_mbuf*> frames(t.size());
  if (rte_pktmbuf_alloc_bulk(g_pool, frames.data(), t.size()) != 0) {
    state.SkipWithError("no mbufs");
    return;
  }
  for (uint32_t i = 0; i < t.size(); ++i) t.build(frames[i], i);
  TemplateCursor cursor(t.size());
  const uint16_t off = t.gen_offset();
  uint64_t seq = 0;
  ChunkClock clock;
  clock.start();
  for (auto _ : state) {
    for (unsigned b = 0; b < kChunk / kBurst; ++b) {
      uint64_t tsc = rte_rdtsc();
      for (unsigned k = 0; k < kBurst; ++k) restamp(frames[cursor.next()], off, seq++, tsc);
    }
    clock.lap();
  }
  clock.report(state);
  rte_pktmbuf_free_bulk(frames.data(), t.size());
}

void tx_build(benchmark::State& state, const char* arg) {
  StreamTable t = table_of(arg);
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  TemplateCursor cursor(t.size());
  uint64_t seq = 0;
  bool ok = true;
  ChunkClock clock;
  clock.start();
  for (auto _ : state) {
    for (unsigned b = 0; b < kChunk / kBurst; ++b) {
      uint64_t tsc = rte_rdtsc();
      for (unsigned k = 0; k < kBurst; ++k) ok &= t.build(m, cursor.next(), seq++, tsc);
    }
    benchmark::ClobberMemory();
    clock.lap();
  }
  clock.report(state);
  if (!ok) state.SkipWithError("build failed");
  rte_pktmbuf_free(m);
}

// What the TX loop does per packet: a frame written into an mbuf fresh from
// the pool (alloc and free in bursts, as a PMD would free), by emit() from the
// prebuilt head or (the loop before) build() from scratch.
void tx_fresh(benchmark::State& state, const char* arg, bool emit) {
  StreamTable t = table_of(arg);
  rte_mbuf* burst[kBurst];
  TemplateCursor cursor(t.size());
  uint64_t seq = 0;
  ChunkClock clock;
  clock.start();
  for (auto _ : state) {
    for (unsigned b = 0; b < kChunk / kBurst; ++b) {
      if (rte_pktmbuf_alloc_bulk(g_pool, burst, kBurst) != 0) {
        state.SkipWithError("no mbufs");
        return;
      }
      uint64_t tsc = rte_rdtsc();
      if (emit)
        for (unsigned k = 0; k < kBurst; ++k) t.emit(burst[k], cursor.next(), seq++, tsc);
      else
        for (unsigned k = 0; k < kBurst; ++k) t.build(burst[k], cursor.next(), seq++, tsc);
      benchmark::ClobberMemory();
      rte_pktmbuf_free_bulk(burst, kBurst);
    }
    clock.lap();
  }
  clock.report(state);
}

void rx_on_packet(benchmark::State& state) {
  RxTracker rx(g_hz);
  rx.reset();
  std::vector<uint64_t> v = latencies();
  uint64_t seq = 0;
  ChunkClock clock;
  clock.start();
  for (auto _ : state) {
    for (unsigned k = 0; k < kChunk; ++k, ++seq)
      rx.on_packet(seq, seq * 64, seq * 64 + v[seq & 4095]);
    clock.lap();
  }
  benchmark::DoNotOptimize(rx.counts().received);
  clock.report(state);
}

void rx_read_and_track(benchmark::State& state) {
  StreamTable t = table_of("dst=198.18.0.2 size=64");
  std::vector<rte_mbuf*> frames(kBurst);
  if (rte_pktmbuf_alloc_bulk(g_pool, frames.data(), kBurst) != 0) {
    state.SkipWithError("no mbufs");
    return;
  }
  for (auto* m : frames) t.build(m, 0);
  RxTracker rx(g_hz);
  rx.reset();
  const uint16_t off = t.gen_offset();
  uint64_t seq = 0;
  ChunkClock clock;
  clock.start();
  for (auto _ : state) {
    for (unsigned b = 0; b < kChunk / kBurst; ++b) {
      uint64_t tsc = rte_rdtsc();
      for (unsigned k = 0; k < kBurst; ++k) restamp(frames[k], off, seq + k, tsc - 5000);
      uint64_t rx_tsc = rte_rdtsc();
      for (unsigned k = 0; k < kBurst; ++k) {
        GenHeader h;
        if (read_gen_header(rte_pktmbuf_mtod_offset(frames[k], uint8_t*, off), &h))
          rx.on_packet(h, rx_tsc);
      }
      seq += kBurst;
    }
    clock.lap();
  }
  benchmark::DoNotOptimize(rx.counts().received);
  clock.report(state);
  state.SetLabel("includes a restamp per packet");
  rte_pktmbuf_free_bulk(frames.data(), kBurst);
}

void register_all() {
  benchmark::RegisterBenchmark("hist/record/digits", hist_record)->Arg(3)->Arg(2);
  benchmark::RegisterBenchmark("pacer/due/simulated", pacer_due, false);
  benchmark::RegisterBenchmark("pacer/due/rdtsc", pacer_due, true);
  const std::pair<const char*, const char*> streams[] = {
      {"v4_64", "dst=198.18.0.2 size=64 sport=1000-1999"},
      {"v4_imix", "dst=198.18.0.2 size=imix sport=1000-1999"},
      {"v4_1518", "dst=198.18.0.2 size=1518 sport=1000-1999"},
      {"v6_82", "dst=2001:2::2 size=82 sport=1000-1999"},
      {"v6_1518", "dst=2001:2::2 size=1518 sport=1000-1999 payload=random"},
  };
  for (const auto& [name, arg] : streams) {
    benchmark::RegisterBenchmark((std::string("tx/pick_restamp/") + name).c_str(), tx_pick_restamp,
                                 arg);
    benchmark::RegisterBenchmark((std::string("tx/build/") + name).c_str(), tx_build, arg);
    benchmark::RegisterBenchmark((std::string("tx/alloc+build+free/") + name).c_str(), tx_fresh,
                                 arg, false);
    benchmark::RegisterBenchmark((std::string("tx/alloc+emit+free/") + name).c_str(), tx_fresh, arg,
                                 true);
  }
  benchmark::RegisterBenchmark("rx/on_packet", rx_on_packet);
  benchmark::RegisterBenchmark("rx/read_and_track", rx_read_and_track);
}

}  // namespace

int main(int argc, char** argv) {
  if (!bypass::bench::init_benchmark(
          argc, argv,
          {"--benchmark_repetitions=5", "--benchmark_display_aggregates_only=true",
           "--benchmark_min_time=0.2"}))
    return 1;

  bypass::SystemFacts sys = bypass::SystemFacts::read();
  bypass::Config c;
  c.eal.control_cpu = sys.allowed_cpus.empty() ? 0 : sys.allowed_cpus.front();
  c.eal.huge_pages = false;  // mbufs only: no device, no DMA
  c.eal.memory_mb = 256;
  c.eal.file_prefix = "gen-bench-" + std::to_string(getpid());
  c.eal.log_level = "error";
  std::string runtime_dir;
  int rc = 0;
  {
    auto eal = bypass::Eal::start(c, "gen_bench");
    if (!eal) {
      std::fprintf(stderr, "gen_bench: %s\n", eal.error().c_str());
      return 2;
    }
    runtime_dir = rte_eal_get_runtime_dir();
    g_hz = rte_get_tsc_hz();
    g_pool = rte_pktmbuf_pool_create("gen_bench", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     static_cast<int>(rte_socket_id()));
    if (!g_pool) {
      std::fprintf(stderr, "gen_bench: no mbuf pool: %s\n", rte_strerror(rte_errno));
      return 2;
    }
    std::printf("EAL: lcore 0 on CPU %u, no huge pages; TSC %.3f GHz\n", c.eal.control_cpu,
                static_cast<double>(g_hz) / 1e9);
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    rte_mempool_free(g_pool);
  }  // EAL cleaned up
  benchmark::Shutdown();
  std::error_code ec;
  if (runtime_dir.find("/gen-bench-" + std::to_string(getpid())) != std::string::npos)
    std::filesystem::remove_all(runtime_dir, ec);
  return rc;
}
