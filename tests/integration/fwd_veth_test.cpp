// bypass-fwd against a real kernel peer: a veth pair between two network
// namespaces made for this test. One end is a Linux host as it comes
// (198.18.7.1/24, IPv6 on, neighbours resolved by ARP); bypass-fwd drives the
// other end through net_af_packet or net_af_xdp and reflects in 5tswap mode,
// answering ARP for 198.18.7.2. A kernel UDP socket sends datagrams to
// 198.18.7.2 and must get every one back exactly once, from 198.18.7.2,
// with the same payload.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kClientIp = "198.18.7.1";
constexpr const char* kPeerIp = "198.18.7.2";  // answered by the reflector
constexpr const char* kClientMac = "02:00:c6:12:07:01";
constexpr const char* kFwdMac = "02:00:c6:12:07:02";
constexpr uint16_t kPeerPort = 7777;
constexpr uint32_t kDatagrams = 1000;
// Datagrams in flight at most: far below af_packet's ring (512 frames) and
// the socket's receive buffer, so a slow moment cannot lose one.
constexpr uint32_t kVethWindow = 32;

std::string ip() {
  return tool("ip");
}
std::string ethtool() {
  return tool("ethtool");
}

// Two namespaces joined by a veth pair, torn down on destruction (deleting a
// namespace deletes its end of the pair, and the pair with it).
class VethPair {
 public:
  VethPair() {
    std::string base = "bpv" + std::to_string(getpid());
    static unsigned n = 0;
    std::string k = std::to_string(n++);
    client_ns = base + "c" + k;
    fwd_ns = base + "f" + k;
    client_if = base + "a";
    fwd_if = base + "b";
  }
  ~VethPair() {
    for (const auto& ns : created_) run_cmd({ip(), "netns", "del", ns});
  }
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  // Builds the topology; on failure returns what went wrong.
  std::string setup() {
    for (const auto& ns : {client_ns, fwd_ns}) {
      run_cmd({ip(), "netns", "del", ns});  // a stale one from a killed run of this pid
      if (auto e = step({ip(), "netns", "add", ns}); !e.empty()) return e;
      created_.push_back(ns);
    }
    const std::vector<std::vector<std::string>> steps = {
        {ip(), "link", "add", "name", client_if, "netns", client_ns, "address", kClientMac, "type",
         "veth", "peer", "name", fwd_if, "netns", fwd_ns, "address", kFwdMac},
        {ip(), "-n", client_ns, "addr", "add", std::string(kClientIp) + "/24", "dev", client_if},
        {ip(), "-n", client_ns, "link", "set", "lo", "up"},
        {ip(), "-n", client_ns, "link", "set", client_if, "up"},
        {ip(), "-n", fwd_ns, "link", "set", fwd_if, "up"},
    };
    for (const auto& s : steps)
      if (auto e = step(s); !e.empty()) return e;
    // The other fix bypass-fwd names for a port without addresses.
    if (static_neighbour)
      if (auto e = step({ip(), "-n", client_ns, "neigh", "replace", kPeerIp, "lladdr", kFwdMac,
                         "dev", client_if, "nud", "permanent"});
          !e.empty())
        return e;
    // The peer as it comes leaves UDP checksums to a transmit offload
    // (bypass-fwd finishes them); a peer told to send them whole, too.
    if (peer_tx_off)
      if (auto e =
              step({ip(), "netns", "exec", client_ns, ethtool(), "-K", client_if, "tx", "off"});
          !e.empty())
        return e;
    return "";
  }

  std::string client_ns, fwd_ns, client_if, fwd_if;
  bool peer_tx_off = false;       // set before setup(): the peer sends whole checksums
  bool static_neighbour = false;  // set before setup(): the peer is told the reflector's MAC

 private:
  static std::string step(const std::vector<std::string>& argv) {
    CmdResult r = run_cmd(argv);
    if (r.ok()) return "";
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return r.describe(cmd);
  }
  std::vector<std::string> created_;
};

