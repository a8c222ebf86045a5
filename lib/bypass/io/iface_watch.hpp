// IfaceWatch: notices that the Linux interface under an AF_XDP or AF_PACKET
// port went away while bypass runs (deleted, or deleted and made again under
// the same name: a new ifindex). The driver's sockets stay bound to the old
// interface, and DPDK 22.11 cannot re-probe a port of a running process, so
// the program stops cleanly and says so in one sentence rather than serve
// nothing. A link merely set down and up keeps its ifindex and is not
// reported: the port serves again by itself.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>

namespace bypass {

class IfaceWatch {
 public:
  // Records the ifindex of every port's interface now (call after the ports open).
  static IfaceWatch of(const Config& c);

  // One sentence if an interface is gone or replaced since; nullopt otherwise.
  std::optional<std::string> check() const;

  bool empty() const { return watched_.empty(); }

 private:
  struct Watched {
    std::string port, iface;
    unsigned ifindex;
  };
  std::vector<Watched> watched_;
};

}  // namespace bypass
