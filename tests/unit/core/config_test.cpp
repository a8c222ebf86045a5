// Every config mistake gets one sentence that says what to change.
#include <bypass/core/config.hpp>
#include <bypass/core/eal.hpp>
#include <bypass/core/mempool.hpp>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

namespace bypass {
namespace {

SystemFacts machine() {
  SystemFacts s;
  s.online_cpus = {0, 1, 2, 3};
  s.allowed_cpus = {0, 1};
  s.hugepages_free = 1024;
  s.hugepage_bytes = 2 << 20;
  s.hugetlbfs_mounted = true;
  s.is_root = true;
  return s;
}

const char* kGood = R"(
[eal]
control_cpu = 0
[[port]]
name = "p0"
device = "net_null0"
[[port]]
name = "p1"
device = "net_null1"
rx_queues = 2
[[worker]]
cpu = 1
rx = ["p0:0", "p1:*"]
)";

// The error for `text` checked against `sys`, or "" when it is accepted.
std::string error_of(const std::string& text, SystemFacts sys = machine()) {
  auto c = parse_config(text, "test.toml");
  if (!c) return c.error();
  Status s = check_config(*c, sys);
  return s ? "" : s.message();
}

void expect_error(const std::string& text, const std::string& part, SystemFacts sys = machine()) {
  std::string e = error_of(text, sys);
  EXPECT_NE(e.find(part), std::string::npos)
      << "error was: \"" << e << "\"\nexpected it to contain: " << part;
  // One sentence: ends with a period and names what to change.
  EXPECT_FALSE(e.empty());
  if (!e.empty()) {
    EXPECT_EQ(e.back(), '.') << e;
  }
}

TEST(Config, GoodConfigParsesAndPasses) {
  auto c = parse_config(kGood);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->ports.size(), 2u);
  EXPECT_EQ(c->ports[1].rx_queues, 2);
  ASSERT_EQ(c->workers.size(), 1u);
  EXPECT_EQ(c->workers[0].rx.size(), 3u);
  EXPECT_EQ(c->workers[0].rx[2], (QueueRef{1, 1}));
  EXPECT_EQ(c->tx_queues(c->ports[0]), 1) << "one TX queue per worker by default";
  EXPECT_EQ(error_of(kGood), "");
}

