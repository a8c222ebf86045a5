// bypass-udpd from the outside: the sockets backend serving a kernel client on
// loopback with the same handlers, and bad configs refused with one sentence.
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

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

uint16_t test_port(int k) {
  return static_cast<uint16_t>(20000 + (getpid() % 20000) + k);
}

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

struct BadConfig {
  std::string toml;
  const char* says;
};

class UdpdBadConfig : public ::testing::TestWithParam<BadConfig> {};

// A config that would serve (echo on UDP port 7), for the [[module]] cases.
const char* const kServe =
    "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = 1\n"
    "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n";

// bypass-udpd on the sockets backend (loopback) with one netcode service on
// `port`, its key in dir/key.hex; `extra` ends the service's table.
void start_sockets_netcode(TempDir& dir, uint16_t port, const std::string& extra,
                           std::unique_ptr<Child>* udpd) {
  CpuPlan cpus = plan_cpus();
  std::ofstream(dir.file("key.hex"))
      << "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff\n";
  std::ofstream(dir.file("udpd.toml"))
      << "[[worker]]\ncpu = " << cpus.worker
      << "\n[udpd]\nbackend = \"sockets\"\nbind = [\"127.0.0.1\"]\n"
      << "[[udpd.service]]\nport = " << port << "\nhandler = \"netcode\"\nprotocol_id = 4660\n"
      << "private_key_file = \"" << dir.file("key.hex") << "\"\n"
      << extra;
  std::string err;
  auto child = Child::spawn({env_path("BYPASS_UDPD"), "-c", dir.file("udpd.toml"), "-q", "-t", "60",
                             "--stats-json", dir.file("stats.jsonl")},
                            dir.path(), &err);
  ASSERT_TRUE(child) << err;
  ASSERT_TRUE(child->wait_for_output("serving UDP", 10000ms)) << child->out() << child->err();
  *udpd = std::move(child);
}

// netcode.io on the sockets backend: a minted token, our client over
// loopback, payloads echoed, the client's leaving seen by the server.
TEST(UdpdSockets, NetcodeClientConnectsAndIsEchoed) {
  TempDir dir;
  const uint16_t port = test_port(2);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port, "", &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult t = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                         dir.file("key.hex"), "--protocol-id", "4660", "--token", dir.file("t")});
  ASSERT_TRUE(t.ok()) << t.out << t.err;
  CmdResult c = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                         dir.file("t"), "-n", "30", "-s", "1200", "--timeout-ms", "10000"});
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  EXPECT_NE(c.out.find("payloads sent 30 echoed 30"), std::string::npos) << c.out;
  // Load: 20 clients at once, each with its own socket and token.
  CmdResult load = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--key",
                            dir.file("key.hex"), "--protocol-id", "4660", "--client-id", "100",
                            "--clients", "20", "-r", "20", "-d", "1"});
  EXPECT_TRUE(load.ok()) << load.out << load.err;
  EXPECT_NE(load.out.find("20 clients, 20 connected, 0 denied, 0 timed out"), std::string::npos)
      << load.out;
  // In flight: each client keeps 8 payloads out, a new one per echo (batched
  // sends and receives); over loopback every one comes back but the last 8.
  CmdResult flight = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--key",
                              dir.file("key.hex"), "--protocol-id", "4660", "--client-id", "200",
                              "--clients", "4", "--in-flight", "8", "-s", "100", "-d", "1"});
  EXPECT_TRUE(flight.ok()) << flight.out << flight.err;
  unsigned long long sent = 0, echoed = 0;
  const size_t at = flight.out.find("payloads sent ");
  ASSERT_NE(at, std::string::npos) << flight.out;
  ASSERT_EQ(std::sscanf(flight.out.c_str() + at, "payloads sent %llu echoed %llu", &sent, &echoed),
            2)
      << flight.out;
  EXPECT_GT(echoed, 4u * 8u) << flight.out;  // more than one window each: echoes refill it
  EXPECT_LE(sent - echoed, 4u * 8u) << flight.out;
  // The same token again: refused (a token starts one session only).
  CmdResult again = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                             dir.file("t"), "-n", "1", "--timeout-ms", "1500"});
  EXPECT_FALSE(again.ok()) << again.out;
  ASSERT_TRUE(udpd->kill(SIGTERM));
  auto st = udpd->wait_for(10000ms);
  ASSERT_TRUE(st.has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("netcode: connected 0 connects 25 disconnects 25"), std::string::npos) << out;
  EXPECT_NE(out.find("drop.token_already_used"), std::string::npos) << out;
  // The private key is in none of what the server and the clients wrote.
  std::ifstream stats_file(dir.file("stats.jsonl"));
  const std::string stats((std::istreambuf_iterator<char>(stats_file)),
                          std::istreambuf_iterator<char>());
  EXPECT_NE(stats.find("netcode.connects"), std::string::npos) << "the stats were written";
  const std::string key = "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff";
  for (const std::string* text : std::initializer_list<const std::string*>{
           &out, &stats, &t.out, &t.err, &c.out, &c.err, &load.out, &flight.out, &again.out}) {
    EXPECT_EQ(text->find(key.substr(0, 16)), std::string::npos) << *text;
  }
  EXPECT_EQ(udpd->err().find(key.substr(0, 16)), std::string::npos);
}

