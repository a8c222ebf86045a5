// bypass-gen's options: the [gen] section, its streams ([[gen.stream]], each
// with a `port`), RFC 2544 settings ([gen.rfc2544]) and command-line overrides.
#pragma once

#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/gen/stream.hpp>

namespace bypass::gen {

struct PortStream {
  size_t port = 0;  // index into Config::ports
  Stream stream;
};

struct Rfc2544Options {
  std::vector<uint16_t> sizes = {64, 128, 256, 512, 1024, 1280, 1518};
  bool imix = true;            // also the simple IMIX
  double trial = 2.0;          // seconds per trial
  unsigned repetitions = 1;    // searches per size; the median is reported
  double loss = 0.0;           // tolerated fraction of loss (0: none)
  double precision = 0.01;     // stop when hi - lo < precision × max rate
  double latency_trial = 2.0;  // seconds of the latency trial at the found rate
  double drain = 2.0;          // seconds after each trial that frames still count (RFC 2544 §23)
};

struct GenOptions {
  double duration = 10;                     // seconds of a plain run
  double drain = 0.1;                       // seconds a plain run's frames still count after it
  std::string rate = "max";                 // "max", "1000pps", "1.5Mpps", "50%"
  uint64_t link_mbps = 10000;               // line rate for percentages and Gbit/s
  MacAddr peer_mac = MacAddr::broadcast();  // dst MAC when a stream has none
  std::string json, csv, latency_csv, svg;  // outputs (empty: none)
  bool rfc2544 = false;
  Rfc2544Options rfc;
  std::vector<PortStream> streams;
};

// Reads [gen]; `cli_streams` ("dst=198.18.0.2 dport=7 ...") go to the first port.
Expected<GenOptions> read_gen_options(const Config& c, const std::vector<std::string>& cli_streams);
// "max", "<n>pps", "<n>kpps", "<n>Mpps", "<n>%": packets per second for one
// stream of `frame` bytes on a `link_mbps` link; 0 means max.
Expected<double> parse_rate(const std::string& s, uint64_t link_mbps, double frame);

}  // namespace bypass::gen
