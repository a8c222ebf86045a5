// The generator's GenRx behind a port's RX source, with a device that
// timestamps received packets: the latency comes from the device timestamp
// mapped to the worker's clock (sampled by GenRx's timer), not from when the
// burst was read. No driver on the development machines has RX
// timestamps on a readable clock, so a small fake Port stands in for such a NIC.
#include <rte_mbuf_dyn.h>

#include <gtest/gtest.h>

#include <deque>

#include <bypass/gen/stream.hpp>
#include <bypass/gen/traffic.hpp>
#include <bypass/graph/port_modules.hpp>

#include "eal_env.hpp"

namespace bypass::gen {
namespace {

// A port that receives what the test queued and sends nothing.
class QueuePort : public Port {
 public:
  uint16_t rx_burst(uint16_t, rte_mbuf** pkts, uint16_t n) override {
    uint16_t k = 0;
    for (; k < n && !queued.empty(); ++k) {
      pkts[k] = queued.front();
      queued.pop_front();
    }
    return k;
  }
  uint16_t tx_burst(uint16_t, rte_mbuf**, uint16_t) override { return 0; }
  LinkStatus link() const override { return {}; }
  PortStats stats() const override { return {}; }
  rte_ether_addr mac() const override { return {}; }
  const std::string& name() const override { return name_; }
  uint16_t rx_queues() const override { return 1; }
  uint16_t tx_queues() const override { return 1; }

  std::deque<rte_mbuf*> queued;

