// rooms_bench: the rooms application's cost on one worker, in TSC cycles:
// a publication to a room of M members (the fan-out that shares one framed
// copy with every member's queue, timed apart from the flush that puts it on
// the wire), and a join with its reply followed by a leave. The members read
// and acknowledge between rounds, untimed. In process: the
// members are client sessions joined to the server directly (no netcode, no
// AEAD), so this is the application and the message layer alone.
//
// Run: build/bench/rooms_bench [members ...]   (default 16 256 1024)
#include <rte_cycles.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <bypass/msg/message_server.hpp>
#include <bypass/msg/rooms_app.hpp>

namespace bypass::msg {
namespace {

// Client side of one member: what the server sends is read by its session,
// what it sends goes to the server as the member's payloads.
struct Member final : MessageHandler, PacketOut {
  Member(const SessionConfig* c, ChunkPool* pool)
      : session(Role::kClient, c, pool, this, &batch, &counters) {}
  void on_open(Session&) override {}
  bool on_message(Session&, uint8_t, bool, std::span<const uint8_t>) override { return true; }
  void on_close(Session&, uint16_t, std::string_view) override {}
  void transmit(std::span<const OutPacket> packets) override {
    for (const OutPacket& p : packets) wire.emplace_back(p.data().begin(), p.data().end());
  }
  SessionCounters counters;
  PacketBatch batch{this, 1};
  Session session;
  std::vector<std::vector<uint8_t>> wire;
};

class Bench final : public ConnectionTransport {
 public:
  explicit Bench(uint32_t members) : client_pool_(16384) {
    RoomsConfig rc;
    rc.members_per_room = members;
    rooms_ = std::make_unique<RoomsApp>(rc);
    MessageServerConfig mc;
    mc.session.channels = {ChannelKind::kReliable, ChannelKind::kUnreliable};
    server_ = std::make_unique<MessageServer>(mc, rooms_.get(), this, members);
    if (const Status st = rooms_->attach(server_.get()); !st.is_ok()) {
      std::fprintf(stderr, "rooms_bench: %s\n", st.message().c_str());
      std::exit(1);
    }
    client_config_.channels = mc.session.channels;
    for (uint32_t i = 0; i < members; ++i) {
      members_.push_back(std::make_unique<Member>(&client_config_, &client_pool_));
      server_->on_connect(i, 1000 + i, {}, now_);
      members_.back()->session.open(now_);
    }
    to_client_.resize(members);
    for (int ms = 0; ms < 10; ++ms) step();  // hellos both ways
    for (uint32_t i = 0; i < members; ++i) say(i, "join lobby");
    for (int ms = 0; ms < 200 && rooms_->members("lobby") < members; ++ms) step();
  }
  size_t send_payloads(std::span<const OutPacket> packets) override {
    for (const OutPacket& p : packets)
      to_client_[p.conn].emplace_back(p.data().begin(), p.data().end());
    return 0;
  }
  void disconnect(uint32_t) override {}
  uint32_t joined() const { return static_cast<uint32_t>(rooms_->members("lobby")); }

