// Pipeline hand-off between workers: RingOut is a module that puts batches on
// a single-producer/single-consumer ring (full: dropped as ring_full); RingIn
// is the poller on the other worker that takes them off and feeds a module.
#pragma once

#include <bypass/core/ring.hpp>
#include <bypass/graph/module.hpp>

namespace bypass {

using HandoffRing = MbufRing<Producer::kSingle, Consumer::kSingle>;

class RingOut final : public Module {
 public:
  explicit RingOut(HandoffRing& ring) : Module("RingOut", 0), ring_(ring) {}
  const HandoffRing& ring() const { return ring_; }
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