// The first number after `key` in the last line of a --stats-json file.
uint64_t last_stat(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line))
    if (!line.empty()) last = line;
  std::smatch m;
  if (!std::regex_search(last, m, std::regex("\"" + key + "\":(\\d+)"))) return UINT64_MAX;
  return std::stoull(m[1]);
}

// Spoofed connection requests (raw IPv4, root): 1078 bytes each, with the
// right prefix, version, protocol id and a future expiry, and a token no key
// opens, from `sources` addresses in 127.0.0.0/8 at `rate` a second until
// `stop`. Returns how many went.
uint64_t flood_requests(uint16_t port, uint64_t protocol_id, uint32_t sources, uint32_t rate,
                        const std::atomic<bool>& stop) {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return 0;
  std::vector<uint8_t> pkt(20 + 8 + 1078, 0);
  uint8_t* ip = pkt.data();
  uint8_t* udp = ip + 20;
  uint8_t* req = udp + 8;
  ip[0] = 0x45;
  ip[8] = 64;
  ip[9] = 17;
  const uint8_t dst[4] = {127, 0, 0, 1};
  std::memcpy(ip + 16, dst, 4);
  udp[2] = static_cast<uint8_t>(port >> 8);
  udp[3] = static_cast<uint8_t>(port);
  udp[4] = static_cast<uint8_t>((8 + 1078) >> 8);
  udp[5] = static_cast<uint8_t>(8 + 1078);  // UDP checksum 0: none (IPv4)
  const char version[13] = "NETCODE 1.02";
  std::memcpy(req + 1, version, 13);
  for (int i = 0; i < 8; ++i) req[14 + i] = static_cast<uint8_t>(protocol_id >> (8 * i));
  const uint64_t expire = static_cast<uint64_t>(time(nullptr)) + 3600;
  for (int i = 0; i < 8; ++i) req[22 + i] = static_cast<uint8_t>(expire >> (8 * i));
  std::mt19937 rng(42);
  for (size_t i = 30; i < 1078; ++i) req[i] = static_cast<uint8_t>(rng());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto start = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  while (!stop.load()) {
    const auto due = start + std::chrono::nanoseconds(sent * 1'000'000'000ull / rate);
    if (std::chrono::steady_clock::now() < due) {
      std::this_thread::sleep_until(due);
      continue;
    }
    const uint32_t k = static_cast<uint32_t>(sent % sources);
    const uint8_t src[4] = {127, static_cast<uint8_t>(1 + (k >> 16) % 254),
                            static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)};
    std::memcpy(ip + 12, src, 4);
    udp[0] = static_cast<uint8_t>(0xc0 | (k & 0x3f));
    udp[1] = static_cast<uint8_t>(k >> 6);
    req[30] = static_cast<uint8_t>(sent);  // every token differs
    if (sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0)
      ++sent;
  }
  close(fd);
  return sent;
}

