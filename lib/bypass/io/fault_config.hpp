// Reads a FaultPlan from a port's [port.faults] table, so that any port
// in any program can be made to fail on purpose from its config:
//   [port.faults]      seed, short_tx_rate, stall_every, stall_polls, link_up, hold_capacity
//   [port.faults.rx]   drop_rate, drop_every, duplicate_rate, reorder_rate,
//   [port.faults.tx]   reorder ("shuffle" | "hold_back"), corrupt_rate, corrupt_bits,
//                      delay_polls, delay_rate
#pragma once

#include <string>

#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>
#include <bypass/io/faulty_port.hpp>

namespace bypass {

// Parses and validates; `where` names the table in messages ("port 'p0' faults").
Expected<FaultPlan> fault_plan_from(const ConfigValue& t, const std::string& where);
// Checks the faults of every port of a config (before EAL starts).
Status check_port_faults(const Config& c);

}  // namespace bypass
