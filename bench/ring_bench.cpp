// ring_bench: the cost of bypass::Ring / bypass::MbufRing against the raw
// rte_ring single-producer/single-consumer burst calls they wrap, in one run.
//
//   same_core/<kind>/burst:B   enqueue B then dequeue B on the benchmark thread
//   cross_core/<kind>/burst:B  the benchmark thread enqueues B at a time (waiting
//                              for room), EAL lcore 1 on another CPU dequeues
//                              up to B at a time
//
// <kind> is raw (rte_ring_sp_enqueue_burst / rte_ring_sc_dequeue_burst), ring
// (Ring<rte_mbuf>::enqueue_burst / dequeue_burst), mbufring
// (MbufRing::send_or_drop / receive with a Batch, as the graph uses it), and
// raw_copy: raw again from a second copy of the code, an A/A control whose
// distance from raw is the noise floor of that case.
//
// One benchmark iteration moves a chunk of kChunkElems elements and is timed
// with rte_rdtsc. Counters: ns/elem and cyc/elem (TSC cycles, not core clock
// cycles) are the median chunk, which a preemption by another process (this
// machine is shared) does not move; ns/elem_avg is the plain average over the
// run. At the end a table gives, per case, the median over repetitions and
// the wrapper/raw ratio.
//
// Defaults (any --benchmark_* flag given on the command line wins):
//   --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//   --benchmark_display_aggregates_only=true --benchmark_min_time=0.2
// bench/meson.build builds this file with loops and functions aligned to 64
// bytes, so that where the linker happens to place each copy of the loop does
// not decide a few-cycle difference.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <bypass/core/batch.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/eal.hpp>
#include <bypass/core/ring.hpp>

#include "bench_args.hpp"

namespace {

using bypass::Batch;
using bypass::kMaxBurst;
using RingT = bypass::Ring<rte_mbuf, bypass::Producer::kSingle, bypass::Consumer::kSingle>;
using MbufRingT = bypass::MbufRing<bypass::Producer::kSingle, bypass::Consumer::kSingle>;

constexpr unsigned kRingSize = 1024;    // as [memory].ring_size's default
constexpr unsigned kChunkElems = 8192;  // elements per timed iteration
constexpr std::array<unsigned, 3> kBursts = {1, 8, 32};

// kRawCopy is raw again, compiled as a separate function: an A/A control. How
// far it lands from raw is the noise floor of that case (code placement, and
// across cores which of the ring's contention patterns the run settles in).
enum class Kind { kRaw, kRawCopy, kRing, kMbufRing };

constexpr bool is_raw(Kind k) {
  return k == Kind::kRaw || k == Kind::kRawCopy;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kRaw:
      return "raw";
    case Kind::kRing:
      return "ring";
    case Kind::kRawCopy:
      return "raw_copy";
    case Kind::kMbufRing:
      return "mbufring";
  }
  return "?";
}

struct Globals {
  uint64_t tsc_hz = 0;
  unsigned consumer_lcore = RTE_MAX_LCORE;  // RTE_MAX_LCORE: no second CPU
  std::array<rte_mbuf*, kMaxBurst> mbufs{};
  unsigned ring_seq = 0;
};
Globals g;

std::string next_ring_name() {
  return "rb" + std::to_string(g.ring_seq++);
}

// One ring of the kind under test, created with the same flags and size for
// every kind (SP/SC, exact size), so only the calling code differs.
template <Kind K>
struct Channel {
  rte_ring* raw = nullptr;
  RingT ring;
  MbufRingT mring;

