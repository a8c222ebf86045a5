// The stats snapshot in Prometheus' text exposition format (version 0.0.4):
// ports (bypass_rx_packets_total{port}, per queue where the device counts
// them), workers, drops by module, worker and reason, link state, the
// program's own counters (bypass_<name>_total) and gauges (bypass_<name>).
#pragma once

#include <string>

#include <bypass/control/stats.hpp>

namespace bypass {

std::string prometheus_text(const StatsSnapshot& s, const std::string& program);

// The program's counters that are levels (open connections, known
// neighbours, free chunks): gauges, without "_total".
bool is_level(const std::string& counter_name);

// "udp.replies" -> "udp_replies": what Prometheus allows in a metric name.
std::string prometheus_name(const std::string& s);

}  // namespace bypass
