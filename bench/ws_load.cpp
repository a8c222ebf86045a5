// ws_load: the WebSocket side of the message comparison (scripts/bench-messages).
// N connections to a WebSocket echo server (RFC 6455: HTTP upgrade, masked
// binary frames), each keeping K messages in flight (or sending at a fixed
// rate per connection), one epoll loop. Prints one line a second and a
// summary in the same words as `bypass-client load`, so the script reads
// both the same way.
//   ws_load HOST PORT CONNECTIONS IN_FLIGHT SIZE SECONDS [RATE_PER_CONNECTION]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

struct Conn {
  int fd = -1;
  uint8_t mask[4] = {0x37, 0xa1, 0x5c, 0x0e};
  std::vector<uint8_t> in, out;
  size_t in_at = 0;
  uint64_t outstanding = 0, next_send_ns = 0;
};

double pct(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

// A masked binary frame carrying `size` bytes, the first 8 the send time.
void put_frame(Conn& c, size_t size, uint64_t t) {
  uint8_t h[14];
  size_t n = 0;
  h[n++] = 0x82;
  if (size < 126) {
    h[n++] = static_cast<uint8_t>(0x80 | size);
  } else if (size <= 0xFFFF) {
    h[n++] = 0x80 | 126;
    h[n++] = static_cast<uint8_t>(size >> 8);
    h[n++] = static_cast<uint8_t>(size);
  } else {
    h[n++] = 0x80 | 127;
    for (int i = 7; i >= 0; --i) h[n++] = static_cast<uint8_t>(uint64_t(size) >> (8 * i));
  }
  std::memcpy(h + n, c.mask, 4);
  n += 4;
  c.out.insert(c.out.end(), h, h + n);
  const size_t at = c.out.size();
  c.out.resize(at + size, 'x');
  std::memcpy(c.out.data() + at, &t, 8);
  for (size_t i = 0; i < size; ++i) c.out[at + i] ^= c.mask[i & 3];
}

bool connect_ws(Conn& c, const char* host, int port) {
  c.fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return false;
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string req = std::string("GET / HTTP/1.1\r\nHost: ") + host + ":" +
                          std::to_string(port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
  if (write(c.fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return false;
  std::string resp;
  char buf[1024];
  while (resp.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n <= 0) return false;
    resp.append(buf, static_cast<size_t>(n));
  }
  // The accept value for this key is fixed by RFC 6455's own example.
  if (resp.find(" 101 ") == std::string::npos ||
      resp.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == std::string::npos)
    return false;
  const size_t body = resp.find("\r\n\r\n") + 4;
  c.in.assign(resp.begin() + static_cast<long>(body), resp.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: ws_load HOST PORT CONNECTIONS IN_FLIGHT SIZE SECONDS [RATE_PER_CONN]\n");
    return 2;
  }
  const char* host = argv[1];
  const int port = std::atoi(argv[2]);
  const unsigned conns = static_cast<unsigned>(std::atoi(argv[3]));
  const uint64_t in_flight = static_cast<uint64_t>(std::atoi(argv[4]));
  const size_t size = static_cast<size_t>(std::atoi(argv[5]));
  const double seconds = std::atof(argv[6]);
  const double rate = argc > 7 ? std::atof(argv[7]) : 0;
  if (size < 8) {
    std::fprintf(stderr, "ws_load: messages are at least 8 bytes (a send time travels in them)\n");
    return 2;
  }
  std::vector<Conn> cs(conns);
  const int ep = epoll_create1(0);
  for (unsigned i = 0; i < conns; ++i) {
    if (!connect_ws(cs[i], host, port)) {
      std::fprintf(stderr, "ws_load: connection %u to %s:%d failed\n", i + 1, host, port);
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  std::printf("connected: %u of %u\n", conns, conns);
  uint64_t sent = 0, echoed = 0, interval_echoed = 0;
  std::vector<double> lat, interval_lat;
  const uint64_t start = now_ns();
  const uint64_t stop = start + static_cast<uint64_t>(seconds * 1e9);
  uint64_t next_report = start + 1'000'000'000;
  int second = 0;
  const uint64_t gap = rate > 0 ? static_cast<uint64_t>(1e9 / rate) : 0;
  std::vector<epoll_event> evs(conns);
  uint8_t rbuf[65536 * 2];
  for (;;) {
    const uint64_t t = now_ns();
    if (t >= stop) break;
    for (Conn& c : cs) {
      while (c.outstanding < in_flight && (gap == 0 || t >= c.next_send_ns)) {
        put_frame(c, size, t);
        ++c.outstanding;
        ++sent;
        if (gap) c.next_send_ns = std::max(c.next_send_ns + gap, t);
      }
      if (!c.out.empty()) {
        const ssize_t n = write(c.fd, c.out.data(), c.out.size());
        if (n > 0) c.out.erase(c.out.begin(), c.out.begin() + n);
      }
    }
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 1);
    const uint64_t rt = now_ns();
    for (int k = 0; k < n; ++k) {
      Conn& c = cs[evs[k].data.u32];
      const ssize_t r = read(c.fd, rbuf, sizeof rbuf);
      if (r <= 0) continue;
      c.in.insert(c.in.end(), rbuf, rbuf + r);
      for (;;) {
        const size_t avail = c.in.size() - c.in_at;
        const uint8_t* p = c.in.data() + c.in_at;
        if (avail < 2) break;
        size_t len = p[1] & 0x7F, hl = 2;
        if (len == 126) {
          if (avail < 4) break;
          len = size_t{p[2]} << 8 | p[3];
          hl = 4;
        } else if (len == 127) {
          if (avail < 10) break;
          len = 0;
          for (int i = 0; i < 8; ++i) len = len << 8 | p[2 + i];
          hl = 10;
        }
        if (avail < hl + len) break;
        if ((p[0] & 0x0F) == 0x2 && len >= 8) {
          uint64_t ts;
          std::memcpy(&ts, p + hl, 8);
          const double us = static_cast<double>(rt - ts) / 1e3;
          interval_lat.push_back(us);
          ++interval_echoed;
          if (c.outstanding) --c.outstanding;
        }
        c.in_at += hl + len;
      }
      if (c.in_at == c.in.size()) {
        c.in.clear();
        c.in_at = 0;
      }
    }
    if (rt >= next_report) {
      next_report += 1'000'000'000;
      ++second;
      std::printf("t=%ds msgs/s %llu lat_us p50 %.0f p99 %.0f p99.9 %.0f\n", second,
                  static_cast<unsigned long long>(interval_echoed), pct(interval_lat, 0.5),
                  pct(interval_lat, 0.99), pct(interval_lat, 0.999));
      std::fflush(stdout);
      echoed += interval_echoed;
      lat.insert(lat.end(), interval_lat.begin(), interval_lat.end());
      interval_echoed = 0;
      interval_lat.clear();
    }
  }
  echoed += interval_echoed;
  lat.insert(lat.end(), interval_lat.begin(), interval_lat.end());
  for (Conn& c : cs) close(c.fd);
  std::printf(
      "message load: %u connections, %u opened, 0 closed early; websocket %zu-byte messages, %s; "
      "sent %llu echoed %llu (%.0f msgs/s); latency p50 %.0f us p99 %.0f us p99.9 %.0f us\n",
      conns, conns, size, rate > 0 ? "fixed rate" : "in flight",
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(echoed),
      static_cast<double>(echoed) / seconds, pct(lat, 0.5), pct(lat, 0.99), pct(lat, 0.999));
  return echoed > 0 ? 0 : 1;
}