  bool open() {
    if constexpr (is_raw(K)) {
      raw = rte_ring_create(next_ring_name().c_str(), kRingSize, SOCKET_ID_ANY,
                            RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    } else if constexpr (K == Kind::kRing) {
      auto r = RingT::create(next_ring_name(), kRingSize);
      if (!r) return false;
      ring = std::move(r.value());
      raw = ring.raw();
    } else {
      auto r = MbufRingT::create(next_ring_name(), kRingSize);
      if (!r) return false;
      mring = std::move(r.value());
      raw = mring.raw();
    }
    return raw != nullptr;
  }
  ~Channel() {
    if constexpr (is_raw(K)) rte_ring_free(raw);
  }
};

// Times each benchmark iteration (one chunk of elements) with the TSC.
class ChunkClock {
 public:
  explicit ChunkClock(const benchmark::State& state) {
    samples_.reserve(static_cast<size_t>(std::clamp<int64_t>(state.max_iterations, 1, 1 << 20)));
  }
  void start() { first_ = last_ = rte_rdtsc(); }
  void lap() {
    uint64_t now = rte_rdtsc();
    if (samples_.size() < samples_.capacity()) samples_.push_back(now - last_);
    last_ = now;
  }
  // Sets ns/elem and cyc/elem (median chunk) and ns/elem_avg (first start to `end`).
  void report(benchmark::State& state, uint64_t end, uint64_t elems_per_chunk) {
    if (samples_.empty()) return;
    auto mid = samples_.begin() + static_cast<std::ptrdiff_t>(samples_.size() / 2);
    std::nth_element(samples_.begin(), mid, samples_.end());
    const double hz = static_cast<double>(g.tsc_hz);
    const double per = static_cast<double>(elems_per_chunk);
    const double elems = per * static_cast<double>(state.iterations());
    state.counters["cyc/elem"] = static_cast<double>(*mid) / per;
    state.counters["ns/elem"] = static_cast<double>(*mid) / per * 1e9 / hz;
    state.counters["ns/elem_avg"] = static_cast<double>(end - first_) / elems * 1e9 / hz;
    state.SetItemsProcessed(static_cast<int64_t>(elems));
  }
  uint64_t last() const { return last_; }

