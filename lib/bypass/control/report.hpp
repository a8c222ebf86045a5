// What the bypass programs print: one line a second while they run (rates,
// drops, device misses), and final stats per worker, port and drop reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/io/faulty_port.hpp>
#include <bypass/io/port.hpp>

namespace bypass {

struct Snapshot {
  CounterTotals totals;
  uint64_t tsc = 0;
};

std::string rate_line(double seconds, const Snapshot& prev, const Snapshot& now, uint64_t hz,
                      const std::vector<Port*>& ports);
// Final stats: totals, per worker, per port, drop reasons; as text.
std::string final_report(const std::vector<const WorkerCounters*>& workers,
                         const std::vector<Port*>& ports, double seconds);

// The faults a FaultyPort injected, one line per direction.
std::string fault_report(const std::string& port, const FaultyPort& f);

// The last lines of a program: mbufs still out of the pool after every port
// closed, less those a driver keeps by design (`kept`, see PortSet). Returns
// the number that really leaked.
unsigned print_exit_check(unsigned in_use, unsigned kept);

}  // namespace bypass
