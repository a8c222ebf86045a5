/// @file
/// Module: a step of packet processing on one worker. A module takes a Batch,
/// and every packet in it leaves through an output gate (to the next module)
/// or is dropped under a named reason. Gates are connected once, at build time.
/// Each instance has a stable name and its own tally (batches, packets, drops
/// by reason, sampled cycles), per worker since instances are. Batches enter a
/// module only through Module::deliver, which keeps that tally.
/// PacketModule<Derived> lets an author write one inline per-packet function;
/// it writes the batch loop, with no virtual call per packet.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <bypass/core/batch.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/core/status.hpp>
#include <bypass/core/worker.hpp>

namespace bypass {

/// A step of packet processing on one worker; see the file's description.
class Module {
 public:
  /// A module named `name` with `gates` output gates, none connected yet.
  explicit Module(std::string name, unsigned gates = 1)
      : name_(std::move(name)), next_(gates, nullptr) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Consumes every packet of `in`: emitted, dropped or kept by the module.
  virtual void process(Worker& w, Batch& in) = 0;
  /// Runs once on the control thread after the graph is built and before its
  /// worker starts: arm timers on w.timers(), allocate, touch DPDK. A module's
  /// constructor must not need EAL (configs are checked by constructing them).
  /// In a graph swapped in live (a reload), it runs on the worker between two
  /// bursts, under the worker's seccomp filter: arm timers there and do what
  /// needs a system call (files, sockets) before; a failure then is logged
  /// and the module runs without it.
  virtual Status start(Worker&) { return Status::ok(); }
  /// Runs on the worker when a live graph swap removes the module: cancel its
  /// timers. (Modules carried over into the new graph are not stopped.)
  virtual void stop(Worker&) {}
  /// The names of the module's own drop reasons (BYPASS_DROP_TABLE next to
  /// the class); read by reports, never on the fast path.
  virtual DropTable drop_table() const { return {}; }

  /// Has `gate` feed `next` (at build time); the gate must exist.
  void connect(unsigned gate, Module* next) { next_.at(gate) = next; }
  /// The module `gate` feeds, or nullptr.
  Module* next(unsigned gate) const { return next_[gate]; }
  unsigned gates() const { return static_cast<unsigned>(next_.size()); }  ///< output gates
  const std::string& name() const { return name_; }                       ///< its instance name
  void set_name(std::string n) { name_ = std::move(n); }                  ///< renames it
  const ModuleTally& tally() const { return tally_; }                     ///< what it did

  /// Hands `b` to `m` (emptied afterwards): the tally of `m` counts it, drops
  /// counted while `m` runs are its own, and on profiled iterations its cycles
  /// are sampled (those of the modules it hands on to go to child_cycles).
  static void deliver(Worker& w, Module& m, Batch& b) {
    const uint16_t n = b.size();
    m.tally_.calls.add();
    m.tally_.packets.add(n);
    ModuleTally* parent = w.set_active(&m.tally_);
    if (w.profiling()) [[unlikely]] {
      const uint64_t t0 = cpu_cycles();
      m.process(w, b);
      const uint64_t dt = cpu_cycles() - t0;
      m.tally_.cycles.add(dt);
      m.tally_.profiled_packets.add(n);
      if (parent) parent->child_cycles.add(dt);
    } else {
      m.process(w, b);
    }
    w.set_active(parent);
    b.clear();  // a well-behaved module already consumed it
  }

 protected:
  /// Counts `n` drops for `r` to this module and to `w`, outside a burst
  /// (on the control thread, once the workers have stopped).
  void drop_outside(Worker& w, DropReason r, uint64_t n) {
    ModuleTally* prev = w.set_active(&tally_);
    w.drop(r, n);
    w.set_active(prev);
  }
  /// Hands the batch to the module on `gate`; with nothing connected the
  /// packets are dropped as no_route. The batch is empty afterwards.
  void emit(Worker& w, unsigned gate, Batch& b) {
    if (b.empty()) return;
    if (Module* n = next_[gate]) [[likely]] {
      deliver(w, *n, b);
    } else {
      drop_all(w, b, GraphDrop::kNoRoute);
    }
  }
  /// Runs `f` as this module's own work outside deliver() (a timer of its):
  /// drops and, on profiled iterations, cycles count as its own.
  template <class F>
  void as_self(Worker& w, F&& f) {
    ModuleTally* parent = w.set_active(&tally_);
    if (w.profiling()) [[unlikely]] {
      const uint64_t t0 = cpu_cycles();
      f();
      tally_.cycles.add(cpu_cycles() - t0);
    } else {
      f();
    }
    w.set_active(parent);
  }
  /// Counts every packet of `b` as dropped under `r` and frees them.
  static void drop_all(Worker& w, Batch& b, DropReason r) {
    w.drop(r, b.size());
    b.free_all();
  }

 private:
  std::string name_;
  std::vector<Module*> next_;
  ModuleTally tally_;
};

/// A poller that feeds a module: port RX, a ring from another worker, a
/// generator. The graph can move what it feeds (WorkerGraph::insert_before).
class Source : public Poller {
 public:
  /// A source that feeds `next`.
  explicit Source(Module* next) : next_(next) {}
  Module* next() const { return next_; }   ///< the module it feeds
  void set_next(Module* m) { next_ = m; }  ///< feeds `m` from now on

 protected:
  Module* next_;  ///< the module it feeds
};

/// What a per-packet handler returns: a gate, or a drop with its reason.
struct Verdict {
  int16_t gate;       ///< the gate the packet leaves by; negative: dropped
  DropReason reason;  ///< why, when dropped
  /// Out through gate `g`.
  static constexpr Verdict to(unsigned g) { return {static_cast<int16_t>(g), kPass}; }
  /// Dropped under `r`.
  static constexpr Verdict drop(DropReason r) { return {-1, r}; }
};

/// CRTP helper: Derived defines `Verdict handle(Worker&, rte_mbuf*)` (inline).
/// Packets are staged per gate and handed on once per batch; drops are freed in bulk.
template <class Derived, unsigned kGates = 1>
class PacketModule : public Module {
 public:
  /// A module named `name` with kGates output gates.
  explicit PacketModule(std::string name) : Module(std::move(name), kGates) {}

  void process(Worker& w, Batch& in) final {
    Derived& self = static_cast<Derived&>(*this);
    // Counts live in registers: staging through Batch::size_ in memory made
    // every packet wait for the previous one's store (docs/benchmarks.md).
    uint16_t n[kGates] = {};
    uint16_t nd = 0;
    for (rte_mbuf* m : in) {
      Verdict v = self.handle(w, m);
      if (v.gate >= 0) [[likely]] {
        out_[v.gate].data()[n[v.gate]++] = m;
      } else {
        w.drop(v.reason);
        drops_.data()[nd++] = m;
      }
    }
    in.clear();
    drops_.set_size(nd);
    drops_.free_all();
    for (unsigned g = 0; g < kGates; ++g) {
      out_[g].set_size(n[g]);
      emit(w, g, out_[g]);
    }
  }

 private:
  Batch out_[kGates];
  Batch drops_;
};

}  // namespace bypass
