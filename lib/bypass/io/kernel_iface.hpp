// The Linux network interface behind a port, for drivers that sit on one
// (net_af_packet, net_af_xdp: their iface= argument), and what kind of link it
// is. A veth never leaves the host, so its Linux peer leaves UDP checksums to
// a transmit offload that nothing performs: the Endpoint accepts those there.
#pragma once

#include <string>

#include <bypass/core/config.hpp>

namespace bypass {

// The iface= argument of an AF_PACKET or AF_XDP port; empty for other devices.
std::string kernel_iface(const PortConfig& pc);

// The kernel driver of interface `ifname` ("veth", "ixgbe", ...), asked with
// the ETHTOOL_GDRVINFO ioctl in this process's network namespace; empty if it
// cannot be asked.
std::string kernel_driver(const std::string& ifname);

// Whether `pc` sits on a veth.
inline bool on_veth(const PortConfig& pc) {
  const std::string ifname = kernel_iface(pc);
  return !ifname.empty() && kernel_driver(ifname) == "veth";
}

}  // namespace bypass
