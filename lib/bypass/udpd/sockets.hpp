// bypass-udpd over Linux UDP sockets: the same handlers, no DPDK, no huge
// pages. The development mode and the kernel baseline.
#pragma once

#include <string>

#include <bypass/core/config.hpp>

#include <bypass/udpd/server.hpp>

namespace bypass::udpd {

int run_sockets(const Config& c, const UdpdOptions& o, const SystemFacts& sys, double duration,
                bool quiet, bool check_only, const std::string& stats_json_path = {});

}  // namespace bypass::udpd
