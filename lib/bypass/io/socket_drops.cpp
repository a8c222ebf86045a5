#include "socket_drops.hpp"

#include <dirent.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace bypass {

SocketDrops::Sockets SocketDrops::packet_sockets() {
  Sockets out;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return out;
  const int own = dirfd(d);
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own) continue;
    struct stat st;
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) continue;
    if (domain == AF_PACKET || domain == AF_XDP) out[static_cast<int>(fd)] = domain;
  }
  closedir(d);
  return out;
}

SocketDrops::SocketDrops(const Sockets& before) {
  for (const auto& [fd, domain] : packet_sockets()) {
    if (before.count(fd)) continue;
    (domain == AF_PACKET ? packet_fds_ : xdp_fds_).push_back(fd);
  }
  std::lock_guard<std::mutex> lock(mu_);
  base_ = read_locked();  // what came before the port started is not ours
}

uint64_t SocketDrops::read_locked() {
  for (int fd : packet_fds_) {
    tpacket_stats_v3 s{};
    socklen_t len = sizeof s;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &s, &len) == 0) packet_total_ += s.tp_drops;
  }
  if (!xdp_fds_.empty()) {
    uint64_t sum = 0;
    bool all = true;
    for (int fd : xdp_fds_) {
      xdp_statistics s{};
      socklen_t len = sizeof s;
      // rx_dropped is in the driver's imissed already; the rest is not.
      if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &s, &len) == 0)
        sum += s.rx_ring_full + s.rx_invalid_descs;
      else
        all = false;
    }
    if (all) xdp_last_ = sum;
  }
  return packet_total_ + xdp_last_;
}

uint64_t SocketDrops::dropped() {
  std::lock_guard<std::mutex> lock(mu_);
  return read_locked() - base_;
}

void SocketDrops::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  base_ = read_locked();
}

void SocketDrops::release() {
  std::lock_guard<std::mutex> lock(mu_);
  read_locked();
  packet_fds_.clear();
  xdp_fds_.clear();
}

}  // namespace bypass
