#include "harness.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <bypass/core/config.hpp>

#include "eal_env.hpp"

namespace bypass::it {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = "/tmp/bypass-it-" + unique_tag() + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path_, ec)) out.push_back(e.path().filename());
  return out;
}

std::string unique_tag() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  if (signal)
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")" +
           (core_dumped ? ", core dumped" : "");
  return "unknown status";
}

namespace {

ExitStatus decode(int wstatus) {
  ExitStatus s;
  if (WIFEXITED(wstatus)) {
    s.exited = true;
    s.code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    s.signal = WTERMSIG(wstatus);
    s.core_dumped = WCOREDUMP(wstatus);
  }
  return s;
}

}  // namespace

std::unique_ptr<Child> Child::spawn(const std::vector<std::string>& argv, const std::string& dir,
                                    std::string* error, const std::string& cwd) {
  static std::atomic<unsigned> seq{0};
  std::unique_ptr<Child> c(new Child());
  unsigned n = seq.fetch_add(1);
  c->out_path_ = dir + "/child" + std::to_string(n) + ".out";
  c->err_path_ = dir + "/child" + std::to_string(n) + ".err";
  for (const auto& a : argv) c->command_ += (c->command_.empty() ? "" : " ") + a;

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, c->out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, c->err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.empty() ? dir.c_str() : cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  // The calling thread may be pinned (EAL pins its main lcore); children get
  // every online CPU instead, then the caller's own set is restored.
  cpu_set_t saved, wide;
  bool restore = sched_getaffinity(0, sizeof(saved), &saved) == 0;
  CPU_ZERO(&wide);
  for (unsigned cpu : SystemFacts::read().online_cpus)
    if (cpu < CPU_SETSIZE) CPU_SET(cpu, &wide);
  restore = restore && sched_setaffinity(0, sizeof(wide), &wide) == 0;
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  if (restore) sched_setaffinity(0, sizeof(saved), &saved);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    if (error) *error = "could not start '" + c->command_ + "': " + strerror(rc);
    return nullptr;
  }
  c->pid_ = pid;
  return c;
}

Child::~Child() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait_for(milliseconds(10000));
  }
}

bool Child::running() {
  if (status_) return false;
  int ws = 0;
  pid_t r = waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) {
    status_ = decode(ws);
    return false;
  }
  return r == 0;
}

bool Child::kill(int sig) {
  return running() && ::kill(pid_, sig) == 0;
}

std::optional<ExitStatus> Child::wait_for(milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return status_;
}

