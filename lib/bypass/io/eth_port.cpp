#include <bypass/io/eth_port.hpp>

#include <fstream>

#include <bypass/io/kernel_iface.hpp>

#include "socket_drops.hpp"

#include <net/if.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_mbuf_dyn.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <spdlog/spdlog.h>

namespace bypass {
namespace {

// The ethdev whose underlying device has this name, if any.
bool find_port(const std::string& dev_name, uint16_t* out) {
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(pid, &info) != 0 || info.device == nullptr) continue;
    if (dev_name == rte_dev_name(info.device)) {
      *out = pid;
      return true;
    }
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(pid, name) == 0 && dev_name == name) {
      *out = pid;
      return true;
    }
  }
  return false;
}

std::string err(int rc) {
  return strerror(rc < 0 ? -rc : rc);
}

// Without root, the kernel-socket PMDs need capabilities; which ones was
// measured on Linux 6.x (docs/running.md). One sentence naming what is
// missing, before the driver fails with a bare EPERM or EINVAL.
Status check_capabilities(const std::string& dev, const std::string& who) {
  if (geteuid() == 0) return Status::ok();
  struct Cap {
    int bit;
    const char* name;
  };
  std::vector<Cap> need;
  if (dev.rfind("net_af_packet", 0) == 0)
    need = {{13, "CAP_NET_RAW"}, {12, "CAP_NET_ADMIN"}};
  else if (dev.rfind("net_af_xdp", 0) == 0)
    need = {
        {13, "CAP_NET_RAW"}, {12, "CAP_NET_ADMIN"}, {14, "CAP_IPC_LOCK"}, {21, "CAP_SYS_ADMIN"}};
  else
    return Status::ok();
  uint64_t eff = 0;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("CapEff:", 0) == 0) eff = std::stoull(line.substr(7), nullptr, 16);
  std::string all, missing;
  for (const Cap& c : need) {
    all += (all.empty() ? "" : ", ") + std::string(c.name);
    if (!(eff >> c.bit & 1)) missing += (missing.empty() ? "" : ", ") + std::string(c.name);
  }
  if (missing.empty()) return Status::ok();
  return Status::error(who + " needs " + all + " without root, and this process lacks " + missing +
                       ": grant them (setcap or ambient capabilities, docs/running.md) or run as "
                       "root.");
}

}  // namespace

Status check_rx_buffers(const std::string& who, uint32_t data_room, uint32_t min_rx_bufsize) {
  const uint32_t need = RTE_PKTMBUF_HEADROOM + min_rx_bufsize;
  if (data_room >= need) return Status::ok();
  return Status::error(who + " needs receive buffers of at least " +
                       std::to_string(min_rx_bufsize) + " bytes after the " +
                       std::to_string(RTE_PKTMBUF_HEADROOM) + "-byte headroom: raise [memory] " +
                       "data_room from " + std::to_string(data_room) + " to at least " +
                       std::to_string(need) + ".");
}

