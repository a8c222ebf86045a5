// Pipeline hand-off between workers: RingOut is a module that puts batches on
// a single-producer/single-consumer ring (full: dropped as ring_full; still
// there when the workers stop: left_at_stop, by drop_left()); RingIn is the
// poller on the other worker that takes them off and feeds a module.
#pragma once

#include <bypass/core/ring.hpp>
#include <bypass/graph/module.hpp>

namespace bypass {

using HandoffRing = MbufRing<Producer::kSingle, Consumer::kSingle>;

#define BYPASS_RING_OUT_DROPS(X) \
  X(kLeftAtStop, "left_at_stop") /* still in the ring when the workers stopped */
BYPASS_DROP_TABLE(RingOutDrop, BYPASS_RING_OUT_DROPS)

class RingOut final : public Module {
 public:
  explicit RingOut(HandoffRing& ring) : Module("RingOut", 0), ring_(ring) {}
  const HandoffRing& ring() const { return ring_; }
  DropTable drop_table() const override { return RingOutDrop::table(); }
  /// Once the workers have stopped (control thread): frees what is still in
  /// the ring, counted as left_at_stop drops of this module on `w`, its
  /// worker, so that every packet received is sent or dropped by name.
  void drop_left(Worker& w) {
    Batch b;
    uint64_t n = 0;
    while (ring_.receive(b) > 0) {
      n += b.size();
      b.free_all();
    }
    if (n) drop_outside(w, RingOutDrop::kLeftAtStop, n);
  }
  void process(Worker& w, Batch& b) override {
    uint16_t n = b.size();
    unsigned sent = ring_.send_or_drop(b);
    if (sent < n) [[unlikely]]
      w.drop(GraphDrop::kRingFull, n - sent);
  }

 private:
  HandoffRing& ring_;
};

class RingIn final : public Source {
 public:
  RingIn(HandoffRing& ring, Module* next) : Source(next), ring_(ring) {}
  const HandoffRing& ring() const { return ring_; }
  bool poll(Worker& w) override {
    Batch b;
    if (ring_.receive(b) == 0) return false;
    Module::deliver(w, *next_, b);
    return true;
  }

 private:
  HandoffRing& ring_;
};

}  // namespace bypass