class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// A non-blocking UDP socket in network namespace `ns`, bound to ip:0. It is
// made on a thread of its own that enters the namespace, so this process
// (and its DPDK threads) stay where they are.
int udp_socket_in(const std::string& ns, const std::string& ip, std::string* error) {
  int result = -1;
  std::thread t([&] {
    int nsfd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      *error = "open netns " + ns + ": " + strerror(errno);
      return;
    }
    int rc = setns(nsfd, CLONE_NEWNET);
    close(nsfd);
    if (rc != 0) {
      *error = "setns " + ns + ": " + strerror(errno);
      return;
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
      *error = std::string("socket: ") + strerror(errno);
      return;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      *error = "bind " + ip + ": " + strerror(errno);
      close(s);
      return;
    }
    result = s;
  });
  t.join();
  return result;
}

// The payload of datagram `seq`: its number, a tag of this run, then a
// pattern; 16 to 1015 bytes long.
std::vector<uint8_t> payload(uint32_t seq, uint32_t tag) {
  std::vector<uint8_t> p(16 + (seq * 37u) % 1000u);
  std::memcpy(p.data(), &seq, 4);
  std::memcpy(p.data() + 4, &tag, 4);
  for (size_t i = 8; i < p.size(); ++i) p[i] = static_cast<uint8_t>(seq * 7 + i);
  return p;
}

struct EchoResult {
  uint32_t sent = 0;
  uint64_t received = 0;
  uint64_t wrong_source = 0;   // not from kPeerIp:kPeerPort
  uint64_t wrong_payload = 0;  // a known number with other bytes
  uint64_t unknown = 0;        // not one of ours
  std::string send_error;
  std::vector<uint32_t> seen;
};

EchoResult echo(int fd, uint32_t n, std::chrono::milliseconds stall = 5000ms) {
  EchoResult r;
  r.seen.assign(n, 0);
  const uint32_t tag = static_cast<uint32_t>(getpid());
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(kPeerPort);
  inet_pton(AF_INET, kPeerIp, &peer.sin_addr);
  uint32_t answered = 0;
  std::vector<uint8_t> buf(4096);
  auto receive = [&] {
    bool any = false;
    while (true) {
      sockaddr_in from{};
      socklen_t flen = sizeof(from);
      ssize_t len = recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &flen);
      if (len < 0) break;
      any = true;
      ++r.received;
      if (from.sin_addr.s_addr != peer.sin_addr.s_addr || from.sin_port != peer.sin_port)
        ++r.wrong_source;
      uint32_t seq = 0, t = 0;
      if (len >= 8) {
        std::memcpy(&seq, buf.data(), 4);
        std::memcpy(&t, buf.data() + 4, 4);
      }
      if (len < 8 || t != tag || seq >= n) {
        ++r.unknown;
        continue;
      }
      if (r.seen[seq]++ == 0) ++answered;
      std::vector<uint8_t> want = payload(seq, tag);
      if (static_cast<size_t>(len) != want.size() ||
          std::memcmp(buf.data(), want.data(), want.size()) != 0)
        ++r.wrong_payload;
    }
    return any;
  };
  auto last_progress = Clock::now();
  while (answered < n) {
    while (r.sent < n && r.sent - answered < kVethWindow) {
      std::vector<uint8_t> p = payload(r.sent, tag);
      ssize_t rc = sendto(fd, p.data(), p.size(), MSG_DONTWAIT,
                          reinterpret_cast<const sockaddr*>(&peer), sizeof(peer));
      if (rc < 0) {
        if (errno != EAGAIN && errno != ENOBUFS) r.send_error = strerror(errno);
        break;
      }
      ++r.sent;
    }
    if (!r.send_error.empty()) break;
    pollfd pfd{fd, POLLIN, 0};
    poll(&pfd, 1, 50);
    if (receive()) {
      last_progress = Clock::now();
    } else if (Clock::now() - last_progress > stall) {
      break;
    }
  }
  // Anything that still arrives is a duplicate or a stranger.
  auto quiet_until = Clock::now() + 300ms;
  while (Clock::now() < quiet_until) {
    pollfd pfd{fd, POLLIN, 0};
    poll(&pfd, 1, 20);
    receive();
  }
  return r;
}

// The address the reflector answers as, for the client's sendto.
sockaddr_in peer_address() {
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(kPeerPort);
  inet_pton(AF_INET, kPeerIp, &peer.sin_addr);
  return peer;
}

// One 64-byte datagram to the reflector, without waiting, and whatever came
// back thrown away; whether it was sent.
bool flood_one(int fd, const sockaddr_in& peer) {
  static const std::vector<uint8_t> p = payload(1, 2);
  std::array<uint8_t, 2048> sink;
  const bool sent = sendto(fd, p.data(), 64, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&peer),
                           sizeof peer) == 64;
  while (recv(fd, sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
  }
  return sent;
}

