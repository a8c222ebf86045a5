// bypass-fwd's behaviour on bad input, seen from the outside: every mistake
// ends the process with exit code 2 and one sentence on stderr, no raw DPDK
// log lines, no signal, no core dump. Also --check on a good config and the
// built-in demo (two net_null ports) run to a clean end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) out.push_back(line);
  return out;
}

struct FwdRun {
  ExitStatus status;
  bool finished = false;
  std::string out, err;
  std::vector<std::string> cores;  // core files left in the working directory
};

// Runs bypass-fwd with `args` in `dir` (its working directory) to the end.
FwdRun run_fwd(const TempDir& dir, const std::vector<std::string>& args,
               std::chrono::milliseconds timeout = 60000ms) {
  FwdRun r;
  std::vector<std::string> argv = {fwd_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string error;
  auto c = Child::spawn(argv, dir.path(), &error);
  if (!c) {
    r.err = error;
    return r;
  }
  auto st = c->wait_for(timeout);
  if (st) {
    r.finished = true;
    r.status = *st;
  }
  r.out = c->out();
  r.err = c->err();
  c.reset();
  for (const auto& e : dir.entries())
    if (e.rfind("core", 0) == 0) r.cores.push_back(e);
  return r;
}

// A config with one port on `device`; workers and EAL as the test runs.
FwdConfig config_with(const std::string& device) {
  CpuPlan cpus = plan_cpus();
  FwdConfig cfg;
  cfg.file_prefix = fwd_file_prefix();
  cfg.huge_pages = !no_huge();
  cfg.control_cpu = cpus.control;
  cfg.ports = {{"p0", device}};
  cfg.workers = {{cpus.worker, {}, ""}};
  return cfg;
}

// The checks every rejected input must pass.
void expect_clean_rejection(const FwdRun& r, const std::string& says) {
  ASSERT_TRUE(r.finished) << "bypass-fwd did not run to its end (is BYPASS_FWD set?): " << r.err;
  EXPECT_TRUE(r.status.exited) << r.status.describe();
  EXPECT_EQ(r.status.code, 2) << r.status.describe() << "\nstderr: " << r.err;
  EXPECT_FALSE(r.status.core_dumped);
  EXPECT_TRUE(r.cores.empty()) << "core file left: " << r.cores.front();
  auto err_lines = lines_of(r.err);
  ASSERT_EQ(err_lines.size(), 1u) << "stderr must be one line:\n" << r.err;
  EXPECT_EQ(err_lines[0].rfind("bypass-fwd: ", 0), 0u) << err_lines[0];
  EXPECT_NE(err_lines[0].find(says), std::string::npos)
      << "stderr does not say '" << says << "': " << err_lines[0];
  EXPECT_EQ(r.err.find("EAL:"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("EAL:"), std::string::npos) << r.out;
  // Nothing else on stdout but warnings about the config.
  for (const auto& l : lines_of(r.out))
    EXPECT_EQ(l.rfind("warning: ", 0), 0u) << "unexpected stdout line: " << l;
}

// Writes `cfg`, runs bypass-fwd on it and checks the rejection; removes what
// DPDK left for the config's file prefix.
void expect_config_rejected(const FwdConfig& cfg, const std::string& says) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string path = dir.file("fwd.toml");
  ASSERT_TRUE(write_file(path, fwd_config(cfg)));
  FwdRun r = run_fwd(dir, {"-c", path, "-q", "-t", "5"});
  remove_dpdk_leftovers(cfg.file_prefix);
  expect_clean_rejection(r, says);
}

TEST(FwdCli, MissingConfigFile) {
  TempDir dir;
  std::string path = dir.file("no-such-config.toml");
  FwdRun r = run_fwd(dir, {"-c", path, "-q"});
  expect_clean_rejection(r, path);
}

TEST(FwdCli, TomlSyntaxError) {
  TempDir dir;
  std::string path = dir.file("broken.toml");
  ASSERT_TRUE(write_file(path, "[eal]\ncontrol_cpu = 0\n[[port]\nname = \"p0\"\n"));
  FwdRun r = run_fwd(dir, {"-c", path, "-q"});
  expect_clean_rejection(r, "line 3");
}

TEST(FwdCli, UnknownDeviceDidNotProbe) {
  expect_config_rejected(config_with("net_foo0"), "did not probe");
}

TEST(FwdCli, BadMemifArgumentsDidNotProbe) {
  expect_config_rejected(config_with("net_memif0,role=bogus"), "did not probe");
}

TEST(FwdCli, AfPacketOnMissingInterfaceDidNotProbe) {
  std::string iface = "bpnx" + std::to_string(getpid());
  expect_config_rejected(config_with("net_af_packet0,iface=" + iface), "did not probe");
}

TEST(FwdCli, WorkerOnCpuThatDoesNotExist) {
  SystemFacts sys = SystemFacts::read();
  ASSERT_FALSE(sys.online_cpus.empty());
  unsigned missing = *std::max_element(sys.online_cpus.begin(), sys.online_cpus.end()) + 1;
  ASSERT_LT(missing, 128u) << "this machine has every CPU number EAL knows";
  FwdConfig cfg = config_with("net_null0");
  cfg.workers[0].cpu = missing;
  expect_config_rejected(cfg, "CPU " + std::to_string(missing));
}

TEST(FwdCli, WorkerCpuOutOfRange) {
  FwdConfig cfg = config_with("net_null0");
  cfg.workers[0].cpu = 100000;
  expect_config_rejected(cfg, "100000");
}

// Arguments for EAL after -- that it refuses: one sentence naming the
// argument (EAL's own report was its whole usage text, about 100 lines).
TEST(FwdCli, EalArgumentsItRefusesAreOneSentence) {
  struct Case {
    std::vector<std::string> eal;
    std::string says;
  } cases[] = {
      {{"--bogus-flag"}, "DPDK's EAL does not know the argument '--bogus-flag'"},
      {{"-l", "0-127"}, "which this machine lacks or this process may not use"},
      {{"--vdev", "net_bogus0"}, "DPDK found no device or driver for an argument"},
      // A PCI device the machine lacks: EAL went on without it, silently.
      {{"-a", "0000:fe:1f.7"}, "allows PCI device 0000:fe:1f.7, which this machine does not have"},
      {{"--allow=fe:1f.7"}, "allows PCI device 0000:fe:1f.7"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    FwdConfig cfg = config_with("net_null0");
    const std::string path = dir.file("fwd.toml");
    ASSERT_TRUE(write_file(path, fwd_config(cfg)));
    std::vector<std::string> args = {"-c", path, "-q", "-t", "5", "--"};
    args.insert(args.end(), c.eal.begin(), c.eal.end());
    FwdRun r = run_fwd(dir, args);
    remove_dpdk_leftovers(cfg.file_prefix);
    expect_clean_rejection(r, c.says);
  }
}

TEST(FwdCli, UnknownForwardingMode) {
  FwdConfig cfg = config_with("net_null0");
  cfg.mode = "bogus";
  expect_config_rejected(cfg, "bogus");
  // -m "" is a mode given empty, not none given (it ran the config's mode).
  TempDir dir;
  const std::string path = dir.file("fwd.toml");
  ASSERT_TRUE(write_file(path, fwd_config(config_with("net_null0"))));
  FwdRun r = run_fwd(dir, {"-c", path, "--check", "-m", ""});
  expect_clean_rejection(r, "forwarding mode \"\" is not known");
}

// --graph with --check printed nothing and said nothing: the graph is a
// run's, and --check starts none.
TEST(FwdCli, GraphWithCheckIsOneSentence) {
  TempDir dir;
  FwdRun r = run_fwd(dir, {"--check", "--graph"});
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--graph prints the graph a run builds, and --check starts none: drop "
                       "--check (add -t 1 for a short run)."),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// A port's addresses are for a reflector's ARP and NDP answers: io mode,
// which forwards every frame, has none to give; a bad one is named.
TEST(FwdCli, PortAddressesInIoModeOrMalformedAreOneSentence) {
  FwdConfig cfg = config_with("net_null0");
  cfg.addresses = {"198.18.0.2/24"};
  cfg.mode = "io";
  expect_config_rejected(cfg,
                         "port 'p0' has addresses, which bypass-fwd answers ARP and neighbour "
                         "solicitations for only as a reflector: remove them, or set [fwd] mode "
                         "= \"5tswap\" or \"macswap\".");
  cfg.mode = "5tswap";
  cfg.addresses = {"198.18.0.2/33"};
  expect_config_rejected(cfg, "port 'p0': address \"198.18.0.2/33\" has a bad prefix length");
}

TEST(FwdCli, PipelineWithOneWorker) {
  FwdConfig cfg = config_with("net_null0");
  cfg.pipeline = true;
  expect_config_rejected(cfg, "pipeline");
}

// The pipeline's rings hold mbufs too: a pool that fills the ports and
// caches but not the rings is refused before the start, naming them (it
// passed the check and could run dry).
TEST(FwdCli, APipelinesRingsAreCountedInThePool) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.file("fwd.toml");
  auto config = [](unsigned pool, unsigned ring) {
    return "[memory]\npool_size = " + std::to_string(pool) +
           "\nring_size = " + std::to_string(ring) +
           "\n[[port]]\nname = \"p0\"\ndevice = \"net_null0\"\nrx_queues = 2\ntx_queues = "
           "2\nrx_desc = 128\ntx_desc = 128\n[[worker]]\ncpu = 0\nrx = [\"p0:0\"]\n[[worker]]\n"
           "cpu = 1\nrx = [\"p0:1\"]\n[fwd]\npipeline = true\n";
  };
  ASSERT_TRUE(write_file(path, config(4095, 2048)));
  FwdRun r = run_fwd(dir, {"-c", path, "--check"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_NE(r.err.find("is too small for the pipeline"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its 2 rings of 2048"), std::string::npos) << r.err;
  ASSERT_TRUE(write_file(path, config(4095, 256)));
  FwdRun ok = run_fwd(dir, {"-c", path, "--check"});
  EXPECT_EQ(ok.status.code, 0) << ok.err;
}

TEST(FwdCli, ModuleThatReadsTheParseIsRefusedWhereNothingParses) {
  TempDir dir;
  FwdConfig cfg = config_with("net_null0");
  std::string path = dir.file("fwd.toml");
  ASSERT_TRUE(write_file(path, fwd_config(cfg) +
                                   "[[module]]\nname = \"bl\"\nclass = \"SourceBlocklist\"\n"
                                   "before = \"swap\"\nsources = [\"198.18.0.0/15\"]\n"));
  FwdRun r = run_fwd(dir, {"-c", path, "-q", "-t", "5"});
  remove_dpdk_leftovers(cfg.file_prefix);
  expect_clean_rejection(r, "reads what the Endpoint parsed, and packets reach 'swap' unparsed");
}

// A module put in front of the swap by config alone: it sees every packet,
// the graph shows it there, and forwarding is unchanged.
TEST(FwdCli, ModuleInsertedInFrontOfTheSwapByConfig) {
  TempDir dir;
  FwdConfig cfg = config_with("net_null0");
  std::string path = dir.file("fwd.toml");
  ASSERT_TRUE(write_file(path, fwd_config(cfg) + "[[module]]\nname = \"pass\"\nclass = "
                                                 "\"Io\"\nbefore = \"swap\"\n"));
  FwdRun r = run_fwd(dir, {"-c", path, "-q", "-t", "1", "--graph"});
  remove_dpdk_leftovers(cfg.file_prefix);
  ASSERT_TRUE(r.finished);
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << "\n" << r.err;
  // Behind the host, which keeps ARP and the like from the swap.
  EXPECT_NE(r.out.find("source -> host\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  host -> pass, tx\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  pass -> swap\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  swap -> tx\n"), std::string::npos) << r.out;
  auto totals = parse_totals(r.out);
  ASSERT_TRUE(totals) << r.out;
  EXPECT_GT(totals->rx, 0u);
  EXPECT_EQ(totals->tx, totals->rx) << r.out;
  EXPECT_NE(r.out.find("module pass: in " + std::to_string(totals->rx) + " dropped 0"),
            std::string::npos)
      << r.out;
}

// --stats-json: a JSON object a second and a final one, with the schema
// version, cumulative totals equal to the final report's, every drop reason,
// the modules and the pool gauge. Python's json module checks each line.
TEST(FwdCli, StatsJsonHasALineASecondAndAFinalOneEqualToTheReport) {
  TempDir dir;
  FwdConfig cfg = config_with("net_null0");
  std::string path = dir.file("fwd.toml");
  ASSERT_TRUE(write_file(path, fwd_config(cfg)));
  FwdRun r = run_fwd(dir, {"-c", path, "-q", "-t", "3.5", "--stats-json", dir.file("s.jsonl")});
  remove_dpdk_leftovers(cfg.file_prefix);
  ASSERT_TRUE(r.finished);
  ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << "\n" << r.err;
  auto totals = parse_totals(r.out);
  ASSERT_TRUE(totals) << r.out;
  const char* check = R"(
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert all(l["schema"] == 2 for l in lines), "schema"
assert [l["final"] for l in lines] == [False] * (len(lines) - 1) + [True], "final last"
assert len(lines) >= 3, "a line a second over 3.5 s (2 at least), and the final one"
secs = [l["seconds"] for l in lines]
assert secs == sorted(secs), "seconds grow"
rx = [l["totals"]["rx_packets"] for l in lines]
assert rx == sorted(rx), "cumulative"
last = lines[-1]
assert sum(w["rx_packets"] for w in last["workers"]) == last["totals"]["rx_packets"]
by_reason = {}
for m in last["modules"]:
    assert m["dropped"] == sum(m["drops"].values()), m
    for k, v in m["drops"].items(): by_reason[k] = by_reason.get(k, 0) + v
assert by_reason == last["totals"]["drops"], (by_reason, last["totals"]["drops"])
assert sum(by_reason.values()) == last["totals"]["dropped"]
assert [m["name"] for m in last["modules"]] == ["tx", "swap", "host"], last["modules"]
assert last["modules"][1]["packets"] == last["totals"]["rx_packets"]
assert last["modules"][2]["packets"] == last["totals"]["rx_packets"]
assert last["counters"]["host.arp_replies"] == 0, last["counters"]
assert "pool.in_use" in last["gauges"]
assert last["ports"][0]["name"] == "p0"
print(last["totals"]["rx_packets"], last["totals"]["tx_packets"], last["totals"]["dropped"])
)";
  CmdResult py = run_cmd({"python3", "-c", check, dir.file("s.jsonl")});
  ASSERT_TRUE(py.ok()) << py.out << py.err;
  EXPECT_EQ(py.out, std::to_string(totals->rx) + " " + std::to_string(totals->tx) + " " +
                        std::to_string(totals->dropped) + "\n");
}

TEST(FwdCli, StatsJsonToAnUnwritablePlaceIsOneSentence) {
  TempDir dir;
  FwdConfig cfg = config_with("net_null0");
  std::string path = dir.file("fwd.toml");
  ASSERT_TRUE(write_file(path, fwd_config(cfg)));
  FwdRun r = run_fwd(dir, {"-c", path, "-q", "-t", "1", "--stats-json", "/nonexistent/s.jsonl"});
  remove_dpdk_leftovers(cfg.file_prefix);
  expect_clean_rejection(r, "cannot write the stats file '/nonexistent/s.jsonl'");
}

TEST(FwdCli, CheckAcceptsAGoodConfigWithoutStartingDpdk) {
  TempDir dir;
  FwdConfig cfg = config_with("net_null0");
  cfg.ports.push_back({"p1", "net_null1"});
  cfg.topology = "paired";
  std::string path = dir.file("good.toml");
  ASSERT_TRUE(write_file(path, fwd_config(cfg)));
  FwdRun r = run_fwd(dir, {"-c", path, "--check"});
  EXPECT_FALSE(std::filesystem::exists("/var/run/dpdk/" + cfg.file_prefix))
      << "--check started DPDK";
  remove_dpdk_leftovers(cfg.file_prefix);
  ASSERT_TRUE(r.finished);
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << "\n" << r.err;
  EXPECT_EQ(r.out, "config ok\n");
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(r.cores.empty());
}

TEST(FwdCli, DemoRunsForTwoSecondsAndExitsClean) {
  TempDir dir;
  std::vector<std::string> args = {"-t", "2", "-q"};
  if (no_huge()) args.push_back("--no-huge");
  std::string error;
  std::vector<std::string> argv = {fwd_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto c = Child::spawn(argv, dir.path(), &error);
  ASSERT_TRUE(c) << error;
  std::string prefix = "bypass-" + std::to_string(c->pid());  // the demo's default
  auto st = c->wait_for(60000ms);
  std::string out = c->out(), err = c->err();
  c.reset();
  remove_dpdk_leftovers(prefix);
  ASSERT_TRUE(st) << "the demo did not end within 60 s of a 2 s run";
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << out << err;
  EXPECT_EQ(err, "");
  EXPECT_EQ(out.find("EAL:"), std::string::npos) << out;
  auto totals = parse_totals(out);
  ASSERT_TRUE(totals) << out;
  EXPECT_GT(totals->rx, 0u) << out;
  // net_null takes every packet sent to it: nothing may be dropped.
  EXPECT_EQ(totals->tx, totals->rx) << out;
  EXPECT_EQ(totals->dropped, 0u) << out;
  auto leaked = parse_mbufs_in_use(out);
  ASSERT_TRUE(leaked) << out;
  EXPECT_EQ(*leaked, 0u) << out;
}

}  // namespace
}  // namespace bypass::it
