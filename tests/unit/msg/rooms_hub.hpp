// The rooms tests' bench: a Hub is one worker's MessageServer running the
// rooms application, with client sessions joined to it directly (no
// netcode: the transport is a queue per direction) and a manual clock;
// TwoWorkers links two hubs by rings as the workers of one service.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "session_link.hpp"

#include <bypass/msg/message_server.hpp>
#include <bypass/msg/rooms_app.hpp>

namespace bypass::msg::test {
namespace {

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string text_of(const Got& g) {
  return std::string(g.bytes.begin(), g.bytes.end());
}

class Hub : public ConnectionTransport {
 public:
  // `last_max_message`: if not 0, the last client accepts messages up to that size only.
  explicit Hub(int clients, RoomsConfig rc = {}, uint32_t send_queue = 256, uint64_t ids = 1000,
               uint32_t last_max_message = 0)
      : rooms_(rc), client_pool_(8192) {
    MessageServerConfig mc;
    mc.session.channels = {ChannelKind::kReliable, ChannelKind::kUnreliable};
    mc.session.send_queue = send_queue;
    server_ = std::make_unique<MessageServer>(mc, &rooms_, this, clients);
    EXPECT_TRUE(rooms_.attach(server_.get()).is_ok());
    client_config_.send_queue = 1024;
    small_config_ = client_config_;
    if (last_max_message != 0) small_config_.max_message = last_max_message;
    for (int i = 0; i < clients; ++i) {
      const SessionConfig* c = i == clients - 1 ? &small_config_ : &client_config_;
      clients_.push_back(std::make_unique<Side>(Role::kClient, c, &client_pool_));
      server_->on_connect(i, ids + i, {}, now_);
      clients_.back()->session.open(now_);
      to_client_.emplace_back();
    }
    deaf_.assign(clients, false);
    stalled_.assign(clients, false);
  }
  size_t send_payloads(std::span<const OutPacket> packets) override {
    for (const OutPacket& p : packets)
      to_client_[p.conn].emplace_back(p.data().begin(), p.data().end());
    return 0;
  }
  void disconnect(uint32_t c) override { disconnected_.push_back(c); }

  // This hub as one worker of a service whose workers share `links`.
  void link(WorkerLinks& links) {
    auto me = links.join();
    ASSERT_TRUE(me.has_value());
    server_->link(&links, *me, &rooms_);
  }
  void step() {
    now_ += 1'000'000;
    for (size_t i = 0; i < clients_.size(); ++i) {
      for (auto& p : clients_[i]->wire) server_->on_payload(static_cast<uint32_t>(i), p, now_);
      clients_[i]->wire.clear();
    }
    server_->poll(now_);
    server_->flush(now_);
    for (size_t i = 0; i < clients_.size(); ++i) {
      if (stalled_[i]) continue;  // what comes waits for it
      if (!deaf_[i]) {
        for (auto& p : to_client_[i]) clients_[i]->session.receive(p, now_);
      }
      to_client_[i].clear();
    }
    if (++ms_ % 10 == 0) {
      server_->tick(now_);
      for (auto& c : clients_) c->session.tick(now_);
    } else {
      for (auto& c : clients_) c->session.flush(now_);
    }
  }
  template <typename F>
  bool run_until(F done, int max_ms = 5000) {
    for (int i = 0; i < max_ms && !done(); ++i) step();
    return done();
  }
  void say(int i, const std::string& m, uint8_t channel = 0) {
    ASSERT_EQ(clients_[i]->session.send(channel, true, bytes_of(m)), SendResult::kOk);
  }
  Side& client(int i) { return *clients_[i]; }
  RoomsApp& rooms() { return rooms_; }
  MessageServer& server() { return *server_; }
  std::vector<bool> deaf_;
  std::vector<bool> stalled_;  // a client that does not run: packets to it wait, none lost
  std::vector<uint32_t> disconnected_;

 private:
  RoomsApp rooms_;
  ChunkPool client_pool_;
  SessionConfig client_config_, small_config_;
  std::unique_ptr<MessageServer> server_;
  std::vector<std::unique_ptr<Side>> clients_;
  std::vector<std::deque<std::vector<uint8_t>>> to_client_;
  uint64_t now_ = 1'000'000'000;
  int ms_ = 0;
};

// One counter of a report ("rooms.slow_closed" of hub.rooms(),
// "msg.links_ring_full" of hub.server()), 0 if it has none of that name.
template <typename Reporter>
uint64_t counter_of(const Reporter& r, const std::string& name) {
  std::vector<std::pair<std::string, uint64_t>> report;
  r.report(report);
  for (const auto& [n, v] : report)
    if (n == name) return v;
  return 0;
}
inline uint64_t rooms_counter(Hub& hub, const std::string& name) {
  return counter_of(hub.rooms(), name);
}
inline uint64_t server_counter(Hub& hub, const std::string& name) {
  return counter_of(hub.server(), name);
}

inline size_t count_prefix(const Side& s, const std::string& prefix) {
  size_t n = 0;
  for (const Got& g : s.got) n += text_of(g).rfind(prefix, 0) == 0;
  return n;
}

// Two hubs as the two workers of one service, linked by rings, stepped together.
struct TwoWorkers {
  explicit TwoWorkers(int clients, RoomsConfig rc = {})
      : a(clients, rc, 256, 1000), b(clients, rc, 256, 2000) {
    a.link(links);
    b.link(links);
  }
  void step() {
    a.step();
    b.step();
  }
  template <typename F>
  bool until(F done) {
    for (int i = 0; i < 5000 && !done(); ++i) step();
    return done();
  }
  // Every client on both joined to `room`.
  bool all_join(int clients, const std::string& room) {
    if (!until(
            [&] { return a.client(clients - 1).opened == 1 && b.client(clients - 1).opened == 1; }))
      return false;
    for (int i = 0; i < clients; ++i) {
      a.say(i, "join " + room);
      b.say(i, "join " + room);
    }
    return until([&] {
      return a.rooms().members(room) == static_cast<size_t>(clients) &&
             b.rooms().members(room) == static_cast<size_t>(clients);
    });
  }
  WorkerLinks links;
  Hub a, b;
};

}  // namespace
}  // namespace bypass::msg::test