// A reload compares the new config with the running one, part by part.
TEST(Config, EqualWhenEqualPartByPart) {
  const std::string modules =
      "[[module]]\nname = \"bl\"\nclass = \"SourceBlocklist\"\nbefore = \"udp_dispatch\"\n"
      "sources = [\"198.18.0.0/15\"]\nlimit = 3\n";
  auto a = parse_config(std::string(kGood) + modules);
  auto b = parse_config(std::string(kGood) + modules);
  ASSERT_TRUE(a) << a.error();
  ASSERT_TRUE(b) << b.error();
  EXPECT_TRUE(*a == *b);
  ASSERT_EQ(a->modules.size(), 1u);
  ASSERT_NE(a->modules[0].params.get("limit"), nullptr);
  EXPECT_EQ(a->modules[0].params.get("limit")->as_int(), 3);
  auto c = parse_config(std::string(kGood) + modules + "[[worker]]\ncpu = 0\nrx = [\"p1:0\"]\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_FALSE(*a == *c);
  EXPECT_TRUE(a->ports == c->ports) << "the ports did not change";
  EXPECT_FALSE(a->workers == c->workers);
  auto d = parse_config(std::string(kGood) + modules);
  ASSERT_TRUE(d);
  d->modules[0].params.set("sources", ConfigValue::of(std::vector<std::string>{"198.18.0.0/16"}));
  EXPECT_FALSE(a->modules == d->modules);
}

TEST(Config, WorkersRunUnderSeccompUnlessTheConfigSaysNo) {
  auto on = parse_config(kGood);
  ASSERT_TRUE(on) << on.error();
  EXPECT_TRUE(on->eal.worker_seccomp);
  EXPECT_TRUE(on->workers[0].seccomp);
  std::string text = kGood;
  text.replace(text.find("[eal]\n"), 6, "[eal]\nworker_seccomp = false\n");
  auto off = parse_config(text);
  ASSERT_TRUE(off) << off.error();
  EXPECT_FALSE(off->workers[0].seccomp);
  expect_error(std::string(kGood).replace(std::string(kGood).find("[eal]\n"), 6,
                                          "[eal]\nworker_seccomp = \"no\"\n"),
               "[eal].worker_seccomp must be true or false, not \"no\".");
}

TEST(Config, OneWorkerWithoutRxListPollsEverything) {
  auto c = parse_config("[[port]]\ndevice = \"net_null0\"\nrx_queues = 3\n[[worker]]\ncpu = 1\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->workers[0].rx.size(), 3u);
  EXPECT_EQ(c->ports[0].name, "p0");
}

TEST(Config, SyntaxErrorNamesTheLine) {
  expect_error("[eal\n", "test.toml line 1");
}

TEST(Config, UnknownKeyIsNamedWithTheKnownOnes) {
  expect_error("[eal]\ncontrol_core = 0\n", "unknown key 'control_core' in [eal]");
}

TEST(Config, WrongTypesSayWhatIsExpected) {
  expect_error("[eal]\nhuge_pages = \"yes\"\n", "[eal].huge_pages must be true or false");
  expect_error("[[port]]\ndevice = \"net_null0\"\nrx_queues = \"4\"\n",
               "rx_queues must be a whole number");
  expect_error("[[port]]\ndevice = \"net_null0\"\nrx_queues = 0\n", "out of range");
}

TEST(Config, NoHugePagesSaysHowToReserveThemOrUseNoHuge) {
  SystemFacts s = machine();
  s.hugepages_free = 0;
  expect_error(kGood, "no huge pages are free", s);
  expect_error(kGood, "huge_pages = false", s);
  s.hugetlbfs_mounted = false;
  expect_error(kGood, "hugetlbfs is not mounted", s);
  // The same machine is fine without huge pages.
  std::string nohuge = std::string(kGood);
  nohuge.replace(nohuge.find("control_cpu = 0"), 15, "control_cpu = 0\nhuge_pages = false");
  EXPECT_EQ(error_of(nohuge, s), "");
}

TEST(Config, MemoryBeyondFreeHugePages) {
  std::string t = kGood;
  t.replace(t.find("control_cpu = 0"), 15, "control_cpu = 0\nmemory_mb = 4096");
  expect_error(t, "only 2048 MB of huge pages are free");
}

TEST(Config, CoreThatDoesNotExist) {
  std::string t = kGood;
  t.replace(t.find("cpu = 1"), 7, "cpu = 9");
  expect_error(t, "worker 1 is on CPU 9, which this machine does not have (CPUs 0-3)");
}

TEST(Config, CoreThatIsNotOurs) {
  std::string t = kGood;
  t.replace(t.find("cpu = 1"), 7, "cpu = 3");
  expect_error(t, "which this process may not use (its CPU set is 0-1)");
  expect_error("[eal]\ncontrol_cpu = 2\n[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n",
               "the control thread is on CPU 2");
}

TEST(Config, WorkerWithoutCpu) {
  expect_error("[[worker]]\nrx = []\n", "has no cpu");
}

TEST(Config, NoPortsOrNoWorkers) {
  expect_error("[[worker]]\ncpu = 1\n", "names no ports");
  expect_error("[[port]]\ndevice = \"net_null0\"\n", "names no workers");
}

TEST(Config, PortMistakes) {
  expect_error("[[port]]\nname = \"a\"\n", "port 'a' has no device");
  expect_error("[[port]]\ndevice = \"eth0\"\n[[worker]]\ncpu = 1\n", "neither a PCI address");
  expect_error("[[port]]\ndevice = \"0000:99:00.0\"\n[[worker]]\ncpu = 1\n",
               "which this machine does not have");
  expect_error(
      "[[port]]\nname=\"a\"\ndevice = \"net_null0\"\n[[port]]\nname=\"a\"\ndevice = "
      "\"net_null1\"\n",
      "two ports are named 'a'");
  expect_error("[[port]]\ndevice = \"net_null0\"\n[[port]]\ndevice = \"net_null0,size=64\"\n",
               "two ports use device 'net_null0'");
  // af_xdp keeps a buffer in a page: a jumbo data_room is refused before
  // EAL starts, not by the driver's bare "Invalid argument".
  const std::string xdp =
      "[memory]\ndata_room = 3841\n[[port]]\nname = \"x\"\ndevice = "
      "\"net_af_xdp0,iface=veth0\"\n[[worker]]\ncpu = 1\n";
  expect_error(xdp,
               "port 'x' is net_af_xdp, which keeps each packet buffer in one 4 KiB page: lower "
               "[memory] data_room to 3840 at most (frames up to 3712 bytes; af_xdp takes no "
               "jumbo frames).");
}

TEST(Config, QueueOwnership) {
  const char* unpolled =
      "[[port]]\ndevice = \"net_null0\"\nrx_queues = 2\n[[worker]]\ncpu = 1\nrx = [\"p0:0\"]\n";
  expect_error(unpolled, "RX queue \"p0:1\" is polled by no worker");
  const char* twice =
      "[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\nrx = [\"p0:0\"]\n[[worker]]\ncpu = "
      "0\nrx = [\"p0\"]\n";
  expect_error(twice, "is polled by 2 workers");
  expect_error("[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\nrx = [\"p0:4\"]\n",
               "which has 1 RX queue(s): use a queue below 1");
  expect_error("[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\nrx = [\"px:0\"]\n",
               "no port is named 'px'");
  expect_error("[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\nrx = [\"p0:x\"]\n",
               "must be a number or '*'");
}

TEST(Config, TooFewTxQueuesForTheWorkers) {
  const char* t =
      "[[port]]\ndevice = \"net_null0\"\nrx_queues = 2\ntx_queues = 1\n[[worker]]\ncpu = 1\nrx = "
      "[\"p0:0\"]\n"
      "[[worker]]\ncpu = 0\nrx = [\"p0:1\"]\n";
  expect_error(t, "set tx_queues = 2");
}

TEST(Config, PoolTooSmallForTheRings) {
  const char* t =
      "[memory]\npool_size = 1000\n[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n";
  expect_error(t, "[memory].pool_size = 1000 is too small");
  expect_error(t, "raise pool_size to at least");
}

TEST(Config, BadIdlePolicyAndLogLevel) {
  expect_error("[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\nidle = \"nap\"\n",
               "is not a policy");
  expect_error("[eal]\nlog_level = \"loud\"\n", "is not a level");
  expect_error("[eal]\nfile_prefix = \"a/b\"\n", "file_prefix \"a/b\" names DPDK's run directory");
}

TEST(Config, MissingFileSaysSo) {
  auto c = load_config("/nonexistent/bypass.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("cannot read config file '/nonexistent/bypass.toml'"),
            std::string::npos);
}

// A reload reads on the control thread: a FIFO (which would block it until
// a writer came) is refused there with a sentence; at start a pipe is read
// (-c <(envsubst < t.toml)). Nothing is read past a config's size: a device
// that never ends (/dev/zero), a file far past it.
TEST(Config, ALiveReloadReadsARegularFileOfAConfigsSizeOnly) {
  const std::string dir = "/tmp/bypass-config-test-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  const std::string fifo = dir + "/fifo.toml", big = dir + "/big.toml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto f = load_config(fifo, /*live=*/true);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error(),
            "config file '" + fifo + "' is not a regular file: give the path of a TOML file.");
  std::thread writer(
      [&] { std::ofstream(fifo) << "[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n"; });
  auto piped = load_config(fifo);
  writer.join();
  EXPECT_TRUE(piped) << piped.error();
  auto z = load_config("/dev/zero");
  ASSERT_FALSE(z);
  EXPECT_NE(z.error().find("over the 1 MiB a config may have"), std::string::npos) << z.error();
  std::ofstream(big) << "# " << std::string(1 << 20, 'x') << "\n";
  auto b = load_config(big, /*live=*/true);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("over the 1 MiB a config may have"), std::string::npos) << b.error();
  // A directory is named as one (it read as an empty config that lacked ports).
  for (bool live : {false, true}) {
    auto d = load_config(dir, live);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(),
              "config file '" + dir + "' is a directory: give the path of a TOML file in it.");
  }
  unlink(fifo.c_str());
  unlink(big.c_str());
  rmdir(dir.c_str());
}

