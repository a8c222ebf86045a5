// bypass-client: an ordinary Linux UDP client for bypass-udpd (or any UDP
// echo / static-content server). `echo` sends datagrams and checks that each
// comes back intact, with round-trip times; `fetch` downloads static content;
// `send` fires datagrams without waiting (discard); `flood` is a kernel-socket
// load generator for an echo server (sendmmsg bursts, recvmmsg of the echoes,
// a window of datagrams in flight, optional pacing, RTT percentiles). Exit 0
// only if every answer arrived and matched (flood: if any echo came back).
// `token` and `netcode` speak netcode.io 1.02 (netcode.hpp); `load` speaks
// bypass's message protocol over it (messages.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <bypass/control/cli_flags.hpp>

#include <bypass/udp/udp_socket.hpp>

#include "rtt_histogram.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>
#include <vector>
#include "chat.hpp"
#include "messages.hpp"
#include "netcode.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using bypass::client::RttHistogram;

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

// Waits up to `ms` for one datagram from the target (any other sender's are
// read and ignored); returns its size or -1.
ssize_t recv_wait(int fd, const Target& t, uint8_t* buf, size_t cap, int ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left < 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return -1;
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    const ssize_t n = recvfrom(fd, buf, cap, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) return -1;
    if (bypass::from_sockaddr(from) == bypass::from_sockaddr(t.addr)) return n;
  }
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
    ssize_t n = recv_wait(fd, t, in.data(), in.size(), timeout_ms);
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
  auto pct = [&](double p) {  // nearest rank: the ceil(p N)-th smallest
    if (rtt.empty()) return 0.0;
    const double r = std::ceil(p * static_cast<double>(rtt.size()));
    return rtt[std::min(rtt.size() - 1, r <= 1 ? size_t{0} : static_cast<size_t>(r) - 1)];
  };
  std::printf(
      "echo: sent %u, answered %u, wrong %u, lost %u; rtt p50 %.1f us p99 %.1f us max %.1f us\n",
      sent, ok, bad, count - ok - bad, pct(0.5), pct(0.99), rtt.empty() ? 0.0 : rtt.back());
  return ok == count ? 0 : 1;
}

int fetch(int fd, const Target& t, const std::string& out_path, int timeout_ms) {
  // The first answer says how many chunks there are; an answer that says
  // otherwise, or names a chunk past them, is ignored (counted as wrong).
  constexpr uint32_t kMaxChunks = 1u << 20;  // a GiB of 1 KiB chunks
  std::map<uint32_t, std::vector<uint8_t>> chunks;
  uint32_t total = 0;
  unsigned wrong = 0;
  std::vector<uint8_t> in(65536);
  for (int round = 0; round < 50 && (total == 0 || chunks.size() < total); ++round) {
    uint32_t first = 0;
    while (chunks.count(first)) ++first;
    uint32_t req[2] = {htonl(first), htonl(16)};
    sendto(fd, req, 8, 0, reinterpret_cast<const sockaddr*>(&t.addr), t.len);
    ssize_t n;
    while ((n = recv_wait(fd, t, in.data(), in.size(), timeout_ms)) >= 0) {
      uint32_t h[2];
      if (n < 8) {
        ++wrong;
        continue;
      }
      std::memcpy(h, in.data(), 8);
      const uint32_t index = ntohl(h[0]), says = ntohl(h[1]);
      if (total == 0 && says >= 1 && says <= kMaxChunks) total = says;
      if (says != total || index >= total) {
        ++wrong;
        continue;
      }
      chunks[index].assign(in.begin() + 8, in.begin() + n);
      if (chunks.size() == total) break;
    }
  }
  if (total == 0 || chunks.size() != total) {
    std::printf("fetch: got %zu of %u chunks (%u answers wrong)\n", chunks.size(), total, wrong);
    return 1;
  }
  size_t bytes = 0;
  std::ofstream f(out_path, std::ios::binary);
  for (auto& [i, c] : chunks) {
    f.write(reinterpret_cast<const char*>(c.data()), static_cast<std::streamsize>(c.size()));
    bytes += c.size();
  }
  f.close();
  if (!f) {
    std::fprintf(stderr, "bypass-client: could not write '%s' (disk full?): the content is lost.\n",
                 out_path.c_str());
    return 1;
  }
  std::printf("fetch: %u chunks, %zu bytes written to %s\n", total, bytes, out_path.c_str());
  return 0;
}

