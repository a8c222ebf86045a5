// Two message sessions (a server and a client) joined by a simulated path
// with a manual clock: per-direction loss, latency with jitter (which
// reorders), and a switch to stop one side reading. Each side records what
// it was given; every packet that crosses is parsed again so tests can count
// what went on the wire.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <bypass/msg/session.hpp>

namespace bypass::msg::test {

struct Got {
  uint8_t channel;
  bool text;
  std::vector<uint8_t> bytes;
};

struct Side : MessageHandler, PacketOut {
  Side(Role role, const SessionConfig* config, ChunkPool* pool)
      : session(role, config, pool, this, &batch, &counters) {}

  void on_open(Session&) override { ++opened; }
  bool on_message(Session&, uint8_t channel, bool text, std::span<const uint8_t> b) override {
    if (busy || (refuse && refuse(b))) return false;
    got.push_back({channel, text, {b.begin(), b.end()}});
    if (echo) {
      const SendResult r = session.send(channel, text, b);
      if (r == SendResult::kQueueFull) {
        got.pop_back();
        return false;
      }
    }
    return true;
  }
  void on_close(Session&, uint16_t code, std::string_view reason) override {
    ++closed;
    close_code = code;
    close_reason = std::string(reason);
  }
  void on_writable(Session&) override { ++writable; }
  void transmit(std::span<const OutPacket> packets) override {
    for (const OutPacket& p : packets) wire.emplace_back(p.data().begin(), p.data().end());
  }

  SessionCounters counters;
  PacketBatch batch{this, 1};
  Session session;
  std::vector<Got> got;
  std::vector<std::vector<uint8_t>> wire;  // sent, not yet on the link
  int opened = 0, closed = 0, writable = 0;
  uint16_t close_code = 0;
  std::string close_reason;
  bool echo = false;
  bool busy = false;  // refuse every message (an application that stopped reading)
  std::function<bool(std::span<const uint8_t>)> refuse;  // refuse the messages it picks
};

// Counts what crosses: frames per (channel, message sequence, fragment).
struct WireLog : FrameVisitor {
  std::map<std::tuple<uint8_t, uint16_t, uint8_t>, int> sends;
  int packets = 0;
  void on_hello(const Hello&) override {}
  void on_ping(uint32_t) override {}
  void on_pong(uint32_t) override {}
  void on_close(const CloseFrame&) override {}
  void on_message(const MessageFrame& m) override { ++sends[{m.channel, m.sequence, m.index}]; }
};

class Link {
 public:
  // `shared_server_pool`: the server side takes its chunks there, as the
  // sessions of one worker share their owner's pool.
  Link(const SessionConfig* server_config, const SessionConfig* client_config,
       uint32_t pool_chunks = 4096, ChunkPool* shared_server_pool = nullptr)
      : server_pool(pool_chunks),
        client_pool(pool_chunks),
        server(Role::kServer, server_config,
               shared_server_pool ? shared_server_pool : &server_pool),
        client(Role::kClient, client_config, &client_pool) {}

  void open() {
    server.session.open(now);
    client.session.open(now);
    client.session.flush(now);
  }

  // One millisecond: packets due arrive, both sides flush; ticks each 10 ms.
  void step() {
    now += 1'000'000 + skew_ns;
    if (jump_every != 0 && ++steps_ % jump_every == 0) now += jump_ns;
    if (back_every != 0 && steps_ % back_every == 0) now -= std::min(now, back_ns);
    post(server, to_client_, server_log);
    post(client, to_server_, client_log);
    arrive(to_server_, server, client_reads_stop ? false : true);
    if (!client_stalls) arrive(to_client_, client, !client_reads_stop);
    if (++ms_ % 10 == 0) {
      server.session.tick(now);
      if (!client_stalls) client.session.tick(now);
    } else {
      server.session.flush(now);
      if (!client_stalls) client.session.flush(now);
    }
  }
  void run_ms(int ms) {
    for (int i = 0; i < ms; ++i) step();
  }
  template <typename F>
  bool run_until(F done, int max_ms) {
    for (int i = 0; i < max_ms; ++i) {
      if (done()) return true;
      step();
    }
    return done();
  }

  uint64_t now = 1'000'000'000;
  uint32_t loss_percent = 0;  // each direction
  uint32_t latency_ms = 5;    // plus up to jitter_ms at random
  uint32_t jitter_ms = 0;
  bool client_reads_stop = false;    // packets to the client vanish
  bool client_stalls = false;        // the client runs not at all: what comes waits
  uint32_t drop_to_client = 0;       // the next this many packets to the client vanish
  bool client_acks_nothing = false;  // the client's packets lose their acks on the way
  uint64_t skew_ns = 0;              // added to each 1 ms step
  uint32_t jump_every = 0, back_every = 0;
  uint64_t jump_ns = 0, back_ns = 0;

  ChunkPool server_pool, client_pool;
  Side server, client;
  WireLog server_log, client_log;  // what each side put on the wire

 private:
  struct InFlight {
    uint64_t at_ms;
    std::vector<uint8_t> bytes;
  };
  void post(Side& from, std::vector<InFlight>& q, WireLog& log) {
    for (auto& p : from.wire) {
      if (&from == &client && client_acks_nothing && p.size() > 2) p[2] &= ~kHeaderAckValid;
      ++log.packets;
      read_frames(p, log);
      if (&from == &server && drop_to_client > 0) {
        --drop_to_client;
        continue;
      }
      if (rng_() % 100 < loss_percent) continue;
      const uint64_t delay = latency_ms + (jitter_ms ? rng_() % (jitter_ms + 1) : 0);
      q.push_back({ms_ + delay, std::move(p)});
    }
    from.wire.clear();
  }
  void arrive(std::vector<InFlight>& q, Side& to, bool reads) {
    std::vector<InFlight> keep;
    for (auto& p : q) {
      if (p.at_ms > ms_) {
        keep.push_back(std::move(p));
      } else if (reads) {
        to.session.receive(p.bytes, now);
      }
    }
    q = std::move(keep);
  }

  std::mt19937 rng_{7};
  uint64_t ms_ = 0;
  uint64_t steps_ = 0;
  std::vector<InFlight> to_server_, to_client_;
};

// A server's channels for these tests: reliable, unreliable, sequenced, reliable.
inline SessionConfig server_config() {
  SessionConfig c;
  c.channels = {ChannelKind::kReliable, ChannelKind::kUnreliable, ChannelKind::kUnreliableSequenced,
                ChannelKind::kReliable};
  return c;
}

inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131 + seed * 7919) >> 3);
  return v;
}

}  // namespace bypass::msg::test
