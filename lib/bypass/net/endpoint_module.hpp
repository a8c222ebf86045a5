// EndpointModule: the Endpoint (net/endpoint.hpp) as a graph module. Gate 0
// (kTx) takes what it answers (ARP, NDP, ping) and what its timers send;
// gate 1 (kUdp) takes the UDP datagrams for us, their parse in each mbuf.
// Its timers run on the worker: neighbour upkeep every millisecond and, on
// the worker that owns the port's first queue, the announcements at start.
#pragma once

#include <rte_mempool.h>

#include <bypass/core/timer.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/net_drops.hpp>

namespace bypass {

class EndpointModule final : public Module {
 public:
  static constexpr unsigned kTx = 0, kUdp = 1;

  EndpointModule(Endpoint& ep, rte_mempool* pool, bool announce)
      : Module("Endpoint", 2),
        ep_(ep),
        pool_(pool),
        announce_(announce),
        tick_(&EndpointModule::on_tick, this),
        hello_(&EndpointModule::on_announce, this) {}

  DropTable drop_table() const override { return NetDrop::table(); }

  void process(Worker& w, Batch& in) override {
    Batch tx;
    UdpBatch udp;
    ep_.process(w, in, tx, udp);  // at most one answer per packet
    emit(w, kTx, tx);
    emit(w, kUdp, udp.pkts);
  }

  Status start(Worker& w) override {
    const uint64_t now = w.clock().now();
    w.timers().arm(tick_, now + w.clock().ms_to_ticks(1), w.clock().ms_to_ticks(1));
    if (announce_) w.timers().arm(hello_, now);
    return Status::ok();
  }

  void stop(Worker& w) override {
    w.timers().cancel(tick_);
    w.timers().cancel(hello_);
  }

  Endpoint& endpoint() { return ep_; }

 private:
  static void on_tick(void* ctx, Worker& w) {
    auto* self = static_cast<EndpointModule*>(ctx);
    self->from_timer(w, [&](Batch& tx) { self->ep_.tick(w, self->pool_, tx); });
  }
  static void on_announce(void* ctx, Worker& w) {
    auto* self = static_cast<EndpointModule*>(ctx);
    self->from_timer(w, [&](Batch& tx) { self->ep_.announce(self->pool_, tx); });
  }
  template <class F>
  void from_timer(Worker& w, F&& fill) {
    as_self(w, [&] {
      Batch tx;
      fill(tx);
      emit(w, kTx, tx);
    });
  }

  Endpoint& ep_;
  rte_mempool* pool_;
  bool announce_;
  Timer tick_, hello_;
};

}  // namespace bypass
