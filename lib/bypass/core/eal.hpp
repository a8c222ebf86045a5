/// @file
/// Eal: starts and stops DPDK's Environment Abstraction Layer from a checked
/// Config. Lcore 0 is the control thread on [eal].control_cpu; lcore i+1 is
/// worker i on its cpu. Vdevs are not given to EAL: PortSet::open probes them one
/// by one so that a device that does not probe is named in the error.
#pragma once

#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

/// The argv EAL gets for this config (argv[0] included).
std::vector<std::string> eal_args(const Config& c, const std::string& prog = "bypass");
/// The EAL file prefix: [eal] file_prefix, else "bypass-<pid>".
std::string file_prefix(const Config& c);

/// DPDK's EAL, started from a config and stopped when this goes.
class Eal {
 public:
  /// Starts EAL. Only one Eal may live in a process, once (DPDK's rule).
  static Expected<Eal> start(const Config& c, const std::string& prog = "bypass");
  /// Takes over `o`'s EAL: `o` no longer stops it.
  Eal(Eal&& o) noexcept : live_(o.live_), pdump_(o.pdump_) { o.live_ = o.pdump_ = false; }
  Eal& operator=(Eal&&) = delete;
  /// Stops EAL (rte_eal_cleanup), if this Eal started it.
  ~Eal();

  /// The lcore EAL gives worker `worker_index`: the index plus one (lcore 0 is the control thread).
  static unsigned worker_lcore(size_t worker_index) {
    return static_cast<unsigned>(worker_index + 1);
  }

 private:
  Eal() = default;
  bool live_ = false;
  bool pdump_ = false;  // rte_pdump_init() done: dpdk-dumpcap may attach
};

}  // namespace bypass
