#include <bypass/io/iface_watch.hpp>

#include <net/if.h>

#include <bypass/io/kernel_iface.hpp>

namespace bypass {

IfaceWatch IfaceWatch::of(const Config& c) {
  IfaceWatch w;
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const std::string iface = kernel_iface(c.ports[i]);
    if (iface.empty()) continue;
    const unsigned idx = if_nametoindex(iface.c_str());
    if (idx == 0) continue;
    w.watched_.push_back(
        {c.ports[i].name.empty() ? "p" + std::to_string(i) : c.ports[i].name, iface, idx});
  }
  return w;
}

std::optional<std::string> IfaceWatch::check() const {
  for (const Watched& w : watched_) {
    const unsigned now = if_nametoindex(w.iface.c_str());
    if (now == w.ifindex) continue;
    return "port '" + w.port + "': interface " + w.iface +
           (now == 0 ? " was deleted" : " was deleted and made again") +
           ", and a running process cannot open it anew (DPDK 22.11): stopping; start the "
           "program again to serve on it.";
  }
  return std::nullopt;
}

}  // namespace bypass
