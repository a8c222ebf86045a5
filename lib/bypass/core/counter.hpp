/// @file
/// Counters owned by one writer (a worker) and read by anyone (the control plane).
/// A Counter is a relaxed atomic that is written without a locked instruction,
/// because only its owning worker ever writes it. Counter blocks are cache-line
/// aligned so two workers never share a line; readers sum the blocks.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <bypass/core/drop_reasons.hpp>

namespace bypass {

/// The cache line the counter blocks are aligned to: DPDK's RTE_CACHE_LINE_SIZE
/// for the target (worker.cpp checks that they agree), spelled without DPDK so
/// that the client library's headers need none of it.
#if defined(__aarch64__) || defined(__powerpc64__)
inline constexpr size_t kCacheLineBytes = 128;
#else
inline constexpr size_t kCacheLineBytes = 64;
#endif

/// A count that one thread writes and any thread reads; see the file's description.
class Counter {
 public:
  /// Single-writer increment: a plain load and store, no lock prefix.
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  /// The count, read with a relaxed load.
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  ///@{
  /// As a plain count, for tallies written in the style of `++n` and read as numbers.
  Counter& operator++() {
    add();
    return *this;
  }
  void operator++(int) { add(); }
  operator uint64_t() const { return get(); }
  ///@}
  /// Sets the count to 0 (by its writer).
  void reset() { v_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

/// The counters of one worker. Written only by that worker.
struct alignas(kCacheLineBytes) WorkerCounters {
  Counter rx_packets;   ///< packets received on its RX queues
  Counter rx_bytes;     ///< their bytes (pkt_len)
  Counter tx_packets;   ///< packets its TX queues took
  Counter tx_bytes;     ///< their bytes (pkt_len)
  Counter polls;        ///< loop iterations
  Counter busy_polls;   ///< iterations in which some poller did work
  Counter busy_cycles;  ///< TSC ticks spent in those iterations
  Counter dropped;      ///< by every module; the reasons are in each module's tally
};

/// What one module instance on one worker did (graph/module.hpp). Drops are
/// counted here by reason (the graph's codes and the module's own, named by
/// its DropTable) and in the worker's total; cycles are sampled on one
/// iteration in 16 (Worker::profiling()), inclusive of the modules it handed
/// batches to, whose share is in child_cycles.
struct alignas(kCacheLineBytes) ModuleTally {
  ///@{
  /// Batches and packets handed to the module.
  Counter calls, packets;
  ///@}
  ///@{
  /// Sampled cycles, the share of them spent in the modules it handed on to,
  /// and the packets of the sampled batches.
  Counter cycles, child_cycles, profiled_packets;
  ///@}
  std::array<Counter, kMaxDropReasons> drops;  ///< by DropReason code

  /// Counts `n` drops under `r`.
  void drop(DropReason r, uint64_t n = 1) { drops[drop_index(r) & (kMaxDropReasons - 1)].add(n); }
  /// Its drops, every reason summed.
  uint64_t dropped() const {
    uint64_t n = 0;
    for (const auto& d : drops) n += d.get();
    return n;
  }
};

/// A plain snapshot, summed over workers when read.
struct CounterTotals {
  ///@{
  /// As in WorkerCounters.
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t polls = 0, busy_polls = 0, busy_cycles = 0;
  ///@}
  uint64_t drops = 0;  ///< WorkerCounters::dropped

  uint64_t dropped() const { return drops; }  ///< the drops
  /// Adds another snapshot.
  void add(const CounterTotals& c) {
    rx_packets += c.rx_packets;
    rx_bytes += c.rx_bytes;
    tx_packets += c.tx_packets;
    tx_bytes += c.tx_bytes;
    polls += c.polls;
    busy_polls += c.busy_polls;
    busy_cycles += c.busy_cycles;
    drops += c.drops;
  }
  /// Adds one worker's counters, read now.
  void add(const WorkerCounters& c) {
    rx_packets += c.rx_packets.get();
    rx_bytes += c.rx_bytes.get();
    tx_packets += c.tx_packets.get();
    tx_bytes += c.tx_bytes.get();
    polls += c.polls.get();
    busy_polls += c.busy_polls.get();
    busy_cycles += c.busy_cycles.get();
    drops += c.dropped.get();
  }
};

}  // namespace bypass