// bypass-fwd reflecting (5tswap, loop) on the veth, in its namespace, and
// the client's socket: what each test here starts from. `shape` sets the
// ports, queues, faults and workers from the pair and the CPU plan.
struct Reflector {
  TempDir dir;
  VethPair veth;
  std::unique_ptr<FwdProcess> fwd;
  std::unique_ptr<Socket> sock;
};
// What the test does to the kernel peer: nothing, unless a test says so.
struct PeerSetup {
  bool tx_off = false;            // sends whole UDP checksums
  bool static_neighbour = false;  // told the reflector's MAC, so it sends no ARP
};
void start_reflector(Reflector& r,
                     const std::function<void(FwdConfig&, const VethPair&, const CpuPlan&)>& shape,
                     PeerSetup peer = {}) {
  ASSERT_FALSE(fwd_path().empty()) << "BYPASS_FWD is not set";
  ASSERT_FALSE(r.dir.path().empty());
  r.veth.peer_tx_off = peer.tx_off;
  r.veth.static_neighbour = peer.static_neighbour;
  ASSERT_EQ(r.veth.setup(), "");
  const CpuPlan cpus = plan_cpus();
  FwdConfig cfg;
  cfg.file_prefix = fwd_file_prefix();
  cfg.huge_pages = !no_huge();
  cfg.control_cpu = cpus.control;
  cfg.mode = "5tswap";
  cfg.topology = "loop";
  cfg.addresses = {std::string(kPeerIp) + "/24"};  // answers ARP for it
  shape(cfg, r.veth, cpus);
  std::string error;
  r.fwd = FwdProcess::start(cfg, r.dir, &error, {ip(), "netns", "exec", r.veth.fwd_ns});
  ASSERT_TRUE(r.fwd) << error;
  ASSERT_TRUE(r.fwd->wait_ready()) << "bypass-fwd did not start forwarding\n"
                                   << r.fwd->transcript();
  r.sock = std::make_unique<Socket>(udp_socket_in(r.veth.client_ns, kClientIp, &error));
  ASSERT_GE(r.sock->fd(), 0) << error;
}

// Stops bypass-fwd and checks its final lines: it exited cleanly; the swap
// got our `datagrams` and nothing else; what else came was the host's (ARP,
// IPv6's own chatter): answered (tx beyond the datagrams) or dropped there
// under a named reason; no mbuf left in use. Returns the output.
std::string expect_reflected(FwdProcess& fwd, uint64_t datagrams) {
  auto st = fwd.terminate();
  EXPECT_TRUE(st) << "bypass-fwd did not exit within 15 s of SIGTERM\n" << fwd.transcript();
  if (!st) return "";
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << fwd.transcript();
  const std::string o = fwd.out();
  auto totals = parse_totals(o);
  EXPECT_TRUE(totals) << "no 'total:' line\n" << fwd.transcript();
  if (!totals) return o;
  std::smatch swap, host;
  EXPECT_TRUE(std::regex_search(o, swap, std::regex("module swap: in (\\d+) dropped (\\d+)"))) << o;
  EXPECT_TRUE(std::regex_search(o, host, std::regex("module host: in (\\d+) dropped (\\d+)"))) << o;
  if (swap.empty() || host.empty()) return o;
  EXPECT_EQ(std::stoull(swap[1]), datagrams) << "the swap reflects our datagrams alone\n" << o;
  EXPECT_EQ(std::stoull(swap[2]), 0u) << o;
  EXPECT_EQ(std::stoull(host[2]), totals->dropped) << "every drop is the host's\n" << o;
  EXPECT_EQ(totals->rx, totals->tx + totals->dropped) << "answered, reflected or dropped\n" << o;
  EXPECT_GE(totals->tx, datagrams) << o;
  auto leaked = parse_mbufs_in_use(o);
  EXPECT_TRUE(leaked) << "no 'mbufs in use at exit' line\n" << fwd.transcript();
  if (leaked) {
    EXPECT_EQ(*leaked, 0u) << o;
  }
  return o;
}