// A flood of spoofed connection requests from 500 sources (80 a second each,
// eight times what one may send) while a real client connects: it connects
// and is echoed, every spoofed request is refused under a named reason, and
// the server sends no more bytes than it receives.
TEST(UdpdSockets, ARealClientConnectsThroughAFloodOfSpoofedRequests) {
  ASSERT_EQ(geteuid(), 0u) << "the flood spoofs its sources through a raw socket: run as root "
                              "(CI does)";
  TempDir dir;
  const uint16_t port = test_port(7);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port, "", &udpd));
  std::atomic<bool> stop{false};
  uint64_t flooded = 0;
  std::thread flood([&] { flooded = flood_requests(port, 4660, 500, 40000, stop); });
  std::this_thread::sleep_for(1000ms);  // the flood is on before the client starts
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult t = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                         dir.file("key.hex"), "--protocol-id", "4660", "--token", dir.file("t")});
  CmdResult c = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                         dir.file("t"), "-n", "20", "-s", "300", "--timeout-ms", "10000"});
  stop = true;
  flood.join();
  ASSERT_TRUE(t.ok()) << t.out << t.err;
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  EXPECT_NE(c.out.find("payloads sent 20 echoed 20"), std::string::npos) << c.out;
  EXPECT_GT(flooded, 1000u);
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  const uint64_t in = last_stat(dir.file("stats.jsonl"), "rx_bytes");
  const uint64_t sent_out = last_stat(dir.file("stats.jsonl"), "tx_bytes");
  EXPECT_GE(in, flooded * 1078) << out;
  EXPECT_LE(sent_out, in) << "bytes out never exceed bytes in";
  // Every spoofed request was refused, under a named reason.
  std::smatch limited, failed;
  ASSERT_TRUE(std::regex_search(out, limited, std::regex("drop.request_rate_limited (\\d+)")))
      << out;
  ASSERT_TRUE(std::regex_search(out, failed, std::regex("drop.token_decrypt_failed (\\d+)")))
      << out;
  EXPECT_GT(std::stoull(limited[1]), 0u) << out;
  EXPECT_GT(std::stoull(failed[1]), 0u) << out;
  EXPECT_GE(std::stoull(limited[1]) + std::stoull(failed[1]), flooded) << out;
  std::printf(
      "flood: %llu spoofed requests, %s rate limited, %s token decrypts failed; bytes in "
      "%llu, out %llu\n",
      static_cast<unsigned long long>(flooded), limited[1].str().c_str(), failed[1].str().c_str(),
      static_cast<unsigned long long>(in), static_cast<unsigned long long>(sent_out));
}

// The message protocol on the sockets backend: bypass-client load, reliable
// (every message back, whole) and unreliable, small and fragmented.
TEST(UdpdSockets, MessageEchoUnderLoad) {
  TempDir dir;
  const uint16_t port = test_port(3);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(
      dir, port, "application = \"echo\"\nchannels = [\"reliable\", \"unreliable\"]\n", &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  auto load = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {client,
                                     "load",
                                     "127.0.0.1",
                                     std::to_string(port),
                                     "--key",
                                     dir.file("key.hex"),
                                     "--protocol-id",
                                     "4660",
                                     "-d",
                                     "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cmd(args);
  };
  CmdResult small = load({"--clients", "4", "--in-flight", "16", "-s", "64", "--text"});
  EXPECT_TRUE(small.ok()) << small.out << small.err;
  EXPECT_NE(small.out.find("4 connections, 4 opened, 0 closed early; reliable 64-byte"),
            std::string::npos)
      << small.out;
  CmdResult big = load({"--client-id", "100", "--clients", "2", "--in-flight", "2", "-s", "65536"});
  EXPECT_TRUE(big.ok()) << big.out << big.err;
  EXPECT_NE(big.out.find("lost 0 "), std::string::npos) << big.out;
  CmdResult unrel = load({"--client-id", "200", "--clients", "2", "--unreliable", "-s", "100"});
  EXPECT_TRUE(unrel.ok()) << unrel.out << unrel.err;
  EXPECT_NE(unrel.out.find("unreliable 100-byte"), std::string::npos) << unrel.out;
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("msg: open 0 "), std::string::npos) << out;
  EXPECT_NE(out.find(" messages_in "), std::string::npos) << out;
  EXPECT_EQ(out.find(" messages_in 0 "), std::string::npos) << out;
  EXPECT_NE(out.find("closed_malformed 0"), std::string::npos) << out;
  EXPECT_NE(out.find("pool_free 16384"), std::string::npos) << "every chunk back\n" << out;
}

