// bypass-gen: a traffic generator and benchmark on DPDK ports. It sends the
// configured streams at a paced or maximum rate from pinned workers, receives
// them back (through a device under test, a cable or a reflector), and reports
// rates, loss, duplicates, reordering and latency percentiles; with
// --rfc2544 it finds the highest zero-loss rate for each frame size.
#include <rte_cycles.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <bypass/control/control_plane.hpp>
#include <bypass/control/report.hpp>
#include <bypass/control/runtime.hpp>

#include <bypass/control/cli_flags.hpp>
#include "options.hpp"
#include "report.hpp"
#include "search.hpp"
#include "trial.hpp"

namespace {

using namespace bypass;
using namespace bypass::gen;

int fail(const std::string& msg) {
  std::fprintf(stderr, "bypass-gen: %s\n", msg.c_str());
  return 2;
}

double mean_frame(const Stream& s) {
  if (s.size.mode == SizeMode::kMix) {
    double sum = 0, w = 0;
    for (const auto& m : s.size.mix) {
      sum += static_cast<double>(m.size) * m.weight;
      w += m.weight;
    }
    return w > 0 ? sum / w : 64;
  }
  return (s.size.min + s.size.max) / 2.0;
}

// The rate of every stream in a plain run.
Expected<std::vector<double>> plain_rates(const GenOptions& o) {
  std::vector<double> pps;
  for (const auto& ps : o.streams) {
    const Stream& s = ps.stream;
    if (s.pps > 0) {
      pps.push_back(s.pps);
    } else if (s.percent > 0) {
      pps.push_back(s.percent / 100.0 * static_cast<double>(o.link_mbps) * 1e6 /
                    ((mean_frame(s) + 20) * 8));
    } else {
      auto r = parse_rate(o.rate, o.link_mbps, mean_frame(s));  // the exact mean (IMIX: 361.83)
      if (!r) return r.status();
      pps.push_back(*r);
    }
  }
  return pps;
}

// Results files were checked writable before the run; one that fails now
// (a full disk) is said, and the run's exit code says it too.
class ResultFiles {
 public:
  void write(const std::string& path, const std::string& text) { put(path, text, false); }
  void append(const std::string& path, const std::string& text) { put(path, text, true); }
  bool all_written() const { return all_written_; }

