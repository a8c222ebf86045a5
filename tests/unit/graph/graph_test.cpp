// WorkerGraph and ModuleRegistry without ports: modules found by name and by
// point, a module inserted in front of a point rewires every gate and source
// that fed it, check() refuses unconnected gates, unfed modules and loops,
// tallies count packets and drops per module (and the worker's totals too),
// and the registry checks [[module]] specs with one sentence per mistake.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <thread>

#include <bypass/graph/graph.hpp>
#include <bypass/graph/registry.hpp>
#include <bypass/graph/swap_modules.hpp>
#include <bypass/net/source_blocklist.hpp>

#include "eal_env.hpp"

namespace bypass {
namespace {

// Frees what it gets, counting it (read from the test thread).
class Sink final : public Module {
 public:
  Sink() : Module("Sink", 0) {}
  void process(Worker&, Batch& b) override {
    got.add(b.size());
    b.free_all();
  }
  Counter got;
};

// Passes packets on; a periodic timer of its own counts its runs while armed.
class Ticker final : public Module {
 public:
  Ticker() : Module("Ticker", 1), timer_(&Ticker::on_timer, this) {}
  void process(Worker& w, Batch& b) override { emit(w, 0, b); }
  Status start(Worker& w) override {
    w.timers().arm(timer_, w.clock().now(), 1);
    return Status::ok();
  }
  void stop(Worker& w) override { w.timers().cancel(timer_); }
  bool armed() const { return timer_.armed(); }
  Counter ticks;

 private:
  static void on_timer(void* self, Worker&) { static_cast<Ticker*>(self)->ticks.add(); }
  Timer timer_;
};

// Drops every other packet as `odd`, a reason of its own.
#define HALVER_DROPS(X) X(kOdd, "odd")
BYPASS_DROP_TABLE(HalverDrop, HALVER_DROPS)

class Halver final : public PacketModule<Halver> {
 public:
  Halver() : PacketModule("Halver") {}
  DropTable drop_table() const override { return HalverDrop::table(); }
  Verdict handle(Worker&, rte_mbuf*) {
    return (n_++ & 1) ? Verdict::drop(HalverDrop::kOdd) : Verdict::to(0);
  }

