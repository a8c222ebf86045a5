// The control server without a running program: request lines, the views
// and the Prometheus text of a made-up snapshot, and real requests over its
// Unix socket and its HTTP port while the test thread serves them.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include <bypass/control/control_plane.hpp>
#include <bypass/control/control_server.hpp>
#include <bypass/control/control_views.hpp>
#include <bypass/control/http_host.hpp>
#include <bypass/control/prometheus.hpp>

namespace bypass {
namespace {

using namespace std::chrono_literals;

StatsSnapshot made_up(double secs, uint64_t rx) {
  StatsSnapshot s;
  s.seconds = secs;
  s.hz = 1000;
  StatsSnapshot::WorkerStat w;
  w.index = 0;
  w.cpu = 3;
  w.c.rx_packets = rx;
  w.c.tx_packets = rx / 2;
  w.c.busy_cycles = static_cast<uint64_t>(secs * 500);  // half the time busy
  s.workers.push_back(w);
  StatsSnapshot::PortStat p;
  p.name = "we\"ird";
  p.link.up = true;
  p.s.ipackets = rx;
  s.ports.push_back(p);
  StatsSnapshot::ModuleStat m;
  m.name = "ip";
  m.drops = {{"not_for_us", rx / 4}};
  s.modules.push_back(m);
  s.counters = {{"udp.replies", 5}, {"udp.replies", 6}};
  s.gauges = {{"pool.in_use", 12}};
  return s;
}

TEST(ControlRequest, ParsesOptionsAndRefusesBadCounts) {
  auto r = parse_command_line("conns  --json --offset 20 --limit 5 extra\r");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->name, "conns");
  EXPECT_TRUE(r->json);
  EXPECT_EQ(r->offset, 20u);
  EXPECT_EQ(r->limit, 5u);
  EXPECT_EQ(r->args, std::vector<std::string>{"extra"});
  EXPECT_EQ(parse_command_line("x --limit 999999999")->limit, 10000u);
  EXPECT_EQ(parse_command_line("  ").error(), "the request names no command: send \"help\".");
  EXPECT_EQ(parse_command_line("x --offset").error(),
            "--offset takes a count: write --offset 100.");
  EXPECT_FALSE(parse_command_line("x --limit -3"));
}

TEST(ControlViews, RatesComeFromTheWindow) {
  StatsSnapshot a = made_up(1, 1000), b = made_up(3, 5000);
  std::string w = workers_view({a, b}, true);
  EXPECT_NE(w.find("\"rx_packets\":5000"), std::string::npos) << w;
  EXPECT_NE(w.find("\"rx_pps\":2000.0"), std::string::npos) << w;
  EXPECT_NE(w.find("\"busy_percent\":50.0"), std::string::npos) << w;
  std::string d = drops_view({a, b}, false);
  EXPECT_NE(d.find("not_for_us"), std::string::npos) << d;
  EXPECT_NE(d.find("500.0"), std::string::npos) << d;  // (1250 - 250) / 2 s
  std::string p = ports_view({a, b}, true);
  EXPECT_NE(p.find("\"name\":\"we\\\"ird\""), std::string::npos) << p;
  EXPECT_EQ(drops_view({a, a}, false).find("(nothing dropped)"), std::string::npos);
  StatsSnapshot empty;
  EXPECT_NE(drops_view({empty, empty}, false).find("(nothing dropped)"), std::string::npos);
  // Paged (bypassctl drops --offset/--limit, /api/drops?offset=&limit=).
  b.modules[0].drops.emplace_back("ttl_expired", 7);
  const std::string all = drops_view({a, b}, true);
  const auto rows = std::count(all.begin(), all.end(), '{');
  ASSERT_GE(rows, 2) << all;
  const std::string one = drops_view({a, b}, true, 1, 1);
  EXPECT_EQ(std::count(one.begin(), one.end(), '{'), 1) << one;
  EXPECT_NE(all.find(one.substr(1, one.size() - 2)), std::string::npos) << one;
  EXPECT_EQ(drops_view({a, b}, true, static_cast<size_t>(rows), 10), "[]");
  EXPECT_EQ(drops_view({a, b}, true, 1), "[" + one.substr(1, one.size() - 2) + "]");
  EXPECT_NE(drops_view({a, b}, false, 0, 1).find("(1 more: --offset 1)"), std::string::npos);
}

TEST(ControlPrometheus, NamesLabelsAndSums) {
  std::string t = prometheus_text(made_up(2, 100), "prog");
  EXPECT_NE(t.find("bypass_rx_packets_total{port=\"we\\\"ird\"} 100\n"), std::string::npos) << t;
  EXPECT_NE(t.find("bypass_udp_replies_total 11\n"), std::string::npos) << t;
  EXPECT_NE(t.find("bypass_pool_in_use 12\n"), std::string::npos) << t;
  EXPECT_NE(t.find("bypass_drops_total{module=\"ip\",worker=\"1\",reason=\"not_for_us\"} 25\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("# TYPE bypass_worker_busy_seconds_total counter\n"), std::string::npos);
  EXPECT_EQ(prometheus_name("a.b-c/d9"), "a_b_c_d9");
  StatsSnapshot lv = made_up(1, 1);
  lv.counters = {{"netcode.connected", 3}};
  std::string g = prometheus_text(lv, "p");
  EXPECT_NE(g.find("# TYPE bypass_netcode_connected gauge\nbypass_netcode_connected 3\n"),
            std::string::npos)
      << g;
}

// One request over a socket while this thread serves; `half_close`: the
// client then shuts down its writing side (as `nc -N` does). Serves until the
// client has read to the end (60 s at most: a failure, not a hang);
// `connected`, if given, says whether the client got a connection at all.
std::string request(int family, const std::string& where, const std::string& text,
                    ControlServer& server, bool half_close = false, bool* connected = nullptr) {
  std::string reply;  // the client's until `done`
  std::atomic<bool> done{false}, joined{false};
  const int fd = socket(family, SOCK_STREAM, 0);
  std::thread client([&] {
    int rc;
    if (family == AF_UNIX) {
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strncpy(a.sun_path, where.c_str(), sizeof(a.sun_path) - 1);
      rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(std::stoi(where.substr(where.rfind(':') + 1))));
      rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    }
    if (rc == 0) {
      joined = true;
      (void)!write(fd, text.data(), text.size());
      if (half_close) shutdown(fd, SHUT_WR);
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
    }
    done = true;
  });
  int wake[2];
  EXPECT_EQ(pipe(wake), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done.load() && std::chrono::steady_clock::now() < deadline) server.serve(wake[0], 50ms);
  if (!done.load()) {
    ADD_FAILURE() << "no answer within 60 s to " << text.substr(0, 40);
    shutdown(fd, SHUT_RDWR);  // the client's read returns
  }
  client.join();
  close(fd);
  close(wake[0]);
  close(wake[1]);
  if (connected) *connected = joined.load();
  return reply;
}

TEST(ControlHttpHost, AddressesLocalhostAndListedNamesOnly) {
  const std::vector<std::string> listed = {"metrics.example.net"};
  std::string host;
  auto judge = [&](const std::string& head, const std::vector<std::string>& names) {
    return judge_host("GET / HTTP/1.1\r\n" + head + "\r\n", names, &host);
  };
  EXPECT_EQ(judge("", listed), HostVerdict::kAllowed) << "no Host: not a browser";
  EXPECT_EQ(host, "");
  EXPECT_EQ(judge("Host: 198.18.0.1:9100\r\n", listed), HostVerdict::kAllowed);
  EXPECT_EQ(host, "198.18.0.1:9100");
  EXPECT_EQ(judge("Host: [fe80::1]\r\n", listed), HostVerdict::kAllowed);
  EXPECT_EQ(judge("Host: localhost:1\r\n", listed), HostVerdict::kAllowed);
  EXPECT_EQ(judge("Host: a.b.localhost\r\n", listed), HostVerdict::kAllowed);
  EXPECT_EQ(judge("Host: metrics.example.net\r\n", listed), HostVerdict::kAllowed);
  EXPECT_EQ(judge("Host: notlocalhost\r\n", listed), HostVerdict::kRefused);
  EXPECT_EQ(judge("Host: localhost.evil.com\r\n", listed), HostVerdict::kRefused);
  EXPECT_EQ(judge("Host: 127.0.0.1.evil.com\r\n", listed), HostVerdict::kRefused);
  EXPECT_EQ(judge("Host: example.net\r\n", listed), HostVerdict::kRefused);
  EXPECT_EQ(judge("Host: example.net\r\n", {"*"}), HostVerdict::kAllowed);
  EXPECT_EQ(judge("Host: [::1\r\n", listed), HostVerdict::kBad);
  EXPECT_EQ(judge("Host: [zz]:80\r\n", listed), HostVerdict::kBad);
  EXPECT_EQ(judge("Host: a b\r\n", listed), HostVerdict::kBad);
  // Not a host name by the rule the config holds metrics_hosts to either.
  EXPECT_EQ(judge("Host: -a.example\r\n", {"*"}), HostVerdict::kBad);
  EXPECT_EQ(judge("Host: .a.example\r\n", {"*"}), HostVerdict::kBad);
  EXPECT_EQ(judge("Host: a:port\r\n", listed), HostVerdict::kBad);
  EXPECT_EQ(judge("Host:\r\n", listed), HostVerdict::kBad);
  // Only the head counts: a "Host:" after the blank line is body.
  EXPECT_EQ(judge("\r\nHost: evil.com\r\n", listed), HostVerdict::kAllowed);
}

TEST(ControlServer, AnswersOnItsSocketAndOverHttp) {
  const std::string dir = "/tmp/bypass-ctl-test-" + std::to_string(getpid());
  setenv("BYPASS_RUN_DIR", dir.c_str(), 1);
  ControlConfig c;
  c.name = "unit";
  c.metrics = "127.0.0.1:0";
  auto s = ControlServer::open(c, "prog");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ((*s)->socket_path(), dir + "/unit.sock");
  uint64_t rx = 10;
  auto plane = std::make_unique<ControlPlane>(
      **s, "prog", [&rx] { return made_up(static_cast<double>(rx) / 10, rx); });
  rx = 30;
  plane->tick(made_up(3, 30));
  EXPECT_EQ(plane->latest()->workers[0].c.rx_packets, 30u);

  std::string r = request(AF_UNIX, (*s)->socket_path(), "workers --json\n", **s);
  EXPECT_EQ(r.substr(0, 3), "ok\n") << r;
  EXPECT_NE(r.find("\"rx_packets\":30"), std::string::npos) << r;
  r = request(AF_UNIX, (*s)->socket_path(), "bogus\n", **s);
  EXPECT_EQ(r, "error\nthere is no command 'bogus': \"help\" lists them.\n");

  r = request(AF_INET, (*s)->http_address(), "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
              **s);
  EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK") << r;
  EXPECT_NE(r.find("bypass_worker_rx_packets_total{worker=\"1\",cpu=\"3\"} 30"), std::string::npos)
      << r;
  r = request(AF_INET, (*s)->http_address(), "GET /api/ports?limit=3 HTTP/1.1\r\n\r\n", **s);
  EXPECT_NE(r.find("application/json"), std::string::npos) << r;
  r = request(AF_INET, (*s)->http_address(), "POST /metrics HTTP/1.1\r\n\r\n", **s);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 405") << r;
  r = request(AF_INET, (*s)->http_address(), "GET /nothing HTTP/1.1\r\n\r\n", **s);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 404") << r;

  // A command that changes the server runs on the socket only: whoever can
  // reach the HTTP port (a web page in a browser, say) cannot run it.
  int changed = 0;
  (*s)->add_command("change", "changes something", [&changed](const CommandRequest&) {
    ++changed;
    return CommandReply{true, "changed"};
  });
  r = request(AF_INET, (*s)->http_address(), "GET /api/change?arg=x HTTP/1.1\r\n\r\n", **s);
  EXPECT_EQ(r.substr(0, 22), "HTTP/1.1 403 Forbidden") << r;
  EXPECT_NE(r.find("served on the control socket only"), std::string::npos) << r;
  EXPECT_EQ(changed, 0);
  // Nor can the target smuggle it in: "/api/ports change" once ran `ports`
  // as a line... and "/api/change x" ran `change` (the 403 looked up the
  // whole "change x"). A target with a space is a bad request; a query
  // argument is one argument, never a command or an option.
  for (const char* line :
       {"GET /api/change x HTTP/1.1\r\n\r\n", "GET /api/change\tx HTTP/1.1\r\n\r\n",
        "GET /api/ports change HTTP/1.1\r\n\r\n"}) {
    r = request(AF_INET, (*s)->http_address(), line, **s);
    EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 400") << line << r;
  }
  (*s)->add_view("echo", "its arguments", [](const CommandRequest& q) {
    std::string out = q.json ? "json" : "text";
    for (const auto& a : q.args) out += "|" + a;
    return CommandReply{true, out + "|" + std::to_string(q.limit)};
  });
  r = request(AF_INET, (*s)->http_address(),
              "GET /api/echo?arg=change%20--limit%205&arg=--json&limit=7 HTTP/1.1\r\n\r\n", **s);
  EXPECT_NE(r.find("\r\n\r\njson|change%20--limit%205|--json|7"), std::string::npos) << r;
  r = request(AF_INET, (*s)->http_address(), "GET /api/echo?limit=x HTTP/1.1\r\n\r\n", **s);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 400") << r;
  EXPECT_EQ(changed, 0);
  r = request(AF_UNIX, (*s)->socket_path(), "change\n", **s);
  EXPECT_EQ(r, "ok\nchanged\n");
  EXPECT_EQ(changed, 1);
  // A client that ends its request without a newline and closes its side is
  // still answered (it was left to its deadline, and the loop spun).
  r = request(AF_UNIX, (*s)->socket_path(), "change", **s, /*half_close=*/true);
  EXPECT_EQ(r, "ok\nchanged\n");
  // A request over 8 KiB is answered with why, not dropped without a word.
  r = request(AF_UNIX, (*s)->socket_path(), std::string(9000, 'x') + "\n", **s);
  EXPECT_EQ(r, "error\nthe request is over 8 KiB: send one command, of a line.\n");
  // An HTTP request cut short is dropped.
  bool connected = false;
  r = request(AF_INET, (*s)->http_address(), "GET /metrics HTTP/1.1\r\n", **s, true, &connected);
  EXPECT_TRUE(connected) << "dropped, not refused";
  EXPECT_EQ(r, "");

  // 64 idle connections (anyone on the host may open them: HTTP has no
  // login) fill the HTTP room; a scrape still gets its answer, in place of
  // the oldest idle one.
  std::vector<int> idle;
  int wake[2];
  ASSERT_EQ(pipe(wake), 0);
  for (int i = 0; i < 64; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string& where = (*s)->http_address();
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(where.substr(where.rfind(':') + 1))));
    const int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
    idle.push_back(fd);
    if (i % 8 == 7) (*s)->serve(wake[0], 20ms);  // accepted before the backlog (16) fills
  }
  close(wake[0]);
  close(wake[1]);
  r = request(AF_INET, (*s)->http_address(), "GET /metrics HTTP/1.1\r\n\r\n", **s);
  EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK") << "a scrape with the HTTP room full of idle ones";
  for (int fd : idle) close(fd);

