// The generator's data plane as graph parts. GenTx is a source: it sends the
// streams of one port from one worker, paced on the worker's clock (or as
// fast as the port takes them), stamping each frame with a sequence number
// and its TX time; frames the port refuses never existed (their sequence
// numbers are used again). GenRx is a sink module behind a port's RX source:
// it reads the stamps into per-flow trackers (loss, duplicates, reorder,
// latency histogram), timing each by the device's receive timestamp when the
// port has one (DeviceClock maps it to the worker's clock, sampled by a timer
// every 10 ms), else by the clock when the burst was read. No allocation,
// lock or syscall per packet.
#pragma once

#include <memory>
#include <vector>

#include <bypass/core/batch.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/core/timer.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/gen/device_clock.hpp>
#include <bypass/gen/pacer.hpp>
#include <bypass/gen/rx_tracker.hpp>
#include <bypass/gen/stream.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/io/port.hpp>

namespace bypass::gen {

struct alignas(RTE_CACHE_LINE_SIZE) PortCounters {
  Counter tx_packets, tx_bytes;  // bytes on the wire less preamble and gap (frame with FCS)
  Counter rx_packets, rx_bytes, rx_other;  // rx_other: no generator header, or an earlier trial's
  Counter tx_nombuf;                       // sends skipped: the pool was empty
  Counter rx_device_timed;                 // latency from the device's RX timestamp
};

// One stream as one worker sends it: its own flow id, sequence and pacer.
struct StreamTx {
  StreamTx(const StreamTable* t, uint16_t f, Pacer p)
      : table(t), flow(f), pacer(p), cursor(t->size()) {}
  const StreamTable* table;
  uint16_t flow;  // carried in the GenHeader
  Pacer pacer;
  TemplateCursor cursor;
  uint64_t seq = 0;
  Counter sent;
};

class GenTx final : public Source {
 public:
  GenTx(Port& port, uint16_t txq, rte_mempool* pool, PortCounters& counters)
      : Source(nullptr), port_(port), txq_(txq), pool_(pool), c_(counters) {}
  void add(std::unique_ptr<StreamTx> s) { streams_.push_back(std::move(s)); }
  // Starts the pacers at `now` (call before the worker runs).
  void start(uint64_t now);
  bool poll(Worker& w) override;
  const std::vector<std::unique_ptr<StreamTx>>& streams() const { return streams_; }

 private:
  Port& port_;
  uint16_t txq_;
  rte_mempool* pool_;
  PortCounters& c_;
  std::vector<std::unique_ptr<StreamTx>> streams_;
};

// Flow id -> tracker, for one RX worker.
class FlowTrackers {
 public:
  FlowTrackers(size_t flows, uint64_t hz, const HistogramConfig& latency);
  RxTracker* get(uint16_t flow) {
    return flow < trackers_.size() ? trackers_[flow].get() : nullptr;
  }
  size_t size() const { return trackers_.size(); }

 private:
  std::vector<std::unique_ptr<RxTracker>> trackers_;
};

class GenRx final : public Module {
 public:
  // Device timestamps are used when the port has them (Port::rx_timestamps)
  // and its clock can be read; start() arms the clock's sampling timer.
  GenRx(Port& port, FlowTrackers& flows, PortCounters& counters);
  void process(Worker& w, Batch& in) override;
  Status start(Worker& w) override;
  void stop(Worker& w) override { w.timers().cancel(sample_); }
  const DeviceClock* device_clock() const { return ts_flag_ ? &clock_ : nullptr; }
  // From now on, frames stamped before `tsc` (the worker clock's ticks) go
  // to rx_other, not to their stream: a trial's streams and sequence numbers
  // are the previous trial's again, and a late frame of that one would read
  // as a jump of millions. Set before the workers start.
  void count_from(uint64_t tsc) {
    since_ = tsc;
    counting_from_ = true;
  }

 private:
  bool sent_since(uint64_t tx, uint64_t now) const;
  static bool read_clock(const void* port, uint64_t* now) {
    return static_cast<const Port*>(port)->read_clock(now);
  }
  static void on_sample(void* self, Worker& w) {
    static_cast<GenRx*>(self)->clock_.sample(w.clock());
  }

  FlowTrackers& flows_;
  PortCounters& c_;
  // count_from()'s time (the worker clock's 64 bits, so that a run longer
  // than the 48-bit stamps wrap in still counts); until it is called,
  // everything counts.
  uint64_t since_ = 0;
  bool counting_from_ = false;
  int ts_offset_ = -1;
  uint64_t ts_flag_ = 0;  // 0: no device timestamps
  DeviceClock clock_;
  Timer sample_;
};

// Where the GenHeader of a received frame starts (after Ethernet, VLANs, IP
// and UDP), or 0 if the frame is not UDP over IPv4/IPv6.
uint16_t gen_header_offset(const rte_mbuf* m);

}  // namespace bypass::gen
