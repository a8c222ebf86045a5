// bypass-udpd from the outside: the sockets backend serving a kernel client on
// loopback with the same handlers, and bad configs refused with one sentence.
// (Its netcode and message services: udpd_netcode_test.cpp; chat through
// terminals: udpd_chat_test.cpp.)
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <thread>

#include "udpd_cli.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

TEST(UdpdSockets, ServesEchoAndStaticOnLoopbackBothFamilies) {
  TempDir dir;
  std::ofstream(dir.file("content.bin")) << std::string(3000, 'x') << "end";
  const uint16_t echo = test_port(0), stat = test_port(1);
  CpuPlan cpus = plan_cpus();
  std::ofstream(dir.file("udpd.toml"))
      << "[[worker]]\ncpu = " << cpus.worker
      << "\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\", \"::1\"]\n"
      << "[[udpd.service]]\nport = " << echo << "\nhandler = \"echo\"\n"
      << "[[udpd.service]]\nport = " << stat << "\nhandler = \"static\"\nfile = \""
      << dir.file("content.bin") << "\"\nchunk = 1000\n";
  std::string err;
  auto udpd = Child::spawn({env_path("BYPASS_UDPD"), "-c", dir.file("udpd.toml"), "-q", "-t", "60",
                            "--stats-json", dir.file("s.jsonl")},
                           dir.path(), &err);
  ASSERT_TRUE(udpd) << err;
  ASSERT_TRUE(udpd->wait_for_output("serving UDP", 10000ms)) << udpd->out() << udpd->err();
  const std::string client = env_path("BYPASS_CLIENT");
  auto e4 = run_cmd({client, "echo", "127.0.0.1", std::to_string(echo), "-n", "300", "-w", "8"});
  EXPECT_TRUE(e4.ok()) << e4.out << e4.err;
  auto e6 =
      run_cmd({client, "echo", "::1", std::to_string(echo), "-n", "300", "-w", "8", "-s", "1400"});
  EXPECT_TRUE(e6.ok()) << e6.out << e6.err;
  auto f = run_cmd({client, "fetch", "127.0.0.1", std::to_string(stat), "-o", dir.file("got.bin")});
  EXPECT_TRUE(f.ok()) << f.out << f.err;
  EXPECT_TRUE(run_cmd({"cmp", dir.file("content.bin"), dir.file("got.bin")}).ok());
  // The worker thread, and it alone, runs under the seccomp filter (mode 2),
  // as a DPDK worker does: it served all of the above under it.
  std::vector<std::string> filtered;
  const std::string tasks = "/proc/" + std::to_string(udpd->pid()) + "/task/";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string comm, line;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    std::ifstream status(task.path() / "status");
    while (std::getline(status, line))
      if (line.rfind("Seccomp:", 0) == 0 && line.find('2') != std::string::npos)
        filtered.push_back(comm);
  }
  EXPECT_EQ(filtered, std::vector<std::string>{"bypass-sock-0"});
  ASSERT_TRUE(udpd->kill(SIGTERM));
  auto st = udpd->wait_for(10000ms);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
  std::smatch m;
  std::string out = udpd->out();
  ASSERT_TRUE(std::regex_search(out, m, std::regex("replies (\\d+) further datagrams (\\d+)")))
      << out;
  EXPECT_EQ(std::stoul(m[1]), 600u);
  EXPECT_EQ(std::stoul(m[2]), 4u) << "3003 bytes in 1000-byte chunks";
  // --stats-json: the same schema as the DPDK backend's, the final line
  // agreeing with the report.
  const char* check = R"(
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[-1]["final"] and all(not l["final"] for l in lines[:-1]), "final last"
last = lines[-1]
assert last["schema"] == 2, last["schema"]
c = last["counters"]
assert c["udp.replies"] == 600 and c["udp.further_datagrams"] == 4, c
assert sum(w["rx_packets"] for w in last["workers"]) == c["udp.datagrams"] == last["totals"]["rx_packets"]
assert [m["name"] for m in last["modules"]] == ["sockets"], last["modules"]
print("ok")
)";
  CmdResult py = run_cmd({"python3", "-c", check, dir.file("s.jsonl")});
  EXPECT_EQ(py.out, "ok\n") << py.out << py.err;
}