// ---- flood ------------------------------------------------------------------

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct FloodOptions {
  unsigned size = 18;          // payload bytes (18: a 64-byte Ethernet frame with FCS)
  double seconds = 5;          // how long to send
  double rate = 0;             // datagrams per second over all threads; 0: as fast as possible
  unsigned threads = 1;        // sockets/threads
  std::vector<unsigned> cpus;  // pin thread i to cpus[i % size]
  unsigned batch = 32;         // datagrams per sendmmsg / recvmmsg
  unsigned window = 256;       // datagrams in flight per thread at most
  int loss_timeout_ms = 20;    // no echo for this long with a full window: the rest is lost
  int sockbuf = 4 << 20;       // SO_RCVBUF / SO_SNDBUF of each socket
};

struct FloodResult {
  uint64_t sent = 0, received = 0, wrong = 0, written_off = 0, send_errors = 0, stalls = 0;
  double seconds = 0;
  RttHistogram rtt;
  bool failed = false;
};

void raise_buf(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

// One thread: its own connected socket (so its own source port, which spreads
// the threads over an SO_REUSEPORT server's sockets). Sends in sendmmsg bursts
// while fewer than `window` datagrams are unanswered (and, with a rate, when
// they are due), then collects echoes with recvmmsg. Each datagram carries a
// sequence number and its send time, so an echo gives an RTT. In flight means
// sent after the newest datagram echoed so far: an echo server on one socket
// answers in order, so anything older that has not come back was dropped and
// no longer holds the window. When the window is full and no echo arrives for
// `loss_timeout_ms` (every datagram in flight dropped), they are written off
// and sending resumes.
void flood_thread(const Target& t, const FloodOptions& o, unsigned index, double thread_rate,
                  uint64_t start_ns, uint64_t end_ns, const std::atomic<bool>& go, FloodResult* r) {
  if (!o.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpus[index % o.cpus.size()], &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
      std::fprintf(stderr, "bypass-client: cannot pin flood thread %u to CPU %u\n", index,
                   o.cpus[index % o.cpus.size()]);
  }
  int fd = socket(t.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len) != 0) {
    std::perror("bypass-client: flood socket");
    if (fd >= 0) close(fd);
    r->failed = true;
    return;
  }
  raise_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, o.sockbuf);
  raise_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, o.sockbuf);

  const unsigned B = o.batch;
  const size_t slot = std::max<size_t>(o.size, 16);
  const size_t rslot = 2048;
  std::vector<uint8_t> txbuf(size_t(B) * slot), rxbuf(size_t(B) * rslot);
  std::vector<iovec> txiov(B), rxiov(B);
  std::vector<mmsghdr> txm(B), rxm(B);
  for (unsigned i = 0; i < B; ++i) {
    uint8_t* p = txbuf.data() + size_t(i) * slot;
    for (size_t k = 0; k < slot; ++k) p[k] = static_cast<uint8_t>(0xa5 ^ k);
    txiov[i] = {p, o.size};
    txm[i].msg_hdr = {};
    txm[i].msg_hdr.msg_iov = &txiov[i];
    txm[i].msg_hdr.msg_iovlen = 1;
    rxiov[i] = {rxbuf.data() + size_t(i) * rslot, rslot};
    rxm[i].msg_hdr = {};
    rxm[i].msg_hdr.msg_iov = &rxiov[i];
    rxm[i].msg_hdr.msg_iovlen = 1;
  }
  const bool stamped = o.size >= 16;
  uint64_t seq = 0;   // datagrams sent
  uint64_t base = 0;  // 1 + the newest sequence number echoed (or written off)
  uint64_t last_progress = 0;
  while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
  uint64_t now = now_ns();
  last_progress = now;
  while (now < end_ns) {
    // Send what the window (and the rate) allow, one sendmmsg per batch.
    int64_t room = static_cast<int64_t>(o.window) - static_cast<int64_t>(seq - base);
    if (thread_rate > 0) {
      const double due = static_cast<double>(now - start_ns) * 1e-9 * thread_rate;
      room = std::min<int64_t>(room, static_cast<int64_t>(due) - static_cast<int64_t>(seq));
    }
    if (room > 0) {
      unsigned k = static_cast<unsigned>(std::min<int64_t>(room, B));
      if (stamped) {
        const uint64_t stamp = now_ns();
        for (unsigned i = 0; i < k; ++i) {
          uint64_t hdr[2] = {seq + i, stamp};
          std::memcpy(txiov[i].iov_base, hdr, 16);
        }
      }
      int n = sendmmsg(fd, txm.data(), k, 0);
      if (n > 0) {
        seq += static_cast<unsigned>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                 errno != ENOBUFS) {
        // ECONNREFUSED and the like: an ICMP error reached the connected socket.
        ++r->send_errors;
      }
    }
    // Collect echoes.
    int got = recvmmsg(fd, rxm.data(), B, MSG_DONTWAIT, nullptr);
    if (got > 0) {
      const uint64_t at = now_ns();
      for (int i = 0; i < got; ++i) {
        if (rxm[i].msg_len != o.size) {
          ++r->wrong;
          continue;
        }
        ++r->received;
        if (stamped) {
          uint64_t hdr[2];
          std::memcpy(hdr, rxiov[i].iov_base, 16);
          if (hdr[0] < seq && hdr[1] <= at) {
            r->rtt.add(at - hdr[1]);
            base = std::max(base, hdr[0] + 1);
          }
        } else {
          base = std::min(seq, base + 1);  // no sequence numbers: count echoes
        }
      }
      last_progress = at;
    } else if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      ++r->send_errors;  // a pending ICMP error is reported here too
    }
    now = now_ns();
    if (got <= 0 && seq - base >= o.window) {
      // Window full and nothing came back: wait for an echo, not spin.
      if (now - last_progress >= uint64_t(o.loss_timeout_ms) * 1'000'000ull) {
        r->written_off += seq - base;
        base = seq;
        ++r->stalls;
        last_progress = now;
      } else {
        pollfd p{fd, POLLIN, 0};
        (void)poll(&p, 1, 1);
        now = now_ns();
      }
    }
  }
  r->seconds = static_cast<double>(now - start_ns) * 1e-9;
  // Echoes still in flight at the end: collect them for a moment, not counted
  // as sent-but-lost when they arrive (they were sent inside the duration).
  const uint64_t drain_end = now_ns() + 50'000'000ull;
  while (r->received + r->wrong < seq && now_ns() < drain_end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) continue;
    int got = recvmmsg(fd, rxm.data(), B, MSG_DONTWAIT, nullptr);
    if (got <= 0) continue;
    for (int i = 0; i < got; ++i) (rxm[i].msg_len == o.size ? r->received : r->wrong)++;
  }
  r->sent = seq;
  close(fd);
}