 private:
  unsigned n_ = 0;
};

// A source that hands on `n` fresh mbufs per poll.
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

class GraphTest : public ::testing::Test {
 protected:
  Worker w_{0, WorkerConfig{}};
  WorkerGraph g_{w_};
};

TEST_F(GraphTest, InsertBeforeRewiresGatesAndSources) {
  auto& sink = g_.make<Sink>("tx");
  auto& first = g_.make<Io>("first");
  first.connect(0, &sink);
  auto& src = g_.add_source(std::make_unique<TestSource>(&sink, 8));
  g_.add_source(std::make_unique<TestSource>(&first, 2));
  g_.insert_before(sink, std::make_unique<Halver>(), "half");
  Module* half = g_.find("half");
  ASSERT_NE(half, nullptr);
  EXPECT_EQ(first.next(0), half);
  EXPECT_EQ(src.next(), half);
  EXPECT_EQ(half->next(0), &sink);
  ASSERT_TRUE(g_.check()) << g_.check().message();
  EXPECT_TRUE(src.poll(w_));
  EXPECT_EQ(sink.got.get(), 4u);
  EXPECT_EQ(half->tally().packets.get(), 8u);
  EXPECT_EQ(half->tally().drops[drop_index(HalverDrop::kOdd)].get(), 4u);
  EXPECT_EQ(half->drop_table().name(HalverDrop::kOdd), "odd");
  EXPECT_EQ(w_.counters().dropped.get(), 4u) << "the worker's total counts the module's drops too";
  EXPECT_EQ(sink.tally().dropped(), 0u) << "drops belong to the module that made them";
  EXPECT_EQ(g_.describe(),
            "  source -> half\n  source -> first\n  tx\n  first -> half\n  half -> tx\n");
}

TEST_F(GraphTest, PointsMatchTheNameOrTheNameAndASuffix) {
  g_.make<Sink>("udp_dispatch.a");
  g_.make<Sink>("udp_dispatch.b");
  g_.make<Sink>("udp_dispatcher");
  g_.make<Sink>("service.7");
  g_.make<Sink>("service.70");
  EXPECT_EQ(g_.at_point("udp_dispatch").size(), 2u);
  EXPECT_EQ(g_.at_point("service.7").size(), 1u);
  EXPECT_EQ(g_.at_point("tx").size(), 0u);
}

TEST_F(GraphTest, CheckRefusesAnUnconnectedGateAnUnfedModuleAndALoop) {
  auto& a = g_.make<Io>("a");
  g_.add_source(std::make_unique<TestSource>(&a, 1));
  EXPECT_EQ(g_.check().message(),
            "module 'a' has nothing on its gate 0: connect it or remove the module.");
  auto& b = g_.make<Io>("b");
  a.connect(0, &b);
  b.connect(0, &a);
  EXPECT_EQ(g_.check().message(),
            "module 'a' is on a loop of gates that leads back to it: break the loop.");
  auto& sink = g_.make<Sink>("sink");
  b.connect(0, &sink);
  EXPECT_TRUE(g_.check());
  g_.make<Sink>("lonely");
  EXPECT_EQ(g_.check().message(),
            "module 'lonely' is fed by no source or module: connect it or remove it.");
}

// Names find modules (reports; a reload keeps modules by name): two of one
// name made a reload free a running module (kept twice, the second time
// moving a null over it).
TEST_F(GraphTest, TwoModulesOfOneNameAreRefused) {
  auto& a = g_.make<Io>("a");
  auto& a2 = g_.make<Io>("a");
  auto& sink = g_.make<Sink>("sink");
  g_.add_source(std::make_unique<TestSource>(&a, 1));
  a.connect(0, &a2);
  a2.connect(0, &sink);
  EXPECT_EQ(g_.check().message(),
            "two modules of worker 1 are named 'a': give the [[module]] a name of its own.");
}

TEST(GraphSwap, AModuleNamedTwiceAmongThoseToKeepIsRefused) {
  ManualClock clock(1'000'000, 0);
  Worker w(0, WorkerConfig{}, &clock);
  auto build = [&](WorkerGraph& g) {
    auto& io = g.make<Io>("io");
    auto& half = g.make<Halver>("half");
    auto& sink = g.make<Sink>("tx");
    io.connect(0, &half);
    half.connect(0, &sink);
    g.add_source(std::make_unique<TestSource>(&io, 1));
  };
  WorkerGraph old(w), fresh(w);
  build(old);
  ASSERT_TRUE(old.start());
  build(fresh);
  const Module* running = old.find("half");
  EXPECT_EQ(fresh.carry_over(old, {"half", "half"}).message(),
            "module 'half' is named twice among those to keep.");
  EXPECT_EQ(old.find("half"), running) << "nothing moved";
  EXPECT_NE(fresh.find("half"), nullptr);
}

// Live reload: a new graph for the running worker keeps the module 'half'
// (its state, the alternation, and its counters go on), gains a Ticker and a
// new sink; the old sink and the old Ticker (whose timer is cancelled on the
// worker) are gone. The swap happens between two bursts while the worker runs.
TEST(GraphSwap, KeptModulesCarryStateAndCountersWhileTheWorkerRuns) {
  ManualClock clock(1'000'000, 0);
  Worker w(0, WorkerConfig{}, &clock);
  auto old = std::make_unique<WorkerGraph>(w);
  auto& sink1 = old->make<Sink>("tx");
  auto& ticker1 = old->make<Ticker>("ticker");
  auto& half = old->make<Halver>("half");
  ticker1.connect(0, &half);
  half.connect(0, &sink1);
  old->add_source(std::make_unique<TestSource>(&ticker1, 3));
  ASSERT_TRUE(old->start());
  ASSERT_TRUE(ticker1.armed());

  std::atomic<bool> stop{false};
  std::thread t([&] { w.run(stop); });
  while (sink1.got.get() < 30) std::this_thread::yield();

  WorkerGraph fresh(w);
  auto& sink2 = fresh.make<Sink>("tx");
  auto& extra = fresh.make<Io>("extra");
  auto& half2 = fresh.make<Halver>("half");
  extra.connect(0, &half2);
  half2.connect(0, &sink2);
  fresh.add_source(std::make_unique<TestSource>(&extra, 3));
  ASSERT_TRUE(fresh.carry_over(*old, {"half"}));
  EXPECT_EQ(fresh.find("half"), &half) << "the running instance, not a new one";
  EXPECT_EQ(extra.next(0), &half);
  // Until the swap the worker still runs 'half' in the old graph: its gate is
  // not rewired under it (into a sink not started yet), but at the swap.
  EXPECT_EQ(half.next(0), &sink1);
  ASSERT_TRUE(fresh.swap_in(*old));
  EXPECT_EQ(half.next(0), &sink2);
  const uint64_t old_sink = sink1.got.get();
  EXPECT_FALSE(ticker1.armed()) << "stopped on the worker at the swap";
  while (sink2.got.get() < 30) std::this_thread::yield();
  stop = true;
  t.join();
  EXPECT_EQ(sink1.got.get(), old_sink) << "nothing reaches the old graph after the swap";
  // Halver counted and alternated across the swap: everything it saw, halved,
  // reached one sink or the other.
  EXPECT_EQ(sink1.got.get() + sink2.got.get(), (half.tally().packets.get() + 1) / 2);
  EXPECT_EQ(half.tally().drops[drop_index(HalverDrop::kOdd)].get(), half.tally().packets.get() / 2);
  old.reset();
}

// A module of a graph swapped in live starts on the worker; a start() that
// fails there is said, naming the module, rather than passed over.
class FailsToStart final : public Module {
 public:
  FailsToStart() : Module("FailsToStart", 0) {}
  void process(Worker&, Batch& b) override { b.clear(); }
  Status start(Worker&) override { return Status::error("no timer for you"); }
};

TEST(GraphSwap, AStartThatFailsInASwappedGraphIsSaid) {
  ManualClock clock(1'000'000, 0);
  Worker w(0, WorkerConfig{}, &clock);
  WorkerGraph old(w);
  auto& sink = old.make<Sink>("tx");
  old.add_source(std::make_unique<TestSource>(&sink, 1));
  ASSERT_TRUE(old.start());
  WorkerGraph fresh(w);
  auto& bad = fresh.make<FailsToStart>("bad");
  fresh.add_source(std::make_unique<TestSource>(&bad, 1));
  std::ostringstream said;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(said)));
  const bool swapped = static_cast<bool>(fresh.swap_in(old));
  spdlog::set_default_logger(previous);
  EXPECT_TRUE(swapped) << "the swap itself went through";
  EXPECT_NE(said.str().find("module bad did not start in the new graph (no timer for you)"),
            std::string::npos)
      << said.str();
}

