#include <bypass/io/kernel_iface.hpp>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace bypass {

std::string kernel_iface(const PortConfig& pc) {
  const std::string drv = pc.device_name();
  if (drv.rfind("net_af_packet", 0) != 0 && drv.rfind("net_af_xdp", 0) != 0) return {};
  // Arguments follow the name: ",key=value,key=value".
  size_t pos = pc.device.find(',');
  while (pos != std::string::npos) {
    const size_t start = pos + 1;
    pos = pc.device.find(',', start);
    const std::string arg = pc.device.substr(start, pos == std::string::npos ? pos : pos - start);
    if (arg.rfind("iface=", 0) == 0) return arg.substr(6);
  }
  return {};
}

std::string kernel_driver(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return {};
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq req{};
  std::memcpy(req.ifr_name, ifname.data(), ifname.size());
  req.ifr_data = reinterpret_cast<char*>(&info);
  const int rc = ioctl(fd, SIOCETHTOOL, &req);
  close(fd);
  if (rc != 0) return {};
  return std::string(info.driver, strnlen(info.driver, sizeof(info.driver)));
}

}  // namespace bypass
