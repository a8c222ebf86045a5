// bypass-gen's output: the line a second per port, the final summary, JSON
// lines per run or trial, a CSV summary, the latency histogram as CSV, and an
// SVG chart of RFC 2544 results a person can open.
#pragma once

#include <string>
#include <vector>

#include "trial.hpp"

namespace bypass::gen {

std::string progress_line(double secs, const std::vector<PortResult>& now,
                          const std::vector<PortResult>& prev, double dt,
                          const std::vector<StreamResult>& streams);
std::string summary(const TrialResult& r);
// One JSON object (one line) for a run or trial; `extra` is inserted as is
// ("\"mode\":\"rfc2544\",\"frame\":64," ...).
std::string json_line(const TrialResult& r, const std::string& extra);

struct Rfc2544Row {
  std::string frame;       // "64" ... or "imix"
  double mean_frame = 0;   // bytes with FCS
  double max_pps = 0;      // highest zero-loss (or tolerated-loss) rate found
  double max_offered = 0;  // the max-rate trial's achieved rate
  HistogramSummary latency;
};
std::string rfc2544_csv(const std::vector<Rfc2544Row>& rows, uint64_t link_mbps);
std::string rfc2544_svg(const std::vector<Rfc2544Row>& rows, uint64_t link_mbps);

}  // namespace bypass::gen
