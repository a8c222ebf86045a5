// The control plane from the outside: bypassctl reads a running bypass-udpd
// on both backends (sockets on loopback, DPDK on net_null), so does DPDK's
// dpdk-telemetry.py on DPDK, /metrics passes
// promtool, and a real Prometheus server scrapes it under load and gives a
// rate back through its own HTTP API.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

uint16_t test_port(int k) {
  return static_cast<uint16_t>(10000 + (getpid() % 20000) +
                               k);  // below the ephemeral range (32768 on)
}

// Calls `done` every 100 ms until it holds; false if it still does not after 30 s.
template <typename F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

// Control sockets of this test's children go to its own directory, so that
// bypassctl finds exactly the instances the test started.
class Control : public ::testing::Test {
 protected:
  void SetUp() override { setenv("BYPASS_RUN_DIR", dir.file("run").c_str(), 1); }
  void TearDown() override { unsetenv("BYPASS_RUN_DIR"); }

  CmdResult ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {env_path("BYPASS_CTL")};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, 20000ms);
  }

  // bypass-udpd on the sockets backend with an echo service on `port`.
  std::unique_ptr<Child> sockets_udpd(const std::string& name, uint16_t port,
                                      const std::string& control_extra = "") {
    CpuPlan cpus = plan_cpus();
    std::string cfg = dir.file(name + ".toml");
    std::ofstream(cfg) << "[[worker]]\ncpu = " << cpus.worker
                       << "\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
                       << "[[udpd.service]]\nport = " << port << "\nhandler = \"echo\"\n"
                       << "[control]\nname = \"" << name << "\"\n"
                       << control_extra;
    std::string err;
    auto c =
        Child::spawn({env_path("BYPASS_UDPD"), "-c", cfg, "-q", "-t", "120"}, dir.path(), &err);
    EXPECT_TRUE(c) << err;
    if (c) {
      EXPECT_TRUE(c->wait_for_output("serving UDP", 10000ms)) << c->out() << c->err();
    }
    return c;
  }

  // bypass-udpd on DPDK with one net_null port (empty frames as fast as the
  // worker takes them) and an echo service; `control` fills [control].
  void null_udpd(const std::string& prefix, const std::string& control,
                 std::unique_ptr<Child>* out) {
    CpuPlan cpus = plan_cpus();
    const std::string cfg = dir.file("null-" + prefix + ".toml");
    std::ofstream(cfg) << "[eal]\nfile_prefix = \"" << prefix << "\"\nmemory_mb = 128\n"
                       << (no_huge() ? "huge_pages = false\n" : "")
                       << "control_cpu = " << cpus.control
                       << "\n[memory]\npool_size = 4095\n[[port]]\nname = \"null0\"\n"
                       << "device = \"net_null0\"\naddresses = [\"198.18.0.1/24\"]\n"
                       << "[[worker]]\ncpu = " << cpus.worker << "\n"
                       << "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n[control]\n"
                       << control;
    std::string err;
    auto c =
        Child::spawn({env_path("BYPASS_UDPD"), "-c", cfg, "-q", "-t", "120"}, dir.path(), &err);
    ASSERT_TRUE(c) << err;
    ASSERT_TRUE(c->wait_for_output("serving UDP", 30000ms)) << c->out() << c->err();
    *out = std::move(c);
  }

  // Runs Python on `code` with `args`; its stdout.
  std::string python(const char* code, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"python3", "-c", code};
    argv.insert(argv.end(), args.begin(), args.end());
    CmdResult r = run_cmd(argv, 90000ms);
    return r.out + r.err;
  }

  TempDir dir;
};

TEST_F(Control, BypassctlReadsTheSocketsBackend) {
  const uint16_t port = test_port(0);
  auto udpd = sockets_udpd("alpha", port);
  ASSERT_TRUE(udpd);
  auto e = run_cmd({env_path("BYPASS_CLIENT"), "echo", "127.0.0.1", std::to_string(port), "-n",
                    "300", "-w", "8"});
  ASSERT_TRUE(e.ok()) << e.out << e.err;

  // The one instance here is found without naming it.
  CmdResult list = ctl({"list"});
  ASSERT_TRUE(list.ok()) << list.err;
  EXPECT_EQ(list.out.substr(0, 6), "alpha\t") << list.out;
  CmdResult help = ctl({"help"});
  ASSERT_TRUE(help.ok()) << help.err;
  for (const char* cmd : {"stats", "ports", "workers", "drops", "top"})
    EXPECT_NE(help.out.find(std::string("  ") + cmd), std::string::npos) << help.out;

  CmdResult w = ctl({"workers", "--json"});
  ASSERT_TRUE(w.ok()) << w.err;
  // Counts are read when asked: all 300 echoes are there at once.
  const char* check_workers = R"(
import json, sys
w = json.loads(sys.argv[1])
assert len(w) == 1 and w[0]["worker"] == 1, w
assert w[0]["rx_packets"] == 300 and w[0]["tx_packets"] == 300, w
print("ok")
)";
  EXPECT_EQ(python(check_workers, {w.out}), "ok\n");
  CmdResult stats = ctl({"-n", "alpha", "stats", "--json"});
  ASSERT_TRUE(stats.ok()) << stats.err;
  const char* check_stats = R"(