int flood(const Target& t, const FloodOptions& o) {
  std::vector<FloodResult> res(o.threads);
  std::vector<std::thread> th;
  std::atomic<bool> go{false};
  const uint64_t start = now_ns() + 20'000'000ull;  // 20 ms for the threads to start
  const uint64_t end = start + static_cast<uint64_t>(o.seconds * 1e9);
  const double per = o.rate > 0 ? o.rate / o.threads : 0;
  for (unsigned i = 0; i < o.threads; ++i)
    th.emplace_back(flood_thread, std::cref(t), std::cref(o), i, per, start, end, std::cref(go),
                    &res[i]);
  while (now_ns() < start) std::this_thread::sleep_for(std::chrono::microseconds(200));
  go.store(true, std::memory_order_release);
  for (auto& x : th) x.join();
  FloodResult all;
  for (const auto& r : res) {
    all.sent += r.sent;
    all.received += r.received;
    all.wrong += r.wrong;
    all.written_off += r.written_off;
    all.send_errors += r.send_errors;
    all.stalls += r.stalls;
    all.seconds = std::max(all.seconds, r.seconds);
    all.rtt.merge(r.rtt);
    all.failed |= r.failed;
  }
  const double secs = all.seconds > 0 ? all.seconds : o.seconds;
  const uint64_t lost = all.sent > all.received ? all.sent - all.received : 0;
  // One line a script can split on spaces: key value pairs after "flood:".
  std::printf(
      "flood: sent %llu received %llu lost %llu wrong %llu seconds %.3f sent_pps %.0f "
      "received_pps %.0f threads %u window %u batch %u size %u offered_pps %.0f stalls %llu "
      "errors %llu\n",
      static_cast<unsigned long long>(all.sent), static_cast<unsigned long long>(all.received),
      static_cast<unsigned long long>(lost), static_cast<unsigned long long>(all.wrong), secs,
      static_cast<double>(all.sent) / secs, static_cast<double>(all.received) / secs, o.threads,
      o.window, o.batch, o.size, o.rate, static_cast<unsigned long long>(all.stalls),
      static_cast<unsigned long long>(all.send_errors));
  if (o.size >= 16) {
    auto us = [&](double p) { return static_cast<double>(all.rtt.percentile(p)) / 1e3; };
    std::printf(
        "flood-rtt: samples %llu p50_us %.1f p90_us %.1f p99_us %.1f p999_us %.1f max_us %.1f\n",
        static_cast<unsigned long long>(all.rtt.count()), us(50), us(90), us(99), us(99.9),
        static_cast<double>(all.rtt.max()) / 1e3);
  }
  std::fflush(stdout);
  return all.failed || all.received == 0 ? 1 : 0;
}

