/// @file
/// PortSet: every port a Config names, opened in order as EthPorts sharing one
/// pool; a port with a [port.faults] table is wrapped in a FaultyPort, so the
/// rest of the program sees only Port*.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/io/eth_port.hpp>
#include <bypass/io/faulty_port.hpp>

namespace bypass {

/// Every port of a config; see the file's description.
class PortSet {
 public:
  /// Opens every port of `c` in order, with RX buffers from `pool`.
  static Expected<PortSet> open(const Config& c, rte_mempool* pool);

  /// Every port, in config order, as the program sees it.
  const std::vector<Port*>& ports() const { return ports_; }
  Port& operator[](size_t i) const { return *ports_[i]; }  ///< port i
  size_t size() const { return ports_.size(); }            ///< how many ports
  EthPort& device(size_t i) const { return *eth_[i]; }     ///< the device under port i
  /// The fault injector of port i, or nullptr.
  FaultyPort* faults(size_t i) const { return faulty_[i].get(); }
  /// Stops every device; held fault-injected packets are freed.
  void stop();
  /// A sentence naming the first port whose device asked to be reset, or "":
  /// bypass cannot set a port up again while it runs, so the program stops.
  std::string reset_sentence() const;
  /// Mbufs that drivers take from the pool at start and never give back, even
  /// when closed: net_af_xdp keeps its fill ring (DPDK 22.11). Measured per port
  /// as the pool's in-use count across its open; the leak check allows for it.
  unsigned kept_by_drivers() const { return kept_; }

 private:
  std::vector<std::unique_ptr<EthPort>> eth_;
  std::vector<std::unique_ptr<FaultyPort>> faulty_;
  std::vector<Port*> ports_;
  unsigned kept_ = 0;
};

}  // namespace bypass