import json, sys
s = json.loads(sys.argv[1])
assert s["counters"]["udp.replies"] == 300, s["counters"]
print("ok")
)";
  EXPECT_EQ(python(check_stats, {stats.out}), "ok\n");
  CmdResult top = ctl({"top", "--count", "2", "--interval", "0.2"});
  ASSERT_TRUE(top.ok()) << top.err;
  EXPECT_NE(top.out.find("bypass-udpd up"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("(nothing dropped)"), std::string::npos) << top.out;

  // Mistakes: one sentence each, exit 1.
  CmdResult bad = ctl({"nonsense"});
  EXPECT_EQ(bad.status.code, 1);
  EXPECT_EQ(bad.err, "bypassctl: there is no command 'nonsense': \"help\" lists them.\n");
  CmdResult bad_limit = ctl({"drops", "--limit", "many"});
  EXPECT_EQ(bad_limit.status.code, 1);
  EXPECT_NE(bad_limit.err.find("--limit takes a count"), std::string::npos) << bad_limit.err;
  CmdResult nobody = ctl({"-n", "nobody", "stats"});
  EXPECT_EQ(nobody.status.code, 1);
  EXPECT_NE(nobody.err.find("is the program running"), std::string::npos) << nobody.err;

  // A second instance under the same name gets a name of its own; bypassctl
  // then asks which one.
  auto second = sockets_udpd("alpha", test_port(1));
  ASSERT_TRUE(second);
  CmdResult two = ctl({"stats"});
  EXPECT_EQ(two.status.code, 1);
  EXPECT_NE(two.err.find("several bypass instances run here (alpha, alpha-"), std::string::npos)
      << two.err;
  CmdResult by_name = ctl({"-n", "alpha-" + std::to_string(second->pid()), "workers"});
  EXPECT_TRUE(by_name.ok()) << by_name.err;

  ASSERT_TRUE(second->kill(SIGTERM));
  ASSERT_TRUE(udpd->kill(SIGTERM));
  for (Child* c : {second.get(), udpd.get()}) {
    auto st = c->wait_for(10000ms);
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << c->err();
  }
  // Their sockets are gone with them.
  CmdResult none = ctl({"stats"});
  EXPECT_EQ(none.status.code, 1);
  EXPECT_NE(none.err.find("no bypass is running here"), std::string::npos) << none.err;
}

// A server that stopped serving (its backlog full, nothing accepting) gets
// one sentence within the 5 s bypassctl waits, not a bypassctl that hangs.
TEST_F(Control, BypassctlGivesUpOnASocketThatTakesNoConnection) {
  TempDir dir;
  const std::string path = dir.file("stuck.sock");
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(fd, 0), 0);
  std::vector<int> queued;  // fill the backlog: nothing ever accepts them
  for (int i = 0; i < 4; ++i) {
    const int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      close(c);
      break;
    }
    queued.push_back(c);
  }
  CmdResult r = run_cmd({env_path("BYPASS_CTL"), "-s", path, "stats"}, 30000ms);
  EXPECT_FALSE(r.timed_out) << "bypassctl hung on a full backlog";
  EXPECT_EQ(r.status.code, 1) << r.describe("bypassctl");
  EXPECT_NE(r.err.find("takes no connection (its queue stayed full for 5 s)"), std::string::npos)
      << r.err;
  for (int c : queued) close(c);
  close(fd);
}

