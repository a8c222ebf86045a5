// ControlPlane: the commands every bypass program answers, over its stats
// snapshots: stats, ports, workers, drops and top for bypassctl (text or
// JSON), /metrics for Prometheus and /api/... on the HTTP endpoint. Counts
// are read when asked; rates are taken from the snapshot the control thread
// gave tick() a second before the last one (a window of one to two seconds). Programs add their own
// commands (graph, conns) to the server directly.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <bypass/control/control_server.hpp>
#include <bypass/control/journal.hpp>
#include <bypass/control/stats.hpp>

namespace bypass {

class ControlPlane {
 public:
  using TakeFn = std::function<StatsSnapshot()>;
  // `take` reads a fresh snapshot (on the control thread).
  ControlPlane(ControlServer& server, std::string program, TakeFn take);
  ~ControlPlane();  // its commands and pages leave the server with it
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;
  // Each tick then drains the workers' journal sinks and records link changes.
  void set_journal(Journal* j);
  void tick(StatsSnapshot now);
  // The last tick's snapshot, for readers on other threads (DPDK telemetry).
  std::shared_ptr<const StatsSnapshot> latest() const;
  const std::string& program() const { return program_; }

 private:
  ControlServer& server_;
  std::string program_;
  TakeFn take_;
  StatsSnapshot prev_, now_;
  Journal* journal_ = nullptr;
  mutable std::mutex latest_mu_;  // between the control thread and telemetry's, never a worker
  std::shared_ptr<const StatsSnapshot> latest_;
};

}  // namespace bypass
