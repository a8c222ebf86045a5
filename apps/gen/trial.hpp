// One run of bypass-gen at one rate and frame size: builds the TX and RX
// pollers for every worker, launches them, ticks once a second, stops, and
// returns what was sent and received per port and per stream.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <bypass/control/control_server.hpp>
#include <bypass/control/stats.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/signals.hpp>
#include <bypass/gen/histogram.hpp>
#include <bypass/gen/rx_tracker.hpp>
#include <bypass/io/port.hpp>

#include <bypass/gen/traffic.hpp>

#include "options.hpp"

namespace bypass::gen {

struct TrialSpec {
  double seconds = 10;
  std::vector<double> pps;           // per stream; 0 or absent: max rate
  std::optional<FrameSizes> size;    // overrides every stream's sizes
  std::string stats_json;            // a JSON stats snapshot a second and a final one
  ControlServer* control = nullptr;  // served while the trial runs
  double drain = 0.1;                // seconds frames in flight still count after sending stops
};

struct PortResult {
  std::string name;
  uint64_t tx_packets = 0, tx_bytes = 0, rx_packets = 0, rx_bytes = 0, rx_other = 0, tx_nombuf = 0;
  uint64_t rx_device_timed = 0;  // timed by the device's RX timestamp
};

struct StreamResult {
  std::string name;
  uint64_t sent = 0;
  RxCounts rx;
  Histogram latency{HistogramConfig{1, 10'000'000'000ull, 2}};
};

struct TrialResult {
  double seconds = 0;
  int signal = 0;  // set when a signal ended the trial early
  std::vector<PortResult> ports;
  std::vector<StreamResult> streams;
  StatsSnapshot last;  // the stats at the end (after the last frames arrived)
  uint64_t tx() const;
  uint64_t rx() const;
  uint64_t lost() const;  // sent but not received (in flight at the end included)
};

// Per-second progress: seconds since start, and the ports' counters so far.
using TickFn =
    std::function<void(double, const std::vector<PortResult>&, const std::vector<StreamResult>&)>;

// The frame sizes an RFC 2544 search tries, labelled ("64", "imix").
std::vector<std::pair<std::string, FrameSizes>> rfc2544_sizes(const GenOptions& o);

// Before anything runs (and for --check): every stream builds, and fits the
// mbufs, at every size the run will send (the search's sizes a stream can
// be built at); a stream without its stamp could only be counted lost.
Status preflight(const Config& c, const GenOptions& o);

Expected<TrialResult> run_trial(const Config& c, const GenOptions& o,
                                const std::vector<Port*>& ports, rte_mempool* pool,
                                const TrialSpec& spec, StopSignals& signals, const TickFn& tick);

}  // namespace bypass::gen
