// The UDP server's modules behind the Endpoint. UdpDispatch sends each
// datagram to the gate of the service bound to its destination port (gate
// 1 + i for the i-th handler of the ServiceTable) and answers closed ports
// with a rate-limited ICMP error on gate 0. ServiceModule runs one datagram
// handler over a batch (one virtual call per batch), builds the replies in
// the requests' own mbufs and the further datagrams the handler queued, and
// emits them all on gate 0 (to the port's TX module).
#pragma once

#include <rte_mempool.h>

#include <array>
#include <vector>

#include <bypass/core/timer.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/udp/frames.hpp>
#include <bypass/udp/handler.hpp>

namespace bypass {

// UDP port -> handler, per worker.
struct ServiceTable {
  std::array<uint8_t, 65536> slot{};  // 0: closed; else index + 1 into handlers
  static_assert(kMaxServices <= 255, "a slot is a byte");
  std::vector<DatagramHandler*> handlers;
  std::vector<uint16_t> ports;  // the UDP port of each handler
  void bind(uint16_t port, DatagramHandler* h) {
    handlers.push_back(h);
    ports.push_back(port);
    slot[port] = static_cast<uint8_t>(handlers.size());
  }
};

#define BYPASS_DISPATCH_DROPS(X) X(kPortClosed, "udp_port_closed") /* no service bound */
BYPASS_DROP_TABLE(DispatchDrop, BYPASS_DISPATCH_DROPS)

// clang-format off
#define BYPASS_SERVICE_DROPS(X)                                              \
  X(kSplitHeaders, "split_headers") /* chained mbuf that would not linearize */ \
  X(kNoBuffer, "no_buffer")         /* pool empty for a further datagram */     \
  X(kTooBig, "too_big")             /* reply or datagram larger than a buffer */ \
  X(kPeerElsewhere, "peer_elsewhere") /* to a peer kept on another port */  \
  X(kBadPeer, "bad_peer")             /* a kept peer's addresses of two families */ \
  X(kNoRequest, "no_request")         /* a further datagram to no request of the batch */
// clang-format on
BYPASS_DROP_TABLE(ServiceDrop, BYPASS_SERVICE_DROPS)

class UdpDispatch final : public Module {
 public:
  static constexpr unsigned kIcmp = 0;
  UdpDispatch(Endpoint& ep, const ServiceTable& services)
      : Module("UdpDispatch", 1 + static_cast<unsigned>(services.handlers.size())),
        ep_(ep),
        services_(services) {}
  void process(Worker& w, Batch& in) override;
  DropTable drop_table() const override { return DispatchDrop::table(); }

 private:
  Endpoint& ep_;
  const ServiceTable& services_;
};

struct alignas(RTE_CACHE_LINE_SIZE) UdpCounters {
  Counter datagrams, replies, consumed, sent, send_failed;
};

// A datagram handler on one port. `port` is the backend's index of the port
// (kept in the Peers the handler keeps); `ticks`: this instance runs the
// handler's on_tick (one per handler and worker, so the first port's).
// `others`: the worker's other ports, by index, with what frames on them
// carry; gate 1 + i sends on others[i], so that what the handler sends to a
// peer kept on another port (keep-alives from its tick, say) goes out there.
class ServiceModule final : public Module {
 public:
  struct OtherPort {
    uint8_t index;
    ReplyParams rp;
  };
  ServiceModule(DatagramHandler& h, rte_mempool* pool, const ReplyParams& rp, uint8_t port = 0,
                bool ticks = true, std::vector<OtherPort> others = {})
      : Module("Service", 1 + static_cast<unsigned>(others.size())),
        h_(h),
        pool_(pool),
        rp_(rp),
        port_(port),
        ticks_(ticks),
        tick_(&ServiceModule::on_tick, this),
        others_(std::move(others)),
        other_tx_(others_.size()) {}
  void process(Worker& w, Batch& in) override;
  Status start(Worker& w) override;
  void stop(Worker& w) override;
  DropTable drop_table() const override { return ServiceDrop::table(); }
  const UdpCounters& counters() const { return counters_; }
  DatagramHandler& handler() const { return h_; }
  /// Whether this instance runs the handler's ticks; before start().
  void set_ticks(bool ticks) { ticks_ = ticks; }

 private:
  void out(Worker& w, rte_mbuf* m) {
    if (tx_.full()) emit(w, 0, tx_);
    tx_.push(m);
  }

  void stamp(Worker& w);  // the outbox's times from the worker's clock
  void send_to_peers(Worker& w);
  // Sends a further datagram built for the way out, or counts why none was
  // built (`why`, as the builder said).
  void send_built(Worker& w, rte_mbuf* m, FrameFail why);
  void send_failed(Worker& w, FrameFail why);
  static void on_tick(void* ctx, Worker& w);
  static void flush_peers(void* ctx, Outbox& out);
  Worker* current_ = nullptr;  // during process() and on_tick(): for flush_peers

  DatagramHandler& h_;
  rte_mempool* pool_;
  ReplyParams rp_;
  uint8_t port_;
  bool ticks_;
  Timer tick_;
  uint64_t unix_offset_ns_ = 0;
  uint64_t ns_per_tick_ = 1ull << 32;  // 32.32 fixed point
  Batch tx_;
  std::array<Datagram, kMaxBurst> dgrams_;
  std::array<rte_mbuf*, kMaxBurst> pkts_;
  Outbox outbox_;
  UdpCounters counters_;
  std::vector<OtherPort> others_;
  std::vector<Batch> other_tx_;  // gate 1 + i
};

}  // namespace bypass
