// PortFilter in a real graph over a ring-backed ethdev: blocked ports are
// dropped under `port_blocked`, the rest pass untouched, every mbuf comes
// back; and its parsing of VLAN tags (two at most), IPv6 extension headers
// and fragments (UDP and TCP ones dropped under `fragment`).
#include <rte_eth_ring.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include <bypass/graph/port_modules.hpp>
#include <bypass/io/eth_port.hpp>

#include "collect.hpp"
#include "eal_env.hpp"
#include "packets.hpp"
#include "port_filter.hpp"

namespace bypass::examples {
namespace {

TEST(PortFilter, DropsBlockedPortsAndPassesTheRest) {
  const unsigned before = rte_mempool_in_use_count(test::test_pool());
  rte_ring* rx = rte_ring_create("pf_rx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx = rte_ring_create("pf_tx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_GE(rte_eth_from_rings("pf", &rx, 1, &tx, 1, SOCKET_ID_ANY), 0);
  {
    PortConfig pc;
    pc.name = "pf";
    pc.device = "net_ring_pf";
    auto port = EthPort::open(pc, 1, test::test_pool());
    ASSERT_TRUE(port) << port.error();
    PortFilter filter;
    filter.block(53);
    filter.block(123);
    PortTx out(**port, 0);
    filter.connect(0, &out);
    PortRx in(**port, 0, &filter);
    Worker w(0, WorkerConfig{});
    const uint16_t dports[] = {53, 80, 123, 443, 53, 8080};
    for (uint32_t i = 0; i < 6; ++i)
      ASSERT_EQ(rte_ring_enqueue(rx, test::make_udp4(test::test_pool(), i, 64, 1000, dports[i])),
                0);
    ASSERT_TRUE(in.poll(w));
    rte_mbuf* got[8];
    const unsigned n = rte_ring_dequeue_burst(tx, reinterpret_cast<void**>(got), 8, nullptr);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(test::seq_of(got[0]), 1u);  // 80
    EXPECT_EQ(test::seq_of(got[1]), 3u);  // 443
    EXPECT_EQ(test::seq_of(got[2]), 5u);  // 8080
    rte_pktmbuf_free_bulk(got, n);
    EXPECT_EQ(filter.tally().drops[drop_index(PortFilterDrop::kBlocked)].get(), 3u);
    EXPECT_EQ(filter.drop_table().name(PortFilterDrop::kBlocked), "port_blocked");
    EXPECT_EQ(w.counters().tx_packets.get(), 3u);
  }
  rte_ring_free(rx);
  rte_ring_free(tx);
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

// A frame of raw bytes.
rte_mbuf* frame(const std::vector<uint8_t>& b) {
  rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
  if (m == nullptr) return nullptr;
  auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(b.size())));
  std::memcpy(d, b.data(), b.size());
  return m;
}

// Ethernet of `type`, then `rest`.
std::vector<uint8_t> eth(uint16_t type, std::vector<uint8_t> rest) {
  std::vector<uint8_t> b(12, 0x02);
  b.push_back(static_cast<uint8_t>(type >> 8));
  b.push_back(static_cast<uint8_t>(type));
  for (uint8_t x : rest) b.push_back(x);
  return b;
}

// An IPv6 header whose next header is `next`, then `rest`.
std::vector<uint8_t> ip6(uint8_t next, std::vector<uint8_t> rest) {
  std::vector<uint8_t> b(40, 0);
  b[0] = 0x60;
  b[4] = static_cast<uint8_t>(rest.size() >> 8);
  b[5] = static_cast<uint8_t>(rest.size());
  b[6] = next;
  b[7] = 64;
  for (uint8_t x : rest) b.push_back(x);  // (insert() here trips GCC 12's -Warray-bounds)
  return b;
}

// A UDP header to `dport`, with 8 bytes of payload.
std::vector<uint8_t> udp(uint16_t dport) {
  return {0x03,
          0xe8,
          static_cast<uint8_t>(dport >> 8),
          static_cast<uint8_t>(dport),
          0,
          16,
          0,
          0,
          1,
          2,
          3,
          4,
          5,
          6,
          7,
          8};
}

// An IPv4 header (flags and offset `frag`, protocol `proto`), then `rest`.
std::vector<uint8_t> ip4(std::vector<uint8_t> rest, uint16_t frag = 0, uint8_t proto = 17) {
  std::vector<uint8_t> b(20, 0);
  b[0] = 0x45;
  b[2] = static_cast<uint8_t>((20 + rest.size()) >> 8);
  b[3] = static_cast<uint8_t>(20 + rest.size());
  b[6] = static_cast<uint8_t>(frag >> 8);
  b[7] = static_cast<uint8_t>(frag);
  b[8] = 64;
  b[9] = proto;
  for (uint8_t x : rest) b.push_back(x);
  return b;
}

// A VLAN tag (VLAN 7) whose next type is `type`, then `rest`.
std::vector<uint8_t> tag(uint16_t type, std::vector<uint8_t> rest) {
  std::vector<uint8_t> b = {0x00, 0x07, static_cast<uint8_t>(type >> 8),
                            static_cast<uint8_t>(type)};
  for (uint8_t x : rest) b.push_back(x);
  return b;
}

// A filter blocking port 53, and the name of its verdict on a frame ("pass").
struct Judge {
  Judge() { filter.block(53); }
  std::string operator()(const std::vector<uint8_t>& bytes) {
    rte_mbuf* m = frame(bytes);
    const Verdict v = filter.handle(w, m);
    rte_pktmbuf_free(m);
    return v.gate < 0 ? std::string(filter.drop_table().name(v.reason)) : "pass";
  }
  PortFilter filter;
  Worker w{0, WorkerConfig{}};
};

TEST(PortFilter, LooksThroughVlanTagsAndIpv6ExtensionsAndRefusesWhatItCannotJudge) {
  Judge verdict;
  // A hop-by-hop header, then a destination options header, before UDP/53.
  std::vector<uint8_t> hbh = {60, 0, 0, 0, 0, 0, 0, 0};
  std::vector<uint8_t> dst = {17, 0, 0, 0, 0, 0, 0, 0};
  std::vector<uint8_t> chain = hbh;
  chain.insert(chain.end(), dst.begin(), dst.end());
  const std::vector<uint8_t> u53 = udp(53), u80 = udp(80);
  chain.insert(chain.end(), u53.begin(), u53.end());
  EXPECT_EQ(verdict(eth(0x86dd, ip6(0, chain))), "port_blocked");
  EXPECT_EQ(verdict(eth(0x86dd, ip6(17, u80))), "pass");
  // A chain that ends before its transport: refused.
  EXPECT_EQ(verdict(eth(0x86dd, ip6(0, {60, 0, 0, 0}))), "unjudged");
  // One VLAN tag, then IPv4 UDP/53.
  std::vector<uint8_t> v4 = {0x45, 0, 0,   36, 0, 0, 0,   0,  64, 17,
                             0,    0, 198, 18, 0, 1, 198, 18, 0,  2};
  v4.insert(v4.end(), u53.begin(), u53.end());
  std::vector<uint8_t> tagged = {0x00, 0x07, 0x08, 0x00};  // VLAN 7, then IPv4
  tagged.insert(tagged.end(), v4.begin(), v4.end());
  EXPECT_EQ(verdict(eth(0x8100, tagged)), "port_blocked");
  // An IPv4 header length under 5 words: its "ports" would be its own header.
  std::vector<uint8_t> short_ihl = v4;
  short_ihl[0] = 0x44;
  EXPECT_EQ(verdict(eth(0x0800, short_ihl)), "unjudged");
  // Not IP (ARP): passes.
  EXPECT_EQ(verdict(eth(0x0806, std::vector<uint8_t>(28, 0))), "pass");
}

// Two tags (802.1ad, or the older 0x9100, then 802.1Q; or 802.1Q twice) are
// looked through; a
// third, or a tag cut short, leaves the frame unjudged: refused, not passed.
TEST(PortFilter, LooksThroughTwoVlanTagsAndRefusesAThirdOrACutOne) {
  Judge verdict;
  const std::vector<uint8_t> v4_53 = ip4(udp(53)), v4_80 = ip4(udp(80)), v6_53 = ip6(17, udp(53));
  EXPECT_EQ(verdict(eth(0x88a8, tag(0x8100, tag(0x0800, v4_53)))), "port_blocked");
  EXPECT_EQ(verdict(eth(0x8100, tag(0x8100, tag(0x86dd, v6_53)))), "port_blocked");
  EXPECT_EQ(verdict(eth(0x88a8, tag(0x8100, tag(0x0800, v4_80)))), "pass");
  EXPECT_EQ(verdict(eth(0x9100, tag(0x8100, tag(0x0800, v4_53)))), "port_blocked");
  EXPECT_EQ(verdict(eth(0x9100, tag(0x0800, v4_53))), "port_blocked");
  EXPECT_EQ(verdict(eth(0x88a8, tag(0x8100, tag(0x0806, std::vector<uint8_t>(28, 0))))), "pass");
  EXPECT_EQ(verdict(eth(0x88a8, tag(0x8100, tag(0x8100, tag(0x0800, v4_80))))), "unjudged");
  EXPECT_EQ(verdict(eth(0x8100, {0x00, 0x07})), "unjudged");
  EXPECT_EQ(verdict(eth(0x88a8, tag(0x8100, {0x00}))), "unjudged");
}

// A later fragment has no ports to judge, so UDP and TCP fragments, first or
// later, IPv4 or IPv6, are dropped and counted as `fragment`. DF alone, an
// IPv6 atomic fragment (offset 0, no more) and other protocols' fragments are
// not UDP/TCP fragments to refuse.
TEST(PortFilter, DropsAndCountsUdpAndTcpFragmentsFirstOrLater) {
  Judge verdict;
  const std::vector<uint8_t> u80 = udp(80), u53 = udp(53);
  EXPECT_EQ(verdict(eth(0x0800, ip4(u80, 0x2000))), "fragment");     // first, more to come
  EXPECT_EQ(verdict(eth(0x0800, ip4(u80, 0x0003))), "fragment");     // later, the last
  EXPECT_EQ(verdict(eth(0x0800, ip4(u80, 0x0003, 6))), "fragment");  // TCP
  EXPECT_EQ(verdict(eth(0x0800, ip4(u80, 0x4000))), "pass");         // DF: whole
  EXPECT_EQ(verdict(eth(0x0800, ip4(u80, 0x0003, 1))), "pass");      // ICMP: no ports to judge
  // IPv6: a fragment header (next header, 0, offset << 3 | M, id), then its data.
  const auto frag6 = [](uint8_t next, uint8_t off_hi, uint8_t off_lo_m, std::vector<uint8_t> rest) {
    std::vector<uint8_t> b = {next, 0, off_hi, off_lo_m, 0, 0, 0, 7};
    for (uint8_t x : rest) b.push_back(x);
    return b;
  };
  EXPECT_EQ(verdict(eth(0x86dd, ip6(44, frag6(17, 0, 0x01, u80)))), "fragment");     // first
  EXPECT_EQ(verdict(eth(0x86dd, ip6(44, frag6(17, 0x05, 0x00, u80)))), "fragment");  // later
  EXPECT_EQ(verdict(eth(0x86dd, ip6(44, frag6(60, 0x05, 0x01, u80)))), "fragment");  // ext next
  EXPECT_EQ(verdict(eth(0x86dd, ip6(44, frag6(58, 0x05, 0x00, u80)))), "pass");      // ICMPv6
  EXPECT_EQ(verdict(eth(0x86dd, ip6(44, frag6(17, 0, 0, u53)))), "port_blocked");    // atomic
  EXPECT_EQ(verdict(eth(0x86dd, ip6(44, frag6(17, 0, 0, u80)))), "pass");
  // Through the module's batch loop: counted under their own reason.
  test::Collect out;
  verdict.filter.connect(0, &out);
  Batch b;
  b.push(frame(eth(0x0800, ip4(u80, 0x0003))));
  b.push(frame(eth(0x86dd, ip6(44, frag6(17, 0x05, 0x00, u80)))));
  b.push(frame(eth(0x0800, ip4(u80))));
  Module::deliver(verdict.w, verdict.filter, b);
  EXPECT_EQ(out.got.size(), 1u);
  EXPECT_EQ(verdict.filter.tally().drops[drop_index(PortFilterDrop::kFragment)].get(), 2u);
  out.free();
}

}  // namespace
}  // namespace bypass::examples
