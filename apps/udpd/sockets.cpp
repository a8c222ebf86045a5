#include "sockets.hpp"

#include <cstdio>

namespace bypass::udpd {

int run_sockets(const Config&, const UdpdOptions&, const SystemFacts&, double, bool, bool) {
  std::fprintf(stderr, "bypass-udpd: the sockets backend is not built yet.\n");
  return 2;
}

}  // namespace bypass::udpd
