#include <bypass/core/eal.hpp>

#include <spdlog/spdlog.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <bypass/core/log.hpp>
#include <bypass/core/sandbox.hpp>

#include <rte_pdump.h>

namespace bypass {

namespace {

// What EAL prints itself while it starts (its usage text, getopt's
// complaints: about a hundred lines for one wrong argument) is held, not
// shown: on success it is written out as it came; on failure one sentence
// says what was wrong.
class HeldOutput {
 public:
  HeldOutput() {
    std::fflush(stdout);
    std::fflush(stderr);
    file_ = std::tmpfile();
    if (!file_) return;
    out_ = dup(STDOUT_FILENO);
    err_ = dup(STDERR_FILENO);
    if (out_ < 0 || err_ < 0) {  // nothing held: EAL prints as it would
      if (out_ >= 0) close(out_);
      if (err_ >= 0) close(err_);
      std::fclose(file_);
      file_ = nullptr;
      return;
    }
    dup2(fileno(file_), STDOUT_FILENO);
    dup2(fileno(file_), STDERR_FILENO);
    // EAL may exit() inside rte_eal_init: what it printed goes out then too.
    held_ = this;
    static const bool registered = std::atexit([] {
                                     if (held_) std::fputs(held_->release().c_str(), stderr);
                                   }) == 0;
    (void)registered;
  }
  HeldOutput(const HeldOutput&) = delete;
  HeldOutput& operator=(const HeldOutput&) = delete;
  // Puts stdout and stderr back; returns what was written meanwhile.
  std::string release() {
    held_ = nullptr;
    if (!file_) return "";
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(out_, STDOUT_FILENO);
    dup2(err_, STDERR_FILENO);
    close(out_);
    close(err_);
    std::string text;
    std::rewind(file_);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) text.append(buf, n);
    std::fclose(file_);
    file_ = nullptr;
    return text;
  }
  ~HeldOutput() { release(); }

 private:
  static inline HeldOutput* held_ = nullptr;  // the one holding now (start is single-threaded)
  std::FILE* file_ = nullptr;
  int out_ = -1, err_ = -1;
};

// "unrecognized option '--bogus'" or "invalid option -- 'z'" in what EAL
// printed: the argument it did not know, or "".
std::string unknown_argument(const std::string& printed) {
  for (const char* mark : {"unrecognized option '", "invalid option -- '"}) {
    const size_t at = printed.find(mark);
    if (at == std::string::npos) continue;
    const size_t from = at + std::strlen(mark);
    const size_t to = printed.find('\'', from);
    if (to != std::string::npos) return printed.substr(from, to - from);
  }
  return "";
}

// "lcore 7 unavailable" in EAL's log: the lowest CPU it was given that it
// cannot use, of the lines its recent log still holds.
std::string unavailable_lcore(const std::string& log) {
  long lowest = -1;
  for (size_t end = log.find(" unavailable"); end != std::string::npos;
       end = log.find(" unavailable", end + 1)) {
    const size_t at = log.rfind("lcore ", end);
    if (at == std::string::npos || log.find('\n', at) < end) continue;
    char* stop = nullptr;
    const long n = std::strtol(log.c_str() + at + 6, &stop, 10);
    if (stop == log.c_str() + end && (lowest < 0 || n < lowest)) lowest = n;
  }
  return lowest < 0 ? "" : std::to_string(lowest);
}

}  // namespace

std::string file_prefix(const Config& c) {
  return c.eal.file_prefix.empty() ? "bypass-" + std::to_string(getpid()) : c.eal.file_prefix;
}

