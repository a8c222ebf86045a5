/// @file
/// What the bypass programs print, from stats snapshots (control/stats.hpp):
/// one line a second while they run (rates, drops, device misses), and final
/// stats per worker, port, drop reason and module.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <bypass/control/stats.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/io/faulty_port.hpp>
#include <bypass/io/port.hpp>
#include <bypass/io/ports.hpp>

namespace bypass {

/// One line: rates between two snapshots, drops so far, device misses.
std::string rate_line(const StatsSnapshot& prev, const StatsSnapshot& now);
/// Final stats: per worker, totals, drop reasons, ports, and the modules summed
/// over workers by name (packets in, drops by reason, own cycles per packet).
std::string final_report(const StatsSnapshot& s);

/// The faults a FaultyPort injected, one line per direction.
std::string fault_report(const std::string& port, const FaultyPort& f);
/// For every port of `ports` with faults: frees what its fault plans still
/// hold (so the counts add up), then its fault_report().
std::string drain_fault_reports(const PortSet& ports);

/// The last lines of a program: mbufs still out of the pool after every port
/// closed, less those a driver keeps by design (`kept`, see PortSet). Returns
/// the number that really leaked.
unsigned print_exit_check(unsigned in_use, unsigned kept);

}  // namespace bypass
