// Logging: spdlog for our messages; DPDK's own log is routed into it at debug
// level (or at the configured level) so that users see our sentences, not raw
// EAL errors, unless they ask for them.
#pragma once

#include <string>

namespace bypass {

// Sends DPDK's log stream to spdlog. Call before rte_eal_init.
void route_dpdk_log();
// Lines DPDK logged most recently (kept for error reports), oldest first.
std::string recent_dpdk_log();

}  // namespace bypass