 private:
  std::vector<uint64_t> samples_;
  uint64_t first_ = 0, last_ = 0;
};

// ---- the operations under test --------------------------------------------
//
// Each kind's enqueue and dequeue is its own out-of-line function with the same
// signature, so that the loops around them are the same machine code for every
// kind and only what the API compiles to differs. (Inlined into the loop, the
// same rte_ring code lands differently in each loop and moves a burst-1 call by
// +-3 cycles either way, which says nothing about the wrapper.) noipa also
// stops GCC from specialising a function for the caller's arguments.
#if defined(__clang__)
#define BENCH_OPAQUE [[gnu::noinline]]
#else
#define BENCH_OPAQUE [[gnu::noipa]]
#endif

// Enqueues `burst` objects: for raw and ring the first `burst` of g.mbufs, for
// mbufring the batch `b` (which holds the same pointers and is empty after).
template <Kind K>
BENCH_OPAQUE unsigned enqueue_op(Channel<K>& ch, Batch& b, unsigned burst) {
  if constexpr (is_raw(K))
    return rte_ring_sp_enqueue_burst(ch.raw, reinterpret_cast<void* const*>(g.mbufs.data()), burst,
                                     nullptr);
  else if constexpr (K == Kind::kRing)
    return ch.ring.enqueue_burst(std::span<rte_mbuf* const>(g.mbufs.data(), burst));
  else
    return ch.mring.send_or_drop(b);
}

// Dequeues up to `burst` objects into `out` (raw, ring) or into the free room
// of `b` (mbufring; the caller leaves exactly `burst` of room).
template <Kind K>
BENCH_OPAQUE unsigned dequeue_op(Channel<K>& ch, Batch& b, rte_mbuf** out, unsigned burst) {
  if constexpr (is_raw(K))
    return rte_ring_sc_dequeue_burst(ch.raw, reinterpret_cast<void**>(out), burst, nullptr);
  else if constexpr (K == Kind::kRing)
    return ch.ring.dequeue_burst(std::span<rte_mbuf*>(out, burst));
  else
    return ch.mring.receive(b);
}

// ---- same core ------------------------------------------------------------

template <Kind K>
void same_core(benchmark::State& state, unsigned burst) {
  Channel<K> ch;
  if (!ch.open()) {
    state.SkipWithError("ring could not be created");
    return;
  }
  std::array<rte_mbuf*, kMaxBurst> out{};
  Batch b;
  for (unsigned i = 0; i < burst; ++i) b.push(g.mbufs[i]);
  unsigned got = 0;

  const unsigned calls = kChunkElems / burst;
  ChunkClock clock(state);
  clock.start();
  for (auto _ : state) {
    for (unsigned i = 0; i < calls; ++i) {
      enqueue_op<K>(ch, b, burst);
      got = dequeue_op<K>(ch, b, out.data(), burst);
    }
    clock.lap();
  }

  if (got != burst) state.SkipWithError("dequeued fewer than enqueued");
  clock.report(state, clock.last(), uint64_t{calls} * burst);
  b.clear();
}

// ---- across cores ---------------------------------------------------------

struct alignas(RTE_CACHE_LINE_SIZE) Shared {
  alignas(RTE_CACHE_LINE_SIZE) std::atomic<bool> ready{false};
  alignas(RTE_CACHE_LINE_SIZE) std::atomic<bool> stop{false};
  alignas(RTE_CACHE_LINE_SIZE) uint64_t received = 0;
  uint64_t end_tsc = 0;
};

template <Kind K>
struct ConsumerArg {
  Channel<K>* ch;
  Shared* sh;
  unsigned burst;
};

// Runs on lcore 1: dequeues until the producer has stopped and the ring is empty.
template <Kind K>
int consume(void* p) {
  auto* a = static_cast<ConsumerArg<K>*>(p);
  Channel<K>& ch = *a->ch;
  const unsigned burst = a->burst;
  std::array<rte_mbuf*, kMaxBurst> out{};
  Batch b;
  // receive() fills the batch's free room: keep exactly `burst` of it free.
  const auto keep = static_cast<uint16_t>(kMaxBurst - burst);
  b.set_size(keep);
  uint64_t got = 0;
  a->sh->ready.store(true, std::memory_order_release);
  for (;;) {
    unsigned n = dequeue_op<K>(ch, b, out.data(), burst);
    if constexpr (K == Kind::kMbufRing) b.set_size(keep);
    got += n;
    if (n == 0 && a->sh->stop.load(std::memory_order_acquire) && rte_ring_empty(ch.raw)) break;
  }
  a->sh->end_tsc = rte_rdtsc();
  a->sh->received = got;
  b.clear();  // the batch never owned what it saw: the benchmark owns the mbufs
  return 0;
}

template <Kind K>
void cross_core(benchmark::State& state, unsigned burst) {
  Channel<K> ch;
  if (!ch.open()) {
    state.SkipWithError("ring could not be created");
    return;
  }
  Shared sh;
  ConsumerArg<K> arg{&ch, &sh, burst};
  if (rte_eal_remote_launch(consume<K>, &arg, g.consumer_lcore) != 0) {
    state.SkipWithError("consumer lcore is busy");
    return;
  }
  while (!sh.ready.load(std::memory_order_acquire)) rte_pause();
  Batch b;
  for (unsigned i = 0; i < burst; ++i) b.push(g.mbufs[i]);

  const unsigned calls = kChunkElems / burst;
  ChunkClock clock(state);
  clock.start();
  for (auto _ : state) {
    for (unsigned i = 0; i < calls; ++i) {
      // Wait for room for the whole burst, so nothing is refused or dropped and
      // every kind moves exactly `burst` objects per call.
      // No rte_pause() here: a pause makes the run flip between contention
      // patterns from one repetition to the next.
      while (rte_ring_free_count(ch.raw) < burst) {
      }
      enqueue_op<K>(ch, b, burst);
      if constexpr (K == Kind::kMbufRing)
        b.set_size(static_cast<uint16_t>(burst));  // same pointers again next time
    }
    clock.lap();
  }
  sh.stop.store(true, std::memory_order_release);
  rte_eal_wait_lcore(g.consumer_lcore);

  const uint64_t sent = static_cast<uint64_t>(state.iterations()) * calls * burst;
  if (sh.received != sent) state.SkipWithError("consumer did not receive every element");
  clock.report(state, sh.end_tsc, uint64_t{calls} * burst);
  b.clear();
}

// ---- registration and the summary table ------------------------------------

std::string case_name(const char* placement, Kind k, unsigned burst) {
  return std::string(placement) + "/" + kind_name(k) + "/burst:" + std::to_string(burst);
}

template <Kind K>
void register_kind(bool cross) {
  for (unsigned burst : kBursts) {
    benchmark::RegisterBenchmark(case_name("same_core", K, burst).c_str(),
                                 [burst](benchmark::State& s) { same_core<K>(s, burst); })
        ->UseRealTime();
    if (cross)
      benchmark::RegisterBenchmark(case_name("cross_core", K, burst).c_str(),
                                   [burst](benchmark::State& s) { cross_core<K>(s, burst); })
          ->UseRealTime();
  }
}

struct Figure {
  double ns = 0, cyc = 0;
  int n = 0;  // repetitions averaged when no median aggregate was reported
  bool median = false;
};

// The console reporter, plus a copy of each case's ns/elem and cyc/elem.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  SummaryReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      auto ns = r.counters.find("ns/elem");
      auto cyc = r.counters.find("cyc/elem");
      if (ns == r.counters.end() || cyc == r.counters.end()) continue;
      Figure& f = figures_[r.run_name.function_name];
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name != "median") continue;
        f = {ns->second.value, cyc->second.value, 1, true};
      } else if (!f.median) {
        f.ns = (f.ns * f.n + ns->second.value) / (f.n + 1);
        f.cyc = (f.cyc * f.n + cyc->second.value) / (f.n + 1);
        ++f.n;
      }
    }
  }

  // Prints the wrapper/raw table; returns how many comparisons missed the target.
  int print_summary(double target) const {
    std::printf(
        "\nbypass::Ring / MbufRing vs raw rte_ring (SP/SC, %u entries): median over repetitions "
        "of the median chunk, per element\n",
        kRingSize);
    std::printf("%-10s %5s | %7s %6s | %6s | %7s %6s %6s | %7s %6s %6s\n", "placement", "burst",
                "raw ns", "cyc", "A/A", "Ring ns", "cyc", "ratio", "Mbuf ns", "cyc", "ratio");
    int missed = 0, noise = 0, compared = 0;
    for (const char* placement : {"same_core", "cross_core"}) {
      for (unsigned burst : kBursts) {
        const Figure* raw = find(case_name(placement, Kind::kRaw, burst));
        if (!raw || raw->ns <= 0) continue;
        const Figure* copy = find(case_name(placement, Kind::kRawCopy, burst));
        double aa = copy ? copy->ns / raw->ns : 1.0;
        std::printf("%-10s %5u | %7.2f %6.1f | ", placement, burst, raw->ns, raw->cyc);
        if (copy)
          std::printf("%6.3f", aa);
        else
          std::printf("%6s", "-");
        for (Kind k : {Kind::kRing, Kind::kMbufRing}) {
          const Figure* w = find(case_name(placement, k, burst));
          if (!w) {
            std::printf(" | %7s %6s %6s", "-", "-", "-");
            continue;
          }
          double ratio = w->ns / raw->ns;
          ++compared;
          char mark = ' ';
          if (ratio > target) {
            ++missed;
            // Within the A/A spread of this case: not told apart from noise.
            if (ratio - 1.0 <= std::abs(aa - 1.0)) {
              ++noise;
              mark = '?';
            } else {
              mark = '!';
            }
          }
          std::printf(" | %7.2f %6.1f %5.3f%c", w->ns, w->cyc, ratio, mark);
        }
        std::printf("\n");
      }
    }
    std::printf(
        "A/A: raw measured again from a second copy of the same code; its ratio is the noise "
        "floor.\n");
    std::printf("target: wrapper <= %.2f x raw: met in %d of %d comparisons", target,
                compared - missed, compared);
    if (missed)
      std::printf("; of the %d misses ('!' or '?'), %d ('?') are within that case's A/A spread",
                  missed, noise);
    std::printf("\n");
    return missed;
  }

 private:
  const Figure* find(const std::string& name) const {
    auto it = figures_.find(name);
    return it == figures_.end() || (it->second.n == 0) ? nullptr : &it->second;
  }
  std::map<std::string, Figure> figures_;
};

