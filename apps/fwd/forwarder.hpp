// The forwarder's graph: for every RX queue a worker polls, PortRx -> swap
// module -> PortTx on the peer port. With pipeline = true the swap runs on the
// next worker, behind a single-producer/single-consumer ring. [[module]]s go
// in front of the swap or the TX.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/graph/port_modules.hpp>
#include <bypass/graph/registry.hpp>
#include <bypass/graph/ring_modules.hpp>
#include <bypass/io/port.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/port_host.hpp>

namespace bypass::fwd {

enum class Mode { kIo, kMacSwap, kFiveTupleSwap };

struct FwdOptions {
  Mode mode = Mode::kFiveTupleSwap;
  bool paired = true;     // ports 0<->1, 2<->3; false: each port reflects to itself
  bool pipeline = false;  // swap on the next worker behind a ring
  unsigned tx_retries = 4;
};

// Reads the [fwd] section of the config.
Expected<FwdOptions> read_fwd_options(const Config& c);
// The ports' addresses, which a reflector (macswap, 5tswap) answers ARP and
// neighbour solicitations for; io forwards every frame and has none.
Status check_port_addresses(const Config& c, Mode m);
Expected<Mode> parse_mode(const std::string& s);
const char* mode_name(Mode m);

// The forwarder's named points, for [[module]]: in front of the swap or the TX.
std::vector<GraphPoint> fwd_points();

// Owns the workers, their graphs and the rings of one forwarder. On each
// worker, per RX queue it polls: rx -> host -> swap -> tx (names get
// ".p<port>q<queue>" when a worker has several), the host's answers to the
// receiving port ("answer" when that is not the swap's TX); with pipeline the
// RX worker's rx -> ring, and the next worker's ring -> host -> swap -> tx.
// io mode has no host.
class Forwarder {
 public:
  static Expected<std::unique_ptr<Forwarder>> build(const Config& c, const FwdOptions& o,
                                                    const ModuleRegistry& reg,
                                                    const std::vector<Port*>& ports);
  std::vector<Worker*> workers();
  std::vector<const WorkerGraph*> graphs() const;
  std::string describe() const;
  const std::vector<std::unique_ptr<HandoffRing>>& rings() const { return rings_; }
  // Once the workers have stopped: what the pipeline's rings still hold is
  // freed and counted (left_at_stop), before the final report.
  void drop_left_in_rings();
  // The hosts' answers, summed: host.arp_replies, host.neighbour_adverts,
  // host.arp_unanswered.
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const;
  // Once per port, the first time it was asked by ARP for an address it
  // lacks: a sentence naming the setting (empty otherwise). Control thread.
  std::vector<std::string> arp_advice();

 private:
  struct Host {
    size_t port;
    std::unique_ptr<Endpoint> endpoint;
    PortHost* module;
  };
  std::vector<Host> hosts_;
  std::vector<std::string> port_names_;
  std::vector<MacAddr> port_macs_;
  std::vector<bool> advised_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<WorkerGraph>> graphs_;
  std::vector<std::unique_ptr<HandoffRing>> rings_;
};

}  // namespace bypass::fwd