  // A second server of the same name while the first answers: its own name.
  auto twin = ControlServer::open(c, "prog");
  ASSERT_TRUE(twin) << twin.error();
  EXPECT_EQ((*twin)->socket_path(), dir + "/unit-" + std::to_string(getpid()) + ".sock");
  const std::string path = (*s)->socket_path();
  plane.reset();  // its commands leave the server with it
  EXPECT_EQ((*s)->run_line("stats").body, "there is no command 'stats': \"help\" lists them.");
  s->reset();
  twin->reset();
  EXPECT_FALSE(std::filesystem::exists(path));
  // A server whose socket file another bypass replaced (taking it for stale)
  // leaves that one's file when it ends.
  c.metrics.clear();
  auto first = ControlServer::open(c, "prog");
  ASSERT_TRUE(first) << first.error();
  ASSERT_EQ(unlink(path.c_str()), 0);
  auto second = ControlServer::open(c, "prog");
  ASSERT_TRUE(second) << second.error();
  ASSERT_EQ((*second)->socket_path(), path);
  first->reset();
  EXPECT_TRUE(std::filesystem::exists(path)) << "the first removed the second's socket";
  EXPECT_EQ(request(AF_UNIX, path, "help\n", **second).substr(0, 3), "ok\n");
  second->reset();
  EXPECT_FALSE(std::filesystem::exists(path));
  // DNS rebinding: a page whose name now resolves to 127.0.0.1 sends its
  // own name as Host. Refused, saying how to allow a name; a listed name,
  // an address and localhost are answered.
  c.metrics = "127.0.0.1:0";
  c.metrics_hosts = {"metrics.example.net"};
  auto named = ControlServer::open(c, "prog");
  ASSERT_TRUE(named) << named.error();
  const std::string& at = (*named)->http_address();
  r = request(AF_INET, at, "GET /api/help HTTP/1.1\r\nHost: rebind.example.com:9100\r\n\r\n",
              **named);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 403") << r;
  EXPECT_NE(r.find("the Host 'rebind.example.com:9100' is not an address of this server nor a "
                   "name it was given: add the name to [control] metrics_hosts to answer it."),
            std::string::npos)
      << r;
  EXPECT_EQ(r.find("\"help\""), std::string::npos) << "the refused request was answered: " << r;
  for (const char* host : {"Metrics.Example.NET:9100", "127.0.0.1:9100", "[::1]:9100", "localhost",
                           "LOCALHOST.:80", "app.localhost"}) {
    r = request(AF_INET, at, std::string("GET /api/help HTTP/1.1\r\nhost:  ") + host + "\r\n\r\n",
                **named);
    EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK") << host << ": " << r;
  }
  r = request(AF_INET, at, "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: 127.0.0.1\r\n\r\n", **named);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 400") << "two Hosts: " << r;
  named->reset();

  c.metrics = "localhost:80";
  EXPECT_EQ(ControlServer::open(c, "prog").error(),
            "[control] metrics = \"localhost:80\" is not an address to listen on: write it as "
            "\"127.0.0.1:9100\" or \"[::1]:9100\".");
  std::filesystem::remove_all(dir);
  unsetenv("BYPASS_RUN_DIR");
}

}  // namespace
}  // namespace bypass
