// The forwarder's graph: for every RX queue a worker polls, PortRx -> swap
// module -> PortTx on the peer port. With pipeline = true the swap runs on the
// next worker, behind a single-producer/single-consumer ring.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/graph/port_modules.hpp>
#include <bypass/graph/ring_modules.hpp>
#include <bypass/io/port.hpp>

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
Expected<Mode> parse_mode(const std::string& s);
const char* mode_name(Mode m);

// Owns the workers, modules and rings of one forwarder.
class Forwarder {
 public:
  static Expected<std::unique_ptr<Forwarder>> build(const Config& c, const FwdOptions& o,
                                                    const std::vector<Port*>& ports);
  std::vector<Worker*> workers();
  const std::vector<std::unique_ptr<HandoffRing>>& rings() const { return rings_; }

 private:
  Module* add_swap(Mode m);

  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Module>> modules_;
  std::vector<std::unique_ptr<Poller>> pollers_;
  std::vector<std::unique_ptr<HandoffRing>> rings_;
};

}  // namespace bypass::fwd
