/// @file
/// The edges of a graph on a worker: PortRx polls one RX queue and feeds a
/// module; PortTx is a module that sends on one TX queue. A short TX is
/// retried a bounded number of times, then the rest is dropped as tx_full.
#pragma once

#include <algorithm>

#include <bypass/core/timer.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/io/port.hpp>

namespace bypass {

/// Polls one RX queue and hands each burst to the module it feeds.
class PortRx final : public Source {
 public:
  /// Polls `queue` of `port` (which must outlive it) and feeds `next`.
  PortRx(Port& port, uint16_t queue, Module* next) : Source(next), port_(port), queue_(queue) {}

  bool poll(Worker& w) override {
    Batch b;
    uint16_t n = port_.rx_burst(queue_, b.data(), kMaxBurst);
    if (n == 0) return false;
    b.set_size(n);
    uint64_t bytes = 0;
    for (rte_mbuf* m : b) bytes += m->pkt_len;
    w.counters().rx_packets.add(n);
    w.counters().rx_bytes.add(bytes);
    Module::deliver(w, *next_, b);
    return true;
  }

  Port& port() const { return port_; }       ///< the port it polls
  uint16_t queue() const { return queue_; }  ///< the RX queue it polls

 private:
  Port& port_;
  uint16_t queue_;
};

/// Sends each batch it is handed on one TX queue; see the file's description.
class PortTx final : public Module {
 public:
  /// Sends on `queue` of `port` (which must outlive it), trying `retries` more
  /// times after a short TX.
  PortTx(Port& port, uint16_t queue, unsigned retries = 4)
      : Module("PortTx", 0), port_(port), queue_(queue), retries_(retries) {}

  void process(Worker& w, Batch& b) override {
    // Bytes are counted before the driver owns the packets (it may free them at once).
    uint64_t bytes = 0;
    for (rte_mbuf* m : b) bytes += m->pkt_len;
    uint16_t sent = 0;
    for (unsigned t = 0; t <= retries_ && sent < b.size(); ++t)
      sent += port_.tx_burst(queue_, b.data() + sent, static_cast<uint16_t>(b.size() - sent));
    for (uint16_t i = sent; i < b.size(); ++i) bytes -= b[i]->pkt_len;
    w.counters().tx_packets.add(sent);
    w.counters().tx_bytes.add(bytes);
    if (sent < b.size()) [[unlikely]] {
      b.drop_front(sent);
      drop_all(w, b, GraphDrop::kTxFull);
    }
    b.clear();
  }

  /// A port that holds packets back (Port::wants_tx_kicks) is kicked every
  /// 100 us of worker time, so that what it holds leaves on a quiet queue.
  Status start(Worker& w) override {
    if (port_.wants_tx_kicks()) {
      const uint64_t every = std::max<uint64_t>(w.clock().us_to_ticks(100), 1);
      w.timers().arm(kick_, w.clock().now() + every, every);
    }
    return Status::ok();
  }
  void stop(Worker& w) override { w.timers().cancel(kick_); }

 private:
  static void on_kick(void* ctx, Worker&) {
    auto* self = static_cast<PortTx*>(ctx);
    self->port_.tx_burst(self->queue_, nullptr, 0);
  }

  Port& port_;
  uint16_t queue_;
  unsigned retries_;
  Timer kick_{&PortTx::on_kick, this};
};

}  // namespace bypass