// bypassctl's own mistakes, before it asks anything: one sentence, status 1
// (a negative --count printed nothing and exited 0, a NaN --interval asked
// in a tight loop, a long -s path was cut short and could name another).
TEST(BypassctlCli, BadValuesAreOneSentence) {
  const std::string sock = "/tmp/bypassctl-none.sock";
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"-s", sock, "top", "--count", "-5"}, "--count takes a whole number of 0 or more"},
      {{"-s", sock, "top", "--count", "1.5"}, "not '1.5'"},
      {{"-s", sock, "top", "--interval", "nan"}, "--interval takes seconds from 0.1 to 86400"},
      {{"-s", sock, "top", "--interval", "2x"}, "not '2x'"},
      {{"-s", "/tmp/" + std::string(120, 'a'), "stats"}, "which a Unix socket cannot have"},
      {{"-s", "", "stats"}, "-s needs a value"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {env_path("BYPASS_CTL")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    CmdResult r = run_cmd(argv, 30000ms);
    EXPECT_EQ(r.status.code, 1) << r.describe("bypassctl " + c.args.back());
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST_F(Control, BypassctlReadsTheDpdkBackend) {
  const std::string prefix = fwd_file_prefix();
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(null_udpd(prefix, "name = \"dp\"\n", &udpd));
  // net_null hands the worker empty frames as fast as it can take them: the
  // ip module drops them all as not_for_us, and the counts keep moving. Each
  // is asked again until it shows.
  const std::regex port_rx("null0 +up +[1-9][0-9]* ");
  CmdResult ports;
  eventually([&] {
    ports = ctl({"ports"});
    return ports.ok() && std::regex_search(ports.out, port_rx);
  });
  ASSERT_TRUE(ports.ok()) << ports.err;
  EXPECT_TRUE(std::regex_search(ports.out, port_rx)) << ports.out;
  const std::string not_for_us = "\"module\":\"ip\",\"worker\":1,\"reason\":\"not_for_us\"";
  CmdResult drops;
  eventually([&] {
    drops = ctl({"drops", "--json"});
    return drops.ok() && drops.out.find(not_for_us) != std::string::npos;
  });
  ASSERT_TRUE(drops.ok()) << drops.err;
  EXPECT_NE(drops.out.find(not_for_us), std::string::npos) << drops.out;
  CmdResult graph = ctl({"graph"});
  ASSERT_TRUE(graph.ok()) << graph.err;
  EXPECT_NE(graph.out.find("udp_dispatch -> "), std::string::npos) << graph.out;
  // The worker's receive count, read until it is under way and again until it has grown.
  std::string workers;
  auto worker_rx = [&]() -> uint64_t {
    workers = ctl({"workers", "--json"}).out;
    std::smatch m;
    if (!std::regex_search(workers, m, std::regex("\"rx_packets\":(\\d+)"))) return 0;
    return std::stoull(m[1]);
  };
  uint64_t first = 0, second = 0;
  eventually([&] { return (first = worker_rx()) > 0; });
  EXPECT_GT(first, 0u) << workers;
  eventually([&] { return (second = worker_rx()) > first; });
  EXPECT_GT(second, first) << workers;

  // DPDK's own client, the way DPDK tests its commands: each /bypass
  // command with no parameter, a numeric one and a junk one gives JSON.
  const char* telemetry = R"(
import json, subprocess, sys
def ask(cmds):
    r = subprocess.run(["dpdk-telemetry.py", "-f", sys.argv[1]], input="\n".join(cmds) + "\n",
                       capture_output=True, text=True, timeout=60)
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
listing = ask(["/"])[0]["/"]
ours = [c for c in listing if c.startswith("/bypass/")]
assert len(ours) >= 8, listing
cmds = [c + p for c in ours for p in ("", ",1", ",junk")]
replies = ask(cmds)
assert len(replies) == len(cmds), (len(replies), len(cmds))
by = {c: r for c, r in zip(cmds, replies)}
assert by["/bypass/drops"]["/bypass/drops"]["ip/1/not_for_us"] > 0, by["/bypass/drops"]
assert by["/bypass/ports"]["/bypass/ports"] == ["null0"], by["/bypass/ports"]
port = ask(["/bypass/port,0"])[0]["/bypass/port"]
assert port["name"] == "null0" and port["rx_queues"] == 1 and port["rx_spread"] == "one queue", port
assert by["/bypass/worker,1"]["/bypass/worker"]["rx_packets"] > 0, by["/bypass/worker,1"]
assert by["/bypass/worker,junk"]["/bypass/worker"] is None
print("ok", len(cmds))
)";
  // Telemetry reads the counters' snapshot, taken once a second: asked
  // again until the drops have reached it.
  std::string answer;
  eventually([&] { return (answer = python(telemetry, {prefix})) == "ok 24\n"; });
  EXPECT_EQ(answer, "ok 24\n");
  ASSERT_TRUE(udpd->kill(SIGTERM));
  auto st = udpd->wait_for(30000ms);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << udpd->err();
  remove_dpdk_leftovers(prefix);
}

// The live page in a real browser: headless Chromium with its defaults, as
// an ordinary user (Chromium refuses root without --no-sandbox), loads "/",
// which asks /api/top each second; the numbers it shows move, and a
// screenshot is kept in the build directory (test-artifacts/live-page.png).
TEST_F(Control, LivePageMovesInChromium) {
  const std::string prefix = fwd_file_prefix();
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(null_udpd(prefix, "name = \"live\"\nmetrics = \"127.0.0.1:0\"\n", &udpd));
  std::smatch m;
  std::string log = udpd->out() + udpd->err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("http://(127\\.0\\.0\\.1:[0-9]+)/"))) << log;
  const char* browse = R"(