// Starts EAL with lcore 0 on the first allowed CPU and, if there is a second,
// lcore 1 on it; huge pages if enough are free, --no-huge -m 512 otherwise.
bypass::Expected<bypass::Eal> start_eal() {
  bypass::SystemFacts sys = bypass::SystemFacts::read();
  bypass::Config c;
  c.eal.control_cpu = sys.allowed_cpus.empty() ? 0 : sys.allowed_cpus.front();
  c.eal.huge_pages =
      sys.hugetlbfs_mounted && sys.hugepages_free * sys.hugepage_bytes >= (512ull << 20);
  c.eal.memory_mb = c.eal.huge_pages ? 0 : 512;
  c.eal.file_prefix = "bench-" + std::to_string(getpid());
  c.eal.log_level = "error";
  if (c.eal.huge_pages) c.eal.args.push_back("--huge-unlink");  // no files left behind
  if (sys.allowed_cpus.size() >= 2) {
    bypass::WorkerConfig w;
    w.cpu = sys.allowed_cpus[1];
    c.workers.push_back(w);
  }
  auto eal = bypass::Eal::start(c, "ring_bench");
  if (eal) {
    std::printf("EAL: lcore 0 on CPU %u", c.eal.control_cpu);
    if (!c.workers.empty()) std::printf(", lcore 1 on CPU %u", c.workers[0].cpu);
    std::printf(", %s\n", c.eal.huge_pages ? "huge pages" : "no huge pages (-m 512)");
  }
  return eal;
}

