// FanoutHandler ("fanout"): a room over plain UDP. Every datagram goes to
// every other peer heard from on the service within `idle_seconds`, up to
// `max_peers` peers; a peer that stays silent longer is forgotten on the
// handler's tick. It is the smallest use of sending to kept peers
// (udp/handler.hpp: Peer, Outbox::send_to, on_tick) and works on both
// backends. Fixed memory: max_peers entries, nothing allocated per packet.
#pragma once

#include <cstdint>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/udp/handler.hpp>

namespace bypass {

class FanoutHandler final : public DatagramHandler {
 public:
  FanoutHandler(uint32_t max_peers, uint32_t idle_seconds)
      : peers_(max_peers), idle_ns_(uint64_t(idle_seconds) * 1000000000ull) {}

  void on_datagrams(std::span<Datagram> batch, Outbox& out) override;
  uint64_t tick_interval_ns() const override { return 100000000ull; }  // 10 Hz
  void on_tick(Outbox& out) override;
  /// fanout.forwarded, fanout.not_forwarded (the outbox was full, or the
  /// datagram too big for a member's family), fanout.refused (the room was
  /// full), and the level fanout.members.
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const override;

  uint64_t forwarded() const { return forwarded_.get(); }
  uint64_t dropped() const { return dropped_.get(); }  // outbox full, or too big for the member
  uint64_t refused() const { return refused_.get(); }  // the room was full
  uint32_t peers() const { return static_cast<uint32_t>(live_.get()); }

 private:
  struct Entry {
    Peer peer;
    uint64_t last_ns = 0;
    bool used = false;
  };
  Entry* touch(const Datagram& d, uint64_t now_ns);

  std::vector<Entry> peers_;
  uint64_t idle_ns_;
  Counter forwarded_, dropped_, refused_, live_;
};

}  // namespace bypass
