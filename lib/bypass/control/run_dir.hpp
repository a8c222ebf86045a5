/// @file
/// Where running bypass instances keep their control sockets, shared by the
/// programs (which bind there) and bypassctl (which looks there). Header-only
/// so that bypassctl needs nothing of DPDK.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace bypass {

/// $BYPASS_RUN_DIR, else /run/bypass as root, else $XDG_RUNTIME_DIR/bypass,
/// else `/tmp/bypass-<uid>`.
inline std::string control_socket_dir() {
  if (const char* d = std::getenv("BYPASS_RUN_DIR"); d && *d) return d;
  if (geteuid() == 0) return "/run/bypass";
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/bypass";
  return "/tmp/bypass-" + std::to_string(geteuid());
}

}  // namespace bypass