bool Child::wait_for_output(const std::string& needle, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (out().find(needle) != std::string::npos) return true;
    if (!running() || std::chrono::steady_clock::now() >= deadline)
      return out().find(needle) != std::string::npos;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

std::string Child::out() const {
  return read_file(out_path_);
}
std::string Child::err() const {
  return read_file(err_path_);
}

std::string CmdResult::describe(const std::string& what) const {
  std::string s = what + ": ";
  if (!started) return s + "did not start: " + err;
  if (timed_out) return s + "timed out";
  s += status.describe();
  if (!out.empty()) s += "\n  stdout: " + out;
  if (!err.empty()) s += "\n  stderr: " + err;
  return s;
}

CmdResult run_cmd(const std::vector<std::string>& argv, milliseconds timeout,
                  const std::string& cwd) {
  CmdResult r;
  TempDir tmp;
  std::string error;
  auto c = Child::spawn(argv, tmp.path(), &error, cwd);
  if (!c) {
    r.err = error;
    return r;
  }
  r.started = true;
  auto st = c->wait_for(timeout);
  if (!st) {
    r.timed_out = true;
    c->kill(SIGKILL);
    c->wait_for(milliseconds(5000));
  } else {
    r.status = *st;
  }
  r.out = c->out();
  r.err = c->err();
  return r;
}

std::string tool(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string d;
    while (std::getline(ss, d, ':'))
      if (!d.empty()) dirs.push_back(d);
  }
  for (const char* d : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.push_back(d);
  for (const auto& d : dirs) {
    std::string p = d + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return name;
}

std::string env_path(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string fwd_path() {
  return env_path("BYPASS_FWD");
}

uint64_t number(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex(pattern))) return std::stoull(m[1]);
  ADD_FAILURE() << "no match for " << pattern << " in\n" << text;
  return UINT64_MAX;
}

void expect_said_once(const std::string& text, const std::string& sentence) {
  const size_t at = text.find(sentence);
  ASSERT_NE(at, std::string::npos) << "not said: " << sentence << "\n" << text;
  const std::string start = sentence.substr(0, std::min<size_t>(sentence.size(), 40));
  EXPECT_EQ(text.find(start, at + sentence.size()), std::string::npos) << "said again\n" << text;
}

void expect_each_once(const std::vector<uint32_t>& seen) {
  uint32_t missing = 0, duplicated = 0, first_missing = UINT32_MAX;
  for (uint32_t s = 0; s < seen.size(); ++s) {
    if (seen[s] == 0 && missing++ == 0) first_missing = s;
    if (seen[s] > 1) ++duplicated;
  }
  EXPECT_EQ(missing, 0u) << "first missing sequence number: " << first_missing;
  EXPECT_EQ(duplicated, 0u);
}

void FwdProcess::expect_clean_exit(uint64_t rx, uint64_t tx) {
  auto st = terminate();
  ASSERT_TRUE(st) << "bypass-fwd did not exit within 15 s of SIGTERM\n" << transcript();
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << transcript();
  const std::string o = out();
  auto totals = parse_totals(o);
  ASSERT_TRUE(totals) << "no 'total:' line\n" << transcript();
  EXPECT_EQ(totals->rx, rx) << o;
  EXPECT_EQ(totals->tx, tx) << o;
  EXPECT_EQ(totals->dropped, 0u) << o;
  auto leaked = parse_mbufs_in_use(o);
  ASSERT_TRUE(leaked) << "no 'mbufs in use at exit' line\n" << transcript();
  EXPECT_EQ(*leaked, 0u) << o;
}

bool no_huge() {
  return bypass::test::running_without_huge_pages();
}

CpuPlan plan_cpus() {
  // The support main() chose its worker CPUs from the CPUs this process may
  // use before EAL pinned the main thread: the first differs from the control
  // CPU whenever the machine has a second CPU, the second wraps around.
  const Config& c = bypass::test::eal_config();
  CpuPlan p;
  p.control = c.eal.control_cpu;
  p.worker = c.workers.empty() ? p.control : c.workers[0].cpu;
  p.other = c.workers.size() < 2 ? p.control : c.workers[1].cpu;
  return p;
}

namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::string fwd_config(const FwdConfig& c) {
  std::ostringstream os;
  os << "[eal]\n"
     << "control_cpu = " << c.control_cpu << "\n"
     << "huge_pages = " << (c.huge_pages ? "true" : "false") << "\n"
     << "memory_mb = " << c.memory_mb << "\n"
     << "file_prefix = " << quote(c.file_prefix) << "\n"
     << "[memory]\n"
     << "pool_size = " << c.pool_size << "\n";
  for (const auto& [name, device] : c.ports) {
    os << "[[port]]\nname = " << quote(name) << "\ndevice = " << quote(device) << "\n";
    if (c.queues) os << "rx_queues = " << c.queues << "\ntx_queues = " << c.queues << "\n";
    if (!c.addresses.empty()) {
      os << "addresses = [";
      for (size_t i = 0; i < c.addresses.size(); ++i)
        os << (i ? ", " : "") << quote(c.addresses[i]);
      os << "]\n";
    }
    if (!c.faults.empty()) os << "[port.faults]\n" << c.faults << "\n";
  }
  for (const auto& w : c.workers) {
    os << "[[worker]]\ncpu = " << w.cpu << "\n";
    if (!w.rx.empty()) {
      os << "rx = [";
      for (size_t i = 0; i < w.rx.size(); ++i) os << (i ? ", " : "") << quote(w.rx[i]);
      os << "]\n";
    }
    if (!w.idle.empty()) os << "idle = " << quote(w.idle) << "\n";
  }
  os << "[fwd]\n"
     << "mode = " << quote(c.mode) << "\n"
     << "topology = " << quote(c.topology) << "\n"
     << "pipeline = " << (c.pipeline ? "true" : "false") << "\n";
  return os.str();
}

std::string fwd_file_prefix() {
  return "bypass-it-" + unique_tag();
}

void remove_dpdk_leftovers(const std::string& file_prefix) {
  if (file_prefix.empty() || file_prefix.find('/') != std::string::npos) return;
  std::error_code ec;
  fs::remove_all("/var/run/dpdk/" + file_prefix, ec);
  std::ifstream mounts("/proc/mounts");
  std::string dev, mnt, type, rest;
  while (mounts >> dev >> mnt >> type && std::getline(mounts, rest)) {
    if (type != "hugetlbfs") continue;
    for (const auto& e : fs::directory_iterator(mnt, ec)) {
      std::string name = e.path().filename();
      if (name.rfind(file_prefix + "map_", 0) == 0) fs::remove(e.path(), ec);
    }
  }
}

std::optional<FwdTotals> parse_totals(const std::string& out) {
  auto pos = out.find("total: rx ");
  if (pos == std::string::npos) return std::nullopt;
  FwdTotals t;
  if (std::sscanf(out.c_str() + pos, "total: rx %" SCNu64 " tx %" SCNu64 " dropped %" SCNu64, &t.rx,
                  &t.tx, &t.dropped) != 3)
    return std::nullopt;
  return t;
}

std::optional<uint64_t> parse_mbufs_in_use(const std::string& out) {
  const std::string key = "mbufs in use at exit: ";
  auto pos = out.find(key);
  if (pos == std::string::npos) return std::nullopt;
  uint64_t n = 0;
  if (std::sscanf(out.c_str() + pos + key.size(), "%" SCNu64, &n) != 1) return std::nullopt;
  return n;
}

std::unique_ptr<FwdProcess> FwdProcess::start(const FwdConfig& cfg, const TempDir& dir,
                                              std::string* error,
                                              const std::vector<std::string>& wrapper,
                                              unsigned safety_seconds) {
  std::unique_ptr<FwdProcess> p(new FwdProcess());
  p->file_prefix_ = cfg.file_prefix;
  std::string config_path = dir.file("fwd-" + cfg.file_prefix + ".toml");
  if (!write_file(config_path, fwd_config(cfg))) {
    if (error) *error = "could not write " + config_path;
    return nullptr;
  }
  std::vector<std::string> argv = wrapper;
  argv.insert(argv.end(),
              {fwd_path(), "-c", config_path, "-q", "-t", std::to_string(safety_seconds)});
  p->child_ = Child::spawn(argv, dir.path(), error);
  if (!p->child_) return nullptr;
  return p;
}

FwdProcess::~FwdProcess() {
  child_.reset();  // killed and reaped if still running
  remove_dpdk_leftovers(file_prefix_);
}

bool FwdProcess::wait_ready(milliseconds timeout) {
  return child_->wait_for_output("forwarding in", timeout);
}

std::optional<ExitStatus> FwdProcess::terminate(milliseconds timeout) {
  child_->kill(SIGTERM);
  return child_->wait_for(timeout);
}

std::string FwdProcess::transcript() const {
  return "command: " + child_->command() + "\n--- stdout:\n" + out() + "--- stderr:\n" + err();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
  return static_cast<bool>(f);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace bypass::it
