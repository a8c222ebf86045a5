// Shared by the Endpoint tests: an Endpoint with two IPv4 and two IPv6
// addresses on a Worker, a way to run code inside Worker::run (the only place
// the worker's time advances), and the accounting check: every frame handed
// to process() ends in tx, in the UDP batch, dropped under a reason, or
// consumed, and nothing else.
#pragma once

#include <atomic>
#include <functional>

#include <bypass/core/worker.hpp>
#include <bypass/net/endpoint.hpp>

#include "net_fixture.hpp"

namespace bypass::test {

inline IfAddr if4(uint32_t host_order, uint8_t prefix = 24) {
  return IfAddr{IpAddr::v4(rte_cpu_to_be_32(host_order)), prefix};
}
inline IfAddr if6(const Ip6& a, uint8_t prefix = 64) {
  return IfAddr{IpAddr::v6(a.data()), prefix};
}

inline constexpr uint32_t kOurIp4b = RTE_IPV4(198, 18, 0, 3);
inline constexpr Ip6 kOurIp6b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};

class EndpointTest : public NetTest {
 protected:
  static EndpointConfig config(uint32_t icmp_rate = 100) {
    EndpointConfig c;
    c.mac = kOurMac;
    c.addrs = {if4(kOurIp4), if6(kOurIp6), if4(kOurIp4b), if6(kOurIp6b)};
    c.icmp_errors_per_sec = icmp_rate;
    c.ttl = 77;
    return c;
  }

  // Drops count in tally_, as they would in the Endpoint module's.
  explicit EndpointTest(uint32_t icmp_rate = 100) : ep_(config(icmp_rate), w_.clock().hz()) {
    w_.set_active(&tally_);
  }

  void TearDown() override {
    tx_.free_all();
    udp_.pkts.free_all();
    NetTest::TearDown();
  }

  // Hands `frames` (each cut at `cuts`) to process() as one batch.
  void process(const std::vector<Bytes>& frames, const std::vector<uint32_t>& cuts = {},
               uint64_t flags = 0) {
    Batch in;
    for (const Bytes& f : frames) {
      rte_mbuf* m = to_mbuf(test_pool(), f, cuts);
      ASSERT_NE(m, nullptr);
      m->ol_flags = flags;
      in.push(m);
    }
    rx_ += in.size();
    ep_.process(w_, in, tx_, udp_);
    EXPECT_TRUE(in.empty());
  }
  void process(const Bytes& frame, const std::vector<uint32_t>& cuts = {}, uint64_t flags = 0) {
    process(std::vector<Bytes>{frame}, cuts, flags);
  }

  uint64_t drops(DropReason r) const { return tally_.drops[drop_index(r)].get(); }
  uint64_t total_drops() const { return tally_.dropped(); }
  // rx = tx + udp + drops + consumed, over everything processed so far.
  void expect_accounted(uint64_t consumed) const {
    EXPECT_EQ(rx_, tx_.size() + udp_.pkts.size() + total_drops() + consumed)
        << "tx " << tx_.size() << ", udp " << udp_.pkts.size() << ", drops " << total_drops()
        << ", consumed " << consumed;
  }
  // The only frame sent, as bytes.
  Bytes only_tx() {
    EXPECT_EQ(tx_.size(), 1u);
    return tx_.empty() ? Bytes{} : bytes_of(tx_[0]);
  }

  // Runs `f` as a worker iteration would: w.now() is the manual clock's time.
  void in_worker(const std::function<void(Worker&)>& f) {
    w_.sample_clock();
    f(w_);
  }

  // The worker's time: tests move it (1 GHz, starting at 5 s).
  ManualClock clock_{1'000'000'000, 5'000'000'000};
  Worker w_{0, WorkerConfig{}, &clock_};
  ModuleTally tally_;
  Endpoint ep_;
  Batch tx_;
  UdpBatch udp_;
  uint64_t rx_ = 0;
};

}  // namespace bypass::test
