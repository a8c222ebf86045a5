/// @file
/// Port: a network device as the data plane sees it: RX and TX bursts per queue,
/// link status and stats. EthPort covers every DPDK ethdev (PCI NICs and vdevs);
/// FaultyPort wraps any Port to inject faults. One virtual call per burst.
#pragma once

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bypass {

/// A port's link, as the device reports it.
struct LinkStatus {
  bool up = false;           ///< the link is up
  uint32_t speed_mbps = 0;   ///< its speed; 0 when unknown
  bool full_duplex = false;  ///< full duplex
};

/// A device's counters (DPDK's rte_eth_stats), since it started or was reset.
struct PortStats {
  ///@{
  /// Packets and bytes received and sent.
  uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0;
  ///@}
  uint64_t imissed = 0;  ///< dropped by the device: RX ring full
  ///@{
  /// Packets received with errors, and packets the device failed to send.
  uint64_t ierrors = 0, oerrors = 0;
  ///@}
  uint64_t rx_nombuf = 0;  ///< RX refill failed: mempool empty
  ///@{
  /// Per queue, where the device counts them.
  std::vector<uint64_t> q_ipackets, q_opackets;
  ///@}
};

/// A network device as the data plane sees it; see the file's description.
class Port {
 public:
  virtual ~Port() = default;

  /// Receives up to n packets from `queue` into pkts; returns how many.
  virtual uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;
  /// Sends up to n packets; returns how many the device took. The caller still
  /// owns pkts[ret..n) and must send or free them.
  virtual uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) = 0;

  virtual LinkStatus link() const = 0;          ///< the link now
  virtual PortStats stats() const = 0;          ///< the device's counters now
  virtual void reset_stats() {}                 ///< sets the device's counters to 0, where it can
  virtual rte_ether_addr mac() const = 0;       ///< its MAC address
  virtual const std::string& name() const = 0;  ///< its name in the config
  virtual uint16_t rx_queues() const = 0;       ///< RX queues configured
  virtual uint16_t tx_queues() const = 0;       ///< TX queues configured
  /// How its RX queues share the traffic: "one queue", "rss", "kernel",
  /// "none" (the device cannot spread flows) or "off" (see EthPort).
  virtual std::string rx_spread() const { return "one queue"; }
  ///@{
  /// Offloads the device performs (RTE_ETH_{RX,TX}_OFFLOAD_* bits enabled).
  virtual uint64_t rx_offloads() const { return 0; }
  virtual uint64_t tx_offloads() const { return 0; }
  ///@}
  /// Where the device puts the receive timestamp of a packet (the mbuf's
  /// timestamp dynamic field and the ol_flags bit that says it is set), when
  /// it timestamps received packets (PortConfig::rx_timestamp asked for it).
  virtual bool rx_timestamps(int* /*field_offset*/, uint64_t* /*flag*/) const { return false; }
  /// The device clock those timestamps are in, read now.
  virtual bool read_clock(uint64_t* /*now*/) const { return false; }
  /// Whether the device asked to be reset (DPDK's RTE_ETH_EVENT_INTR_RESET):
  /// it moves no packet until it is set up again.
  virtual bool reset_requested() const { return false; }
  /// Whether the port holds packets back on TX and sends them only when
  /// tx_burst is called again (FaultyPort's delays and hold-backs): its
  /// PortTx then calls tx_burst(queue, nullptr, 0) every 100 us of worker
  /// time, so that a quiet queue still sends them.
  virtual bool wants_tx_kicks() const { return false; }
  /// Whether TX takes chained mbufs (RTE_ETH_TX_OFFLOAD_MULTI_SEGS); without it
  /// a frame must be one segment.
  bool tx_multi_seg() const { return tx_offloads() & RTE_ETH_TX_OFFLOAD_MULTI_SEGS; }
};

}  // namespace bypass