// bypassctl conns while 150 clients are connected: the whole list, paged.
TEST(UdpdSockets, ConnsListsTheConnectionsPaged) {
  TempDir dir;
  setenv("BYPASS_RUN_DIR", dir.file("run").c_str(), 1);
  const uint16_t port = test_port(4);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(
      dir, port, "application = \"echo\"\n[control]\nname = \"conns\"\n", &udpd));
  std::string err;
  auto load = Child::spawn({env_path("BYPASS_CLIENT"), "load", "127.0.0.1", std::to_string(port),
                            "--key", dir.file("key.hex"), "--protocol-id", "4660", "--client-id",
                            "1000", "--clients", "150", "--in-flight", "1", "-d", "120"},
                           dir.path(), &err);
  ASSERT_TRUE(load) << err;
  auto conns = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {env_path("BYPASS_CTL"), "-n", "conns", "conns"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_cmd(argv);
  };
  const char* total = R"(
import json, sys
print(json.loads(sys.argv[1])["total"])
)";
  std::string n;
  for (int i = 0; i < 200 && n != "150\n"; ++i) {
    n = run_cmd({"python3", "-c", total, conns({"--json"}).out}).out;
    if (n != "150\n") std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(n, "150\n");
  const char* pages = R"(
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ids = [c["client_id"] for c in a["connections"] + b["connections"]]
assert len(a["connections"]) == 100 and len(b["connections"]) == 50, (len(a), len(b))
assert sorted(ids) == list(range(1000, 1150)), ids
assert all(c["address"] == "127.0.0.1" and c["service"] == int(sys.argv[3]) and c["worker"] == 1
           for c in a["connections"]), a["connections"][0]
print("ok")
)";
  CmdResult p =
      run_cmd({"python3", "-c", pages, conns({"--json", "--limit", "100"}).out,
               conns({"--json", "--offset", "100", "--limit", "100"}).out, std::to_string(port)});
  EXPECT_EQ(p.out, "ok\n") << p.out << p.err;
  CmdResult text = conns({"--limit", "2"});
  EXPECT_NE(text.out.find("2 of 150 connection(s); more with --offset 2"), std::string::npos)
      << text.out;
  load->kill(SIGTERM);
  load->wait_for(10000ms);
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  unsetenv("BYPASS_RUN_DIR");
}

// A program on a terminal of its own (a pty), typed at and read like a user would.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& argv) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      std::vector<char*> a;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool started() const { return pid_ > 0 && master_ >= 0; }
  void type(const std::string& s) {
    ASSERT_EQ(write(master_, s.data(), s.size()), ssize_t(s.size()));
  }
  // Reads what the program printed until `what` appears (or 15 s pass).
  bool wait_for(const std::string& what) {
    const auto end = std::chrono::steady_clock::now() + 15s;
    while (out_.find(what) == std::string::npos && std::chrono::steady_clock::now() < end)
      read_some(50);
    return out_.find(what) != std::string::npos;
  }
  // The exit code, once it exits (-1 if it did not within 15 s).
  int wait_exit() {
    for (int i = 0; i < 300; ++i) {
      read_some(50);
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
    }
    return -1;
  }
  const std::string& out() const { return out_; }

 private:
  void read_some(int ms) {
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n > 0) {
      out_.append(buf, static_cast<size_t>(n));
    } else {
      usleep(static_cast<useconds_t>(ms) * 1000);  // hung up: the program is leaving
    }
  }
  pid_t pid_ = -1;
  int master_ = -1;
  bool exited_ = false;
  std::string out_;
};