TEST(Config, PciAddressForms) {
  PortConfig p;
  p.device = "0000:01:00.0";
  EXPECT_TRUE(p.is_pci());
  p.device = "01:00.1,rxq_cqe_comp_en=0";
  EXPECT_TRUE(p.is_pci());
  EXPECT_EQ(p.device_name(), "01:00.1");
  p.device = "net_memif0,role=server";
  EXPECT_FALSE(p.is_pci());
  EXPECT_EQ(p.device_name(), "net_memif0");
}

// DPDK names a PCI device in full and in lower case: a config's "3B:00.0"
// is read as that name (it probed, then was not found by its spelling), so
// two spellings of one device are one device.
TEST(Config, PciAddressesAreReadInDpdksForm) {
  auto c = parse_config(
      "[[port]]\nname = \"a\"\ndevice = \"3B:00.0\"\n[[port]]\nname = \"b\"\ndevice = "
      "\"0000:3b:00.0,rxq_cqe_comp_en=0\"\n[[worker]]\ncpu = 1\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->ports[0].device, "0000:3b:00.0");
  EXPECT_EQ(c->ports[1].device, "0000:3b:00.0,rxq_cqe_comp_en=0");
  EXPECT_EQ(c->ports[0].device_name(), c->ports[1].device_name());
}

// A pool name past DPDK's limit (a long program name given to
// Runtime::attach) is said to be that, not memory that did not fit.
TEST(PktPool, ANameTooLongIsSaidToBe) {
  MemoryConfig m;
  m.pool_size = 255;
  m.pool_cache = 0;
  auto p = PktPool::create(std::string(30, 'x'), m);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("is longer than DPDK's"), std::string::npos) << p.error();
}

