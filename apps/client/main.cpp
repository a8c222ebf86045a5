// bypass-client: an ordinary Linux UDP client for bypass-udpd (or any UDP
// echo / static-content server). `echo` sends datagrams and checks that each
// comes back intact, with round-trip times; `fetch` downloads static content;
// `send` fires datagrams without waiting (discard). Exit 0 only if every
// answer arrived and matched.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
};

bool resolve(const std::string& host, uint16_t port, Target* t) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&t->addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&t->addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    t->len = sizeof(*v4);
    t->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    t->len = sizeof(*v6);
    t->family = AF_INET6;
    return true;
  }
  return false;
}

// Waits up to `ms` for one datagram; returns its size or -1.
ssize_t recv_wait(int fd, uint8_t* buf, size_t cap, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return -1;
  return recv(fd, buf, cap, 0);
}

int echo(int fd, const Target& t, unsigned count, unsigned size, unsigned window, int timeout_ms) {
  std::vector<uint8_t> out(std::max(size, 8u)), in(65536);
  std::vector<double> rtt;
  std::map<uint64_t, Clock::time_point> outstanding;
  unsigned sent = 0, ok = 0, bad = 0;
  auto fill = [&](uint64_t seq) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(seq * 31 + i);
    std::memcpy(out.data(), &seq, 8);
  };
  while (ok + bad < count) {
    while (sent < count && outstanding.size() < window) {
      fill(sent);
      if (sendto(fd, out.data(), size, 0, reinterpret_cast<const sockaddr*>(&t.addr), t.len) < 0) {
        std::perror("sendto");
        return 1;
      }
      outstanding[sent++] = Clock::now();
    }
    ssize_t n = recv_wait(fd, in.data(), in.size(), timeout_ms);
    if (n < 0) break;  // the rest is lost
    if (n < 8 && size >= 8) {
      ++bad;
      continue;
    }
    uint64_t seq = 0;
    if (size >= 8) std::memcpy(&seq, in.data(), 8);
    auto it = outstanding.find(seq);
    if (it == outstanding.end()) {
      ++bad;
      continue;
    }
    fill(seq);
    if (static_cast<unsigned>(n) == size && std::memcmp(in.data(), out.data(), size) == 0) {
      ++ok;
      rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - it->second).count());
    } else {
      ++bad;
    }
    outstanding.erase(it);
  }
  std::sort(rtt.begin(), rtt.end());
  auto pct = [&](double p) {
    return rtt.empty() ? 0.0 : rtt[std::min(rtt.size() - 1, size_t(p * rtt.size()))];
  };
  std::printf(
      "echo: sent %u, answered %u, wrong %u, lost %u; rtt p50 %.1f us p99 %.1f us max %.1f us\n",
      sent, ok, bad, count - ok - bad, pct(0.5), pct(0.99), rtt.empty() ? 0.0 : rtt.back());
  return ok == count ? 0 : 1;
}

int fetch(int fd, const Target& t, const std::string& out_path, int timeout_ms) {
  std::map<uint32_t, std::vector<uint8_t>> chunks;
  uint32_t total = 1;
  std::vector<uint8_t> in(65536);
  for (int round = 0; round < 50 && chunks.size() < total; ++round) {
    uint32_t first = 0;
    while (chunks.count(first)) ++first;
    uint32_t req[2] = {htonl(first), htonl(16)};
    sendto(fd, req, 8, 0, reinterpret_cast<const sockaddr*>(&t.addr), t.len);
    ssize_t n;
    while ((n = recv_wait(fd, in.data(), in.size(), timeout_ms)) >= 8) {
      uint32_t h[2];
      std::memcpy(h, in.data(), 8);
      total = ntohl(h[1]);
      chunks[ntohl(h[0])].assign(in.begin() + 8, in.begin() + n);
      if (chunks.size() == total) break;
    }
  }
  if (chunks.size() != total) {
    std::printf("fetch: got %zu of %u chunks\n", chunks.size(), total);
    return 1;
  }
  size_t bytes = 0;
  std::ofstream f(out_path, std::ios::binary);
  for (auto& [i, c] : chunks) {
    f.write(reinterpret_cast<const char*>(c.data()), static_cast<std::streamsize>(c.size()));
    bytes += c.size();
  }
  std::printf("fetch: %u chunks, %zu bytes written to %s\n", total, bytes, out_path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bypass-client: talk UDP to bypass-udpd from an ordinary Linux host."};
  std::string mode = "echo", host, out = "fetched.bin";
  uint16_t port = 7;
  unsigned count = 10, size = 64, window = 1;
  int timeout_ms = 1000;
  app.add_option("mode", mode, "echo, fetch or send")
      ->check(CLI::IsMember({"echo", "fetch", "send"}));
  app.add_option("host", host, "server address (IPv4 or IPv6)")->required();
  app.add_option("port", port, "server UDP port");
  app.add_option("-n,--count", count, "datagrams to send");
  app.add_option("-s,--size", size, "payload bytes")->check(CLI::Range(0, 65000));
  app.add_option("-w,--window", window, "datagrams in flight at most")
      ->check(CLI::Range(1, 100000));
  app.add_option("--timeout-ms", timeout_ms, "how long to wait for an answer");
  app.add_option("-o,--output", out, "fetch: where to write the content");
  CLI11_PARSE(app, argc, argv);
  Target t;
  if (!resolve(host, port, &t)) {
    std::fprintf(
        stderr, "bypass-client: \"%s\" is not an IPv4 or IPv6 address: give one like 198.18.0.2.\n",
        host.c_str());
    return 2;
  }
  int fd = socket(t.family, SOCK_DGRAM, 0);
  if (fd < 0) {
    std::perror("socket");
    return 2;
  }
  int rc;
  if (mode == "echo") {
    rc = echo(fd, t, count, size, window, timeout_ms);
  } else if (mode == "fetch") {
    rc = fetch(fd, t, out, timeout_ms);
  } else {
    std::vector<uint8_t> buf(size, 0x5a);
    unsigned sent = 0;
    for (; sent < count; ++sent)
      if (sendto(fd, buf.data(), size, 0, reinterpret_cast<const sockaddr*>(&t.addr), t.len) < 0)
        break;
    std::printf("send: %u datagrams of %u bytes\n", sent, size);
    rc = sent == count ? 0 : 1;
  }
  close(fd);
  return rc;
}
