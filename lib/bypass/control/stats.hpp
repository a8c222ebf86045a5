/// @file
/// The stats snapshot: everything the control plane reads of the data plane
/// at one moment (workers, ports, modules, application counters, gauges such
/// as pool use), taken from the control core without stopping anyone: the
/// counters are single-writer and read with relaxed loads. The per-second
/// line, the final report, --stats-json (one JSON object a line, schema
/// below) and, later, telemetry and Prometheus all come from it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/io/port.hpp>

namespace bypass {

/// What the data plane counted at one moment; see the file's description.
struct StatsSnapshot {
  /// Bumped when a field changes meaning or goes away (adding one does not).
  static constexpr int kSchemaVersion = 2;  ///< 2: drops by reason per module only

  /// One worker's counters.
  struct WorkerStat {
    ///@{
    /// The worker's index and the CPU it runs on.
    unsigned index = 0, cpu = 0;
    ///@}
    CounterTotals c;  ///< its counters
  };
  /// One port's link and device counters.
  struct PortStat {
    std::string name;        ///< the port's name in the config
    LinkStatus link;         ///< its link
    PortStats s;             ///< the device's counters
    uint16_t rx_queues = 0;  ///< its RX queues
    std::string rx_spread;   ///< how they share the traffic (Port::rx_spread)
  };
  /// One module instance on one worker: its tally (ModuleTally) read.
  struct ModuleStat {
    std::string name;     ///< the instance's name
    unsigned worker = 0;  ///< the worker's index
    ///@{
    /// Batches and packets handed to it, sampled cycles (those of the modules it
    /// handed on to also in child_cycles) and the packets of the sampled batches.
    uint64_t calls = 0, packets = 0, cycles = 0, child_cycles = 0, profiled_packets = 0;
    ///@}
    /// By reason name (the graph's and the module's own), those counted only.
    std::vector<std::pair<std::string, uint64_t>> drops;
    /// Its drops, every reason summed.
    uint64_t dropped() const;
    /// Adds `d` to `drops` by reason name (a new name is appended).
    void add_drops(const std::vector<std::pair<std::string, uint64_t>>& d);
    /// Its own sampled cycles per packet (without the modules it handed on to); -1 if none.
    double cycles_per_packet() const;
  };

  double seconds = 0;    ///< since the run started
  double unix_time = 0;  ///< when it was taken
  ///@{
  /// The TSC when it was taken, and its rate.
  uint64_t tsc = 0, hz = 0;
  ///@}
  std::vector<WorkerStat> workers;  ///< every worker, in order
  std::vector<PortStat> ports;      ///< every port, in order
  std::vector<ModuleStat> modules;  ///< every module instance of every worker
  std::vector<std::pair<std::string, uint64_t>> counters;  ///< the program's own ("udp.replies")
  std::vector<std::pair<std::string, double>> gauges;      ///< levels ("pool.in_use")
  /// Distributions (latency), summarised: count and percentiles in their unit.
  struct HistogramStat {
    ///@{
    /// What is measured, and in what unit ("ns").
    std::string name, unit;
    ///@}
    ///@{
    /// Values counted, the smallest, the percentiles and the largest.
    uint64_t count = 0, min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
    ///@}
    /// For Prometheus: (upper bound, values at or below it), bounds rising,
    /// and the sum of the values (estimated from the buckets' middles).
    std::vector<std::pair<double, uint64_t>> cumulative;
    double sum = 0;  ///< the values' sum, as estimated for `cumulative`
  };
  std::vector<HistogramStat> histograms;  ///< what the program added (StatsCollector)

  /// The workers' counters summed.
  CounterTotals totals() const;
  /// Drops of every module summed by reason name, in first-seen order.
  std::vector<std::pair<std::string, uint64_t>> drops_by_reason() const;
};

/// What one module's tally holds now, as the ModuleStat of `worker`.
StatsSnapshot::ModuleStat read_module(const Module& m, unsigned worker);

/// Knows where to read; take() reads. Programs add their own counters and gauges.
class StatsCollector {
 public:
  /// Appends (name, count) pairs of the program's own counters.
  using CounterFn = std::function<void(std::vector<std::pair<std::string, uint64_t>>&)>;
  /// Reads one gauge's level.
  using GaugeFn = std::function<double()>;

  /// Reads `workers`, `ports` and the modules of `graphs`, which must outlive it.
  StatsCollector(std::vector<const Worker*> workers, std::vector<Port*> ports,
                 std::vector<const WorkerGraph*> graphs = {})
      : workers_(std::move(workers)), ports_(std::move(ports)), graphs_(std::move(graphs)) {}
  /// Adds counters that every take() reads through `f`.
  void add_counters(CounterFn f) { counter_fns_.push_back(std::move(f)); }
  /// After a live reload swapped the workers' graphs (control thread only).
  void set_graphs(std::vector<const WorkerGraph*> graphs) { graphs_ = std::move(graphs); }
  /// Modules a live swap removed, with their last counts: every later
  /// snapshot keeps them (added to the module of the same name on the same
  /// worker, if there is one), so that no count goes back (control thread).
  void retire(const std::vector<StatsSnapshot::ModuleStat>& gone);
  /// Adds the gauge `name`, read through `f` by every take().
  void add_gauge(std::string name, GaugeFn f) {
    gauges_.emplace_back(std::move(name), std::move(f));
  }
  /// Appends summarised distributions.
  using HistogramFn = std::function<void(std::vector<StatsSnapshot::HistogramStat>&)>;
  /// Adds distributions that every take() reads through `f`.
  void add_histograms(HistogramFn f) { histogram_fns_.push_back(std::move(f)); }

  /// A snapshot now; `seconds` is the time since the run started.
  StatsSnapshot take(double seconds) const;

 private:
  std::vector<const Worker*> workers_;
  std::vector<Port*> ports_;
  std::vector<const WorkerGraph*> graphs_;
  std::vector<StatsSnapshot::ModuleStat> retired_;  // by (worker, name), summed
  std::vector<CounterFn> counter_fns_;
  std::vector<std::pair<std::string, GaugeFn>> gauges_;
  std::vector<HistogramFn> histogram_fns_;
};

/// One JSON object, no newline: {"schema":1,"final":...,"seconds":...,"time":...,
/// "totals":{...,"drops":{reason:n}},"workers":[...],"ports":[...],
/// (totals.drops sums every module's drops by reason name; a worker has only
/// its total "dropped")
/// "modules":[{"name","worker","packets","dropped","drops":{...},"cycles_per_packet"}],
/// "counters":{...},"gauges":{...},"histograms":[{"name","unit","count","min","p50","p90",
/// "p99","p999","max"}]}. Counters and histograms are cumulative since the start.
std::string stats_json(const StatsSnapshot& s, bool final);

/// A JSON string literal of `s`, escaped as JSON needs.
std::string json_quote(const std::string& s);

/// Appends `in` to `out` summed by name (several workers' counters of one
/// name become one), in first-seen order.
void sum_by_name(const std::vector<std::pair<std::string, uint64_t>>& in,
                 std::vector<std::pair<std::string, uint64_t>>& out);

}  // namespace bypass