TEST(EalArgs, FollowTheConfig) {
  auto c = parse_config(std::string(kGood) + "\n");
  ASSERT_TRUE(c);
  c->eal.huge_pages = false;
  c->eal.file_prefix = "x";
  auto a = eal_args(*c);
  std::string all;
  for (auto& s : a) all += s + " ";
  EXPECT_NE(all.find("--lcores 0@0,1@1"), std::string::npos) << all;
  EXPECT_NE(all.find("--no-huge -m 512"), std::string::npos) << all;
  EXPECT_NE(all.find("--no-pci"), std::string::npos) << all;
  EXPECT_NE(all.find("--file-prefix x"), std::string::npos) << all;
  EXPECT_EQ(all.find("--vdev"), std::string::npos)
      << "vdevs are probed one by one after EAL starts";
}

TEST(Config, ControlSectionAndItsMistakes) {
  auto c = parse_config(std::string(kGood) +
                        "\n[control]\nname = \"edge-1\"\nsocket = \"off\"\nmetrics = "
                        "\"127.0.0.1:9100\"\ntelemetry = false\njournal = \"/tmp/j\"\n"
                        "metrics_hosts = [\"Metrics.Example.net.\", \"*\"]\n");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->control.name, "edge-1");
  EXPECT_FALSE(c->control.socket_on);
  EXPECT_EQ(c->control.metrics, "127.0.0.1:9100");
  EXPECT_EQ(c->control.journal, "/tmp/j");
  EXPECT_EQ(c->control.journal_rotate_mb, 16u);
  EXPECT_EQ(c->control.metrics_hosts, (std::vector<std::string>{"metrics.example.net", "*"}));
  std::string all;
  for (auto& a : eal_args(*c)) all += a + " ";
  EXPECT_NE(all.find("--no-telemetry"), std::string::npos) << all;
  expect_error("[control]\nname = \"a/b\"\n", "names a socket file: use letters");
  expect_error("[control]\njournal_rotate_mb = 0\n", "out of range");
  expect_error("[control]\nport = 9100\n", "unknown key 'port' in [control]");
  expect_error("[control]\nmetrics_hosts = [\"http://a\"]\n",
               "[control].metrics_hosts: \"http://a\" is not a host name: write a DNS name such as "
               "\"metrics.example.net\"");
  expect_error("[control]\nmetrics_hosts = [\"-a.example\"]\n", "is not a host name");
  // What the metrics server would refuse at start, --check says now.
  for (const char* bad : {"foo", "1.2.3.4:99999", "localhost:80", "[::1]", "127.0.0.1:", ":9100"})
    expect_error(std::string("[control]\nmetrics = \"") + bad + "\"\n",
                 "[control].metrics = \"" + std::string(bad) +
                     "\" is not an address to listen on: write it as \"127.0.0.1:9100\"");
  for (const char* good : {"127.0.0.1:0", "0.0.0.0:9100", "[::1]:9100", "[::]:80"}) {
    auto ok = parse_config(std::string("[control]\nmetrics = \"") + good + "\"\n", "test.toml");
    EXPECT_TRUE(ok) << good << ": " << (ok ? "" : ok.error());
  }
}