 private:
  std::string name_ = "fake";
};

// ... whose device timestamps received packets: its clock runs at 1 GHz, 7 s
// ahead of the worker's manual clock (which runs at 2 GHz), so the mapping
// between the two has a slope and an offset to find.
class TimestampingPort final : public QueuePort {
 public:
  explicit TimestampingPort(ManualClock& clock) : clock_(clock) {
    rte_mbuf_dyn_rx_timestamp_register(&offset_, &flag_);
  }
  bool rx_timestamps(int* offset, uint64_t* flag) const override {
    *offset = offset_;
    *flag = flag_;
    return offset_ >= 0;
  }
  bool read_clock(uint64_t* now) const override {
    *now = device_time(clock_.now());
    return true;
  }
  static uint64_t device_time(uint64_t ticks) { return 7'000'000'000ull + ticks / 2; }
  // Stamps m as received at `ticks` of the worker's clock.
  void stamp(rte_mbuf* m, uint64_t ticks) const {
    *RTE_MBUF_DYNFIELD(m, offset_, uint64_t*) = device_time(ticks);
    m->ol_flags |= flag_;
  }

 private:
  ManualClock& clock_;
  int offset_ = -1;
  uint64_t flag_ = 0;
};

TEST(GenRx, LatencyFromTheDeviceTimestampWhenThePortHasOne) {
  constexpr uint64_t kHz = 2'000'000'000;
  ManualClock clock(kHz, 1'000'000);
  TimestampingPort port(clock);
  FlowTrackers flows(1, kHz, HistogramConfig{1, 10'000'000'000ull, 2});
  PortCounters counters;
  GenRx sink(port, flows, counters);
  PortRx rx(port, 0, &sink);
  ASSERT_NE(sink.device_clock(), nullptr);
  Worker w(0, test::eal_config().workers[0], &clock);
  ASSERT_TRUE(sink.start(w));
  // The timer samples the device clock at once and every 10 ms after: two
  // samples make the mapping.
  w.sample_clock();
  EXPECT_EQ(w.run_timers(), 1u);
  EXPECT_FALSE(sink.device_clock()->ready());
  clock.advance(kHz / 100);  // 10 ms
  w.sample_clock();
  EXPECT_EQ(w.run_timers(), 1u);
  ASSERT_TRUE(sink.device_clock()->ready());

  auto s = parse_stream_arg("dst=198.18.0.2 size=64");
  ASSERT_TRUE(s);
  auto t = StreamTable::expand(*s);
  ASSERT_TRUE(t);
  // Sent at `tx`, stamped by the device 10 us later; read by the poller 5 ms
  // after sending. Half the frames carry no device stamp.
  const uint64_t tx = clock.now();
  const uint64_t wire = tx + kHz / 100'000;
  for (uint64_t seq = 0; seq < 16; ++seq) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(t->build(m, 0, seq, tx));
    if (seq < 8) port.stamp(m, wire);
    port.queued.push_back(m);
  }
  clock.advance(kHz / 200);  // 5 ms
  EXPECT_TRUE(rx.poll(w));
  EXPECT_EQ(counters.rx_packets.get(), 16u);
  EXPECT_EQ(counters.rx_device_timed.get(), 8u);
  HistogramSummary h = flows.get(0)->latency().summary();
  EXPECT_EQ(h.count, 16u);
  // 8 at 10 us (the device's stamp), 8 at 5 ms (when the poller read them),
  // within the histogram's 2 significant digits.
  EXPECT_GE(h.min, 9'900u);
  EXPECT_LE(h.min, 10'100u);
  EXPECT_GE(h.max, 4'950'000u);
  EXPECT_LE(h.max, 5'050'000u);
}

// A GenRx behind a port without timestamps, on a 1 GHz manual clock, and
// one stream's frames to queue on it.
struct PlainRig {
  static constexpr uint64_t kHz = 1'000'000'000;
  ManualClock clock{kHz, 5'000'000};
  QueuePort port;
  FlowTrackers flows{1, kHz, HistogramConfig{1, 10'000'000'000ull, 2}};
  PortCounters counters;
  GenRx sink{port, flows, counters};
  PortRx rx{port, 0, &sink};
  Worker w{0, test::eal_config().workers[0], &clock};
  StreamTable table = *StreamTable::expand(*parse_stream_arg("dst=198.18.0.2 size=64"));
  // Frame `seq` of the stream, stamped as sent at `tx`, queued to be read.
  void queue(uint64_t seq, uint64_t tx) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
    ASSERT_NE(m, nullptr);
    ASSERT_TRUE(table.build(m, 0, seq, tx));
    port.queued.push_back(m);
  }
};

TEST(GenRx, ReadTimeWhenThePortHasNoTimestamps) {
  PlainRig r;
  auto& [clock, port, flows, counters, sink, rx, w, table] = r;
  constexpr uint64_t kHz = PlainRig::kHz;
  EXPECT_EQ(sink.device_clock(), nullptr);
  ASSERT_TRUE(sink.start(w));
  EXPECT_EQ(w.timers().armed(), 0u) << "no device clock to sample";
  for (uint64_t seq = 0; seq < 4; ++seq) r.queue(seq, clock.now());
  clock.advance(kHz / 1000);  // read 1 ms after sending
  EXPECT_TRUE(rx.poll(w));
  HistogramSummary h = flows.get(0)->latency().summary();
  EXPECT_EQ(h.count, 4u);
  EXPECT_GE(h.min, 990'000u);
  EXPECT_LE(h.max, 1'010'000u);
  EXPECT_EQ(counters.rx_device_timed.get(), 0u);
  EXPECT_EQ(sink.tally().packets.get(), 4u);
}

TEST(GenRx, FramesOfAnEarlierTrialAreNotCountedToTheirStream) {
  // A trial reuses the streams and the sequences from 0 of the one before:
  // a late frame of that one (sequence 20,000,000) would read as a jump and
  // make every frame after it stale. Stamped before count_from(), it goes to
  // rx_other.
  PlainRig r;
  auto& [clock, port, flows, counters, sink, rx, w, table] = r;
  ASSERT_TRUE(sink.start(w));
  const uint64_t before = clock.now();
  clock.advance(PlainRig::kHz / 10);
  sink.count_from(clock.now());  // this trial starts
  r.queue(20'000'000, before);   // the earlier trial's, late
  for (uint64_t seq = 0; seq < 8; ++seq) r.queue(seq, clock.now());
  clock.advance(PlainRig::kHz / 1000);
  EXPECT_TRUE(rx.poll(w));
  EXPECT_EQ(counters.rx_other.get(), 1u);
  const RxTracker& tr = *flows.get(0);
  EXPECT_EQ(tr.counts().received, 8u);
  EXPECT_EQ(tr.counts().stale, 0u);
  EXPECT_EQ(tr.counts().lost, 0u);
}

// The stamps are 48 bits: a run longer than 2^47 ticks (13 hours at 3 GHz)
// still counts its frames to their streams (they all went to rx_other).
TEST(GenRx, ARunLongerThanTheStampsHalfRangeStillCounts) {
  PlainRig r;
  auto& [clock, port, flows, counters, sink, rx, w, table] = r;
  ASSERT_TRUE(sink.start(w));
  sink.count_from(clock.now());
  clock.advance(static_cast<int64_t>((uint64_t{1} << 47) + 12345));
  for (uint64_t seq = 0; seq < 4; ++seq) r.queue(seq, clock.now());
  clock.advance(PlainRig::kHz / 1000);
  EXPECT_TRUE(rx.poll(w));
  EXPECT_EQ(counters.rx_other.get(), 0u);
  EXPECT_EQ(flows.get(0)->counts().received, 4u);
}

}  // namespace
}  // namespace bypass::gen