// The rooms application and bypass-client chat, driven through terminals:
// two users join a room, each line typed reaches the other, Ctrl-D closes
// with 1000.
TEST(UdpdSockets, ChatThroughTerminals) {
  TempDir dir;
  const uint16_t port = test_port(4);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port, "application = \"rooms\"\n", &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  for (const char* who : {"1", "2"}) {
    CmdResult t = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                           dir.file("key.hex"), "--protocol-id", "4660", "--client-id", who,
                           "--token", dir.file(std::string("t") + who)});
    ASSERT_TRUE(t.ok()) << t.out << t.err;
  }
  auto chat = [&](const char* who) {
    return std::make_unique<Terminal>(
        std::vector<std::string>{client, "chat", "127.0.0.1", std::to_string(port), "--token",
                                 dir.file(std::string("t") + who), "--room", "lobby"});
  };
  auto a = chat("1");
  ASSERT_TRUE(a->started());
  ASSERT_TRUE(a->wait_for("* joined lobby 1")) << a->out();
  auto b = chat("2");
  ASSERT_TRUE(b->started());
  ASSERT_TRUE(b->wait_for("* joined lobby 2")) << b->out();
  a->type("hello from a\n");
  EXPECT_TRUE(b->wait_for("[1] hello from a")) << b->out();
  EXPECT_TRUE(a->wait_for("[1] hello from a")) << a->out();
  b->type("h\xC3\xA9llo, a\n");
  EXPECT_TRUE(a->wait_for("[2] h\xC3\xA9llo, a")) << a->out();
  a->type("\x04");  // Ctrl-D
  EXPECT_TRUE(a->wait_for("* closed 1000 bye")) << a->out();
  EXPECT_EQ(a->wait_exit(), 0) << a->out();
  b->type("\x04");
  EXPECT_EQ(b->wait_exit(), 0) << b->out();
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("rooms: rooms 0 published 2 delivered 4"), std::string::npos) << out;
  EXPECT_NE(out.find("msg: open 0 "), std::string::npos) << out;
}

// Rooms across two workers of the sockets backend (SO_REUSEPORT spreads the
// six clients over both; all on one happens in 1 run of 32): every line
// typed reaches all six members, each once.
TEST(UdpdSockets, ChatAcrossTwoWorkers) {
  TempDir dir;
  const uint16_t port = test_port(6);
  const CpuPlan cpus = plan_cpus();
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(
      dir, port, "application = \"rooms\"\n[[worker]]\ncpu = " + std::to_string(cpus.other) + "\n",
      &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  constexpr int kUsers = 6;
  std::vector<std::unique_ptr<Terminal>> users;
  for (int u = 1; u <= kUsers; ++u) {
    const std::string token = dir.file("t" + std::to_string(u));
    CmdResult t =
        run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key", dir.file("key.hex"),
                 "--protocol-id", "4660", "--client-id", std::to_string(u), "--token", token});
    ASSERT_TRUE(t.ok()) << t.out << t.err;
    users.push_back(std::make_unique<Terminal>(std::vector<std::string>{
        client, "chat", "127.0.0.1", std::to_string(port), "--token", token, "--room", "lobby"}));
    ASSERT_TRUE(users.back()->started());
    ASSERT_TRUE(users.back()->wait_for("* joined lobby")) << users.back()->out();
  }
  for (int u = 1; u <= kUsers; ++u) users[u - 1]->type("line from " + std::to_string(u) + "\n");
  for (int u = 1; u <= kUsers; ++u) {
    for (int from = 1; from <= kUsers; ++from) {
      const std::string line = "[" + std::to_string(from) + "] line from " + std::to_string(from);
      EXPECT_TRUE(users[u - 1]->wait_for(line)) << "user " << u << "\n" << users[u - 1]->out();
    }
  }
  for (auto& t : users) t->type("\x04");
  for (auto& t : users) EXPECT_EQ(t->wait_exit(), 0) << t->out();
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("rooms: rooms 0 published 6 delivered 36"), std::string::npos) << out;
  std::smatch across;
  ASSERT_TRUE(
      std::regex_search(out, across, std::regex("sent_across (\\d+) received_across (\\d+)")))
      << out;
  EXPECT_EQ(across[1], across[2]) << "every publication sent to the other worker was read there";
  std::printf("rooms across the two workers: %s\n", across[0].str().c_str());
}