TEST(SystemFacts, ReadsThisMachine) {
  SystemFacts s = SystemFacts::read();
  EXPECT_FALSE(s.online_cpus.empty());
  EXPECT_FALSE(s.allowed_cpus.empty());
  EXPECT_EQ(format_cpus({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
}

// CPU numbers are not lcore ids: a worker may run on CPU 130 of a big host
// (it was refused as out of 0..127), while the number of workers is what
// DPDK's lcores bound (128 workers passed, then EAL refused its arguments).
TEST(Config, CpusOfABigHostAndNoMoreWorkersThanLcores) {
  auto c = parse_config("[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 130\n");
  ASSERT_TRUE(c) << c.error();
  SystemFacts big = machine();
  big.online_cpus.clear();
  for (unsigned i = 0; i < 256; ++i) big.online_cpus.push_back(i);
  big.allowed_cpus = big.online_cpus;
  EXPECT_TRUE(check_config(*c, big));
  std::string all;
  for (auto& a : eal_args(*c)) all += a + " ";
  EXPECT_NE(all.find("1@130"), std::string::npos) << all;
  std::string many = "[[port]]\ndevice = \"net_null0\"\n";
  for (int i = 0; i < RTE_MAX_LCORE; ++i) many += "[[worker]]\ncpu = 1\n";
  expect_error(many, "at most " + std::to_string(RTE_MAX_LCORE - 1) + " workers fit");
}

// A hand-off ring a slow consumer leaves full holds ring_size mbufs: the pool
// must have them besides what the descriptor rings and caches hold.
TEST(Config, ThePoolHoldsWhatHandOffRingsHold) {
  const std::string two =
      "[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 0\n[[worker]]\ncpu = 1\n";
  auto plain = parse_config(two);
  auto handed = parse_config(two + "[[handoff]]\nbefore = \"udp_dispatch\"\nworker = 2\n");
  ASSERT_TRUE(plain) << plain.error();
  ASSERT_TRUE(handed) << handed.error();
  EXPECT_EQ(handed->mbufs_needed(), plain->mbufs_needed() + handed->memory.ring_size);
  // A point is one module per port: a ring for each.
  const std::string ports2 = "[[port]]\ndevice = \"net_null1\"\n";
  auto plain2 = parse_config(ports2 + two);
  auto handed2 =
      parse_config(ports2 + two + "[[handoff]]\nbefore = \"udp_dispatch\"\nworker = 2\n");
  ASSERT_TRUE(plain2) << plain2.error();
  ASSERT_TRUE(handed2) << handed2.error();
  EXPECT_EQ(handed2->mbufs_needed(), plain2->mbufs_needed() + 2 * handed2->memory.ring_size);
}

}  // namespace

// A table or key at the top that neither bypass nor the program reads is
// refused, naming the nearest known name (a misspelt [memroy] was ignored).
TEST(Config, ATopLevelNameNobodyReadsIsRefused) {
  const std::vector<std::string> own = {"fwd"};
  auto ok = parse_config("[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n[fwd]\n");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_TRUE(check_top_level(*ok, own));
  auto typo = parse_config("[memroy]\npool_size = 10\n");
  ASSERT_TRUE(typo);
  Status s = check_top_level(*typo, own);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message().rfind("unknown table [memroy] at the top of the config: fix its name", 0),
            0u)
      << s.message();
  EXPECT_NE(s.message().find("[memory] is the nearest"), std::string::npos) << s.message();
  auto array = parse_config("[[wroker]]\ncpu = 1\n");
  ASSERT_TRUE(array);
  s = check_top_level(*array, own);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("[worker] is the nearest"), std::string::npos) << s.message();
  auto key = parse_config("backend = \"sockets\"\n");
  ASSERT_TRUE(key);
  s = check_top_level(*key, own);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("unknown key 'backend' at the top of the config: move it into its "
                             "table"),
            std::string::npos)
      << s.message();
  auto other = parse_config("[udpd]\n");  // another program's table
  ASSERT_TRUE(other);
  EXPECT_FALSE(check_top_level(*other, own));
  EXPECT_TRUE(check_top_level(*other, {"udpd"}));
}

}  // namespace bypass