// An option's check: the whole value a finite number from lo to hi (CLI11's
// Range lets NaN through, and reads "2x" as 2), said as `what`.
CLI::Validator number_in(double lo, double hi, std::string what) {
  return CLI::Validator(
      [lo, hi, what](std::string& v) {
        char* end = nullptr;
        errno = 0;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x) || x < lo || x > hi)
          return "takes " + what + ", not '" + v + "'";
        return std::string();
      },
      "");
}

// A whole number of 0 or more that fits 64 bits (CLI11 clamps a larger one).
std::string whole_u64(const std::string& v) {
  char* end = nullptr;
  errno = 0;
  (void)std::strtoull(v.c_str(), &end, 0);  // 0x10 too, as CLI11 reads it
  if (v.empty() || v.find('-') != std::string::npos || *end != '\0' || errno == ERANGE)
    return "takes a whole number from 0 to 18446744073709551615, not '" + v + "'";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bypass-client: talk UDP to bypass-udpd from an ordinary Linux host."};
  std::string mode = "echo", host, out = "fetched.bin";
  uint16_t port = 7;
  unsigned count = 10, size = 64, window = 1;
  int timeout_ms = 1000;
  FloodOptions fo;
  std::string cpus;
  bypass::client::TokenOptions to;
  bypass::client::NetcodeOptions no;
  app.add_option("mode", mode, "echo, fetch, send, flood, token, netcode, load or chat")
      ->check(
          CLI::IsMember({"echo", "fetch", "send", "flood", "token", "netcode", "load", "chat"}));
  app.add_option("--key", to.key_file, "token: the private key file (32 bytes or 64 hex digits)");
  app.add_option("--protocol-id", to.protocol_id,
                 "token: the protocol id, like 0x1122334455667788");
  app.add_option("--client-id", to.client_id, "token: the client id")->check(whole_u64);
  app.add_option("--lifetime", to.lifetime_seconds, "token: seconds it stays valid (default 30)");
  app.add_option("--token", no.token_file, "token: where to write it; netcode: the token to use");
  app.add_option("--server", to.servers,
                 "token: another server, tried after host port in order: \"198.18.0.2:40000\" "
                 "or \"[2001:db8::1]:40000\" (repeat for more)");
  app.add_option("--token-timeout", to.timeout_seconds,
                 "token: seconds without a packet before the connection ends (default 5; -1: "
                 "never)");
  app.add_option("--user-data", to.user_data,
                 "token: up to 256 bytes for the server's application, as hex digits");
  bypass::client::LoadOptions lo;
  app.add_option("--clients", lo.clients,
                 "netcode: this many clients, each with a token minted from --key (load)")
      ->check(CLI::Range(1, 100000));
  bypass::client::MessageLoadOptions mo;
  app.add_option("--in-flight", mo.in_flight,
                 "load: messages outstanding per connection (default 32); netcode with "
                 "--clients: payloads outstanding per client instead of --rate")
      ->check(CLI::Range(1, 4096));
  app.add_flag("--unreliable", mo.unreliable,
               "load: send on channel 1 (unreliable) instead of 0 (reliable)");
  app.add_flag("--text", mo.text, "load: send text messages instead of binary");
  app.add_flag("--gso", mo.gso,
               "load, netcode with --clients: send runs of same-size datagrams with "
               "UDP_SEGMENT (for a server behind a NIC, kernel sockets or AF_XDP; not "
               "net_af_packet on a veth, which gets each run whole, as one frame)");
  std::string room;
  app.add_option("--room", room, "chat: the room to join");
  app.add_option("host", host, "server address (IPv4 or IPv6)")->required();
  app.add_option("port", port, "server UDP port")
      ->check(number_in(1, 65535, "a UDP port from 1 to 65535"));
  app.add_option("-n,--count", count, "datagrams to send (echo, send)");
  app.add_option("-s,--size", size,
                 "payload bytes (flood: default 18, a 64-byte Ethernet frame; load: message bytes, "
                 "up to 65536)")
      ->check(CLI::Range(0, 65536));
  app.add_option("-w,--window", window,
                 "datagrams in flight at most (flood: per thread, default 256)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--timeout-ms", timeout_ms, "how long to wait for an answer")
      ->check(number_in(1, 3600000, "milliseconds from 1 to 3600000"));
  app.add_option("-o,--output", out, "fetch: where to write the content");
  app.add_option("-d,--duration", fo.seconds, "flood: seconds to send (default 5)")
      ->check(number_in(0.01, 86400, "seconds from 0.01 to 86400"));
  app.add_option("-r,--rate", fo.rate,
                 "flood: datagrams per second over all threads (default 0: as fast as possible)")
      ->check(number_in(0, 1e9, "datagrams a second from 0 to 1e9"));
  app.add_option("-j,--threads", fo.threads, "flood: threads, one socket each (default 1)")
      ->check(CLI::Range(1, 256));
  app.add_option("--cpus", cpus, "flood: CPUs to pin the threads to, e.g. \"1\" or \"0,1\"");
  app.add_option("-b,--batch", fo.batch, "flood: datagrams per sendmmsg/recvmmsg (default 32)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--loss-timeout-ms", fo.loss_timeout_ms,
                 "flood: with a full window and no echo for this long, the rest counts as lost "
                 "(default 20)")
      ->check(CLI::Range(1, 60000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return bypass::apps::cli_parse_error(app, e);
  }
  if (mode != "load" && size > 65000) {
    std::fprintf(stderr, "bypass-client: %s datagrams are at most 65000 bytes: change -s.\n",
                 mode.c_str());
    return 2;
  }
  if (app.get_option("--token")->count() > 0 && no.token_file.empty()) {
    std::fprintf(stderr, "bypass-client: --token needs a file name, not an empty one.\n");
    return 2;
  }
  if (mode == "token") {
    to.out = no.token_file.empty() ? std::string("token.bin") : no.token_file;
    return bypass::client::mint_token(host, port, to);
  }
  if (mode == "chat") {
    if (no.token_file.empty()) {
      std::fprintf(stderr,
                   "bypass-client: chat needs --token FILE (make one with the token mode).\n");
      return 2;
    }
    return bypass::client::run_chat(no.token_file, room,
                                    app.get_option("--timeout-ms")->count() ? timeout_ms : 10000);
  }
  if (mode == "load") {
    mo.token = to;
    if (app.get_option("--clients")->count()) mo.clients = lo.clients;
    if (app.get_option("--size")->count()) mo.size = size;
    if (app.get_option("--rate")->count()) mo.rate = fo.rate;
    if (app.get_option("--duration")->count()) mo.seconds = fo.seconds;
    if (app.get_option("--timeout-ms")->count()) mo.connect_timeout_ms = timeout_ms;
    return bypass::client::run_message_load(host, port, mo);
  }
  if (mode == "netcode" && app.get_option("--clients")->count()) {
    lo.token = to;
    if (app.get_option("--size")->count()) lo.size = size;
    if (app.get_option("--rate")->count()) lo.rate = fo.rate;
    if (app.get_option("--duration")->count()) lo.seconds = fo.seconds;
    if (app.get_option("--in-flight")->count()) lo.in_flight = mo.in_flight;
    lo.gso = mo.gso;
    return bypass::client::run_netcode_load(host, port, lo);
  }
  if (mode == "netcode") {
    no.count = count;
    if (app.get_option("--size")->count()) no.size = size;
    if (app.get_option("--timeout-ms")->count()) no.timeout_ms = timeout_ms;
    if (no.token_file.empty()) {
      std::fprintf(stderr,
                   "bypass-client: netcode needs --token FILE (make one with the token mode).\n");
      return 2;
    }
    return bypass::client::run_netcode(no);
  }
  Target t;
  if (!resolve(host, port, &t)) {
    std::fprintf(
        stderr, "bypass-client: \"%s\" is not an IPv4 or IPv6 address: give one like 198.18.0.2.\n",
        host.c_str());
    return 2;
  }
  if (mode == "flood") {
    // -s and -w keep echo's defaults (64 bytes, 1 in flight) unless given.
    if (app.get_option("--size")->count()) fo.size = size;
    if (app.get_option("--window")->count()) fo.window = window;
    if (fo.size > 2048) {
      std::fprintf(stderr, "bypass-client: flood payloads are at most 2048 bytes.\n");
      return 2;
    }
    for (size_t pos = 0; pos < cpus.size();) {
      size_t comma = cpus.find(',', pos);
      std::string one =
          cpus.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      char* end = nullptr;
      unsigned long c = std::strtoul(one.c_str(), &end, 10);
      if (one.empty() || *end != '\0' || c >= CPU_SETSIZE) {
        std::fprintf(stderr, "bypass-client: --cpus \"%s\" is not a list like \"1\" or \"0,1\".\n",
                     cpus.c_str());
        return 2;
      }
      // A CPU this process may not run on is said now, not once the flood runs.
      cpu_set_t allowed;
      CPU_ZERO(&allowed);
      if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && !CPU_ISSET(c, &allowed)) {
        std::string list;
        for (unsigned k = 0; k < CPU_SETSIZE; ++k)
          if (CPU_ISSET(k, &allowed)) list += (list.empty() ? "" : ",") + std::to_string(k);
        std::fprintf(stderr,
                     "bypass-client: --cpus names CPU %lu, which this process may not run on "
                     "(it may use %s): use CPUs from that list.\n",
                     c, list.c_str());
        return 2;
      }
      fo.cpus.push_back(static_cast<unsigned>(c));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return flood(t, fo);
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
    if (bypass::Status w = bypass::apps::check_writable(out, "-o"); !w) {
      std::fprintf(stderr, "bypass-client: %s\n", w.message().c_str());
      close(fd);
      return 2;
    }
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