import os, pwd, re, shutil, subprocess, sys, tempfile
url, keep = "http://" + sys.argv[1] + "/", sys.argv[2]
home = tempfile.mkdtemp(prefix="bypass-chromium-")
run = ["chromium", "--headless"]
if os.geteuid() == 0:
    nobody = pwd.getpwnam("nobody")
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    run = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + run
env = dict(os.environ, HOME=home)
dom = subprocess.run(run + ["--dump-dom", "--virtual-time-budget=4000", url], env=env,
                     capture_output=True, text=True, timeout=120).stdout
m = re.search(r'id="samples">(\d+)</span>; rx packets at each: <span id="rxseen">([0-9 ]*)<', dom)
assert m, "no samples in the page: " + dom[-2000:]
rx = [int(x) for x in m.group(2).split()]
assert int(m.group(1)) >= 2 and len(rx) >= 2, m.group(0)
assert all(b >= a for a, b in zip(rx, rx[1:])) and rx[-1] > rx[0], rx
assert re.search(r'<td>null0</td><td>up</td>', dom), "no port row"
shot = os.path.join(home, "live-page.png")
subprocess.run(run + ["--screenshot=" + shot, "--window-size=1100,1300",
                      "--virtual-time-budget=4000", url], env=env, capture_output=True, timeout=120)
assert os.path.getsize(shot) > 10000, "screenshot too small"
os.makedirs(keep, exist_ok=True)
shutil.copy(shot, os.path.join(keep, "live-page.png"))
shutil.rmtree(home)
print("ok")
)";
  const std::string keep = env_path("BYPASS_ARTIFACT_DIR").empty()
                               ? dir.file("artifacts")
                               : env_path("BYPASS_ARTIFACT_DIR");
  EXPECT_EQ(python(browse, {m[1], keep}), "ok\n");
  ASSERT_TRUE(udpd->kill(SIGTERM));
  auto st = udpd->wait_for(30000ms);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << udpd->err();
  remove_dpdk_leftovers(prefix);
}

// /metrics is clean for promtool, and a real Prometheus scraping it under
// load reads a rate back.
TEST_F(Control, PrometheusScrapesUnderLoad) {
  const uint16_t port = test_port(2);
  auto udpd = sockets_udpd("metrics", port, "metrics = \"127.0.0.1:0\"\n");
  ASSERT_TRUE(udpd);
  std::smatch m;
  std::string log = udpd->out() + udpd->err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("http://(127\\.0\\.0\\.1:[0-9]+)/"))) << log;
  const std::string target = m[1];
  std::string err;
  auto load =
      Child::spawn({env_path("BYPASS_CLIENT"), "flood", "127.0.0.1", std::to_string(port), "-d",
                    "300", "-r", "20000"},  // killed below, once Prometheus has seen it
                   dir.path(), &err);
  ASSERT_TRUE(load) << err;

  const char* promtool_check = R"(
import subprocess, sys, urllib.request
text = urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=10).read()
r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
print("ok" if r.returncode == 0 else "promtool: " + r.stdout.decode() + r.stderr.decode())
)";
  EXPECT_EQ(python(promtool_check, {target}), "ok\n");

  const uint16_t prom_port = test_port(3);
  std::ofstream(dir.file("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: bypass\n    static_configs:\n"
      << "      - targets: ['" << target << "']\n";
  auto prom = Child::spawn({"prometheus", "--config.file=" + dir.file("prometheus.yml"),
                            "--storage.tsdb.path=" + dir.file("tsdb"),
                            "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                           dir.path(), &err);
  ASSERT_TRUE(prom) << err;
  // Asks Prometheus for the echo rate until it has two scrapes to take it
  // from (bounded: a slow machine only waits longer).
  const char* query = R"(
import json, sys, time, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(
    'rate(bypass_worker_tx_packets_total{job="bypass"}[10s])'))
last = "no answer"
for _ in range(240):
    try:
        r = json.load(urllib.request.urlopen(url, timeout=5))
        res = r["data"]["result"]
        if res and float(res[0]["value"][1]) > 0:
            print("rate", res[0]["metric"]["worker"], "ok")
            sys.exit(0)
        last = json.dumps(r)
    except Exception as e:
        last = str(e)
    time.sleep(0.25)
print("no rate from Prometheus:", last)
)";
  EXPECT_EQ(python(query, {std::to_string(prom_port)}), "rate 1 ok\n") << prom->err();
  prom->kill(SIGTERM);
  prom->wait_for(10000ms);
  load->kill(SIGTERM);
  load->wait_for(10000ms);
  ASSERT_TRUE(udpd->kill(SIGTERM));
  auto st = udpd->wait_for(10000ms);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
}

}  // namespace
}  // namespace bypass::it