// A netcode service, and its rooms application, run on several workers: they
// share its token history, client ids, seats and room rings.
TEST(UdpdNetcode, SeveralWorkersServeNetcodeAndRooms) {
  TempDir dir;
  std::ofstream(dir.file("key.hex")) << std::string(64, 'a') << "\n";
  const std::string base =
      "[eal]\nhuge_pages = false\n[[port]]\ndevice = \"net_null0\"\naddresses = "
      "[\"198.18.0.2/24\"]\n"
      "[[worker]]\ncpu = 0\nrx = [\"p0:0\"]\n[[worker]]\ncpu = 1\nrx = []\n"
      "[[udpd.service]]\nport = 9000\nhandler = \"netcode\"\nprotocol_id = 1\n"
      "private_key_file = \"" +
      dir.file("key.hex") + "\"\n";
  std::ofstream(dir.file("two.toml")) << base;
  auto two = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("two.toml"), "--check"}, 30000ms);
  EXPECT_EQ(two.status.code, 0) << two.out << two.err;
  std::ofstream(dir.file("rooms.toml")) << base << "application = \"rooms\"\n";
  auto r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("rooms.toml"), "--check"}, 30000ms);
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
}

// The netcode service's own mistakes, each one sentence that says what to
// change, before anything is bound.
TEST(UdpdSockets, NetcodeConfigMistakesAreOneSentence) {
  TempDir dir;
  std::ofstream(dir.file("key.hex")) << std::string(64, 'a') << "\n";
  std::ofstream(dir.file("short.hex")) << "abcd\n";
  const std::string key = "private_key_file = \"" + dir.file("key.hex") + "\"\n";
  std::string many = "public_addresses = [";
  for (int i = 1; i <= 33; ++i) many += "\"198.18.0." + std::to_string(i) + ":9000\",";
  many += "]\n";
  struct Case {
    std::string bind, service, says;
  };
  const std::vector<Case> cases = {
      {"0.0.0.0", "protocol_id = 1\n" + key, "which no connect token can name"},
      {"::", "protocol_id = 1\n" + key, "add public_addresses = [\"203.0.113.5:9000\"]"},
      {"127.0.0.1", "protocol_id = \"zz\"\n" + key, "is not a 64-bit number"},
      {"127.0.0.1", "protocol_id = 1\n", "add private_key_file"},
      {"127.0.0.1", "protocol_id = 1\nprivate_key_file = \"" + dir.file("none.hex") + "\"\n",
       "give the path of the file that holds the key"},
      {"127.0.0.1", "protocol_id = 1\nprivate_key_file = \"" + dir.file("short.hex") + "\"\n",
       "netcode private key"},
      {"127.0.0.1", "protocol_id = 1\n" + key + "public_addresses = [\"198.18.0.2\"]\n",
       "which is not an address and port"},
      {"127.0.0.1", "protocol_id = 1\n" + key + many, "names more than 32 addresses"},
      {"127.0.0.1",
       "protocol_id = 1\n" + key +
           "application = \"payload_echo\"\nchannels = "
           "[\"reliable\"]\n",
       "only applies to the message applications"},
      {"127.0.0.1", "protocol_id = 1\n" + key + "members_per_room = 4\n",
       "only applies to application = \"rooms\""},
      {"127.0.0.1", "protocol_id = 1\n" + key + "application = \"echo\"\nchannels = [\"fast\"]\n",
       "each channel is \"reliable\", \"unreliable\" or \"sequenced\""},
  };
  for (const Case& c : cases) {
    std::ofstream(dir.file("bad.toml"), std::ios::trunc)
        << "[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"" << c.bind
        << "\"]\n[[udpd.service]]\nport = 9000\nhandler = \"netcode\"\n"
        << c.service;
    auto r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("bad.toml"), "-t", "1"}, 30000ms);
    ASSERT_TRUE(r.started);
    EXPECT_EQ(r.status.code, 2) << c.says << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.find(std::string(64, 'a')), std::string::npos) << "the key is never shown";
  }
}

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
            "cannot read file '/nonexistent'"},
        BadConfig{
            "[[port]]\ndevice = \"net_null0\"\naddresses = [\"198.18.0.2/24\"]\n[[worker]]\ncpu = "
            "1\n[[udpd.service]]\nport = 7\nhandler = \"echo\"\n[[udpd.service]]\nport = "
            "7\nhandler = "
            "\"discard\"\n",
            "two services use UDP port 7"},
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