// bypass-client fetch takes answers from the server it asked only, and only
// those that agree with the first on how many chunks there are: an answer
// from another port, one past the count and one with another count are
// ignored, so nothing but the server's two chunks is written.
TEST(ClientFetch, TakesOnlyTheServersAnswersThatAgree) {
  TempDir dir;
  const auto udp = [](uint16_t port) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    return fd;
  };
  const uint16_t port = test_port(10);
  const int server = udp(port), other = udp(test_port(11));
  std::string err;
  auto fetch = Child::spawn({env_path("BYPASS_CLIENT"), "fetch", "127.0.0.1", std::to_string(port),
                             "-o", dir.file("got.bin"), "--timeout-ms", "2000"},
                            dir.path(), &err);
  ASSERT_TRUE(fetch) << err;
  pollfd p{server, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1) << "no request came";
  sockaddr_storage from{};
  socklen_t flen = sizeof from;
  uint8_t req[64];
  ASSERT_EQ(recvfrom(server, req, sizeof req, 0, reinterpret_cast<sockaddr*>(&from), &flen), 8);
  const auto answer = [&](int fd, uint32_t index, uint32_t total, const std::string& body) {
    std::string d(8, '\0');
    const uint32_t h[2] = {htonl(index), htonl(total)};
    std::memcpy(d.data(), h, 8);
    d += body;
    ASSERT_EQ(sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&from), flen),
              static_cast<ssize_t>(d.size()));
  };
  answer(other, 0, 1, "forged");   // another port: not the server
  answer(server, 1, 2, "second");  // sets the count: 2
  answer(server, 7, 2, "past");    // past the count
  answer(server, 0, 3, "other");   // another count
  answer(server, 0, 2, "first");
  auto st = fetch->wait_for(20000ms);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << fetch->out() << fetch->err();
  EXPECT_EQ(read_file(dir.file("got.bin")), "firstsecond");
  close(server);
  close(other);
}

// A device that resets (here injected: [port.faults] reset_after_polls)
// moves no packet until it is set up again, which bypass cannot do while it
// runs: bypass-udpd and bypass-fwd stop within their next tick, say so in
// one sentence naming the port, exit 1, and leave no mbuf in use.
TEST(DeviceReset, BypassUdpdAndBypassFwdStopWithASentence) {
  TempDir dir;
  const CpuPlan cpus = plan_cpus();
  for (const char* prog : {"BYPASS_UDPD", "BYPASS_FWD"}) {
    const std::string prefix = fwd_file_prefix();
    const std::string cfg = dir.file(std::string(prog) + ".toml");
    std::ofstream(cfg) << "[eal]\nfile_prefix = \"" << prefix << "\"\nmemory_mb = 128\n"
                       << (no_huge() ? "huge_pages = false\n" : "")
                       << "control_cpu = " << cpus.control
                       << "\n[memory]\npool_size = 4095\n[[port]]\nname = \"null0\"\n"
                       << "device = \"net_null0\"\naddresses = [\"198.18.0.1/24\"]\n"
                       << "[port.faults]\nreset_after_polls = 100000\n"
                       << "[[worker]]\ncpu = " << cpus.worker << "\n"
                       << "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n";
    std::vector<std::string> argv = {env_path(prog), "-c", cfg, "-t", "120"};
    if (std::string(prog) == "BYPASS_FWD") {  // no [[udpd.service]], no addresses in io mode
      std::string text = read_file(cfg);
      text = text.substr(0, text.find("[[udpd.service]]")) + "[fwd]\nmode = \"io\"\n";
      const std::string addresses = "addresses = [\"198.18.0.1/24\"]\n";
      text.erase(text.find(addresses), addresses.size());
      ASSERT_TRUE(write_file(cfg, text));
    }
    CmdResult r = run_cmd(argv, 60000ms);
    EXPECT_TRUE(r.started && !r.timed_out) << prog << "\n" << r.out << r.err;
    EXPECT_TRUE(r.status.exited && r.status.code == 1) << prog << ": " << r.status.describe();
    const std::string log = r.out + r.err;
    EXPECT_NE(log.find("error: port 'null0' (net_null) was reset by its device"), std::string::npos)
        << prog << "\n"
        << log;
    EXPECT_NE(r.out.find("mbufs in use at exit: 0"), std::string::npos) << prog << "\n" << r.out;
    EXPECT_NE(r.out.find("faults null0 rx:"), std::string::npos) << r.out;
    remove_dpdk_leftovers(prefix);
  }
}

struct BadConfig {
  std::string toml;
  const char* says;
};

class UdpdBadConfig : public ::testing::TestWithParam<BadConfig> {};

// A config that would serve (echo on UDP port 7), for the [[module]] cases.
const char* const kServe =
    "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = 1\n"
    "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n";

TEST(UdpdSockets, StatsJsonToAMissingDirectoryIsOneSentence) {
  TempDir dir;
  std::ofstream(dir.file("udpd.toml"))
      << "[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
      << "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n";
  auto r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("udpd.toml"), "-t", "1", "--stats-json",
                    dir.file("no/such/dir/s.jsonl")},
                   30000ms);
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no/such/dir/s.jsonl"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // --stats-json naming the config itself is refused, and the config kept
  // (a run that then failed had left it empty).
  const std::string before = read_file(dir.file("udpd.toml"));
  r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("udpd.toml"), "-t", "1", "--stats-json",
               dir.file("udpd.toml")},
              30000ms);
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("is the config file: give another file for the stats."), std::string::npos)
      << r.err;
  EXPECT_EQ(read_file(dir.file("udpd.toml")), before);
}