void run_veth_reflector(const std::string& driver, PeerSetup peer = {}) {
  Reflector rf;
  ASSERT_NO_FATAL_FAILURE(start_reflector(
      rf,
      [&](FwdConfig& cfg, const VethPair& veth, const CpuPlan& cpus) {
        cfg.ports = {{"p0", driver + "0,iface=" + veth.fwd_if}};
        cfg.workers = {{cpus.worker, {"p0:0"}, ""}};
      },
      peer));
  FwdProcess* fwd = rf.fwd.get();
  const Socket& sock = *rf.sock;
  EchoResult r = echo(sock.fd(), kDatagrams);
  EXPECT_EQ(r.send_error, "");
  EXPECT_EQ(r.sent, kDatagrams);
  EXPECT_EQ(r.received, kDatagrams);
  EXPECT_EQ(r.wrong_source, 0u);
  EXPECT_EQ(r.wrong_payload, 0u);
  EXPECT_EQ(r.unknown, 0u);
  ASSERT_EQ(r.seen.size(), kDatagrams);
  expect_each_once(r.seen);

  expect_reflected(*fwd, kDatagrams);
  EXPECT_NE(fwd->transcript().find("port 'p0' is on a veth: UDP and TCP checksums"),
            std::string::npos)
      << fwd->transcript();
  EXPECT_EQ(fwd->transcript().find("was asked by ARP"), std::string::npos) << fwd->transcript();
}