std::vector<std::string> eal_args(const Config& c, const std::string& prog) {
  std::vector<std::string> a = {prog};
  std::string lcores = "0@" + std::to_string(c.eal.control_cpu);
  for (size_t i = 0; i < c.workers.size(); ++i)
    lcores += "," + std::to_string(Eal::worker_lcore(i)) + "@" + std::to_string(c.workers[i].cpu);
  a.insert(a.end(), {"--lcores", lcores, "--main-lcore", "0"});
  a.insert(a.end(), {"--file-prefix", file_prefix(c)});
  if (!c.eal.huge_pages) {
    a.insert(a.end(), {"--no-huge", "-m", std::to_string(c.eal.memory_mb ? c.eal.memory_mb : 512)});
  } else if (c.eal.memory_mb) {
    a.insert(a.end(), {"-m", std::to_string(c.eal.memory_mb)});
  }
  bool any_pci = false;
  for (const auto& p : c.ports)
    if (p.is_pci()) {
      a.insert(a.end(), {"-a", p.device});
      any_pci = true;
    }
  if (!any_pci) a.push_back("--no-pci");
  a.insert(a.end(),
           {"--log-level", "lib.*:" + c.eal.log_level, "--log-level", "pmd.*:" + c.eal.log_level});
  if (!c.control.telemetry) a.push_back("--no-telemetry");
  a.insert(a.end(), c.eal.args.begin(), c.eal.args.end());
  return a;
}

Expected<Eal> Eal::start(const Config& c, const std::string& prog) {
  if (c.eal.worker_seccomp) {
    prepare_allocator_for_workers();  // before EAL starts any thread
    if (Status s = check_worker_filter(); !s) return s;
  }
  route_dpdk_log();
  std::vector<std::string> args = eal_args(c, prog);
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string cmd;
  for (const auto& s : args) cmd += s + " ";
  spdlog::debug("EAL args: {}", cmd);
  // EAL's own help (-h, --help after --) is what was asked for: not held.
  const bool help = std::any_of(args.begin(), args.end(),
                                [](const std::string& a) { return a == "-h" || a == "--help"; });
  std::optional<HeldOutput> held;
  if (!help) held.emplace();
  int rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
  const int e = rc < 0 ? rte_errno : 0;
  const std::string printed = held ? held->release() : std::string();
  if (rc >= 0 && !printed.empty()) std::fputs(printed.c_str(), stderr);
  if (rc < 0) {
    std::string why;
    switch (e) {
      case EALREADY:
        why =
            "DPDK is already running in this process or another process uses the same [eal] "
            "file_prefix: stop it or choose another file_prefix.";
        break;
      case EACCES:
        why =
            "DPDK may not use huge pages or devices as this user: run as root, or see "
            "docs/running.md "
            "for the capabilities it needs.";
        break;
      case ENOMEM:
        why =
            "DPDK could not reserve its memory: reserve more huge pages (scripts/bootstrap) or "
            "lower "
            "[eal] memory_mb.";
        break;
      case EINVAL:
        if (const std::string a = unknown_argument(printed); !a.empty())
          why = "DPDK's EAL does not know the argument '" + a +
                "': fix [eal] args or the flags after `--`.";
        else if (const std::string l = unavailable_lcore(recent_dpdk_log()); !l.empty())
          why = "DPDK's EAL was given CPU " + l +
                ", which this machine lacks or this process may not use: fix the CPU list in "
                "[eal] args or after `--` (or leave it out: [[worker]] cpu places the workers).";
        else
          why = "DPDK refused its arguments: check [eal] args and the flags after `--`.";
        break;
      case ENODEV:
        why =
            "DPDK found no device or driver for an argument in [eal] args or after `--` (a "
            "--vdev or -a): check its name (ports belong in [[port]] device).";
        break;
      default:
        if (recent_dpdk_log().find("Cannot init config") != std::string::npos)
          why = "another DPDK process runs under the file prefix '" + file_prefix(c) +
                "': stop it, or give this one another [eal] file_prefix.";
        else
          why = "DPDK's EAL did not start" +
                (e ? " (" + std::string(strerror(e)) + ")" : std::string()) +
                ": run with [eal] log_level = \"debug\" to see why.";
    }
    spdlog::debug("EAL failed; its last lines:\n{}\nand what it printed:\n{}", recent_dpdk_log(),
                  printed);
    return Status::error(why);
  }
  Eal eal;
  eal.live_ = true;
  // dpdk-dumpcap attaches as a secondary process and asks for copies of a
  // port's packets (it needs the shared config: not with --no-huge).
  if (rte_pdump_init() != 0)
    spdlog::warn("dpdk-dumpcap will not attach to this process: {}", rte_strerror(rte_errno));
  else
    eal.pdump_ = true;
  return eal;
}

Eal::~Eal() {
  if (pdump_) rte_pdump_uninit();
  if (live_) rte_eal_cleanup();
}

}  // namespace bypass
