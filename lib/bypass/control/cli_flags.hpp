// The command-line flags every bypass program shares (-c, -t, --no-huge, -q,
// --check, --log-level, --stats-json, and EAL arguments after --), how they are added to a
// CLI11 app, and how they apply to the logger and to a loaded Config.
#pragma once

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>

namespace bypass::apps {

struct CommonFlags {
  std::string config_path;
  double duration = 0;
  bool no_huge = false, quiet = false, check_only = false;
  std::string log_level = "info";
  std::string stats_json;
  std::vector<std::string> eal_extra;

  // `config_help` describes -c; `config_required`: no built-in default.
  void add_to(CLI::App& app, const std::string& config_help, bool config_required) {
    auto* c = app.add_option("-c,--config", config_path, config_help);
    if (config_required) c->required();
    app.add_option("-t,--duration", duration,
                   "stop after this many seconds (default: run until SIGINT/SIGTERM)");
    app.add_flag("--no-huge", no_huge, "run without huge pages (overrides [eal].huge_pages)");
    app.add_flag("-q,--quiet", quiet, "no per-second stats line");
    app.add_flag("--check", check_only, "check the config and exit");
    app.add_option("--stats-json", stats_json,
                   "write a JSON stats snapshot a second, and a final one, to this file");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.add_option("eal", eal_extra, "after --: arguments passed to DPDK's EAL unchanged");
  }
  void apply_logging() const {
    spdlog::set_level(spdlog::level::from_str(log_level));
    spdlog::set_pattern("%^%l%$: %v");
  }
  // Before anything starts: the files the flags name can be written.
  Status check_outputs() const {
    if (stats_json.empty()) return Status::ok();
    std::FILE* f = std::fopen(stats_json.c_str(), "w");
    if (!f)
      return Status::error("cannot write the stats file '" + stats_json +
                           "': check that its directory exists and is writable.");
    std::fclose(f);
    return Status::ok();
  }
  // --no-huge and the EAL arguments after --.
  void apply(Config& c) const {
    if (no_huge) c.eal.huge_pages = false;
    c.eal.args.insert(c.eal.args.end(), eal_extra.begin(), eal_extra.end());
  }
};

}  // namespace bypass::apps
