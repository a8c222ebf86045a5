#include <bypass/io/fault_config.hpp>

#include <gtest/gtest.h>

namespace bypass {
namespace {

Expected<FaultPlan> plan_of(std::string_view faults_toml) {
  std::string text = "[[port]]\nname = \"p0\"\ndevice = \"net_null0\"\n" + std::string(faults_toml);
  auto c = parse_config(text);
  if (!c) return c.status();
  if (!c->ports[0].faults) return Status::error("no faults table");
  return fault_plan_from(*c->ports[0].faults, "port 'p0' faults");
}

TEST(FaultConfig, ReadsEveryField) {
  auto p = plan_of(R"([port.faults]
seed = 42
short_tx_rate = 0.25
stall_every = 10
stall_polls = 3
link_up = false
hold_capacity = 64
[port.faults.rx]
drop_rate = 0.1
drop_every = 7
duplicate_rate = 0.2
reorder_rate = 0.3
reorder = "hold_back"
corrupt_rate = 0.4
corrupt_bits = 3
delay_polls = 5
delay_rate = 0.5
[port.faults.tx]
drop_every = 2
)");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->seed, 42u);
  EXPECT_DOUBLE_EQ(p->short_tx_rate, 0.25);
  EXPECT_EQ(p->stall_every, 10u);
  EXPECT_EQ(p->stall_polls, 3u);
  EXPECT_FALSE(p->link_up);
  EXPECT_EQ(p->hold_capacity, 64u);
  EXPECT_DOUBLE_EQ(p->rx.drop_rate, 0.1);
  EXPECT_EQ(p->rx.drop_every, 7u);
  EXPECT_DOUBLE_EQ(p->rx.duplicate_rate, 0.2);
  EXPECT_DOUBLE_EQ(p->rx.reorder_rate, 0.3);
  EXPECT_EQ(p->rx.reorder_mode, ReorderMode::kHoldBack);
  EXPECT_DOUBLE_EQ(p->rx.corrupt_rate, 0.4);
  EXPECT_EQ(p->rx.corrupt_bits, 3);
  EXPECT_EQ(p->rx.delay_polls, 5u);
  EXPECT_DOUBLE_EQ(p->rx.delay_rate, 0.5);
  EXPECT_EQ(p->tx.drop_every, 2u);
  EXPECT_EQ(p->tx.drop_rate, 0.0);
}

TEST(FaultConfig, MistakesAreOneSentence) {
  struct Case {
    const char* toml;
    const char* says;
  } cases[] = {
      {"[port.faults]\nsed = 1\n", "unknown key 'sed' in port 'p0' faults"},
      {"[port.faults.rx]\ndrop = 0.1\n", "unknown key 'drop' in port 'p0' faults.rx"},
      {"[port.faults.rx]\ndrop_rate = \"high\"\n", "faults.rx.drop_rate must be a number"},
      {"[port.faults.rx]\ndrop_rate = 1.5\n", "rx.drop_rate is 1.5 but must be a probability"},
      {"[port.faults.tx]\nreorder = \"random\"\n",
       "tx.reorder = \"random\" is not a reorder mode: use one of \"shuffle\", \"hold_back\""},
      {"[port.faults.rx]\ncorrupt_bits = 65\n",
       "rx.corrupt_bits = 65 is out of range: use a value from 0 to 64"},
      {"[port.faults]\nlink_up = 1\n", "link_up must be true or false"},
      {"[port.faults]\nstall_every = 4\nstall_polls = 4\n",
       "stall_polls (4) must be smaller than stall_every (4)"},
      {"[port.faults]\nrx = 3\n", "faults.rx must be a table"},
  };
  for (const auto& c : cases) {
    auto p = plan_of(c.toml);
    ASSERT_FALSE(p) << c.toml;
    EXPECT_NE(p.error().find(c.says), std::string::npos)
        << "got: " << p.error() << "\nwanted: " << c.says;
    EXPECT_EQ(p.error().back(), '.') << p.error();
  }
}

TEST(FaultConfig, CheckPortFaultsCoversEveryPort) {
  auto c = parse_config(
      "[[port]]\ndevice = \"net_null0\"\n[[port]]\ndevice = \"net_null1\"\n[port.faults.tx]\n"
      "duplicate_rate = -1.0\n");
  ASSERT_TRUE(c) << c.error();
  Status s = check_port_faults(*c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("port 'p1' faults"), std::string::npos) << s.message();
}

TEST(FaultConfig, FaultsMustBeATable) {
  auto c = parse_config("[[port]]\ndevice = \"net_null0\"\nfaults = 3\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("write it as [port.faults]"), std::string::npos) << c.error();
}

}  // namespace
}  // namespace bypass