// Registers and runs the benchmarks on a started EAL; prints the summary.
int run() {
  g.tsc_hz = rte_get_tsc_hz();
  rte_mempool* pool =
      rte_pktmbuf_pool_create("ring_bench_pool", 2 * kMaxBurst - 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                              static_cast<int>(rte_socket_id()));
  if (pool == nullptr || rte_pktmbuf_alloc_bulk(pool, g.mbufs.data(), kMaxBurst) != 0) {
    std::fprintf(stderr, "ring_bench: no mbufs: %s\n", rte_strerror(rte_errno));
    return 2;
  }
  unsigned lcore = bypass::Eal::worker_lcore(0);
  bool cross = rte_lcore_is_enabled(lcore) != 0;
  if (cross)
    g.consumer_lcore = lcore;
  else
    std::printf("only one CPU: cross_core cases skipped\n");

  register_kind<Kind::kRaw>(cross);
  register_kind<Kind::kRawCopy>(cross);
  register_kind<Kind::kRing>(cross);
  register_kind<Kind::kMbufRing>(cross);
  std::printf("TSC %.3f GHz\n", static_cast<double>(g.tsc_hz) / 1e9);

  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary(1.05);
  rte_pktmbuf_free_bulk(g.mbufs.data(), kMaxBurst);
  rte_mempool_free(pool);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!bypass::bench::init_benchmark(
          argc, argv,
          {"--benchmark_repetitions=5", "--benchmark_enable_random_interleaving=true",
           "--benchmark_display_aggregates_only=true", "--benchmark_min_time=0.2"}))
    return 1;

  int rc;
  std::string runtime_dir;
  {
    auto eal = start_eal();
    if (!eal) {
      std::fprintf(stderr, "ring_bench: %s\n", eal.error().c_str());
      return 2;
    }
    runtime_dir = rte_eal_get_runtime_dir();
    rc = run();
  }  // EAL cleaned up
  benchmark::Shutdown();
  // This process's own DPDK runtime directory (file prefix bench-<pid>).
  std::error_code ec;
  if (runtime_dir.find("/bench-" + std::to_string(getpid())) != std::string::npos)
    std::filesystem::remove_all(runtime_dir, ec);
  return rc;
}
