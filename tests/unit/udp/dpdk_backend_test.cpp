// The handler suite over the DPDK backend: bypass's UdpPoller and Endpoint run
// on an EAL worker lcore behind a ring-backed ethdev; the test thread is the
// client host, writing Ethernet/IP/UDP frames into the port's RX ring and
// reading the answers from its TX ring.
#include <rte_eth_ring.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <thread>

#include <bypass/io/eth_port.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/udp/dpdk_backend.hpp>

#include "eal_env.hpp"
#include "handler_suite.hpp"

namespace bypass {
namespace {

using Family = IpAddr::Family;
using Clock = std::chrono::steady_clock;

const MacAddr kClientMac{{0x02, 0, 0, 0, 0, 0x01}};
const IpAddr kClient4 = *IpAddr::parse("198.18.0.1");
const IpAddr kServer4 = *IpAddr::parse("198.18.0.2");
const IpAddr kClient6 = *IpAddr::parse("2001:db8::1");
const IpAddr kServer6 = *IpAddr::parse("2001:db8::2");

// The wire between the test and the port: frames in, answers out, sorted by
// the client port they are for.
class RingWire {
 public:
  RingWire() {
    static int n = 0;
    id_ = std::to_string(n++);
    rx_ =
        rte_ring_create(("hsrx" + id_).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx_ =
        rte_ring_create(("hstx" + id_).c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_eth_from_rings(("hs" + id_).c_str(), &rx_, 1, &tx_, 1, SOCKET_ID_ANY);
  }
  ~RingWire() {
    rte_mbuf* m;
    while (rte_ring_dequeue(tx_, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    while (rte_ring_dequeue(rx_, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(rx_);
    rte_ring_free(tx_);
  }
  std::string device() const { return "net_ring_hs" + id_; }

  bool send(Family f, uint16_t sport, uint16_t dport, std::span<const uint8_t> payload,
            const MacAddr& server) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
    if (!m) return false;
    const bool v6 = f == Family::kV6;
    const uint32_t l3 = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
    const uint32_t len = sizeof(rte_ether_hdr) + l3 + sizeof(rte_udp_hdr) + payload.size();
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
    if (!p) {
      rte_pktmbuf_free(m);
      return false;
    }
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->src_addr = to_ether(kClientMac);
    eth->dst_addr = to_ether(server);
    eth->ether_type = rte_cpu_to_be_16(v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
    auto* u = reinterpret_cast<rte_udp_hdr*>(p + sizeof(rte_ether_hdr) + l3);
    u->src_port = rte_cpu_to_be_16(sport);
    u->dst_port = rte_cpu_to_be_16(dport);
    u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload.size()));
    u->dgram_cksum = 0;
    if (!payload.empty()) std::memcpy(u + 1, payload.data(), payload.size());
    if (v6) {
      auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
      ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
      ip->payload_len = u->dgram_len;
      ip->proto = IPPROTO_UDP;
      ip->hop_limits = 64;
      std::memcpy(ip->src_addr, kClient6.v6_bytes(), 16);
      std::memcpy(ip->dst_addr, kServer6.v6_bytes(), 16);
      u->dgram_cksum = rte_ipv6_udptcp_cksum(ip, u);
    } else {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
      std::memset(ip, 0, sizeof(*ip));
      ip->version_ihl = RTE_IPV4_VHL_DEF;
      ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(l3 + 8 + payload.size()));
      ip->time_to_live = 64;
      ip->next_proto_id = IPPROTO_UDP;
      ip->src_addr = kClient4.v4_be();
      ip->dst_addr = kServer4.v4_be();
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
    }
    for (int tries = 0; tries < 1000; ++tries) {
      if (rte_ring_enqueue(rx_, m) == 0) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    rte_pktmbuf_free(m);
    return false;
  }

  std::optional<test::Bytes> receive(Family f, uint16_t client_port, test::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      pump();
      auto& q = inbox_[{f, client_port}];
      if (!q.empty()) {
        test::Bytes b = std::move(q.front());
        q.pop_front();
        return b;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

 private:
  // Moves every answer from the TX ring to the inbox of its client port;
  // frames that are not UDP to us (announcements) are dropped here.
  void pump() {
    rte_mbuf* m;
    while (rte_ring_dequeue(tx_, reinterpret_cast<void**>(&m)) == 0) {
      const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
      const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
      uint32_t l4 = 0;
      Family f = Family::kV4;
      if (type == RTE_ETHER_TYPE_IPV4 &&
          rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14)->next_proto_id == 17) {
        l4 = 14 + 20;
      } else if (type == RTE_ETHER_TYPE_IPV6 &&
                 rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, 14)->proto == 17) {
        l4 = 14 + 40;
        f = Family::kV6;
      }
      if (l4 != 0 && m->pkt_len >= l4 + 8) {
        std::vector<uint8_t> frame(m->pkt_len);
        const void* d = rte_pktmbuf_read(m, 0, m->pkt_len, frame.data());
        if (d != frame.data()) std::memcpy(frame.data(), d, m->pkt_len);
        const auto* u = reinterpret_cast<const rte_udp_hdr*>(frame.data() + l4);
        const uint32_t ulen = rte_be_to_cpu_16(u->dgram_len);
        if (ulen >= 8 && l4 + ulen <= frame.size())
          inbox_[{f, rte_be_to_cpu_16(u->dst_port)}].emplace_back(frame.begin() + l4 + 8,
                                                                  frame.begin() + l4 + ulen);
      }
      rte_pktmbuf_free(m);
    }
  }

  std::string id_;
  rte_ring *rx_ = nullptr, *tx_ = nullptr;
  std::map<std::pair<Family, uint16_t>, std::deque<test::Bytes>> inbox_;
};

class RingClient final : public test::UdpClient {
 public:
  RingClient(RingWire& w, Family f, uint16_t server_port, uint16_t my_port, const MacAddr& server)
      : wire_(w), f_(f), server_port_(server_port), port_(my_port), server_(server) {}
  bool send(std::span<const uint8_t> p) override {
    return wire_.send(f_, port_, server_port_, p, server_);
  }
  std::optional<test::Bytes> receive(test::milliseconds t) override {
    return wire_.receive(f_, port_, t);
  }

 private:
  RingWire& wire_;
  Family f_;
  uint16_t server_port_, port_;
  MacAddr server_;
};

class DpdkHarness : public test::UdpHarness {
 public:
  ~DpdkHarness() override { stop(); }
  std::vector<Family> families() const override { return {Family::kV4, Family::kV6}; }
  uint32_t max_datagram() const override { return 1400; }
  std::vector<uint16_t> free_ports(size_t n) override {
    std::vector<uint16_t> v;
    for (size_t i = 0; i < n; ++i) v.push_back(static_cast<uint16_t>(7000 + i));
    return v;
  }
  Status start(const std::vector<ServiceConfig>& services, const std::vector<Family>&) override {
    wire_ = std::make_unique<RingWire>();
    PortConfig pc;
    pc.name = "ring";
    pc.device = wire_->device();
    auto p = EthPort::open(pc, 1, test::test_pool());
    if (!p) return p.status();
    port_ = std::move(p.value());
    EndpointConfig ec;
    ec.mac = to_mac(port_->mac());
    ec.addrs = {*IfAddr::parse("198.18.0.2/24"), *IfAddr::parse("2001:db8::2/64")};
    worker_ = std::make_unique<Worker>(0, test::eal_config().workers[0]);
    endpoint_ = std::make_unique<Endpoint>(ec, worker_->clock().hz());
    if (second_port_) {
      wire2_ = std::make_unique<RingWire>();
      PortConfig pc2;
      pc2.name = "ring2";
      pc2.device = wire2_->device();
      auto p2 = EthPort::open(pc2, 1, test::test_pool());
      if (!p2) return p2.status();
      port2_ = std::move(p2.value());
      EndpointConfig ec2 = ec;
      ec2.mac = to_mac(port2_->mac());
      endpoint2_ = std::make_unique<Endpoint>(ec2, worker_->clock().hz());
    }
    ctx_ = std::make_unique<DpdkHandlerContext>(1452);
    for (const auto& s : services) {
      handlers_.push_back(factory_ ? factory_(s) : make_handler(s));
      if (Status st = handlers_.back()->start(*ctx_); !st) return st;
      table_.bind(s.port, handlers_.back().get());
    }
    graph_ = std::make_unique<WorkerGraph>(*worker_);
    UdpPortPlan plan;
    plan.port = port_.get();
    plan.name = "ring";
    plan.endpoint = endpoint_.get();
    plan.rx_queues = {0};
    plan.announce = true;
    std::vector<UdpPortPlan> plans = {plan};
    if (second_port_) {
      UdpPortPlan p2 = plan;
      p2.port = port2_.get();
      p2.index = 1;
      p2.name = "ring2";
      p2.endpoint = endpoint2_.get();
      plans.push_back(p2);
    }
    if (first_port_unpolled_) plans[0].rx_queues.clear();
    build_udp_graph(*graph_, plans, table_, test::test_pool(), second_port_);
    if (first_port_unpolled_) {  // as placement leaves a worker's graph
      graph_->prune();
      assign_service_ticks(*graph_);
    }
    if (Status st = graph_->start(); !st) return st;
    group_ = std::make_unique<WorkerGroup>(std::vector<Worker*>{worker_.get()});
    return group_->launch();
  }
  std::unique_ptr<test::UdpClient> client(Family f, uint16_t port) override {
    return std::make_unique<RingClient>(*wire_, f, port, next_port_++, to_mac(port_->mac()));
  }
  // With second_port_: a client on the second port's wire.
  std::unique_ptr<test::UdpClient> client_on_second(Family f, uint16_t port) {
    return std::make_unique<RingClient>(*wire2_, f, port, next_port_++, to_mac(port2_->mac()));
  }
  bool second_port_ = false;  // set before start(): a second ring port on the same worker
  // With second_port_, set before start(): the worker polls only the second
  // port, and its graph is pruned as a hand-off leaves it.
  bool first_port_unpolled_ = false;
  Stats stats() const override {
    Stats st{0, 0};
    for (const auto& m : graph_->modules())
      if (const auto* svc = dynamic_cast<const ServiceModule*>(m.get())) {
        st.rx_datagrams += svc->counters().datagrams.get();
        st.tx_datagrams += svc->counters().replies.get() + svc->counters().sent.get();
      }
    return st;
  }
  // The handlers to make, instead of make_handler's.
  std::function<std::unique_ptr<DatagramHandler>(const ServiceConfig&)> factory_;
  // The service module's drops under `reason`, summed over its instances.
  uint64_t service_drops(DropReason reason) const {
    uint64_t n = 0;
    for (const auto& m : graph_->modules())
      if (dynamic_cast<const ServiceModule*>(m.get()) != nullptr)
        n += m->tally().drops[drop_index(reason)].get();
    return n;
  }
  void stop() override {
    if (group_) group_->stop();
    group_.reset();
    graph_.reset();
    port_.reset();
    wire_.reset();
    port2_.reset();
    wire2_.reset();
  }

 private:
  std::unique_ptr<RingWire> wire_;
  std::unique_ptr<EthPort> port_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<Endpoint> endpoint_;
  std::unique_ptr<RingWire> wire2_;
  std::unique_ptr<EthPort> port2_;
  std::unique_ptr<Endpoint> endpoint2_;
  std::unique_ptr<DpdkHandlerContext> ctx_;
  std::vector<std::unique_ptr<DatagramHandler>> handlers_;
  ServiceTable table_;
  std::unique_ptr<WorkerGraph> graph_;
  std::unique_ptr<WorkerGroup> group_;
  uint16_t next_port_ = 40000;
};

}  // namespace

namespace test {
INSTANTIATE_TYPED_TEST_SUITE_P(Dpdk, UdpHandlerSuite, DpdkHarness);

TEST(DpdkBackend, FanoutSendsToKeptPeers) {
  DpdkHarness h;
  test::expect_fanout_relays(h);
}
}  // namespace test

namespace {

// What the suite cannot see: every mbuf is back after a run, and the
// announcements at start went out.
TEST(DpdkBackend, NoMbufLeftAfterTrafficAndStop) {
  unsigned before = rte_mempool_in_use_count(test::test_pool());
  {
    DpdkHarness h;
    ServiceConfig echo;
    echo.port = 7;
    echo.handler = "echo";
    ASSERT_TRUE(h.start({echo}, h.families()));
    for (Family f : h.families()) {
      auto c = h.client(f, 7);
      for (int i = 0; i < 100; ++i) {
        test::Bytes b = test::pattern(100, i);
        ASSERT_TRUE(c->send(b));
        auto got = c->receive(test::kAnswerTimeout);
        ASSERT_TRUE(got.has_value()) << i;
        EXPECT_EQ(*got, b);
      }
    }
    EXPECT_EQ(h.stats().rx_datagrams, 200u);
    EXPECT_EQ(h.stats().tx_datagrams, 200u);
  }
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

// Two ports on one worker: what a handler sends to a peer kept on the other
// port goes out on that port (it was dropped as peer_elsewhere: a netcode
// client on the second port got no keep-alives from the first port's tick).
TEST(DpdkBackend, PeersKeptOnAnotherPortOfTheWorkerAreReached) {
  unsigned before = rte_mempool_in_use_count(test::test_pool());
  {
    DpdkHarness h;
    h.second_port_ = true;
    ServiceConfig s;
    s.handler = "fanout";
    s.port = 7000;
    ASSERT_TRUE(h.start({s}, h.families()));
    auto a = h.client(Family::kV4, 7000);
    auto b = h.client_on_second(Family::kV4, 7000);
    ASSERT_TRUE(a->send(test::Bytes{'a', '1'}));
    EXPECT_FALSE(a->receive(test::kSilence));
    ASSERT_TRUE(b->send(test::Bytes{'b', '1'}));  // in on the second port, out on the first
    auto got = a->receive(test::kAnswerTimeout);
    ASSERT_TRUE(got.has_value()) << "a did not hear b";
    EXPECT_EQ(*got, (test::Bytes{'b', '1'}));
    ASSERT_TRUE(a->send(test::Bytes{'a', '2'}));  // and the other way
    got = b->receive(test::kAnswerTimeout);
    ASSERT_TRUE(got.has_value()) << "b did not hear a";
    EXPECT_EQ(*got, (test::Bytes{'a', '2'}));
    EXPECT_EQ(h.service_drops(ServiceDrop::kPeerElsewhere), 0u);
  }
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

// A handler's mistake: a further datagram addressed to no request of the
// batch (an index past its end). It is not sent, and counted as no_request;
// the requests themselves are still answered.
TEST(DpdkBackend, FurtherDatagramToNoRequestIsCountedNotSent) {
  struct Stray final : DatagramHandler {
    void on_datagrams(std::span<Datagram> batch, Outbox& out) override {
      const uint8_t header[4] = {'l', 'o', 's', 't'};
      for (Datagram& g : batch) g.reply = Reply::kUnchanged;
      out.send(static_cast<uint16_t>(batch.size()), header);
    }
  };
  unsigned before = rte_mempool_in_use_count(test::test_pool());
  {
    DpdkHarness h;
    h.factory_ = [](const ServiceConfig&) { return std::make_unique<Stray>(); };
    ServiceConfig svc;
    svc.port = 7;
    svc.handler = "stray";
    ASSERT_TRUE(h.start({svc}, h.families()));
    auto c = h.client(Family::kV4, 7);
    for (int i = 0; i < 5; ++i) {
      test::Bytes b = test::pattern(60, i);
      ASSERT_TRUE(c->send(b));
      auto got = c->receive(test::kAnswerTimeout);
      ASSERT_TRUE(got.has_value()) << i;
      EXPECT_EQ(*got, b) << "the request is answered; nothing else arrives";
    }
    EXPECT_FALSE(c->receive(test::milliseconds(50)).has_value());
    EXPECT_EQ(h.service_drops(ServiceDrop::kNoRequest), 5u) << "one per batch of one";
    EXPECT_EQ(h.stats().tx_datagrams, 5u);
  }
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

// A worker that polls only its second port (a hand-off's graph, pruned):
// the first port's service modules are gone, and the one left runs the
// handler's ticks. (It did not: the ticks were the first port's, and a
// netcode service there sent no keep-alives and timed no one out.)
TEST(DpdkBackend, AHandlerTicksWhenTheFirstPortsServicesArePruned) {
  struct Ticker final : DatagramHandler {
    void on_datagrams(std::span<Datagram> batch, Outbox&) override {
      for (Datagram& g : batch) {
        g.put_peer(peer);
        heard = true;
        g.reply = Reply::kNone;
      }
    }
    uint64_t tick_interval_ns() const override { return 1'000'000; }
    void on_tick(Outbox& out) override {
      const uint8_t tick[4] = {'t', 'i', 'c', 'k'};
      if (heard) out.send_to(peer, tick);
      heard = false;
    }
    Peer peer;
    bool heard = false;
  };
  unsigned before = rte_mempool_in_use_count(test::test_pool());
  {
    DpdkHarness h;
    h.second_port_ = true;
    h.first_port_unpolled_ = true;
    h.factory_ = [](const ServiceConfig&) { return std::make_unique<Ticker>(); };
    ServiceConfig s;
    s.handler = "ticker";
    s.port = 7000;
    ASSERT_TRUE(h.start({s}, h.families()));
    auto b = h.client_on_second(Family::kV4, 7000);
    ASSERT_TRUE(b->send(test::Bytes{'h', 'i'}));
    auto got = b->receive(test::kAnswerTimeout);
    ASSERT_TRUE(got.has_value()) << "no tick reached the peer: nothing ran the handler's ticks";
    EXPECT_EQ(*got, (test::Bytes{'t', 'i', 'c', 'k'}));
  }
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

}  // namespace
}  // namespace bypass