Expected<std::unique_ptr<EthPort>> EthPort::open(const PortConfig& pc, uint16_t tx_queues,
                                                 rte_mempool* pool) {
  std::unique_ptr<EthPort> p(new EthPort());
  p->name_ = pc.name;
  p->iface_ = kernel_iface(pc);
  const std::string who = "port '" + pc.name + "' (" + pc.device_name() + ")";
  std::string dev = pc.device_name();
  if (pc.is_pci() && dev.size() == 7) dev = "0000:" + dev;
  if (Status c = check_capabilities(dev, who); !c) return c;
  uint16_t id;
  // The sockets of a kernel-backed driver are those that appear from its
  // probe to its start: their drops are counted (socket_drops.hpp).
  const bool kernel_sockets =
      pc.device.rfind("net_af_packet", 0) == 0 || pc.device.rfind("net_af_xdp", 0) == 0;
  SocketDrops::Sockets sockets_before;
  if (!find_port(dev, &id)) {
    if (kernel_sockets) sockets_before = SocketDrops::packet_sockets();
    if (pc.is_pci())
      return Status::error(
          who + " did not probe: bind it to a DPDK driver with `dpdk-devbind.py -b vfio-pci " +
          dev + "` (modprobe vfio-pci first) and check that its PMD is installed.");
    int rc = rte_dev_probe(pc.device.c_str());
    if (rc != 0 || !find_port(dev, &id))
      return Status::error(
          who + " did not probe: check the driver name and its arguments in \"" + pc.device +
          "\" (drivers here include net_null, net_ring, net_memif, net_af_packet, "
          "net_af_xdp, net_tap, net_pcap); [eal] log_level = \"debug\" shows DPDK's reason.");
    p->hotplugged_ = true;
    p->devargs_ = pc.device;
  }
  p->id_ = id;
  // A device we probed is removed again if open fails; one that existed
  // before (given to EAL, or made by rte_eth_from_rings) is left alone.
  p->probed_ = p->hotplugged_;

  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0)
    return Status::error(who + " gave no device info (" + err(rc) +
                         "): the driver may not support this device.");
  p->driver_ = info.driver_name ? info.driver_name : "";
  if (pc.rx_queues > info.max_rx_queues)
    return Status::error(who + " has at most " + std::to_string(info.max_rx_queues) +
                         " RX queue(s) but rx_queues = " + std::to_string(pc.rx_queues) +
                         ": lower rx_queues to " + std::to_string(info.max_rx_queues) + ".");
  if (tx_queues > info.max_tx_queues)
    return Status::error(who + " has at most " + std::to_string(info.max_tx_queues) +
                         " TX queue(s) but " + std::to_string(tx_queues) +
                         " are needed (one per worker): lower tx_queues or the number of workers.");

  rte_eth_conf conf{};
  // A Toeplitz key of 0x6d5a repeated hashes (a, b) and (b, a) alike, so both
  // directions of a flow land on the same queue and so on the same worker.
  static uint8_t symmetric_key[64];
  for (size_t i = 0; i < sizeof(symmetric_key); ++i) symmetric_key[i] = i % 2 ? 0x5a : 0x6d;
  p->spread_ = pc.rx_queues == 1 ? "one queue" : pc.rss ? "none" : "off";
  if (pc.rx_queues > 1 && (p->driver_ == "net_af_packet" || p->driver_ == "net_af_xdp")) {
    // The kernel spreads flows: AF_PACKET's queue pairs are one
    // PACKET_FANOUT_HASH group; AF_XDP's queues are the NIC's, under its RSS.
    p->spread_ = "kernel";
  } else if (pc.rss && pc.rx_queues > 1 && info.flow_type_rss_offloads != 0) {
    p->spread_ = "rss";
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
    if (info.hash_key_size > 0 && info.hash_key_size <= sizeof(symmetric_key)) {
      conf.rx_adv_conf.rss_conf.rss_key = symmetric_key;
      conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
    }
  }
  conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM & info.rx_offload_capa;
  if (pc.rx_timestamp) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP & info.rx_offload_capa;
  conf.txmode.offloads = (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
                          RTE_ETH_TX_OFFLOAD_TCP_CKSUM) &
                         info.tx_offload_capa;
  p->rx_offloads_ = conf.rxmode.offloads;
  p->tx_offloads_ = conf.txmode.offloads;

  if (int rc = rte_eth_dev_configure(id, pc.rx_queues, tx_queues, &conf); rc != 0)
    return Status::error(who + " refused its configuration (" + err(rc) +
                         "): try fewer queues or set rss = false.");
  uint16_t rx_desc = pc.rx_desc, tx_desc = pc.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_desc, &tx_desc);
  int socket = rte_eth_dev_socket_id(id);
  if (socket < 0) socket = SOCKET_ID_ANY;
  BYPASS_TRY(check_rx_buffers(who, rte_pktmbuf_data_room_size(pool), info.min_rx_bufsize));
  for (uint16_t q = 0; q < pc.rx_queues; ++q) {
    rte_eth_rxconf rxc = info.default_rxconf;
    rxc.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(id, q, rx_desc, socket, &rxc, pool); rc != 0)
      return Status::error(who + " RX queue " + std::to_string(q) + " could not be set up (" +
                           err(rc) + "): raise [memory] pool_size or lower rx_desc.");
  }
  for (uint16_t q = 0; q < tx_queues; ++q) {
    rte_eth_txconf txc = info.default_txconf;
    txc.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(id, q, tx_desc, socket, &txc); rc != 0)
      return Status::error(who + " TX queue " + std::to_string(q) + " could not be set up (" +
                           err(rc) + "): lower tx_desc or tx_queues.");
  }
  p->rxq_ = pc.rx_queues;
  p->txq_ = tx_queues;
  if (p->spread_ == "none")
    spdlog::warn(
        "{} has {} RX queues but its driver ({}) does not hash flows to them (no RSS): a flow "
        "may reach several workers; use one RX queue, or a device with RSS.",
        who, pc.rx_queues, p->driver_);
  // A device that needs a reset says so with an event; the program learns it
  // from reset_requested() (docs/running.md, "Links that fail"). Watched
  // before the start, so an event that comes with it is not missed.
  p->reset_watched_ =
      rte_eth_dev_callback_register(id, RTE_ETH_EVENT_INTR_RESET, &EthPort::on_reset, p.get()) == 0;
  if (int rc = rte_eth_dev_start(id); rc != 0)
    return Status::error(who + " did not start (" + err(rc) +
                         "): check that the device is free and its link partner exists.");
  p->started_ = true;
  if (kernel_sockets && p->hotplugged_) p->drops_ = std::make_unique<SocketDrops>(sockets_before);
  if (pc.promiscuous) {
    int rc = rte_eth_promiscuous_enable(id);
    if (rc != 0 && rc != -ENOTSUP)
      spdlog::warn("{}: promiscuous mode not enabled ({})", who, err(rc));
  }
  rte_eth_macaddr_get(id, &p->mac_);
  if (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TIMESTAMP) {
    // The driver registered the field when the offload was enabled; asking
    // again returns where it is.
    uint64_t flag = 0;
    int offset = -1;
    if (rte_mbuf_dyn_rx_timestamp_register(&offset, &flag) == 0) {
      p->ts_offset_ = offset;
      p->ts_flag_ = flag;
    }
  }
  p->probed_ = true;
  spdlog::debug("{}: driver {}, {} rx / {} tx queues, {} / {} descriptors", who, p->driver_,
                p->rxq_, p->txq_, rx_desc, tx_desc);
  return p;
}

