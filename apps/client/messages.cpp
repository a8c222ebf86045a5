#include "messages.hpp"

#include "batch_io.hpp"
#include "netcode_io.hpp"
#include "rtt_histogram.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <bypass/conn/netcode_service.hpp>
#include <bypass/msg/message_client.hpp>
#include <bypass/udp/socket_backend.hpp>

namespace bypass::client {
namespace {

// The figures of one reporting interval (and of the whole run).
struct Tally {
  uint64_t sent = 0, echoed = 0, wrong = 0;
  RttHistogram lat_ns;
  void add(const Tally& t) {
    sent += t.sent;
    echoed += t.echoed;
    wrong += t.wrong;
    lat_ns.merge(t.lat_ns);
  }
  void clear() {
    sent = echoed = wrong = 0;
    lat_ns.clear();
  }
};

// The q-th quantile (0..1) of a tally's latencies, in microseconds.
double pct(const Tally& t, double q) {
  return static_cast<double>(t.lat_ns.percentile(q * 100)) / 1e3;
}

// One connection: its socket, client and the messages it has out.
struct Conn final : msg::MessageHandler {
  int fd = -1;
  std::unique_ptr<BatchSocketSink> sink;
  std::unique_ptr<msg::MessageClient> mc;
  const MessageLoadOptions* o = nullptr;
  Tally* tally = nullptr;
  uint64_t now_ns = 0, next_send_ns = 0, seq = 0, outstanding = 0, last_echo_ns = 0;
  uint64_t retry_at_ns = 0;  // a handshake that failed tries again with a fresh token then
  bool open = false, closed = false;
  uint16_t close_code = 0;
  std::vector<uint8_t> buf;

  void on_open(msg::Session&) override {
    open = true;
    last_echo_ns = now_ns;
  }
  void on_close(msg::Session&, uint16_t code, std::string_view) override {
    closed = true;
    close_code = code;
  }
  bool on_message(msg::Session&, uint8_t, bool, std::span<const uint8_t> b) override {
    uint64_t t = 0;
    if (b.size() < 16) {
      ++tally->wrong;
      return true;
    }
    if (o->text) {
      // 16 hex digits: a text message must be UTF-8.
      for (size_t i = 0; i < 16; ++i) {
        const char c = static_cast<char>(b[i]);
        t = t << 4 | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
      }
    } else {
      std::memcpy(&t, b.data(), 8);
    }
    if (outstanding) --outstanding;
    last_echo_ns = now_ns;
    ++tally->echoed;
    tally->lat_ns.add(now_ns - t);
    return true;
  }
  // Sends as the mode allows: in flight up to the window, or on the rate's schedule.
  void top_up() {
    if (!open || closed) return;
    const uint8_t channel = o->unreliable ? 1 : 0;
    // Unreliable messages that were lost never come back: with the window
    // full and nothing back for 500 ms, what is out is given up.
    if (o->unreliable && outstanding >= o->in_flight && now_ns - last_echo_ns > 500'000'000) {
      outstanding = 0;
      last_echo_ns = now_ns;
    }
    for (;;) {
      if (outstanding >= o->in_flight) return;
      if (o->rate > 0 && now_ns < next_send_ns) return;
      if (o->text) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (size_t i = 0; i < 16; ++i)
          buf[i] = static_cast<uint8_t>(kHex[(now_ns >> (60 - 4 * i)) & 15]);
      } else {
        std::memcpy(buf.data(), &now_ns, 8);
      }
      if (mc->session().send(channel, o->text, buf) != msg::SendResult::kOk) return;
      ++tally->sent;
      ++outstanding;
      if (o->rate > 0) next_send_ns = std::max(next_send_ns + uint64_t(1e9 / o->rate), now_ns);
    }
  }
};

}  // namespace

