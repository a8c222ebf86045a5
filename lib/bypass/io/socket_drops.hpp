// What the kernel drops at the sockets under a net_af_packet or net_af_xdp
// port and its driver does not report. DPDK 22.11's af_packet driver reads no
// socket statistics at all, so a full TPACKET ring (a worker that fell
// behind) loses packets that no counter shows; its af_xdp driver reports an
// XDP socket's rx_dropped but not rx_ring_full. A port takes the sockets its
// driver opened (those that appeared while it was probed and started) and
// adds these drops to its imissed. Read on the control plane only.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace bypass {

class SocketDrops {
 public:
  // The AF_PACKET and AF_XDP sockets this process has open now: descriptor -> domain.
  using Sockets = std::map<int, int>;
  static Sockets packet_sockets();

  // Keeps the AF_PACKET and AF_XDP sockets opened since `before` was taken.
  explicit SocketDrops(const Sockets& before);

  // How many sockets it watches.
  size_t sockets() const { return packet_fds_.size() + xdp_fds_.size(); }

  // Packets the kernel dropped at them, since it was made or reset.
  uint64_t dropped();
  void reset();
  // Stops reading (before the driver closes its sockets); keeps the total.
  void release();

 private:
  uint64_t read_locked();
  std::mutex mu_;
  std::vector<int> packet_fds_, xdp_fds_;
  uint64_t packet_total_ = 0;  // PACKET_STATISTICS clears on read: summed here
  uint64_t xdp_last_ = 0;      // XDP_STATISTICS counts on: the last reading
  uint64_t base_ = 0;
};

}  // namespace bypass