// Command-line mistakes CLI11 finds are one line and exit 2 too (CLI11's own
// report was two lines, exit 104-109); -t refuses what is not 0 or more
// seconds (-1 and nan ran until killed).
TEST(UdpdCli, FlagMistakesAreOneLineAndExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--check"}, "bypass-udpd: --config is required: see bypass-udpd --help."},
      {{"-c", "x.toml", "-t", "-1"},
       "bypass-udpd: --duration takes a number of seconds, 0 or more (0: until stopped), not "
       "'-1': see bypass-udpd --help."},
      {{"-c", "x.toml", "-t", "nan"}, "not 'nan'"},
      {{"-c", "x.toml", "--log-level", "loud"}, "--log-level"},
      {{"-c", "x.toml", "-b", ""}, "bypass-udpd: --backend must be dpdk or sockets."},
      {{"-c", "x.toml", "-t"},
       "bypass-udpd: --duration needs a value after it: see bypass-udpd --help."},
      {{"-c", "a.toml", "-c", "b.toml"},
       "bypass-udpd: --config is given more than once: see bypass-udpd --help."},
      {{"-c", "x.toml", "-=3"}, "'-=3' is not an option or argument of this program"},
      {{"-c", "x.toml", "--check", "30"},
       "bypass-udpd: '30' is not an option: DPDK's EAL arguments go after --, as in "
       "bypass-udpd -c FILE -- --log-level=8."},
      {{"-c", "x.toml", "--check", "30", "--", "--log-level=8"}, "'30' is not an option"},
      {{"-c", "x.toml", "--check", "--graph"},
       "bypass-udpd: --graph prints the graph a run builds, and --check starts none: drop "
       "--check (add -t 1 for a short run)."},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {env_path("BYPASS_UDPD")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = run_cmd(argv, 30000ms);
    ASSERT_TRUE(r.started);
    EXPECT_EQ(r.status.code, 2) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  TempDir dir;
  std::ofstream(dir.file("udpd.toml"))
      << "[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
      << "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n";
  auto r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("udpd.toml"), "-t", "1", "--graph"},
                   30000ms);
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("the sockets backend has none: drop --graph."), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// bypass-client's flood names a CPU it may not run on before it sends
// (it warned per thread, then flooded unpinned).
TEST(ClientCli, AFloodOnACpuItMayNotUseIsRefusedBeforeSending) {
  auto r =
      run_cmd({env_path("BYPASS_CLIENT"), "flood", "127.0.0.1", "9", "--cpus", "1000", "-d", "0.1"},
              30000ms);
  ASSERT_TRUE(r.started);
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--cpus names CPU 1000, which this process may not run on"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("sent"), std::string::npos) << r.out;
}