int run_message_load(const std::string& host, uint16_t port, const MessageLoadOptions& o) {
  TokenMinter minter;
  std::string err;
  if (!minter.init(host, port, o.token, &err)) return fail(err);
  if (o.size < 16 || o.size > msg::kMaxMessageBytes)
    return fail("load messages are 16 to 65536 bytes (a send time travels in them): change -s.");
  msg::SessionConfig sc;
  sc.send_queue = std::max<uint32_t>(256, o.in_flight * ((o.size + 1023) / 1024) + 64);
  msg::ChunkPool pool(std::max<uint32_t>(4096, o.clients * sc.send_queue * 2));
  msg::SessionCounters counters;
  Tally interval, total;
  std::vector<std::unique_ptr<Conn>> cs;
  const conn::Now start = clock_now();
  for (unsigned i = 0; i < o.clients; ++i) {
    auto c = std::make_unique<Conn>();
    c->fd = socket(minter.v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
      return fail(std::string("cannot open UDP socket ") + std::to_string(i + 1) + ": " +
                  std::strerror(errno) + " (raise the open-files limit, ulimit -n).");
    c->sink = std::make_unique<BatchSocketSink>(c->fd);
    use_segmentation(*c->sink, o.gso, i == 0);
    c->sink->connect_to(minter.server());  // one server: no route lookup per datagram
    c->mc = std::make_unique<msg::MessageClient>(c->sink.get(), c.get(), &sc, &pool, &counters);
    c->o = &o;
    c->tally = &interval;
    c->buf.assign(o.size, 'x');
    const auto token = minter.mint(o.token.client_id + i, start.unix_seconds, &err);
    if (!err.empty()) return fail(err);
    c->mc->connect(token, start);
    cs.push_back(std::move(c));
  }
  std::vector<pollfd> pfds(cs.size());
  for (size_t i = 0; i < cs.size(); ++i) pfds[i] = {cs[i]->fd, POLLIN, 0};
  auto receive_all = [&] {
    for (size_t i = 0; i < cs.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      const conn::Now t = clock_now();  // each socket's own: latencies are not stamped early
      Conn& c = *cs[i];
      c.now_ns = t.mono_ns;
      auto take = [&](const conn::NetcodeAddress& from, std::span<uint8_t> bytes) {
        c.mc->receive(from, bytes, t);
      };
      for (unsigned b = 0; b < kDrainBatches && receive_batch(c.fd, take) == kIoBatch; ++b) {
      }
      c.sink->flush();  // what receiving sent (acks of the handshake, keep-alives)
    }
  };
  // The clock starts once every connection is open (or the connect timeout passed).
  const uint64_t connect_deadline = start.mono_ns + uint64_t(o.connect_timeout_ms) * 1'000'000;
  uint64_t stop = UINT64_MAX;
  uint64_t next_tick = start.mono_ns, next_report = UINT64_MAX;
  uint64_t last_retx = 0, last_lost = 0;
  unsigned retried = 0;
  int second = 0;
  bool draining = false;
  uint64_t measured = 0;  // echoed by the end of the run's seconds
  double measured_secs = o.seconds;
  for (;;) {
    conn::Now t = clock_now();
    if (stop == UINT64_MAX) {
      unsigned opened = 0;
      for (size_t i = 0; i < cs.size(); ++i) {
        Conn& c = *cs[i];
        opened += c.open;
        // A handshake that failed before the connection opened (its packets
        // lost until the token's timeout): ask for a fresh token, as an app
        // asks its backend, and try again until the connect deadline.
        // A denied one (the server full) waits a second first, as an app
        // should, rather than send a request every pass.
        if (!c.open && c.mc->state() < conn::ClientState::kDisconnected &&
            t.mono_ns < connect_deadline) {
          if (c.retry_at_ns == 0) {
            c.retry_at_ns =
                t.mono_ns +
                (c.mc->state() == conn::ClientState::kConnectionDenied ? 1'000'000'000 : 0);
          }
          if (t.mono_ns >= c.retry_at_ns) {
            c.retry_at_ns = 0;
            const auto token = minter.mint(o.token.client_id + i, t.unix_seconds, &err);
            if (!err.empty()) return fail(err);
            c.mc->connect(token, t);
            ++retried;
          }
        }
      }
      if (opened == cs.size() || t.mono_ns >= connect_deadline) {
        std::printf("connected: %u of %zu in %.1f ms (%u handshakes retried with a fresh token)\n",
                    opened, cs.size(), static_cast<double>(t.mono_ns - start.mono_ns) / 1e6,
                    retried);
        if (opened == 0) break;
        stop = t.mono_ns + static_cast<uint64_t>(o.seconds * 1e9);
        next_report = t.mono_ns + 1'000'000'000;
      }
    }
    if (t.mono_ns >= stop) {
      // Stop sending; wait (up to 15 s: retransmissions back off) for what is out.
      // The rate counts what came back in the run's own seconds, not the wait.
      if (!draining) {
        measured = total.echoed + interval.echoed;
        measured_secs = static_cast<double>(t.mono_ns - stop) / 1e9 + o.seconds;
      }
      draining = true;
      uint64_t out = 0;
      for (auto& c : cs) out += c->open && !c->closed ? c->outstanding : 0;
      if (out == 0 || o.unreliable || t.mono_ns >= stop + 15'000'000'000) break;
    }
    const bool tick = t.mono_ns >= next_tick;
    if (tick) next_tick = t.mono_ns + 10'000'000;
    for (auto& c : cs) {
      c->now_ns = t.mono_ns;
      if (!draining && stop != UINT64_MAX) c->top_up();
      if (tick) {
        c->mc->update(t);
      } else {
        c->mc->flush(t);
      }
      c->sink->flush();
    }
    if (t.mono_ns >= next_report) {
      next_report += 1'000'000'000;
      ++second;
      std::printf(
          "t=%ds msgs/s %llu lat_us p50 %.0f p99 %.0f p99.9 %.0f retransmits %llu "
          "packets_lost %llu\n",
          second, static_cast<unsigned long long>(interval.echoed), pct(interval, 0.5),
          pct(interval, 0.99), pct(interval, 0.999),
          static_cast<unsigned long long>(counters.retransmits - last_retx),
          static_cast<unsigned long long>(counters.packets_lost - last_lost));
      std::fflush(stdout);
      last_retx = counters.retransmits;
      last_lost = counters.packets_lost;
      total.add(interval);
      interval.clear();
    }
    if (poll(pfds.data(), pfds.size(), 1) <= 0) continue;
    receive_all();
  }
  total.add(interval);
  unsigned opened = 0, closed = 0;
  for (auto& c : cs) {
    opened += c->open;
    closed += c->closed;
    if (c->open && !c->closed) c->mc->session().close(msg::kCloseNormal, "load done");
  }
  // Close: queued data first, then the close frames (resent while lost),
  // then netcode's disconnect; up to 3 s.
  const uint64_t close_deadline = clock_now().mono_ns + 3'000'000'000;
  for (;;) {
    const conn::Now t = clock_now();
    bool done = true;
    for (auto& c : cs) {
      c->mc->update(t);
      c->sink->flush();
      done &= c->mc->session().finished() || !c->open;
    }
    if (done || t.mono_ns >= close_deadline) break;
    if (poll(pfds.data(), pfds.size(), 10) <= 0) continue;
    receive_all();
  }
  uint64_t unsent = 0, segmented = 0;
  for (auto& c : cs) {
    unsent += c->sink->errors;
    segmented += c->sink->segmented;
    close(c->fd);
  }
  if (!draining) measured = total.echoed;  // ended early: nothing opened
  std::printf(
      "message load: %u connections, %u opened, %u closed early; %s %u-byte messages, %s; "
      "sent %llu echoed %llu lost %llu (%.0f msgs/s); latency p50 %.0f us p99 %.0f us p99.9 "
      "%.0f us; retransmits %llu packets_lost %llu (acknowledged after all %llu); datagrams "
      "the socket refused %llu\n",
      o.clients, opened, closed, o.unreliable ? "unreliable" : "reliable", o.size,
      o.rate > 0 ? "fixed rate" : "in flight", static_cast<unsigned long long>(total.sent),
      static_cast<unsigned long long>(total.echoed),
      static_cast<unsigned long long>(total.sent - std::min(total.sent, total.echoed)),
      static_cast<double>(measured) / measured_secs, pct(total, 0.5), pct(total, 0.99),
      pct(total, 0.999), static_cast<unsigned long long>(counters.retransmits),
      static_cast<unsigned long long>(counters.packets_lost),
      static_cast<unsigned long long>(counters.spurious_losses),
      static_cast<unsigned long long>(unsent));
  print_segmented(o.gso, segmented);
  const bool all_back = o.unreliable || total.echoed == total.sent;
  return opened == o.clients && closed == 0 && total.echoed > 0 && total.wrong == 0 && all_back ? 0
                                                                                                : 1;
}

}  // namespace bypass::client
