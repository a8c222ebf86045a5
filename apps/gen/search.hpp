// The RFC 2544 throughput search: the highest offered rate whose trial loses
// no more than a tolerated fraction, found by binary search between 0 and the
// rate the generator reached at maximum. `trial(rate)` runs one trial and
// returns its loss fraction (nullopt: stop, the search gives up).
#pragma once

#include <optional>

namespace bypass::gen {

struct SearchResult {
  double rate = 0;      // highest passing rate found (0: none passed)
  unsigned trials = 0;  // trials run, the max-rate one included
};

// `top_loss`: the loss of the trial at `top` (already run). Stops when the
// bracket is narrower than precision × top.
template <typename Trial>
std::optional<SearchResult> zero_loss_search(double top, double top_loss, double tolerated,
                                             double precision, Trial&& trial) {
  SearchResult r{0, 1};
  if (top <= 0) return r;
  if (top_loss <= tolerated) {
    r.rate = top;
    return r;
  }
  double lo = 0, hi = top;
  const double step = precision > 0 ? precision * top : top / 1024;
  while (hi - lo > step) {
    const double mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;  // doubles can halve no further
    std::optional<double> loss = trial(mid);
    ++r.trials;
    if (!loss) return std::nullopt;
    if (*loss <= tolerated)
      lo = mid;
    else
      hi = mid;
  }
  r.rate = lo;
  return r;
}

}  // namespace bypass::gen
