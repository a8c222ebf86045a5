// What bypassctl shows, rendered from stats snapshots on the control core:
// ports, workers and drops as text tables or JSON, each with rates over the
// last second (between `prev` and `now`), and the live view ("top") that
// puts them on one screen. Counts are cumulative since the start.
#pragma once

#include <cstdint>
#include <string>

#include <bypass/control/stats.hpp>

namespace bypass {

struct RateWindow {
  const StatsSnapshot& prev;  // a second ago (or the start)
  const StatsSnapshot& now;
  double seconds() const;  // between them; 1 if they are the same
};

std::string ports_view(const RateWindow& w, bool json);
std::string workers_view(const RateWindow& w, bool json);
// One row per module instance, worker and reason that has dropped anything;
// rows [offset, offset + limit) of them.
std::string drops_view(const RateWindow& w, bool json, size_t offset = 0, size_t limit = SIZE_MAX);
std::string top_view(const RateWindow& w, const std::string& program, bool json);

}  // namespace bypass
