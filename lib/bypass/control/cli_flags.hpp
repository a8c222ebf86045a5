// The command-line flags every bypass program shares (-c, -t, --no-huge, -q,
// --check, --log-level, --stats-json, and EAL arguments after --), how they are added to a
// CLI11 app, and how they apply to the logger and to a loaded Config.
#pragma once

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <bypass/core/config.hpp>

namespace bypass::apps {

// What an option's value must be, for an error: from its CLI11 type name.
inline std::string kind_of(const CLI::App& app, const std::string& name) {
  const CLI::Option* o = nullptr;
  try {
    o = app.get_option(name);
  } catch (const CLI::Error&) {
  }
  const std::string t = o ? o->get_type_name() : "";
  if (t == "UINT") return "a whole number of 0 or more that fits its type";
  if (t == "INT") return "a whole number that fits its type";
  if (t == "FLOAT") return "a number";
  return "a value of its kind (" + (t.empty() ? std::string("see --help") : t) + ")";
}

// A command-line mistake CLI11 found, as one line and exit code 2 (CLI11's
// own report is two lines and exits 104-109); --help and --version go
// through CLI11 as usual.
inline int cli_parse_error(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  std::string what = e.what();
  // "Could not convert: --lifetime = 99999999999999"
  constexpr std::string_view kConvert = "Could not convert: ";
  if (what.rfind(kConvert, 0) == 0) {
    const std::string rest = what.substr(kConvert.size());
    const size_t eq = rest.find(" = ");
    if (eq != std::string::npos)
      what = rest.substr(0, eq) + " takes " + kind_of(app, rest.substr(0, eq)) + ", not '" +
             rest.substr(eq + 3) + "'";
  }
  // A validator's "--opt: takes ..." reads as "--opt takes ...".
  if (const size_t at = what.find(": takes "); at != std::string::npos) what.erase(at, 1);
  // CLI11's other wordings, as sentences that say what to change.
  std::smatch m;
  static const std::regex kMissing("^(\\S+): \\d+ required \\S+ missing$");
  static const std::regex kTwice("^(\\S+): At Most 1 required but received \\d+$");
  static const std::regex kStray("^The following arguments? (?:was|were) not expected: (.*)$");
  static const std::regex kRange("^(\\S+): Value (\\S+) not in range (\\S+) to (\\S+)$");
  auto number = [](std::string n) {  // "86400.000000" -> "86400"
    if (n.find('.') != std::string::npos) {
      while (!n.empty() && n.back() == '0') n.pop_back();
      if (!n.empty() && n.back() == '.') n.pop_back();
    }
    return n;
  };
  if (std::regex_match(what, m, kMissing)) {
    what = m[1].str() + " needs a value after it";
  } else if (std::regex_match(what, m, kTwice)) {
    what = m[1].str() + " is given more than once";
  } else if (std::regex_match(what, m, kStray)) {
    what = "'" + m[1].str() + "' is not an option or argument of this program";
  } else if (std::regex_match(what, m, kRange)) {
    what = m[1].str() + " takes " + number(m[3].str()) + " to " + number(m[4].str()) + ", not '" +
           m[2].str() + "'";
  }
  std::string prog = app.get_name();
  if (const size_t slash = prog.rfind('/'); slash != std::string::npos) prog.erase(0, slash + 1);
  std::fprintf(stderr, "%s: %s: see %s --help.\n", prog.c_str(), what.c_str(), prog.c_str());
  return 2;
}

// -t, --duration: seconds, 0 (until stopped) or more.
inline std::string check_duration(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v < 0)
    return "takes a number of seconds, 0 or more (0: until stopped), not '" + text + "'";
  return "";
}

// Before anything starts: whether the file at `path` (named by `what`,
// "--json") can be written, without touching it or making directories.
inline Status check_writable(const std::string& path, std::string_view what) {
  if (path.empty()) return Status::ok();
  const std::string named = std::string(what) + " '" + path + "'";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return Status::error("cannot write " + named + ": it is a directory; give a file.");
    if (::access(path.c_str(), W_OK) != 0)
      return Status::error("cannot write " + named + ": check its permissions.");
    return Status::ok();
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      ::access(dir.c_str(), W_OK | X_OK) != 0)
    return Status::error("cannot write " + named +
                         ": give a file in a directory that exists and is writable.");
  return Status::ok();
}

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
                   "stop after this many seconds (default: run until SIGINT/SIGTERM)")
        ->check(check_duration);
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
    struct stat a {
    }, b{};
    if (!config_path.empty() && ::stat(stats_json.c_str(), &a) == 0 &&
        ::stat(config_path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
      return Status::error("--stats-json '" + stats_json +
                           "' is the config file: give another file for the stats.");
    return check_writable(stats_json, "the stats file");
  }
  // Arguments for EAL come after "--": a stray word before it (`--check 30`
  // for `-t 30`) would reach EAL, which ignores what it does not know.
  Status check_eal_args(int argc, char** argv, std::string_view prog) const {
    if (eal_extra.empty()) return Status::ok();
    for (int i = 1; i < argc; ++i)
      if (std::string_view(argv[i]) == "--" &&
          eal_extra.size() <= static_cast<size_t>(argc - i - 1))
        return Status::ok();
    return Status::error("'" + eal_extra.front() +
                         "' is not an option: DPDK's EAL arguments go after --, as in " +
                         std::string(prog) + " -c FILE -- --log-level=8.");
  }
  // --no-huge and the EAL arguments after --.
  void apply(Config& c) const {
    if (no_huge) c.eal.huge_pages = false;
    c.eal.args.insert(c.eal.args.end(), eal_extra.begin(), eal_extra.end());
  }
};

}  // namespace bypass::apps
