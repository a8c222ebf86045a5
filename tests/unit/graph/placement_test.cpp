// Placement: a [[handoff]] moves a named point, and what follows it, to
// another worker through one single-producer ring per worker that reaches
// it; what a worker no longer reaches is pruned; check_placement refuses a
// ring with two producers or two consumers; specs are checked before EAL.
#include <bypass/graph/placement.hpp>

#include <gtest/gtest.h>

#include <bypass/graph/swap_modules.hpp>

#include "eal_env.hpp"

namespace bypass {
namespace {

class Sink final : public Module {
 public:
  Sink() : Module("Sink", 0) {}
  void process(Worker&, Batch& b) override {
    got += b.size();
    b.free_all();
  }
  uint64_t got = 0;
};

class TestSource final : public Source {
 public:
  TestSource(Module* next, uint16_t n) : Source(next), n_(n) {}
  bool poll(Worker& w) override {
    Batch b;
    if (rte_pktmbuf_alloc_bulk(test::test_pool(), b.data(), n_) != 0) return false;
    b.set_size(n_);
    Module::deliver(w, *next_, b);
    return true;
  }

 private:
  uint16_t n_;
};

// The same graph on each worker: source -> ip -> dispatch -> tx.
struct Built {
  Sink* tx;
  Module* dispatch;
};
Built build(WorkerGraph& g, bool with_source) {
  auto& tx = g.make<Sink>("tx");
  auto& dispatch = g.make<Io>("udp_dispatch");
  auto& ip = g.make<Io>("ip");
  ip.connect(0, &dispatch);
  dispatch.connect(0, &tx);
  if (with_source) g.add_source(std::make_unique<TestSource>(&ip, 8));
  return {&tx, &dispatch};
}

class Placement : public ::testing::Test {
 protected:
  Worker w1_{0, WorkerConfig{}}, w2_{1, WorkerConfig{}}, w3_{2, WorkerConfig{}};
  WorkerGraph g1_{w1_}, g2_{w2_}, g3_{w3_};
};

TEST_F(Placement, HandoffRunsThePointOnItsWorkerThroughOneRingPerProducer) {
  Built b1 = build(g1_, true);
  Built b2 = build(g2_, false);  // polls nothing: it runs what others hand it
  Built b3 = build(g3_, true);
  auto rings = place_handoffs({&g1_, &g2_, &g3_}, {{"udp_dispatch", 1}}, 64, "plc1");
  ASSERT_TRUE(rings) << rings.error();
  ASSERT_EQ(rings->size(), 2u) << "one ring for each worker that reaches the point";
  EXPECT_EQ(g1_.find("udp_dispatch"), nullptr) << "moved away from worker 1";
  EXPECT_EQ(g1_.find("tx"), nullptr) << "fed only by the moved point: pruned";
  ASSERT_NE(g1_.find("handoff.udp_dispatch.to2"), nullptr);
  EXPECT_EQ(g2_.find("ip"), nullptr) << "fed by nothing on worker 2: pruned";
  EXPECT_EQ(g2_.find("udp_dispatch"), b2.dispatch);
  EXPECT_EQ(g2_.sources().size(), 2u) << "a RingIn per producer";
  ASSERT_TRUE(g1_.check()) << g1_.check().message();
  ASSERT_TRUE(g2_.check()) << g2_.check().message();
  ASSERT_TRUE(g3_.check()) << g3_.check().message();
  ASSERT_TRUE(check_placement({&g1_, &g2_, &g3_}));
  ASSERT_TRUE(g1_.start());
  ASSERT_TRUE(g2_.start());
  ASSERT_TRUE(g3_.start());
  g1_.sources()[0]->poll(w1_);
  g3_.sources()[0]->poll(w3_);
  g3_.sources()[0]->poll(w3_);
  EXPECT_EQ(b2.tx->got, 0u) << "nothing reaches worker 2 until it polls its rings";
  for (const auto& s : g2_.sources()) s->poll(w2_);
  EXPECT_EQ(b2.tx->got, 24u) << "worker 2 ran the point and what follows for both";
  EXPECT_EQ(b2.dispatch->tally().packets.get(), 24u);
  (void)b1;
  (void)b3;
}

TEST_F(Placement, APointOnAWorkerWithoutItIsOneSentence) {
  build(g1_, true);
  g2_.make<Sink>("other");
  auto rings = place_handoffs({&g1_, &g2_}, {{"udp_dispatch", 1}}, 64, "plc2");
  ASSERT_FALSE(rings);
  EXPECT_EQ(rings.error(),
            "worker 2 has no 'udp_dispatch' to hand worker 1's packets to: give it the same "
            "ports as the others.");
}

TEST_F(Placement, ARingWithTwoProducersOrTwoConsumersIsRefused) {
  auto ring = HandoffRing::create("plc3", 64);
  ASSERT_TRUE(ring) << ring.error();
  auto& s1 = g1_.make<Sink>("s");
  g1_.make<RingOut>("out", *ring);
  g2_.make<RingOut>("out", *ring);
  g3_.add_source(std::make_unique<RingIn>(*ring, &s1));
  Status st = check_placement({&g1_, &g2_, &g3_});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.message(),
            "ring 'plc3' has 2 producers (workers 1 and 2), but it takes one: give each producer "
            "a ring of its own.");
  WorkerGraph a{w1_}, b{w2_}, c{w3_};
  a.make<RingOut>("out", *ring);
  b.add_source(std::make_unique<RingIn>(*ring, &s1));
  c.add_source(std::make_unique<RingIn>(*ring, &s1));
  st = check_placement({&a, &b, &c});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.message(),
            "ring 'plc3' has 2 consumers (workers 2 and 3), but it takes one: give each consumer "
            "a ring of its own.");
  WorkerGraph lone{w1_};
  lone.make<RingOut>("out", *ring);
  st = check_placement({&lone});
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("no worker takes from it"), std::string::npos) << st.message();
}

TEST(Handoffs, ConfigIsCheckedBeforeEal) {
  const std::vector<GraphPoint> points = {{"udp_dispatch", true}, {"tx", false}};
  EXPECT_TRUE(check_handoffs({{"udp_dispatch", 1}}, points));
  EXPECT_EQ(check_handoffs({{"dispatch", 1}}, points).message(),
            "[[handoff]] before = \"dispatch\" is not a point of this program's graph: use one "
            "of udp_dispatch, tx.");
  const char* two = "[[port]]\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n[[worker]]\ncpu = 0\n";
  auto c = parse_config(std::string(two) + "[[handoff]]\nbefore = \"udp_dispatch\"\nworker = 2\n");
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->handoffs.size(), 1u);
  EXPECT_EQ(c->handoffs[0].worker, 1u);
  auto bad =
      parse_config(std::string(two) + "[[handoff]]\nbefore = \"udp_dispatch\"\nworker = 3\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "[[handoff]] 1.worker = 3 is out of range: use a value from 1 to 2.");
  auto none = parse_config(std::string(two) + "[[handoff]]\nworker = 2\n");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("[[handoff]] 1 has no before"), std::string::npos) << none.error();
}

}  // namespace
}  // namespace bypass
