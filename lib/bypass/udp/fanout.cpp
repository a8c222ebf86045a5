#include <bypass/udp/fanout.hpp>

namespace bypass {

FanoutHandler::Entry* FanoutHandler::touch(const Datagram& d, uint64_t now_ns) {
  Entry* free = nullptr;
  for (Entry& e : peers_) {
    if (e.used && e.peer.remote == d.src && e.peer.local == d.dst) {
      // Its path back may have changed (another router's MAC after a
      // failover, another port): the latest datagram's is the one to use.
      d.put_peer(e.peer);
      e.last_ns = now_ns;
      return &e;
    }
    if (!e.used && !free) free = &e;
  }
  if (!free) {
    refused_.add();
    return nullptr;
  }
  d.put_peer(free->peer);
  free->last_ns = now_ns;
  free->used = true;
  live_.add();
  return free;
}

void FanoutHandler::on_datagrams(std::span<Datagram> batch, Outbox& out) {
  for (const Datagram& d : batch) {
    const Entry* from = touch(d, out.now_ns);
    if (!from) continue;  // only members speak in the room
    for (const Entry& e : peers_) {
      if (!e.used || &e == from) continue;
      if (out.send_to(e.peer, {d.data, d.len}))
        forwarded_.add();
      else
        dropped_.add();
    }
  }
}

void FanoutHandler::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  out.emplace_back("fanout.forwarded", forwarded_.get());
  out.emplace_back("fanout.not_forwarded", dropped_.get());
  out.emplace_back("fanout.refused", refused_.get());
  out.emplace_back("fanout.members", live_.get());
}

void FanoutHandler::on_tick(Outbox& out) {
  for (Entry& e : peers_)
    if (e.used && out.now_ns - e.last_ns > idle_ns_) {
      e.used = false;
      live_.add(static_cast<uint64_t>(-1));
    }
}

}  // namespace bypass