 private:
  void put(const std::string& path, const std::string& text, bool append) {
    if (path.empty()) return;
    std::ofstream f(path, append ? std::ios::app : std::ios::trunc);
    f << text;
    f.flush();
    if (!f) {
      std::fprintf(stderr, "bypass-gen: could not write '%s' (disk full?): its results are lost.\n",
                   path.c_str());
      all_written_ = false;
    }
  }
  bool all_written_ = true;
};

int run_plain(const Config& c, const GenOptions& o, const std::vector<Port*>& ports,
              rte_mempool* pool, StopSignals& signals, double duration, bool quiet,
              const std::string& stats_json, ControlServer* control, StatsSnapshot* final_stats,
              ResultFiles& files) {
  auto pps = plain_rates(o);
  if (!pps) return fail(pps.error());
  TrialSpec spec{duration, *pps, std::nullopt, stats_json, control, o.drain};
  std::vector<PortResult> prev(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) prev[i].name = ports[i]->name();
  double last = 0;
  auto r = run_trial(
      c, o, ports, pool, spec, signals, [&](double secs, const auto& now, const auto& streams) {
        if (!quiet) std::printf("%s", progress_line(secs, now, prev, secs - last, streams).c_str());
        std::fflush(stdout);
        prev = now;
        last = secs;
      });
  if (!r) return fail(r.error());
  *final_stats = r->last;
  std::printf("%s", summary(*r).c_str());
  files.append(o.json, json_line(*r, "\"mode\":\"run\","));
  if (!o.latency_csv.empty() && !r->streams.empty()) {
    Histogram all = r->streams[0].latency;
    for (size_t i = 1; i < r->streams.size(); ++i) all.merge(r->streams[i].latency);
    files.write(o.latency_csv, all.percentile_csv());
  }
  return 0;
}

int run_rfc2544(const Config& c, const GenOptions& o, const std::vector<Port*>& ports,
                rte_mempool* pool, StopSignals& signals, ControlServer* control,
                ResultFiles& files) {
  const std::vector<std::pair<std::string, FrameSizes>> sizes = rfc2544_sizes(o);
  const size_t ns = o.streams.size();
  // A size some stream cannot be built at (IPv6 needs 82 bytes, a VLAN tag 4
  // more) is skipped with a note, not the end of the run.
  uint16_t need = 0;
  for (const auto& ps : o.streams) need = std::max(need, ps.stream.min_frame());
  std::vector<Rfc2544Row> rows;
  for (const auto& [label, fs] : sizes) {
    uint16_t smallest = fs.min;
    for (const auto& w : fs.mix) smallest = std::min(smallest, w.size);
    if (smallest < need) {
      std::printf("rfc2544 %s: skipped, its %u-byte frames are below the %u bytes a stream needs\n",
                  label.c_str(), smallest, need);
      continue;
    }
    Stream probe = o.streams[0].stream;
    probe.size = fs;
    Rfc2544Row row;
    row.frame = label;
    row.mean_frame = mean_frame(probe);
    std::vector<double> found, tops;  // per repetition: the rate found, the top offered
    for (unsigned rep = 0; rep < o.rfc.repetitions; ++rep) {
      auto trial = [&](double total_pps, const char* kind) -> Expected<TrialResult> {
        TrialSpec spec{o.rfc.trial, std::vector<double>(ns, total_pps / static_cast<double>(ns)),
                       fs, "", control};
        spec.drain = o.rfc.drain;
        auto r = run_trial(c, o, ports, pool, spec, signals, nullptr);
        if (!r) return r;
        double loss = r->tx() ? static_cast<double>(r->lost()) / static_cast<double>(r->tx()) : 1.0;
        std::printf(
            "  %-5s %-8s offered %10.0f pps  sent %10.0f pps  received %10.0f pps  loss %.6f%%\n",
            label.c_str(), kind, total_pps, static_cast<double>(r->tx()) / r->seconds,
            static_cast<double>(r->rx()) / r->seconds, loss * 100);
        std::fflush(stdout);
        files.append(
            o.json,
            json_line(*r, fmt::format("\"mode\":\"rfc2544\",\"frame\":\"{}\",\"kind\":\"{}\","
                                      "\"offered_pps\":{:.0f},",
                                      label, kind, total_pps)));
        return r;
      };
      auto max = trial(0, "max");
      if (!max) return fail(max.error());
      if (max->signal) return 0;
      const double top = static_cast<double>(max->tx()) / max->seconds;
      tops.push_back(top);
      bool stopped = false;
      auto found_rate = zero_loss_search(
          top, max->tx() ? static_cast<double>(max->lost()) / static_cast<double>(max->tx()) : 1.0,
          o.rfc.loss, o.rfc.precision, [&](double rate) -> std::optional<double> {
            auto r = trial(rate, "search");
            if (!r || r->signal) {
              stopped = true;
              return std::nullopt;
            }
            return r->tx() ? static_cast<double>(r->lost()) / static_cast<double>(r->tx()) : 1.0;
          });
      if (!found_rate || stopped) return 0;
      const double lo = found_rate->rate;
      found.push_back(lo);
    }
    // The lower median: of an even count, the lower middle (a rate that
    // passed a trial, and no more than half the repetitions found).
    std::sort(found.begin(), found.end());
    row.max_pps = found[(found.size() - 1) / 2];
    std::sort(tops.begin(), tops.end());
    row.max_offered = tops[(tops.size() - 1) / 2];
    if (row.max_pps > 0) {
      TrialSpec spec{o.rfc.latency_trial,
                     std::vector<double>(ns, row.max_pps / static_cast<double>(ns)), fs};
      spec.drain = o.rfc.drain;
      auto r = run_trial(c, o, ports, pool, spec, signals, nullptr);
      if (!r) return fail(r.error());
      Histogram all = r->streams[0].latency;
      for (size_t i = 1; i < r->streams.size(); ++i) all.merge(r->streams[i].latency);
      row.latency = all.summary();
      files.append(
          o.json,
          json_line(*r, fmt::format("\"mode\":\"rfc2544\",\"frame\":\"{}\",\"kind\":\"latency\","
                                    "\"offered_pps\":{:.0f},",
                                    label, row.max_pps)));
    }
    std::printf("%-5s zero-loss %.3f Mpps (%.2f Gbit/s), latency p50 %.1f us p99 %.1f us\n",
                label.c_str(), row.max_pps / 1e6, row.max_pps * (row.mean_frame + 20) * 8 / 1e9,
                row.latency.p50 / 1e3, row.latency.p99 / 1e3);
    rows.push_back(row);
  }
  std::string csv = rfc2544_csv(rows, o.link_mbps);
  std::printf("\n%s", csv.c_str());
  files.write(o.csv, csv);
  if (!o.svg.empty()) files.write(o.svg, rfc2544_svg(rows, o.link_mbps));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "bypass-gen: send streams, receive them back, report rate, loss and latency; or RFC 2544."};
  apps::CommonFlags f;
  std::string rate, json, csv, svg, latency_csv;
  std::vector<std::string> streams;
  bool rfc = false;
  double hold = 0;
  f.add_to(app, "TOML config: ports, workers, [gen] and [[gen.stream]]", true);
  app.add_option("-s,--stream", streams,
                 "a stream on the first port: \"dst=198.18.0.2 dport=7 size=64\"");
  app.add_option("-r,--rate", rate,
                 "per stream: max, 1000pps, 1.5Mpps or 50% (overrides [gen].rate)");
  app.add_flag("--rfc2544", rfc, "find the zero-loss rate per frame size ([gen.rfc2544] settings)");
  app.add_option("--json", json, "append one JSON line per run or trial to this file");
  app.add_option("--csv", csv, "RFC 2544 summary as CSV");
  app.add_option("--svg", svg, "RFC 2544 chart as SVG");
  app.add_option("--latency-csv", latency_csv, "latency percentiles of a run as CSV");
  app.add_option("--hold", hold,
                 "after the run, keep the ports open (nothing polled) for up to this many "
                 "seconds or until SIGINT/SIGTERM, so that a memif peer can leave first")
      ->check(CLI::Range(0.0, 86400.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return apps::cli_parse_error(app, e);
  }
  f.apply_logging();
  if (Status s = f.check_eal_args(argc, argv, "bypass-gen"); !s) return fail(s.message());
  auto cfg = load_config(f.config_path);
  if (!cfg) return fail(cfg.error());
  Config& c = *cfg;
  if (Status s = check_top_level(c, {"gen"}); !s) return fail(s.message());
  f.apply(c);
  auto opts = read_gen_options(c, streams);
  if (!opts) return fail(opts.error());
  GenOptions& o = *opts;
  if (!rate.empty()) o.rate = rate;
  if (f.duration > 0) o.duration = f.duration;
  if (rfc) o.rfc2544 = true;
  for (auto [flag, field] :
       {std::pair{&json, &o.json}, {&csv, &o.csv}, {&svg, &o.svg}, {&latency_csv, &o.latency_csv}})
    if (!flag->empty()) *field = *flag;
  if (!o.rfc2544)
    if (auto r = plain_rates(o); !r) return fail(r.error());
  if (o.rfc2544 && !f.stats_json.empty())
    return fail(
        "--stats-json goes with a plain run, not --rfc2544: use --json FILE for the "
        "search's trials.");
  if (Status s = f.check_outputs(); !s) return fail(s.message());
  // Named as the user gave it: the flag, or the [gen] key.
  for (auto [what, path] :
       {std::pair{json.empty() ? "[gen] json" : "--json", &o.json},
        {csv.empty() ? "[gen] csv" : "--csv", &o.csv},
        {svg.empty() ? "[gen] svg" : "--svg", &o.svg},
        {latency_csv.empty() ? "[gen] latency_csv" : "--latency-csv", &o.latency_csv}}) {
    // A relative path's directories are made (results/rfc.csv), at the run;
    // an absolute path's must exist (no /nonexistent/ made at the root).
    const std::filesystem::path dir = std::filesystem::path(*path).parent_path();
    std::error_code ec;
    if (!dir.empty() && dir.is_relative() && !std::filesystem::exists(dir, ec)) {
      if (f.check_only) continue;
      std::filesystem::create_directories(dir, ec);
    }
    if (Status s = apps::check_writable(*path, what); !s) return fail(s.message());
  }
  // Latency from the device's receive timestamps where the driver has them.
  for (PortConfig& pc : c.ports) pc.rx_timestamp = true;
  if (Status s = Runtime::check(c); !s) return fail(s.message());
  if (Status s = preflight(c, o); !s) return fail(s.message());
  if (f.check_only) {
    std::printf("config ok\n");
    return 0;
  }
  auto rt = Runtime::start(c, "bypass-gen");
  if (!rt) return fail(rt.error());
  const std::vector<Port*>& ports = (*rt)->ports().ports();
  // A link partner (memif peer, cable) may take a moment.
  for (int i = 0; i < 100; ++i) {
    bool all = true;
    for (Port* p : ports) all &= p->link().up;
    if (all) break;
    if (i == 99) spdlog::warn("not every port's link is up after 5 s: sending anyway");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // A peer that has just seen the link come up may not have its own rings
  // ready yet (memif): give it a moment before the first frame.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  spdlog::info("{} stream(s) on {} port(s), {} worker(s){}", o.streams.size(), ports.size(),
               c.workers.size(), o.rfc2544 ? ", RFC 2544" : "");
  auto control = ControlServer::open(c.control, "bypass-gen");
  if (!control) return fail(control.error());
  StatsSnapshot last;
  ResultFiles files;
  int rc = o.rfc2544
               ? run_rfc2544(c, o, ports, (*rt)->pool(), (*rt)->signals(), control->get(), files)
               : run_plain(c, o, ports, (*rt)->pool(), (*rt)->signals(), o.duration, f.quiet,
                           f.stats_json, control->get(), &last, files);
  if (hold > 0 && (*rt)->signals().taken() != 0) {
    // The user stopped the run: they want the program gone, not held.
    std::printf("not holding the ports: the run was stopped by a signal\n");
  } else if (hold > 0) {
    // DPDK 22.11's net_memif unmaps its shared memory when the peer leaves,
    // without waiting for a receive or send in progress: a side that is
    // still polling can fault. Here nothing polls any more.
    std::printf("holding the ports for up to %.0f s (SIGINT/SIGTERM ends it)\n", hold);
    std::fflush(stdout);
    // bypassctl and /metrics answer from the run's last figures meanwhile.
    ControlPlane held(**control, "bypass-gen", [&last] { return last; });
    held.tick(last);
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(hold * 1000));
    while (std::chrono::steady_clock::now() < until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      (*control)->serve((*rt)->signals().fd(), std::min(left, std::chrono::milliseconds(1000)));
      if ((*rt)->signals().wait(std::chrono::milliseconds(0)) != 0) break;
    }
  }
  if ((*rt)->finish() && rc == 0) rc = 3;
  if (!files.all_written() && rc == 0) rc = 1;
  return rc;
}