// SIGTERM under load (docs/running.md): the kernel side floods the
// reflector, two workers on two queue pairs, when it is told to stop. It exits
// within the bound, with status 0; each total is the sum of the workers'
// lines; every packet received was sent back or dropped under a named
// reason; and no mbuf is left in use.
// With pipeline = true each worker hands what it receives to the other
// through a ring: what the rings hold at the stop is dropped as left_at_stop.
void sigterm_under_load(bool pipeline) {
  Reflector rf;
  ASSERT_NO_FATAL_FAILURE(
      start_reflector(rf, [pipeline](FwdConfig& cfg, const VethPair& veth, const CpuPlan& cpus) {
        cfg.ports = {{"p0", "net_af_packet0,iface=" + veth.fwd_if + ",qpairs=2"}};
        cfg.queues = 2;
        cfg.workers = {{cpus.worker, {"p0:0"}, ""}, {cpus.other, {"p0:1"}, ""}};
        cfg.pipeline = pipeline;
      }));
  FwdProcess* fwd = rf.fwd.get();
  const int fd = rf.sock->fd();

  std::atomic<bool> flooding{true};
  std::atomic<uint64_t> sent{0};
  std::thread flood([&] {
    const sockaddr_in peer = peer_address();
    while (flooding.load(std::memory_order_relaxed))
      if (flood_one(fd, peer)) sent.fetch_add(1, std::memory_order_relaxed);
  });
  // Under way: the flood has sent a good many, and is still sending right
  // before the stop.
  const auto deadline = Clock::now() + 60s;
  while (sent.load() < 20000 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  const uint64_t mark = sent.load();
  while (sent.load() < mark + 1000 && Clock::now() < deadline) std::this_thread::yield();
  const uint64_t before_stop = sent.load();
  const auto t0 = Clock::now();
  auto st = fwd->terminate(20000ms);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  flooding = false;
  flood.join();
  EXPECT_GE(before_stop, mark + 1000) << "the flood was not going at the stop";
  ASSERT_TRUE(st.has_value()) << "no exit within 20 s of SIGTERM under load\n" << fwd->transcript();
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << fwd->transcript();

  const std::string o = fwd->out();
  auto totals = parse_totals(o);
  ASSERT_TRUE(totals) << o;
  EXPECT_GT(totals->rx, 0u) << o;
  EXPECT_EQ(totals->rx, totals->tx + totals->dropped) << "received: sent back or dropped\n" << o;
  uint64_t rx = 0, tx = 0, dropped = 0, reasons = 0;
  int workers = 0;
  const std::regex worker_line("worker \\d+: rx (\\d+) tx (\\d+) dropped (\\d+)");
  for (std::sregex_iterator i(o.begin(), o.end(), worker_line), end; i != end; ++i, ++workers) {
    rx += std::stoull((*i)[1]);
    tx += std::stoull((*i)[2]);
    dropped += std::stoull((*i)[3]);
  }
  const std::regex drop_line("\n  drop [a-z0-9_]+: (\\d+)");  // left_at_stop too
  for (std::sregex_iterator i(o.begin(), o.end(), drop_line), end; i != end; ++i)
    reasons += std::stoull((*i)[1]);
  EXPECT_EQ(workers, 2) << o;
  EXPECT_EQ(rx, totals->rx) << o;
  EXPECT_EQ(tx, totals->tx) << o;
  EXPECT_EQ(dropped, totals->dropped) << o;
  EXPECT_EQ(reasons, totals->dropped) << "every drop under a named reason\n" << o;
  auto leaked = parse_mbufs_in_use(o);
  ASSERT_TRUE(leaked) << o;
  EXPECT_EQ(*leaked, 0u) << o;
  std::printf("stopped %lld ms after SIGTERM under a flood%s: rx %llu tx %llu dropped %llu\n",
              static_cast<long long>(took.count()), pipeline ? " (pipeline)" : "",
              static_cast<unsigned long long>(totals->rx),
              static_cast<unsigned long long>(totals->tx),
              static_cast<unsigned long long>(totals->dropped));
}

TEST(FwdVeth, SigtermUnderLoadStopsInTimeWithCountsThatAddUp) {
  sigterm_under_load(false);
}

TEST(FwdVeth, SigtermUnderLoadInAPipelineCountsWhatTheRingsHeld) {
  sigterm_under_load(true);
}

// A slow consumer at line rate (docs/running.md): the worker polls its
// queue only now and then (a FaultyPort stall), so the kernel's ring for the
// driver fills under a flood and drops. That is counted as the port's
// imissed, apart from rx_nombuf (the pool never ran dry), and once the flood
// stops every datagram is answered again.
TEST(FwdVeth, ASlowConsumerCountsImissedApartFromRxNombufAndRecovers) {
  Reflector rf;
  ASSERT_NO_FATAL_FAILURE(
      start_reflector(rf, [](FwdConfig& cfg, const VethPair& veth, const CpuPlan& cpus) {
        cfg.ports = {{"p0", "net_af_packet0,iface=" + veth.fwd_if}};
        cfg.faults = "stall_every = 1000000\nstall_polls = 999000";  // polled 1 time in 1000
        cfg.workers = {{cpus.worker, {"p0:0"}, ""}};
      }));
  FwdProcess* fwd = rf.fwd.get();
  const int fd = rf.sock->fd();
  const sockaddr_in peer = peer_address();
  for (uint32_t sent = 0; sent < 200000;) sent += flood_one(fd, peer);
  // The flood's answers drain until none has come for half a second (30 s at
  // most), so that the socket has room for the echo's. Any later one is told
  // apart from the echo's below.
  const auto give_up = Clock::now() + 30s;
  for (auto last = Clock::now(); Clock::now() - last < 500ms && Clock::now() < give_up;) {
    if (recv(fd, nullptr, 0, MSG_DONTWAIT | MSG_TRUNC) >= 0)
      last = Clock::now();
    else
      std::this_thread::sleep_for(10ms);
  }
  EchoResult r = echo(fd, kDatagrams);
  // (Answers to the flood may still come in meanwhile: not ours, told apart.)
  EXPECT_EQ(r.received - r.unknown, kDatagrams) << "every datagram answered once the flood stopped";
  expect_each_once(r.seen);
  auto st = fwd->terminate();
  ASSERT_TRUE(st.has_value()) << fwd->transcript();
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << fwd->transcript();
  const std::string o = fwd->out();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      o, m, std::regex("port p0: link \\w+ rx (\\d+) tx \\d+ imissed (\\d+) rx_nombuf (\\d+)")))
      << o;
  EXPECT_GT(std::stoull(m[2]), 0u) << "the kernel's drops at the full ring, as imissed\n" << o;
  EXPECT_EQ(std::stoull(m[3]), 0u) << "the pool never ran dry\n" << o;
  EXPECT_GT(std::stoull(m[1]), kDatagrams) << o;
  std::printf("slow consumer under a flood: rx %s imissed %s rx_nombuf %s\n", m[1].str().c_str(),
              m[2].str().c_str(), m[3].str().c_str());
  auto leaked = parse_mbufs_in_use(o);
  ASSERT_TRUE(leaked) << o;
  EXPECT_EQ(*leaked, 0u) << o;
}

// The peer as it comes: it resolves 198.18.7.2 by ARP, which the reflector
// answers for the port's address, and its IPv6 chatter (router
// solicitations, MLD reports, DAD) is dropped in the host stage rather than
// reflected. Its kernel leaves UDP checksums to a transmit offload a veth
// never performs, and bypass-fwd finishes them.
TEST(FwdVeth, AfPacketReflectsKernelUdp) {
  run_veth_reflector("net_af_packet");
}

