#include <bypass/udp/socket_backend.hpp>

#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "handler_suite.hpp"

namespace bypass {
namespace {

using test::Bytes;
using test::milliseconds;
using Clock = std::chrono::steady_clock;
using Family = IpAddr::Family;

IpAddr loopback(Family f) {
  return *IpAddr::parse(f == Family::kV6 ? "::1" : "127.0.0.1");
}

// A UDP socket bound to `a`:`port` (0: any free port), or -1.
int bound_socket(const IpAddr& a, uint16_t port, bool reuseport = false) {
  int fd = socket(a.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (a.is_v6()) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr({a, port}, ss);
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

SockAddr local_addr(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return from_sockaddr(ss);
}

// `n` ports free on both 127.0.0.1 and ::1 (held until all are found).
std::vector<uint16_t> free_loopback_ports(size_t n) {
  std::vector<int> held;
  std::vector<uint16_t> ports;
  for (int tries = 0; ports.size() < n && tries < 100; ++tries) {
    int v4 = bound_socket(loopback(Family::kV4), 0);
    uint16_t p = local_addr(v4).port;
    int v6 = bound_socket(loopback(Family::kV6), p);
    held.push_back(v4);
    if (v6 < 0) continue;
    held.push_back(v6);
    ports.push_back(p);
  }
  for (int fd : held) close(fd);
  return ports;
}

// The CPUs for `n` workers: 0, 1, ... wrapped to the CPUs this machine has.
std::vector<unsigned> worker_cpus(size_t n) {
  std::vector<unsigned> cpus;
  for (size_t i = 0; i < n; ++i) cpus.push_back(static_cast<unsigned>(i % get_nprocs()));
  return cpus;
}

class SocketClient final : public test::UdpClient {
 public:
  // Connected to `server`:`port`, so it sees only that address's answers.
  SocketClient(const IpAddr& server, uint16_t port) {
    fd_ = socket(server.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int buf = 4 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr({server, port}, ss);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~SocketClient() override {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool send(std::span<const uint8_t> p) override {
    return ::send(fd_, p.data(), p.size(), 0) == static_cast<ssize_t>(p.size());
  }
  std::optional<Bytes> receive(milliseconds timeout) override {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    return Bytes(buf_.begin(), buf_.begin() + n);
  }

 private:
  int fd_ = -1;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(65536);
};

// The suite's harness: two workers on 127.0.0.1 and ::1, slots big enough for 9000 bytes.
class SocketHarness : public test::UdpHarness {
 public:
  explicit SocketHarness(size_t workers = 2) : workers_(workers) {}
  std::vector<Family> families() const override { return {Family::kV4, Family::kV6}; }
  uint32_t max_datagram() const override { return 9216; }
  std::vector<uint16_t> free_ports(size_t n) override { return free_loopback_ports(n); }
  Status start(const std::vector<ServiceConfig>& services,
               const std::vector<Family>& families) override {
    std::vector<IpAddr> addrs;
    for (Family f : families) addrs.push_back(loopback(f));
    SocketBackend::Options o;
    o.buffer = max_datagram();
    backend_ = std::make_unique<SocketBackend>(services, addrs, worker_cpus(workers_), o);
    return backend_->start();
  }
  std::unique_ptr<test::UdpClient> client(Family f, uint16_t port) override {
    auto c = std::make_unique<SocketClient>(loopback(f), port);
    return c->ok() ? std::move(c) : nullptr;
  }
  Stats stats() const override {
    auto s = backend_->stats();
    return {s.rx_datagrams, s.tx_datagrams};
  }
  void stop() override {
    if (backend_) backend_->stop();
  }

 private:
  size_t workers_;
  std::unique_ptr<SocketBackend> backend_;
};

}  // namespace

namespace test {
INSTANTIATE_TYPED_TEST_SUITE_P(Sockets, UdpHandlerSuite, SocketHarness);

TEST(SocketBackend, FanoutSendsToKeptPeers) {
  SocketHarness one_worker(1);
  test::expect_fanout_relays(one_worker);
}
}  // namespace test

namespace {

ServiceConfig service(const char* handler, uint16_t port) {
  ServiceConfig s;
  s.handler = handler;
  s.port = port;
  return s;
}

// Polls until the counters satisfy `pred` (they trail the answers by a sendmmsg).
template <typename Pred>
SocketStats wait_stats(const SocketBackend& b, Pred pred) {
  auto deadline = Clock::now() + test::kAnswerTimeout;
  SocketStats s = b.stats();
  while (!pred(s) && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
    s = b.stats();
  }
  return s;
}

TEST(SocketBackend, BindErrorNamesAnAddressThatIsNotOnThisHost) {
  uint16_t port = free_loopback_ports(1).at(0);
  SocketBackend v4({service("echo", port)}, {*IpAddr::parse("198.51.100.77")}, worker_cpus(1));
  Status st = v4.start();
  ASSERT_FALSE(st.is_ok());
  EXPECT_EQ(st.message(), "cannot bind UDP port " + std::to_string(port) +
                              " on 198.51.100.77: address not available on this host: use an "
                              "address of this machine or 0.0.0.0.");
  EXPECT_FALSE(v4.running());

  SocketBackend v6({service("echo", port)}, {loopback(Family::kV6), *IpAddr::parse("2001:db8::77")},
                   worker_cpus(1));
  st = v6.start();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("on 2001:db8::77: address not available on this host"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("or ::."), std::string::npos) << st.message();
}

TEST(SocketBackend, BindErrorSaysThePortIsInUseEvenByAReuseportSocket) {
  for (bool reuseport : {false, true}) {
    SCOPED_TRACE(reuseport ? "held with SO_REUSEPORT" : "held plainly");
    uint16_t port = free_loopback_ports(1).at(0);
    int holder = bound_socket(loopback(Family::kV4), port, reuseport);
    ASSERT_GE(holder, 0);
    SocketBackend b({service("echo", port)}, {loopback(Family::kV4)}, worker_cpus(2));
    Status st = b.start();
    close(holder);
    ASSERT_FALSE(st.is_ok());
    EXPECT_EQ(st.message(), "cannot bind UDP port " + std::to_string(port) +
                                " on 127.0.0.1: the port is already in use by another socket: "
                                "stop the program that holds it or choose another port.");
  }
}

TEST(SocketBackend, SetupMistakesAreOneSentence) {
  uint16_t port = free_loopback_ports(1).at(0);
  const std::vector<IpAddr> lo = {loopback(Family::kV4)};
  auto message = [](SocketBackend&& b) { return b.start().message(); };
  EXPECT_EQ(message(SocketBackend({}, lo, {0})), "no UDP service to serve: add one with a port.");
  EXPECT_NE(message(SocketBackend({service("echo", port)}, {}, {0})).find("no address"),
            std::string::npos);
  EXPECT_NE(message(SocketBackend({service("echo", port)}, lo, {})).find("no worker CPU"),
            std::string::npos);
  EXPECT_NE(message(SocketBackend({service("echo", port)}, {lo[0], lo[0]}, {0})).find("twice"),
            std::string::npos);
  EXPECT_NE(message(SocketBackend({service("echo", port), service("discard", port)}, lo, {0}))
                .find("two services use UDP port"),
            std::string::npos);
  EXPECT_NE(message(SocketBackend({service("echo", port)}, lo, {100000}))
                .find("cannot pin a worker to CPU 100000"),
            std::string::npos);
  // A CPU number the kernel knows of but this machine lacks: refused when pinning.
  SocketBackend pin({service("echo", port)}, lo, {1000});
  Status st = pin.start();
  EXPECT_NE(st.message().find("cannot pin a worker to CPU 1000"), std::string::npos)
      << st.message();
  EXPECT_FALSE(pin.running());
  // Everything was closed: the port binds again.
  SocketBackend again({service("echo", port)}, lo, worker_cpus(1));
  ASSERT_TRUE(again.start().is_ok());
  EXPECT_NE(again.start().message().find("started before"), std::string::npos);
}

TEST(SocketBackend, TwoWorkersBothReceiveThroughReuseport) {
  uint16_t port = free_loopback_ports(1).at(0);
  SocketBackend b({service("echo", port)}, {loopback(Family::kV4)}, worker_cpus(2));
  ASSERT_TRUE(b.start().is_ok());
  ASSERT_EQ(b.worker_count(), 2u);
  // 64 client ports leave both workers idle with odds of 2^-63; go on a little if not.
  size_t clients = 0;
  while (clients < 512 && (clients < 64 || b.worker_stats(0).rx_datagrams == 0 ||
                           b.worker_stats(1).rx_datagrams == 0)) {
    SocketClient c(loopback(Family::kV4), port);
    Bytes p = test::pattern(32, static_cast<uint32_t>(clients++));
    ASSERT_TRUE(c.send(p));
    auto r = c.receive(test::kAnswerTimeout);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, p);
  }
  EXPECT_GT(b.worker_stats(0).rx_datagrams, 0u);
  EXPECT_GT(b.worker_stats(1).rx_datagrams, 0u);
  EXPECT_EQ(b.stats().rx_datagrams, clients);
}

TEST(SocketBackend, StopWhileTrafficFlowsReturnsPromptly) {
  uint16_t port = free_loopback_ports(1).at(0);
  SocketBackend b({service("echo", port)}, {loopback(Family::kV4)}, worker_cpus(2));
  ASSERT_TRUE(b.start().is_ok());
  std::atomic<bool> done{false};
  std::thread blaster([&] {
    std::vector<std::unique_ptr<SocketClient>> cs;
    for (int i = 0; i < 8; ++i)
      cs.push_back(std::make_unique<SocketClient>(loopback(Family::kV4), port));
    Bytes p = test::pattern(64, 1);
    Bytes sink(2048);
    while (!done.load())
      for (auto& c : cs) {
        c->send(p);
        while (recv(c->fd(), sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
        }
      }
  });
  auto s = wait_stats(b, [](const SocketStats& s) { return s.rx_datagrams > 1000; });
  EXPECT_GT(s.rx_datagrams, 1000u);
  b.stop();  // returns while a client still blasts (a hang ends in meson's timeout)
  done = true;
  blaster.join();
  EXPECT_FALSE(b.running());
  uint64_t rx = b.stats().rx_datagrams;
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(b.stats().rx_datagrams, rx) << "a worker still runs";
}

TEST(SocketBackend, StatsSumToWhatTheClientSaw) {
  auto ports = free_loopback_ports(3);
  ServiceConfig file = service("static", ports[2]);
  file.content = test::pattern(5000, 3);
  file.chunk = 1200;
  SocketBackend b({service("echo", ports[0]), service("discard", ports[1]), file},
                  {loopback(Family::kV4), loopback(Family::kV6)}, worker_cpus(2));
  ASSERT_TRUE(b.start().is_ok());
  uint64_t sent = 0, sent_bytes = 0, got = 0, got_bytes = 0;
  for (Family f : {Family::kV4, Family::kV6}) {
    SocketClient echo(loopback(f), ports[0]), discard(loopback(f), ports[1]);
    SocketClient chunks(loopback(f), ports[2]);
    for (uint32_t i = 0; i < 100; ++i) {
      Bytes p = test::pattern(i * 13, i);
      ASSERT_TRUE(echo.send(p) && discard.send(p));
      sent += 2;
      sent_bytes += 2 * p.size();
      auto r = echo.receive(test::kAnswerTimeout);
      ASSERT_TRUE(r.has_value());
      ++got;
      got_bytes += r->size();
    }
    ASSERT_TRUE(chunks.send({}));
    ++sent;
    while (auto r = chunks.receive(test::kSilence)) {
      ++got;
      got_bytes += r->size();
    }
  }
  EXPECT_EQ(got, 2 * (100 + 5));
  EXPECT_EQ(got_bytes, sent_bytes / 2 + 2 * (5000 + 5 * StaticHandler::kHeader));
  auto s = wait_stats(
      b, [&](const SocketStats& s) { return s.tx_datagrams >= got && s.rx_datagrams >= sent; });
  EXPECT_EQ(s.rx_datagrams, sent);
  EXPECT_EQ(s.rx_bytes, sent_bytes);
  EXPECT_EQ(s.tx_datagrams, got);
  EXPECT_EQ(s.tx_bytes, got_bytes);
  EXPECT_EQ(s.replies, 200u);
  EXPECT_EQ(s.outbox_sends, 10u);
  EXPECT_EQ(s.send_errors + s.recv_errors + s.truncated, 0u);
  uint64_t discarded = 0;
  for (size_t w = 0; w < b.worker_count(); ++w)
    discarded += static_cast<DiscardHandler&>(b.handler(w, 1)).datagrams();
  EXPECT_EQ(discarded, 200u);
}

TEST(SocketBackend, DatagramsLongerThanASlotAreDroppedAndCounted) {
  uint16_t port = free_loopback_ports(1).at(0);
  SocketBackend b({service("echo", port)}, {loopback(Family::kV4)},
                  worker_cpus(1));  // 2048 B slots
  ASSERT_TRUE(b.start().is_ok());
  SocketClient c(loopback(Family::kV4), port);
  ASSERT_TRUE(c.send(test::pattern(3000, 1)));
  auto s = wait_stats(b, [](const SocketStats& s) { return s.truncated >= 1; });
  EXPECT_EQ(s.truncated, 1u);
  EXPECT_EQ(s.rx_datagrams, 0u);
  EXPECT_FALSE(c.receive(test::kSilence).has_value());
  Bytes fits = test::pattern(2048, 2);
  ASSERT_TRUE(c.send(fits));
  auto r = c.receive(test::kAnswerTimeout);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, fits);
}

// Holds the worker inside its first batch until the test opens the gate, so the
// kernel has to drop what overflows the socket meanwhile.
class GateHandler final : public DatagramHandler {
 public:
  GateHandler(std::atomic<bool>& entered, std::atomic<bool>& open)
      : entered_(entered), open_(open) {}
  void on_datagrams(std::span<Datagram>, Outbox&) override {
    entered_ = true;
    while (!open_) std::this_thread::sleep_for(milliseconds(1));
  }

 private:
  std::atomic<bool>& entered_;
  std::atomic<bool>& open_;
};

TEST(SocketBackend, DatagramsTheKernelDropsAtAFullSocketAreCounted) {
  uint16_t port = free_loopback_ports(1).at(0);
  std::atomic<bool> entered{false}, open{false};
  SocketBackend::Options o;
  o.socket_buffer = 64 << 10;  // the smallest [udpd] socket_buffer_kib allows
  SocketBackend b({service("gate", port)}, {loopback(Family::kV4)}, worker_cpus(1), o,
                  [&](const ServiceConfig&) -> std::unique_ptr<DatagramHandler> {
                    return std::make_unique<GateHandler>(entered, open);
                  });
  ASSERT_TRUE(b.start().is_ok());
  SocketClient c(loopback(Family::kV4), port);
  ASSERT_TRUE(c.send(test::pattern(1000, 0)));
  auto deadline = Clock::now() + test::kAnswerTimeout;
  while (!entered && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
  ASSERT_TRUE(entered) << "the worker never read the first datagram";
  const uint64_t sent = 2001;  // 2,000 KB against a 128 KiB receive buffer
  for (uint64_t i = 1; i < sent; ++i) ASSERT_TRUE(c.send(test::pattern(1000, uint32_t(i))));
  open = true;
  auto s = wait_stats(
      b, [&](const SocketStats& s) { return s.rx_datagrams + s.kernel_dropped >= sent; });
  EXPECT_GT(s.kernel_dropped, 1000u);
  EXPECT_GE(s.rx_datagrams, 2u);
  EXPECT_EQ(s.rx_datagrams + s.kernel_dropped, sent) << "every datagram is read or counted";
  b.stop();
  EXPECT_EQ(b.stats().rx_datagrams + b.stats().kernel_dropped, sent);
}

// The Internet checksum's folded sum of `n` bytes, added to `sum`.
uint32_t add_sum(uint32_t sum, const uint8_t* p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) sum += uint32_t(p[n - 1]) << 8;
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// One UDP datagram to a loopback address from any source, even one no socket
// can send from (root only: a packet socket for IPv6, a raw one for IPv4).
bool inject_on_loopback(const SockAddr& src, const SockAddr& dst, std::span<const uint8_t> data) {
  const bool v6 = src.ip.is_v6();
  std::vector<uint8_t> f(14, 0);  // lo's Ethernet header: zero addresses
  f[12] = v6 ? 0x86 : 0x08;
  f[13] = v6 ? 0xdd : 0x00;
  const size_t ip_at = f.size(), ip_len = v6 ? 40 : 20, udp_len = 8 + data.size();
  f.resize(ip_at + ip_len + udp_len, 0);
  uint8_t* ip = f.data() + ip_at;
  uint8_t* udp = ip + ip_len;
  if (v6) {
    ip[0] = 0x60;
    ip[4] = static_cast<uint8_t>(udp_len >> 8);
    ip[5] = static_cast<uint8_t>(udp_len);
    ip[6] = 17;
    ip[7] = 64;
    std::memcpy(ip + 8, src.ip.v6_bytes(), 16);
    std::memcpy(ip + 24, dst.ip.v6_bytes(), 16);
  } else {
    const size_t total = ip_len + udp_len;
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    ip[6] = 0x40;  // don't fragment
    ip[8] = 64;
    ip[9] = 17;
    std::memcpy(ip + 12, src.ip.b.data(), 4);
    std::memcpy(ip + 16, dst.ip.b.data(), 4);
    const uint16_t c = fold(add_sum(0, ip, 20));
    ip[10] = static_cast<uint8_t>(c >> 8);
    ip[11] = static_cast<uint8_t>(c);
  }
  udp[0] = static_cast<uint8_t>(src.port >> 8);
  udp[1] = static_cast<uint8_t>(src.port);
  udp[2] = static_cast<uint8_t>(dst.port >> 8);
  udp[3] = static_cast<uint8_t>(dst.port);
  udp[4] = static_cast<uint8_t>(udp_len >> 8);
  udp[5] = static_cast<uint8_t>(udp_len);
  std::memcpy(udp + 8, data.data(), data.size());
  // The checksum over the pseudo-header (addresses, protocol, length) and the datagram.
  uint32_t sum = v6 ? add_sum(0, ip + 8, 32) : add_sum(0, ip + 12, 8);
  sum += 17 + static_cast<uint32_t>(udp_len);
  uint16_t c = fold(add_sum(sum, udp, udp_len));
  if (c == 0) c = 0xffff;
  udp[6] = static_cast<uint8_t>(c >> 8);
  udp[7] = static_cast<uint8_t>(c);
  bool ok = false;
  if (v6) {
    // IPv6 on lo: as a frame through a packet socket.
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = static_cast<int>(if_nametoindex("lo"));
    ll.sll_halen = 6;
    ok = sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&ll), sizeof ll) ==
         static_cast<ssize_t>(f.size());
    close(fd);
  } else {
    // IPv4: a raw socket with our header (a frame on lo would be taken for
    // a martian destination: 127/8 arriving from outside).
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0) return false;
    if (dst.ip.is_v4_multicast_or_broadcast()) {  // a broadcast: on lo, looped back here
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
      setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr({dst.ip, 0}, ss);
    ok = sendto(fd, ip, ip_len + udp_len, 0, reinterpret_cast<sockaddr*>(&ss), len) ==
         static_cast<ssize_t>(ip_len + udp_len);
    close(fd);
  }
  return ok;
}

TEST(SocketBackend, DatagramsFromAddressesNoPeerCanHaveAreDroppedAndCounted) {
  ASSERT_EQ(geteuid(), 0u) << "this test puts packets on lo through a packet socket: run it as "
                              "root (CI does)";
  const uint16_t port = free_loopback_ports(1).at(0);
  const IpAddr v4 = loopback(Family::kV4), v6 = loopback(Family::kV6);
  const IpAddr any4 = *IpAddr::parse("0.0.0.0"), any6 = *IpAddr::parse("::");
  SocketBackend b({service("echo", port)}, {any4, any6}, worker_cpus(1));
  ASSERT_TRUE(b.start().is_ok());
  // Where a reply to each would go: a socket on each loopback address.
  const int r4 = bound_socket(v4, 0), r6 = bound_socket(v6, 0);
  ASSERT_GE(r4, 0);
  ASSERT_GE(r6, 0);
  const uint16_t p4 = local_addr(r4).port, p6 = local_addr(r6).port;
  auto answered = [](int fd) {
    pollfd pfd{fd, POLLIN, 0};
    return poll(&pfd, 1, static_cast<int>(test::kSilence.count())) == 1;
  };
  const Bytes hello = test::pattern(32, 1);
  // The injection works: ordinary sources are answered.
  ASSERT_TRUE(inject_on_loopback({v4, p4}, {v4, port}, hello));
  EXPECT_TRUE(answered(r4)) << "an injected IPv4 datagram was not echoed";
  ASSERT_TRUE(inject_on_loopback({v6, p6}, {v6, port}, hello));
  EXPECT_TRUE(answered(r6)) << "an injected IPv6 datagram was not echoed";
  char drain[64];
  (void)recv(r4, drain, sizeof drain, MSG_DONTWAIT);
  (void)recv(r6, drain, sizeof drain, MSG_DONTWAIT);
  // From :: (Linux would send the reply to ::1, here to r6) and from port 0.
  ASSERT_TRUE(inject_on_loopback({any6, p6}, {v6, port}, hello));
  ASSERT_TRUE(inject_on_loopback({v4, 0}, {v4, port}, hello));
  EXPECT_FALSE(answered(r6)) << "a datagram from :: was answered (to ::1)";
  // To every host (255.255.255.255): a wildcard bind receives it; not for us alone.
  ASSERT_TRUE(inject_on_loopback({v4, p4}, {*IpAddr::parse("255.255.255.255"), port}, hello));
  EXPECT_FALSE(answered(r4)) << "a broadcast was answered";
  auto st =
      wait_stats(b, [](const SocketStats& s) { return s.martian >= 2 && s.to_broadcast >= 1; });
  EXPECT_EQ(st.martian, 2u);
  EXPECT_EQ(st.to_broadcast, 1u);
  EXPECT_EQ(st.rx_datagrams, 2u);
  EXPECT_EQ(st.tx_datagrams, 2u);
  close(r4);
  close(r6);
}

// Answers "<dst> <src>" in place and one Outbox datagram "more" to the same sender.
class AddressHandler final : public DatagramHandler {
 public:
  void on_datagrams(std::span<Datagram> batch, Outbox& out) override {
    for (size_t i = 0; i < batch.size(); ++i) {
      Datagram& d = batch[i];
      std::string s = d.dst.str() + " " + d.src.str();
      std::memcpy(d.data, s.data(), s.size());
      d.reply_with(static_cast<uint32_t>(s.size()));
      const uint8_t more[] = {'m', 'o', 'r', 'e'};
      out.send(static_cast<uint16_t>(i), more);
    }
  }
};

TEST(SocketBackend, WildcardBindAnswersFromTheAddressTheClientAsked) {
  uint16_t port = free_loopback_ports(1).at(0);
  SocketBackend b({service("custom", port)}, {*IpAddr::parse("0.0.0.0"), *IpAddr::parse("::")},
                  worker_cpus(1), {},
                  [](const ServiceConfig&) { return std::make_unique<AddressHandler>(); });
  ASSERT_TRUE(b.start().is_ok());
  // 127.0.0.2 is loopback too, but not the address the kernel would answer from by itself.
  for (const char* server : {"127.0.0.2", "::1"}) {
    SCOPED_TRACE(server);
    IpAddr a = *IpAddr::parse(server);
    SocketClient c(a, port);  // connected: drops answers from any other address
    ASSERT_TRUE(c.send(Bytes(64, 0)));
    auto r = c.receive(test::kAnswerTimeout);
    ASSERT_TRUE(r.has_value()) << "no answer from " << server;
    std::string want = SockAddr{a, port}.str() + " " + local_addr(c.fd()).str();
    EXPECT_EQ(std::string(r->begin(), r->end()), want);
    auto more = c.receive(test::kAnswerTimeout);
    ASSERT_TRUE(more.has_value());
    EXPECT_EQ(std::string(more->begin(), more->end()), "more");
  }
  auto s = wait_stats(b, [](const SocketStats& s) { return s.tx_datagrams >= 4; });
  EXPECT_EQ(s.replies, 2u);
  EXPECT_EQ(s.outbox_sends, 2u);
  EXPECT_EQ(s.tx_datagrams, 4u);
}

// What a handler sends to a kept peer later (here: fanout relays) leaves a
// wildcard socket from the address the peer sent to, as replies do; the
// kernel's own choice (127.0.0.1) would be dropped by a connected client.
TEST(SocketBackend, WildcardBindSendsToKeptPeersFromTheAddressTheyAsked) {
  uint16_t port = free_loopback_ports(1).at(0);
  SocketBackend b({service("fanout", port)}, {*IpAddr::parse("0.0.0.0"), *IpAddr::parse("::")},
                  worker_cpus(1));
  ASSERT_TRUE(b.start().is_ok());
  const IpAddr server = *IpAddr::parse("127.0.0.2");
  SocketClient a(server, port), c(server, port);  // connected to 127.0.0.2
  ASSERT_TRUE(a.send(Bytes{'a', '1'}));
  EXPECT_FALSE(a.receive(test::kSilence).has_value());
  ASSERT_TRUE(c.send(Bytes{'c', '1'}));
  auto got = a.receive(test::kAnswerTimeout);
  ASSERT_TRUE(got.has_value()) << "the relay came from another address, or not at all";
  EXPECT_EQ(*got, (Bytes{'c', '1'}));
}

}  // namespace
}  // namespace bypass