  // Cycles of one unreliable publication's fan-out, and of the flush after it.
  std::pair<uint64_t, uint64_t> publish(const std::string& text) {
    Session& s = *server_->session(0);
    const auto* b = reinterpret_cast<const uint8_t*>(text.data());
    const uint64_t t0 = rte_rdtsc();
    rooms_->on_message(s, 1, false, {b, text.size()});
    const uint64_t t1 = rte_rdtsc();
    server_->flush(now_);
    const uint64_t t2 = rte_rdtsc();
    step();  // the members read it and acknowledge (not timed)
    return {t1 - t0, t2 - t1};
  }
  // Cycles of a join of a second room with its reply, and of leaving it.
  std::pair<uint64_t, uint64_t> join_leave(const std::string& join, const std::string& leave) {
    Session& s = *server_->session(1);
    const uint64_t t0 = rte_rdtsc();
    rooms_->on_message(s, 0, true, {reinterpret_cast<const uint8_t*>(join.data()), join.size()});
    const uint64_t t1 = rte_rdtsc();
    rooms_->on_message(s, 0, true, {reinterpret_cast<const uint8_t*>(leave.data()), leave.size()});
    const uint64_t t2 = rte_rdtsc();
    step();  // the replies go out and are acknowledged
    return {t1 - t0, t2 - t1};
  }
  void step() {
    now_ += 1'000'000;
    for (size_t i = 0; i < members_.size(); ++i) {
      for (auto& p : members_[i]->wire) server_->on_payload(static_cast<uint32_t>(i), p, now_);
      members_[i]->wire.clear();
    }
    server_->flush(now_);
    for (size_t i = 0; i < members_.size(); ++i) {
      for (auto& p : to_client_[i]) members_[i]->session.receive(p, now_);
      to_client_[i].clear();
    }
    for (auto& m : members_) m->session.flush(now_);
  }
  uint64_t report(const std::string& name) const {
    std::vector<std::pair<std::string, uint64_t>> all;
    rooms_->report(all);
    for (const auto& [n, v] : all)
      if (n == name) return v;
    return 0;
  }

 private:
  void say(uint32_t i, const std::string& m) {
    (void)members_[i]->session.send(0, true,
                                    {reinterpret_cast<const uint8_t*>(m.data()), m.size()});
    members_[i]->session.flush(now_);
  }
  ChunkPool client_pool_;
  SessionConfig client_config_;
  std::unique_ptr<RoomsApp> rooms_;
  std::unique_ptr<MessageServer> server_;
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<std::vector<std::vector<uint8_t>>> to_client_;
  uint64_t now_ = 1'000'000'000;
};

constexpr int kRounds = 500;

uint64_t median(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run(uint32_t members) {
  Bench b(members);
  if (b.joined() != members) {
    std::printf("%u members: only %u joined; no figures\n", members, b.joined());
    return;
  }
  const std::string pub = "pub lobby\n" + std::string(64, 'x');
  const std::string name(40, 'r');  // longer than a std::string keeps inline
  const std::string join = "join " + name, leave = "leave " + name;
  std::vector<uint64_t> fan, flush, jn, lv;
  for (int i = 0; i < kRounds; ++i) {
    const auto [f, l] = b.publish(pub);
    fan.push_back(f);
    flush.push_back(l);
  }
  for (int i = 0; i < kRounds; ++i) {
    const auto [j, l] = b.join_leave(join, leave);
    jn.push_back(j);
    lv.push_back(l);
  }
  const double per = static_cast<double>(median(fan)) / members;
  std::printf(
      "%5u members: publication (64 B, unreliable) fan-out %llu cycles median, %.1f per member; "
      "flush %llu; join of a 40-byte name with its reply %llu, leave %llu (delivered %llu, "
      "dropped %llu)\n",
      members, static_cast<unsigned long long>(median(fan)), per,
      static_cast<unsigned long long>(median(flush)), static_cast<unsigned long long>(median(jn)),
      static_cast<unsigned long long>(median(lv)),
      static_cast<unsigned long long>(b.report("rooms.delivered")),
      static_cast<unsigned long long>(b.report("rooms.dropped_unreliable")));
}

}  // namespace
}  // namespace bypass::msg

int main(int argc, char** argv) {
  std::vector<uint32_t> sizes;
  for (int i = 1; i < argc; ++i)
    sizes.push_back(static_cast<uint32_t>(std::strtoul(argv[i], nullptr, 10)));
  if (sizes.empty()) sizes = {16, 256, 1024};
  std::printf("rooms_bench: the rooms application on one core, TSC cycles, medians of 500\n");
  for (uint32_t m : sizes) bypass::msg::run(std::max(m, 2u));
  return 0;
}