// A peer that sends whole checksums gets them back as they were.
TEST(FwdVeth, AfPacketReflectsKernelUdpToAPeerSendingWholeChecksums) {
  run_veth_reflector("net_af_packet", {.tx_off = true});
}

// A port without addresses answers no ARP, so a peer as it comes cannot
// reach it: bypass-fwd says so once, naming both fixes (the address on the
// port, or a static entry on the peer), and counts what it left unanswered.
TEST(FwdVeth, APortWithoutAddressesSaysOnceWhatAPeerNeeds) {
  Reflector rf;
  ASSERT_NO_FATAL_FAILURE(
      start_reflector(rf, [](FwdConfig& cfg, const VethPair& veth, const CpuPlan& cpus) {
        cfg.ports = {{"p0", "net_af_packet0,iface=" + veth.fwd_if}};
        cfg.workers = {{cpus.worker, {"p0:0"}, ""}};
        cfg.addresses.clear();
      }));
  FwdProcess* fwd = rf.fwd.get();
  const int fd = rf.sock->fd();
  const sockaddr_in peer = peer_address();
  // The peer asks by ARP (again each second while the datagrams wait); the
  // sentence comes within a second of the first request.
  const auto deadline = Clock::now() + 30s;
  while (fwd->transcript().find("was asked by ARP") == std::string::npos &&
         Clock::now() < deadline) {
    flood_one(fd, peer);
    std::this_thread::sleep_for(200ms);
  }
  // Long enough for the peer to ask again, and for the sentence to be repeated if it were.
  for (int i = 0; i < 15; ++i) {
    flood_one(fd, peer);
    std::this_thread::sleep_for(200ms);
  }
  const std::string t = fwd->transcript();
  const std::string said =
      "warning: port 'p0' was asked by ARP for 198.18.7.2, and answers ARP only for its "
      "addresses: if hosts are to reach it as 198.18.7.2, add addresses = "
      "[\"198.18.7.2/32\"] to its [[port]] table (or give each host a static entry: ip neigh "
      "replace 198.18.7.2 lladdr 02:00:c6:12:07:02 dev IFACE).";
  expect_said_once(t, said);
  auto st = fwd->terminate();
  ASSERT_TRUE(st) << fwd->transcript();
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << fwd->transcript();
  const std::string o = fwd->out();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(o, m, std::regex("drop arp_not_ours: (\\d+)"))) << o;
  EXPECT_GE(std::stoull(m[1]), 2u) << "asked more than once, dropped each time\n" << o;
  ASSERT_TRUE(std::regex_search(o, m, std::regex("module swap: in (\\d+)"))) << o;
  EXPECT_EQ(m[1], "0") << "nothing came to be reflected, nothing was\n" << o;
}

// The other fix it names: a peer told the reflector's MAC is served by a port
// without addresses, and nothing is said.
TEST(FwdVeth, APortWithoutAddressesServesAPeerGivenAStaticEntry) {
  Reflector rf;
  ASSERT_NO_FATAL_FAILURE(
      start_reflector(rf,
                      [](FwdConfig& cfg, const VethPair& veth, const CpuPlan& cpus) {
                        cfg.ports = {{"p0", "net_af_packet0,iface=" + veth.fwd_if}};
                        cfg.workers = {{cpus.worker, {"p0:0"}, ""}};
                        cfg.addresses.clear();
                      },
                      {.static_neighbour = true}));
  EchoResult r = echo(rf.sock->fd(), kDatagrams);
  EXPECT_EQ(r.received, kDatagrams);
  EXPECT_EQ(r.unknown, 0u);
  expect_each_once(r.seen);
  expect_reflected(*rf.fwd, kDatagrams);
  EXPECT_EQ(rf.fwd->transcript().find("was asked by ARP"), std::string::npos)
      << rf.fwd->transcript();
}

// The same over net_af_xdp. Its PMD keeps the mbufs of its fill ring when the
// port closes (DPDK 22.11); bypass-fwd measures that at open and allows for it.
TEST(FwdVeth, AfXdpReflectsKernelUdp) {
  run_veth_reflector("net_af_xdp");
}

}  // namespace
}  // namespace bypass::it