TEST(Registry, ChecksSpecsWithOneSentenceEach) {
  ModuleRegistry reg;
  add_graph_modules(reg);
  add_net_modules(reg);
  const std::vector<GraphPoint> points = {{"udp_dispatch", true}, {"tx", false}};
  ModuleSpec s;
  s.name = "bl";
  s.cls = "SourceBlocklist";
  s.before = "udp_dispatch";
  s.params.set("sources",
               ConfigValue::of(std::vector<std::string>{"198.18.0.0/15", "2001:db8::/32"}));
  EXPECT_TRUE(reg.check({s}, points));
  ModuleSpec at_tx = s;
  at_tx.before = "tx";
  EXPECT_EQ(reg.check({at_tx}, points).message(),
            "[[module]] 'bl' (SourceBlocklist) reads what the Endpoint parsed, and packets reach "
            "'tx' unparsed in this program: use it in bypass-udpd, before udp_dispatch.");
  ModuleSpec wrong_type = s;
  wrong_type.params.set("sources", ConfigValue::of("198.18.0.0/15"));
  EXPECT_EQ(reg.check({wrong_type}, points).message(),
            "[[module]] 'bl'.sources must be a list of strings, like [\"a\", \"b\"].");
  ModuleSpec missing = s;
  missing.params = ConfigValue::table();
  EXPECT_EQ(reg.check({missing}, points).message(),
            "[[module]] 'bl' has no sources: add it as a list of prefixes, like "
            "[\"198.18.9.0/28\"].");
  ModuleSpec io;
  io.name = "io";
  io.cls = "Io";
  io.before = "tx";
  io.params.set("speed", ConfigValue::of(int64_t{3}));
  EXPECT_EQ(reg.check({io}, points).message(),
            "unknown key 'speed' in [[module]] 'io': it takes none, so remove it.");
  io.params = ConfigValue::table();
  EXPECT_TRUE(reg.check({io}, points));
  EXPECT_EQ(reg.classes(),
            (std::vector<std::string>{"FiveTupleSwap", "Io", "MacSwap", "SourceBlocklist"}));
}

}  // namespace
}  // namespace bypass
