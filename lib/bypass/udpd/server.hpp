// bypass-udpd's two ways to serve the same handlers: DpdkServer (ports,
// Endpoints and UdpPollers on pinned workers) and the Linux socket backend.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <bypass/control/control_server.hpp>
#include <bypass/control/journal.hpp>
#include <bypass/control/stats.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/capture_tap.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/graph/placement.hpp>
#include <bypass/graph/registry.hpp>
#include <bypass/io/ports.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/udp/dpdk_backend.hpp>
#include <bypass/udp/handlers.hpp>
#include <bypass/udp/socket_backend.hpp>

namespace bypass::udpd {

// bypassctl capture on `server`: start, status and stop.
class CaptureCommand;
std::shared_ptr<CaptureCommand> add_capture_command(ControlServer& control,
                                                    class DpdkServer& server,
                                                    const ModuleRegistry& reg);

// bypassctl conns: the connections sorted by worker, service and client
// id, paged, as a table or JSON ({"total","offset","connections":[...]}).
CommandReply conns_reply(std::vector<ConnectionRow> rows, const CommandRequest& r);

// The handlers' own counters as report lines: "  netcode: connects 3 ...".
std::string handler_lines(const std::vector<std::pair<std::string, uint64_t>>& counters);

struct UdpdOptions {
  std::string backend = "dpdk";  // or "sockets"
  std::vector<IpAddr> bind;      // sockets: addresses to bind (default: every port's addresses)
  uint32_t icmp_errors_per_sec = 100;
  uint32_t socket_buffer_kib =  // sockets: SO_RCVBUF and SO_SNDBUF of each socket
      SocketBackendOptions{}.socket_buffer / 1024;
  std::vector<ServiceConfig> services;
  const HandlerRegistry* added = nullptr;  // the program's own handlers, by name
};

// Reads [udpd] and [[udpd.service]], and checks the ports' addresses.
Expected<UdpdOptions> read_udpd_options(const Config& c, const HandlerRegistry* added = nullptr);

// The DPDK side: on each worker the graph of udp/udp_graph.hpp, one Endpoint
// per (worker, port), one handler per (worker, service), and the config's
// [[module]]s inserted at their points.
class DpdkServer {
 public:
  static Expected<std::unique_ptr<DpdkServer>> build(const Config& c, const UdpdOptions& o,
                                                     const ModuleRegistry& reg, PortSet& ports,
                                                     rte_mempool* pool);
  std::vector<Worker*> workers();
  // Each worker's graph, as --graph prints it.
  std::string describe() const;
  // The server's own counters, summed over workers ("host.ping4", "udp.replies", ...).
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const;
  // Final stats: handlers and endpoints, as text.
  std::string report() const;
  std::vector<const WorkerGraph*> graphs() const;
  // bypassctl capture (capture.cpp): puts a CaptureTap feeding `ch` in
  // front of every module at `point` on every worker (a live graph swap, as
  // a reload), or with no channel takes the taps out again.
  // `before_free(wi)` runs once worker wi has swapped, before its old graph
  // (and the taps in it) is freed: the last records can still be read.
  Expected<std::vector<CaptureTap*>> retap(const std::string& point,
                                           std::shared_ptr<CaptureChannel> ch,
                                           const ModuleRegistry& reg,
                                           const std::function<void(size_t)>& before_free = {});
  // Called on the control thread after a reload or a capture swapped the
  // graphs (whoever holds graphs() must take them again).
  void on_swap(std::function<void()> fn) { on_swap_ = std::move(fn); }
  // The modules live swaps removed, with their last counts, since the last
  // call (for StatsCollector::retire: the stats keep them).
  std::vector<StatsSnapshot::ModuleStat> take_retired_modules() {
    return std::exchange(retired_modules_, {});
  }
  // Once the workers have stopped: what the [[handoff]] rings still hold is
  // freed and counted (left_at_stop), before the final report.
  void drop_left_in_rings();
  // Every worker's open connections (bypassctl conns).
  void connections(std::vector<ConnectionRow>& out) const;
  // Each worker's neighbour tables hand their changes to the journal.
  void set_journal(Journal& j);
  // Live reload (reload.cpp): applies what `nc` changes in services and
  // [[module]]s while the workers run, each worker swapping its graph
  // between two bursts; unchanged services and modules keep their state and
  // counters. A change that needs a restart, or any mistake, changes
  // nothing and is one sentence. Returns what changed, in a sentence.
  Expected<std::string> reload(const Config& nc, const UdpdOptions& no, const ModuleRegistry& reg);

 private:
  struct PerWorker {
    std::unique_ptr<Worker> worker;
    std::vector<std::unique_ptr<Endpoint>> endpoints;  // by port
    std::vector<std::unique_ptr<DatagramHandler>> handlers;
    std::unique_ptr<ServiceTable> services;
    std::unique_ptr<WorkerGraph> graph;
  };
  // The ports `wi` serves in its graph (all of them with hand-offs).
  std::vector<UdpPortPlan> plan(const Config& c, size_t wi);
  // Before worker `wi`'s old graph goes in a live swap: keeps the counts of
  // its modules and services and of the handlers `gone`, so counters() and
  // the stats never go back (a level, like netcode.connected, goes with them).
  void retire(size_t wi, const WorkerGraph& old,
              const std::vector<std::unique_ptr<DatagramHandler>>& gone);

  HandoffRings rings_;  // [[handoff]]s: outlive the graphs (declared first)
  Config config_;       // what the graphs were built from (reload compares)
  UdpdOptions opts_;
  PortSet* ports_ = nullptr;
  rte_mempool* pool_ = nullptr;
  Journal* journal_ = nullptr;  // new handlers of a reload get its sinks
  std::function<void()> on_swap_;
  // A capture's taps are in the graphs: a reload, which builds graphs
  // without them, would free taps the capture still reads.
  bool capturing_ = false;
  std::vector<PerWorker> per_worker_;
  std::unique_ptr<DpdkHandlerContext> ctx_;
  std::vector<StatsSnapshot::ModuleStat> retired_modules_;        // not yet taken
  std::vector<std::pair<std::string, uint64_t>> retired_counts_;  // by name, summed
};

// The registry bypass-udpd's configs may name classes from.
ModuleRegistry udpd_modules();

// [[module]]s checked against the registry and the graph's points, before EAL.
Status check_modules(const Config& c, const UdpdOptions& o, const ModuleRegistry& reg);

}  // namespace bypass::udpd