TEST_P(UdpdBadConfig, OneSentenceAndExitTwo) {
  TempDir dir;
  std::ofstream(dir.file("bad.toml")) << GetParam().toml;
  auto r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("bad.toml"), "--no-huge", "-t", "1"},
                   30000ms);
  ASSERT_TRUE(r.started);
  EXPECT_TRUE(r.status.exited) << "killed by a signal: " << r.status.describe();
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(GetParam().says), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("EAL:"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Udpd, UdpdBadConfig,
    ::testing::Values(
        BadConfig{"[[worker]]\ncpu = 1\n[[port]]\ndevice = \"net_null0\"\naddresses = "
                  "[\"198.18.0.2/24\"]\n",
                  "names no [[udpd.service]]"},
        BadConfig{"[control]\njournal = \"j.log\"\n[udpd]\nbackend = \"sockets\"\nbind = "
                  "[\"127.0.0.1\"]\n[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
                  "[control] journal applies to the DPDK backend only"},
        BadConfig{"[udp]\nbackend = \"sockets\"\n[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
                  "unknown table [udp] at the top of the config: fix its name (this program reads "
                  "[eal], [control], [memory], [port], [worker], [module], [handoff], [udpd]; "
                  "[udpd] is the nearest)."},
        BadConfig{"[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n[[udpd.service]]\nport = "
                  "7\nhandler = "
                  "\"echo\"\n",
                  "has no addresses"},
        BadConfig{
            "[[port]]\ndevice = \"net_null0\"\naddresses = [\"300.1.1.1/24\"]\n[[worker]]\ncpu = "
            "1\n[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
            "is not an IPv4 or IPv6 address"},
        BadConfig{
            "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = "
            "1\n[[udpd.service]]\nport = 7\nhandler = \"chargen\"\n",
            "is not a handler"},
        BadConfig{
            "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = "
            "1\n[[udpd.service]]\nport = 7\nhandler = \"static\"\nfile = \"/nonexistent\"\n",
            "file '/nonexistent' does not exist: check the path."},
        BadConfig{
            // a directory or a device: refused by what it is (it aborted, or read without end)
            "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = "
            "1\n[[udpd.service]]\nport = 7\nhandler = \"static\"\nfile = \"/tmp\"\n",
            "file '/tmp' is a directory: give the path of a file in it."},
        BadConfig{
            "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = "
            "1\n[[udpd.service]]\nport = 7\nhandler = \"static\"\nfile = \"/dev/zero\"\n",
            "file '/dev/zero' is not a regular file"},
        BadConfig{
            "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = "
            "1\n[[udpd.service]]\nport = 7\nhandler = \"echo\"\n[[udpd.service]]\nport = "
            "7\nhandler = "
            "\"discard\"\n",
            "two services use UDP port 7"},
        BadConfig{[] {
                    std::string t =
                        "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n"
                        "[[worker]]\ncpu = 1\n";
                    for (int p = 1000; p < 1256; ++p)
                      t += "[[udpd.service]]\nport = " + std::to_string(p) +
                           "\nhandler = \"discard\"\n";
                    return t;
                  }(),
                  "[udpd] has 256 services; at most 255 fit: remove some."},
        BadConfig{"[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = "
                  "[\"198.51.100.77\"]\n[[udpd.service]]\n"
                  "port = 7\nhandler = \"echo\"\n",
                  "cannot bind UDP port 7 on 198.51.100.77"},
        BadConfig{"[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
                  "icmp_errors_per_sec = 10\n[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
                  "[udpd].icmp_errors_per_sec is for the DPDK backend only"},
        BadConfig{std::string(kServe) + "[udpd]\nbind = [\"127.0.0.1\"]\n",
                  "[udpd].bind is for the sockets backend only: remove it or set [udpd] backend = "
                  "\"sockets\"."},
        BadConfig{std::string(kServe) + "[udpd]\nsocket_buffer_kib = 1024\n",
                  "[udpd].socket_buffer_kib is for the sockets backend only"},
        BadConfig{"[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"localhost\"]\n"
                  "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
                  "[udpd].bind has \"localhost\", which is not an IP address"},
        BadConfig{"[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\n"
                  "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
                  "the sockets backend has nothing to bind"},
        BadConfig{"[[worker]]\ncpu = 127\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
                  "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
                  "which this process may not use"},
        BadConfig{"[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
                  "socket_buffer_kib = 8\n[[udpd.service]]\nport = 7\nhandler = \"echo\"\n",
                  "[udpd].socket_buffer_kib = 8 is out of range: use a value from 64 to 1048576."},
        // [[module]]: checked whole before EAL starts.
        BadConfig{kServe + std::string("[[module]]\nname = \"b\"\nclass = \"Firewall\"\n"
                                       "before = \"udp_dispatch\"\n"),
                  "has class 'Firewall', which is not a module class: use one of FiveTupleSwap, "
                  "Io, MacSwap, SourceBlocklist."},
        BadConfig{kServe + std::string("[[module]]\nname = \"b\"\nclass = \"SourceBlocklist\"\n"
                                       "before = \"dispatch\"\nsources = [\"10.0.0.0/8\"]\n"),
                  "goes before 'dispatch', which is not a point of this program's graph: use one "
                  "of udp_dispatch, tx, service.7."},
        BadConfig{kServe + std::string("[[module]]\nname = \"b\"\nclass = \"SourceBlocklist\"\n"
                                       "before = \"udp_dispatch\"\nsources = [\"10.0.0.0/40\"]\n"),
                  "[[module]] 'b'.sources has \"10.0.0.0/40\", which is not an address or prefix"},
        BadConfig{
            kServe + std::string("[[module]]\nname = \"b\"\nclass = \"SourceBlocklist\"\n"
                                 "before = \"udp_dispatch\"\nsource = [\"10.0.0.0/8\"]\n"),
            "unknown key 'source' in [[module]] 'b': check its spelling (known keys: sources)."},
        BadConfig{kServe + std::string("[[module]]\nname = \"b\"\nclass = \"SourceBlocklist\"\n"
                                       "sources = [\"10.0.0.0/8\"]\n"),
                  "[[module]] 'b' says nowhere to go: add before = \"udp_dispatch\""},
        BadConfig{"[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
                  "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n[[module]]\nname = \"b\"\n"
                  "class = \"Io\"\nbefore = \"udp_dispatch\"\n",
                  "[[module]] 'b' needs packets, and the sockets backend has only datagrams"}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

}  // namespace
}  // namespace bypass::it
