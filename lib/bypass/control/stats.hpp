// The stats snapshot: everything the control plane reads of the data plane
// at one moment (workers, ports, modules, application counters, gauges such
// as pool use), taken from the control core without stopping anyone: the
// counters are single-writer and read with relaxed loads. The per-second
// line, the final report, --stats-json (one JSON object a line, schema
// below) and, later, telemetry and Prometheus all come from it.
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

struct StatsSnapshot {
  // Bumped when a field changes meaning or goes away (adding one does not).
  static constexpr int kSchemaVersion = 2;  // 2: drops by reason per module only

  struct WorkerStat {
    unsigned index = 0, cpu = 0;
    CounterTotals c;
  };
  struct PortStat {
    std::string name;
    LinkStatus link;
    PortStats s;
  };
  struct ModuleStat {
    std::string name;
    unsigned worker = 0;
    uint64_t calls = 0, packets = 0, cycles = 0, child_cycles = 0, profiled_packets = 0;
    // By reason name (the graph's and the module's own), those counted only.
    std::vector<std::pair<std::string, uint64_t>> drops;
    uint64_t dropped() const;
    void add_drops(const std::vector<std::pair<std::string, uint64_t>>& d);
    // Its own sampled cycles per packet (without the modules it handed on to); -1 if none.
    double cycles_per_packet() const;
  };

  double seconds = 0;    // since the run started
  double unix_time = 0;  // when it was taken
  uint64_t tsc = 0, hz = 0;
  std::vector<WorkerStat> workers;
  std::vector<PortStat> ports;
  std::vector<ModuleStat> modules;
  std::vector<std::pair<std::string, uint64_t>> counters;  // the program's own ("udp.replies")
  std::vector<std::pair<std::string, double>> gauges;      // levels ("pool.in_use")
  // Distributions (latency), summarised: count and percentiles in their unit.
  struct HistogramStat {
    std::string name, unit;
    uint64_t count = 0, min = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
    // For Prometheus: (upper bound, values at or below it), bounds rising,
    // and the sum of the values (estimated from the buckets' middles).
    std::vector<std::pair<double, uint64_t>> cumulative;
    double sum = 0;
  };
  std::vector<HistogramStat> histograms;

  CounterTotals totals() const;
  // Drops of every module summed by reason name, in first-seen order.
  std::vector<std::pair<std::string, uint64_t>> drops_by_reason() const;
};

// Knows where to read; take() reads. Programs add their own counters and gauges.
class StatsCollector {
 public:
  using CounterFn = std::function<void(std::vector<std::pair<std::string, uint64_t>>&)>;
  using GaugeFn = std::function<double()>;

  StatsCollector(std::vector<const Worker*> workers, std::vector<Port*> ports,
                 std::vector<const WorkerGraph*> graphs = {})
      : workers_(std::move(workers)), ports_(std::move(ports)), graphs_(std::move(graphs)) {}
  void add_counters(CounterFn f) { counter_fns_.push_back(std::move(f)); }
  // After a live reload swapped the workers' graphs (control thread only).
  void set_graphs(std::vector<const WorkerGraph*> graphs) { graphs_ = std::move(graphs); }
  void add_gauge(std::string name, GaugeFn f) {
    gauges_.emplace_back(std::move(name), std::move(f));
  }
  using HistogramFn = std::function<void(std::vector<StatsSnapshot::HistogramStat>&)>;
  void add_histograms(HistogramFn f) { histogram_fns_.push_back(std::move(f)); }

  StatsSnapshot take(double seconds) const;

 private:
  std::vector<const Worker*> workers_;
  std::vector<Port*> ports_;
  std::vector<const WorkerGraph*> graphs_;
  std::vector<CounterFn> counter_fns_;
  std::vector<std::pair<std::string, GaugeFn>> gauges_;
  std::vector<HistogramFn> histogram_fns_;
};

// One JSON object, no newline: {"schema":1,"final":...,"seconds":...,"time":...,
// "totals":{...,"drops":{reason:n}},"workers":[...],"ports":[...],
// (totals.drops sums every module's drops by reason name; a worker has only
// its total "dropped")
// "modules":[{"name","worker","packets","dropped","drops":{...},"cycles_per_packet"}],
// "counters":{...},"gauges":{...},"histograms":[{"name","unit","count","min","p50","p90",
// "p99","p999","max"}]}. Counters and histograms are cumulative since the start.
std::string stats_json(const StatsSnapshot& s, bool final);

// A JSON string literal of `s`, escaped as JSON needs.
std::string json_quote(const std::string& s);

// Appends `in` to `out` summed by name (several workers' counters of one
// name become one), in first-seen order.
void sum_by_name(const std::vector<std::pair<std::string, uint64_t>>& in,
                 std::vector<std::pair<std::string, uint64_t>>& out);

}  // namespace bypass