void EthPort::stop() {
  if (started_) {
    if (drops_) drops_->release();  // the driver may close its sockets from here on
    rte_eth_dev_stop(id_);
    started_ = false;
  }
}

int EthPort::on_reset(uint16_t, rte_eth_event_type, void* self, void*) {
  static_cast<EthPort*>(self)->reset_.store(true, std::memory_order_relaxed);
  return 0;
}

EthPort::~EthPort() {
  // -EAGAIN: the callback is running on another thread; it returns at once.
  if (reset_watched_)
    while (rte_eth_dev_callback_unregister(id_, RTE_ETH_EVENT_INTR_RESET, &EthPort::on_reset,
                                           this) == -EAGAIN) {
    }
  if (!probed_) return;
  stop();
  rte_eth_dev_info info;
  rte_device* dev = nullptr;
  if (rte_eth_dev_info_get(id_, &info) == 0) dev = info.device;
  if (hotplugged_ && dev != nullptr)
    rte_dev_remove(dev);  // closes the port and lets the same vdev be probed again
  else
    rte_eth_dev_close(id_);
}

LinkStatus EthPort::link() const {
  rte_eth_link l{};
  if (rte_eth_link_get_nowait(id_, &l) != 0) return {};
  LinkStatus s{l.link_status == RTE_ETH_LINK_UP,
               l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0u : l.link_speed,
               l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX};
  if (!iface_.empty()) {
    // "up", "down", "lowerlayerdown" (the peer of a veth is down), ...
    std::ifstream f("/sys/class/net/" + iface_ + "/operstate");
    std::string state;
    if (f >> state)
      s.up = state == "up" || state == "unknown";
    else if (if_nametoindex(iface_.c_str()) == 0)
      s.up = false;  // gone: no link, whatever the driver (bound to it still) says
    // (else: a /sys of another network namespace; the driver's word stands)
  }
  return s;
}

void EthPort::reset_stats() {
  rte_eth_stats_reset(id_);
  if (drops_) drops_->reset();
}

PortStats EthPort::stats() const {
  rte_eth_stats s{};
  PortStats out;
  if (rte_eth_stats_get(id_, &s) != 0) return out;
  out.ipackets = s.ipackets;
  out.opackets = s.opackets;
  out.ibytes = s.ibytes;
  out.obytes = s.obytes;
  out.imissed = s.imissed + (drops_ ? drops_->dropped() : 0);
  out.ierrors = s.ierrors;
  out.oerrors = s.oerrors;
  out.rx_nombuf = s.rx_nombuf;
  for (uint16_t q = 0; q < rxq_ && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; ++q)
    out.q_ipackets.push_back(s.q_ipackets[q]);
  for (uint16_t q = 0; q < txq_ && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; ++q)
    out.q_opackets.push_back(s.q_opackets[q]);
  return out;
}

}  // namespace bypass
