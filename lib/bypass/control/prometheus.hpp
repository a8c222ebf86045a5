// The stats snapshot in Prometheus' text exposition format (version 0.0.4):
// ports (bypass_rx_packets_total{port}, per queue where the device counts
// them), workers, drops by module, worker and reason, link state, the
// program's own counters (bypass_<name>_total) and gauges (bypass_<name>).
#pragma once

#include <string>

#include <bypass/control/stats.hpp>

namespace bypass {

std::string prometheus_text(const StatsSnapshot& s, const std::string& program);

// "udp.replies" -> "udp_replies": what Prometheus allows in a metric name.
std::string prometheus_name(const std::string& s);

}  // namespace bypass
