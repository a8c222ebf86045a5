// Firewall on a real rte_acl table built from a config: first match wins,
// IPv4 (with and without options) and IPv6, the default action, frames that
// are not IP pass, counters per rule, a live swap of the table, and one
// sentence for each mistake in a rule.
#include <gtest/gtest.h>

#include <vector>

#include "collect.hpp"
#include "eal_env.hpp"
#include "firewall.hpp"
#include "frames.hpp"

namespace bypass::examples {
namespace {

using test::Packet;

using test::Collect;

constexpr const char* kRules = R"(
[firewall]
default = "deny"
[[firewall.rule]]
name = "no_5000"
action = "deny"
proto = "udp"
dport = 5000
[[firewall.rule]]
name = "udp_high"
action = "allow"
proto = "udp"
dst = "198.18.0.0/15"
dport = "1024-65535"
[[firewall.rule]]
name = "docs_v6"
action = "allow"
src = "2001:db8::/32"
[[firewall.rule]]
name = "ping"
action = "allow"
proto = "icmp"
)";

AclConfig rules(const std::string& extra = "") {
  auto c = parse_config(std::string("[[port]]\nname = \"p\"\ndevice = \"net_null0\"\n") +
                        "[[worker]]\ncpu = 1\n" + kRules + extra);
  EXPECT_TRUE(c) << c.error();
  auto r = read_acl_config(*c, "firewall");
  EXPECT_TRUE(r) << r.error();
  return *r;
}

std::string mistake(const std::string& rule) {
  auto c = parse_config("[firewall]\n[[firewall.rule]]\n" + rule);
  if (!c) return c.error();
  auto r = read_acl_config(*c, "firewall");
  return r ? "" : r.error();
}

Packet udp4_to(uint16_t dport) {
  Packet p = test::udp4();
  p.udp().dport = dport;
  return p;
}

TEST(Firewall, FirstMatchWinsOnBothFamiliesAndCountsEachRule) {
  const unsigned before = rte_mempool_in_use_count(test::test_pool());
  AclConfig cfg = rules();
  auto table = AclTable::build(cfg.rules);
  ASSERT_TRUE(table) << table.error();
  Firewall fw(table->get(), cfg.default_allow);
  Collect out;
  fw.connect(0, &out);
  Worker w(0, WorkerConfig{});

  Packet options = udp4_to(6000);
  options.ip4().options = {1, 1, 1, 1};  // four NOPs: the ports sit 4 bytes later
  Packet v6_other = test::udp6();
  v6_other.ip6().src = test::ip6("fe80::1");
  Packet short4 = test::udp4();
  short4.l4 = std::monostate{};  // an IPv4 header and nothing after it
  short4.ip4().proto = 17;
  short4.payload = {};
  Packet tagged = udp4_to(6000);  // allowed untagged; behind a VLAN tag it is not judged
  tagged.eth.tags = {100};
  Packet fragment = udp4_to(6000);  // a later fragment: its first bytes are not ports
  fragment.ip4().frag = 0x00b9;
  Packet hop_by_hop = test::udp6();  // docs_v6 would allow it, but the ports are not at 40
  hop_by_hop.ip6().ext = {test::ext_options(0)};
  Packet padded = short4;  // its header says no UDP header came: the padding is no ports
  padded.min_frame = 60;
  const std::vector<Packet> in = {
      udp4_to(5000),        // no_5000: denied before udp_high could allow it
      udp4_to(6000),        // udp_high
      udp4_to(53),          // no rule: the default, deny
      test::udp6(),         // docs_v6 (2001:db8::1)
      v6_other,             // no rule
      test::echo4(),        // ping
      test::arp_request(),  // not IP: passes
      options,              // udp_high, ports found past the options
      short4,               // unjudged: too short for the ports
      tagged,               // not_ip
      fragment,             // unjudged
      hop_by_hop,           // unjudged
      padded,               // unjudged
  };
  Batch b;
  for (const Packet& p : in) b.push(test::to_mbuf(test::test_pool(), p.build()));
  Module::deliver(w, fw, b);

  ASSERT_EQ(out.got.size(), 5u);  // udp_high, docs_v6, ping, arp, options
  EXPECT_EQ(fw.hits(0), 2u);      // no rule: udp 53, fe80::1
  EXPECT_EQ(fw.hits(1), 1u);      // no_5000
  EXPECT_EQ(fw.hits(2), 2u);      // udp_high, with and without options
  EXPECT_EQ(fw.hits(3), 1u);      // docs_v6
  EXPECT_EQ(fw.hits(4), 1u);      // ping
  EXPECT_EQ(fw.tally().drops[drop_index(FirewallDrop::kDenied)].get(), 3u);
  EXPECT_EQ(fw.tally().drops[drop_index(FirewallDrop::kUnjudged)].get(), 4u);
  EXPECT_EQ(fw.tally().drops[drop_index(FirewallDrop::kNotIp)].get(), 1u);
  rte_pktmbuf_free_bulk(out.got.data(), static_cast<unsigned>(out.got.size()));
  out.got.clear();

  // A new table, handed over as the worker would take it: udp 53 now passes.
  auto wider = rules("[[firewall.rule]]\naction = \"allow\"\nproto = \"udp\"\ndport = 53\n");
  auto next = AclTable::build(wider.rules);
  ASSERT_TRUE(next) << next.error();
  auto hits = Firewall::counters_for(**next);
  Counter* fresh = hits.get();
  w.run_on([&](Worker&) { fw.use(next->get(), wider.default_allow, hits); });
  EXPECT_NE(hits.get(), fresh) << "the old counters come back, to be freed off the worker";
  Batch b2;
  b2.push(test::to_mbuf(test::test_pool(), udp4_to(53).build()));
  Module::deliver(w, fw, b2);
  ASSERT_EQ(out.got.size(), 1u);
  EXPECT_EQ(fw.hits(5), 1u);
  EXPECT_EQ(fw.table().rules()[4].name, "rule_5");
  rte_pktmbuf_free_bulk(out.got.data(), 1);
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

TEST(Firewall, EachMistakeInARuleIsOneSentence) {
  EXPECT_EQ(mistake("proto = \"udp\"\n"),
            "[[firewall.rule]] 1 has no action: write action = \"allow\" or \"deny\".");
  EXPECT_NE(mistake("action = \"allow\"\nsrc = \"198.18.0.0/33\"\n").find("0-32"),
            std::string::npos);
  EXPECT_NE(mistake("action = \"allow\"\nsrc = \"10.0.0.1\"\ndst = \"::1\"\n").find("both IPv4"),
            std::string::npos);
  EXPECT_NE(mistake("action = \"allow\"\ndport = \"9-3\"\n").find("1024-65535"), std::string::npos);
  // A port on a protocol without ports (any, here) would match other bytes.
  EXPECT_NE(mistake("action = \"allow\"\ndport = 443\n").find("needs a protocol with ports"),
            std::string::npos);
  EXPECT_NE(mistake("action = \"allow\"\nproto = 47\nsport = 1\n").find("add proto = \"tcp\""),
            std::string::npos);
  EXPECT_NE(mistake("action = \"allow\"\nsrc = \"nowhere\"\n").find("2001:db8::/32"),
            std::string::npos);
  EXPECT_NE(mistake("action = \"allow\"\nports = 3\n").find("ports"), std::string::npos);
  EXPECT_EQ(
      mistake("action = \"allow\"\nname = \"x\"\n[[firewall.rule]]\naction = \"deny\"\nname = "
              "\"x\"\n"),
      "[[firewall.rule]] 2 is named 'x' as an earlier rule: give each rule its own name.");
  EXPECT_NE(mistake("action = \"allow\"\nname = \"no_rule\"\n").find("name it otherwise"),
            std::string::npos);
}

}  // namespace
}  // namespace bypass::examples
