/// @file
/// EthPort: a Port over an rte_ethdev: any PMD, PCI NIC or vdev. open() probes
/// the device, checks the config against what the device can do, configures
/// queues, RSS and the checksum offloads it has, and starts it. The destructor
/// stops and closes the device, which returns its descriptors' mbufs.
#pragma once

#include <rte_ethdev.h>

#include <atomic>
#include <memory>

#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>
#include <bypass/io/port.hpp>

namespace bypass {

class SocketDrops;

/// Whether a pool whose mbufs hold `data_room` bytes (headroom included)
/// suits a driver that needs receive buffers of `min_rx_bufsize` bytes; if
/// not, an error naming `who` and the [memory] data_room it needs.
Status check_rx_buffers(const std::string& who, uint32_t data_room, uint32_t min_rx_bufsize);

/// A Port over a DPDK ethdev; see the file's description.
class EthPort final : public Port {
 public:
  /// Probes and starts the port described by `pc`; rx buffers come from `pool`.
  static Expected<std::unique_ptr<EthPort>> open(const PortConfig& pc, uint16_t tx_queues,
                                                 rte_mempool* pool);
  /// Stops and closes the device, which returns its descriptors' mbufs.
  ~EthPort() override;

  uint16_t rx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    return rte_eth_rx_burst(id_, q, pkts, n);
  }
  uint16_t tx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override {
    return rte_eth_tx_burst(id_, q, pkts, n);
  }
  /// The device's link; for AF_PACKET and AF_XDP, whose drivers say "up"
  /// whatever happens, the state of the Linux interface under them.
  LinkStatus link() const override;
  /// The device's counters; for net_af_packet and net_af_xdp, imissed also
  /// holds what the kernel dropped at the driver's sockets (a full ring) and
  /// the driver does not count.
  PortStats stats() const override;
  void reset_stats() override;
  rte_ether_addr mac() const override { return mac_; }
  const std::string& name() const override { return name_; }
  uint16_t rx_queues() const override { return rxq_; }
  uint16_t tx_queues() const override { return txq_; }
  uint64_t rx_offloads() const override { return rx_offloads_; }
  uint64_t tx_offloads() const override { return tx_offloads_; }
  bool rx_timestamps(int* offset, uint64_t* flag) const override {
    if (ts_offset_ < 0) return false;
    *offset = ts_offset_;
    *flag = ts_flag_;
    return true;
  }
  bool read_clock(uint64_t* now) const override { return rte_eth_read_clock(id_, now) == 0; }
  /// Set by the driver's reset event (on EAL's interrupt thread or the driver's own).
  bool reset_requested() const override { return reset_.load(std::memory_order_relaxed); }

  uint16_t id() const { return id_; }                    ///< its DPDK port id
  const std::string& driver() const { return driver_; }  ///< its driver ("net_af_xdp")
  /// How its RX queues share the traffic: "rss" (the device hashes flows to
  /// queues, symmetrically where the key can be set), "kernel" (net_af_packet:
  /// the kernel's flow hash; net_af_xdp: the NIC's queues and RSS under it),
  /// "none" (a device without RSS: it decides, and a
  /// flow may not stay on one queue), "off" (rss = false) or "one queue".
  std::string rx_spread() const override { return spread_; }
  /// Stops the device (descriptors' mbufs return to the pool); idempotent.
  void stop();

 private:
  EthPort() = default;
  static int on_reset(uint16_t port, rte_eth_event_type event, void* self, void* param);
  uint16_t id_ = 0;
  std::atomic<bool> reset_{false};
  bool reset_watched_ = false;  // on_reset is registered
  std::string name_, driver_, spread_;
  uint16_t rxq_ = 0, txq_ = 0;
  uint64_t rx_offloads_ = 0, tx_offloads_ = 0;
  int ts_offset_ = -1;  // RX timestamp dynfield, when the device fills it
  uint64_t ts_flag_ = 0;
  rte_ether_addr mac_{};
  bool started_ = false, probed_ = false, hotplugged_ = false;
  std::string devargs_;
  std::string iface_;                   // the Linux interface under an AF_PACKET / AF_XDP port
  std::unique_ptr<SocketDrops> drops_;  // its driver's sockets, for what they drop
};

}  // namespace bypass
