// Integration test harness: runs programs (bypass-fwd, ip, ethtool) as child
// processes with bounded waits, captures their output in files, writes
// bypass-fwd configs and reads its final report. Every child still running
// when its handle goes away is killed and reaped, so a failing test never
// leaves a process behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bypass::it {

using std::chrono::milliseconds;

// A fresh directory under /tmp, removed with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Names of the entries in the directory.
  std::vector<std::string> entries() const;

 private:
  std::string path_;
};

// BYPASS_RUN_DIR (where bypass programs put their control sockets, and
// bypassctl looks for them) set to `dir` while this lives, however the test
// ends: a test's instances are the only ones its bypassctl sees.
class RunDirEnv {
 public:
  explicit RunDirEnv(const std::string& dir) { setenv("BYPASS_RUN_DIR", dir.c_str(), 1); }
  ~RunDirEnv() { unsetenv("BYPASS_RUN_DIR"); }
  RunDirEnv(const RunDirEnv&) = delete;
  RunDirEnv& operator=(const RunDirEnv&) = delete;
};

// "<pid>-<n>": unique among the processes running now and within this one.
std::string unique_tag();

// How a child ended.
struct ExitStatus {
  bool exited = false;  // normal exit; `code` is valid
  int code = -1;
  int signal = 0;  // killed by this signal
  bool core_dumped = false;
  std::string describe() const;
};

// A child process whose stdout and stderr go to files in `dir`.
class Child {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) in `cwd` (default:
  // `dir`). On failure returns nullptr and sets *error.
  static std::unique_ptr<Child> spawn(const std::vector<std::string>& argv, const std::string& dir,
                                      std::string* error, const std::string& cwd = "");
  ~Child();  // SIGKILL and reap if still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  bool kill(int sig);
  // Waits up to `timeout` for the child to end; nullopt if it is still running.
  std::optional<ExitStatus> wait_for(milliseconds timeout);
  // Waits until stdout contains `needle`; false if the child ends first or the
  // time runs out.
  bool wait_for_output(const std::string& needle, milliseconds timeout);
  std::string out() const;
  std::string err() const;
  // The command line, for messages.
  const std::string& command() const { return command_; }

 private:
  Child() = default;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::string out_path_, err_path_, command_;
};

// Runs a command to completion (killed after `timeout`).
struct CmdResult {
  bool started = false;
  bool timed_out = false;
  ExitStatus status;
  std::string out, err;
  bool ok() const { return started && !timed_out && status.exited && status.code == 0; }
  std::string describe(const std::string& what) const;
};
CmdResult run_cmd(const std::vector<std::string>& argv, milliseconds timeout = milliseconds(20000),
                  const std::string& cwd = "");

// The absolute path of a system tool (ip, ethtool, sysctl), looked up in PATH
// and in the sbin directories a non-login PATH may lack; `name` if not found.
std::string tool(const std::string& name);

// A path from the environment (meson sets BYPASS_FWD, BYPASS_GEN, ...); empty if unset.
std::string env_path(const char* name);
// Path of bypass-fwd from the environment (BYPASS_FWD); empty if unset.
std::string fwd_path();
// True when the tests run without huge pages (BYPASS_TEST_NO_HUGE=1).
bool no_huge();

// The CPUs a forwarder should use: `worker` differs from the test process's
// control CPU when the machine has another one; `other` is the second CPU
// for a second worker (it may equal the test's control CPU).
struct CpuPlan {
  unsigned control = 0;
  unsigned worker = 0;
  unsigned other = 0;
};
CpuPlan plan_cpus();

// What a bypass-fwd config says; written by fwd_config().
struct FwdConfig {
  std::string file_prefix;
  bool huge_pages = true;
  unsigned control_cpu = 0;
  unsigned memory_mb = 128;
  unsigned pool_size = 8191;
  std::vector<std::pair<std::string, std::string>> ports;  // name, device
  unsigned queues = 0;  // rx_queues and tx_queues of every port (0: the default)
  std::string faults;   // the keys of a [port.faults] table for every port ("": none)
  std::vector<std::string> addresses;  // every port's addresses ("198.18.7.2/24")
  struct Worker {
    unsigned cpu = 0;
    std::vector<std::string> rx;  // "<port>:<queue>"; empty lets one worker poll all
    std::string idle;             // empty: the default
  };
  std::vector<Worker> workers;
  std::string mode = "5tswap";
  std::string topology = "loop";
  bool pipeline = false;
};
std::string fwd_config(const FwdConfig& c);
// A file prefix for a DPDK process of this test: "bypass-it-<tag>".
std::string fwd_file_prefix();
// Removes what DPDK leaves behind for a file prefix (runtime dir, huge page
// files), for a process that is known to have ended.
void remove_dpdk_leftovers(const std::string& file_prefix);

// The lines bypass-fwd prints at exit.
struct FwdTotals {
  uint64_t rx = 0, tx = 0, dropped = 0;
};
std::optional<FwdTotals> parse_totals(const std::string& out);
std::optional<uint64_t> parse_mbufs_in_use(const std::string& out);

// gtest expectations: every sequence number 0..seen.size() came back exactly
// once (seen[s] = how many times `s` did).
void expect_each_once(const std::vector<uint32_t>& seen);
// The number `pattern` captures in `text`; a missing one fails the test
// (and reads as UINT64_MAX, which no count equals).
uint64_t number(const std::string& text, const std::string& pattern);
// gtest expectations: `sentence` is in `text`, and its first words are not
// said again after it.
void expect_said_once(const std::string& text, const std::string& sentence);

// A bypass-fwd child: writes the config to `dir`, runs
// `[wrapper...] bypass-fwd -c <config> -q -t <safety_seconds>` there, and on
// destruction kills it (if still running) and removes its DPDK files.
class FwdProcess {
 public:
  static std::unique_ptr<FwdProcess> start(const FwdConfig& cfg, const TempDir& dir,
                                           std::string* error,
                                           const std::vector<std::string>& wrapper = {},
                                           unsigned safety_seconds = 120);
  ~FwdProcess();
  // Waits until its workers run (it printed "forwarding in"); false if it
  // ended or the time ran out.
  bool wait_ready(milliseconds timeout = milliseconds(30000));
  // SIGTERM, then waits up to `timeout` for the exit.
  std::optional<ExitStatus> terminate(milliseconds timeout = milliseconds(15000));
  // terminate(), then gtest expectations on the exit: status 0, rx and tx as
  // given, nothing dropped, every mbuf back in the pool.
  void expect_clean_exit(uint64_t rx, uint64_t tx);
  Child& child() { return *child_; }
  std::string out() const { return child_->out(); }
  std::string err() const { return child_->err(); }
  // stdout and stderr, for failure messages.
  std::string transcript() const;

 private:
  FwdProcess() = default;
  std::unique_ptr<Child> child_;
  std::string file_prefix_;
};

// Writes text to a file; false on failure.
bool write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

}  // namespace bypass::it
