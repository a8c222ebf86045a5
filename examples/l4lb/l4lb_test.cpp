// L4lb: the outer IPv4-in-IPv4 header is right and the client's packet is
// intact inside it; a flow stays on its backend; flows spread over the
// backends; removing one backend moves only its flows; the rest is dropped,
// and an inner header that does not hold together is never wrapped; a packet
// that would pass the MTU once wrapped is answered as a router would.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "collect.hpp"
#include "eal_env.hpp"
#include "frames.hpp"
#include "l4lb.hpp"

namespace bypass::examples {
namespace {

using test::Collect;

uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return rte_cpu_to_be_32(RTE_IPV4(a, b, c, d));
}

L4lbConfig config(int backends) {
  L4lbConfig c;
  c.vip = ip(198, 18, 0, 100);
  c.self = ip(198, 18, 0, 1);
  c.port = rte_cpu_to_be_16(80);
  c.gateway = {{0x02, 0, 0, 0, 0, 0xfe}};
  for (int i = 1; i <= backends; ++i) c.backends.push_back(ip(198, 18, 1, static_cast<uint8_t>(i)));
  return c;
}

test::Packet to_vip(uint32_t client, uint16_t sport, uint16_t dport = 80) {
  test::Packet p = test::udp4();
  p.ip4().src = rte_be_to_cpu_32(client);
  p.ip4().dst = RTE_IPV4(198, 18, 0, 100);
  p.udp().sport = sport;
  p.udp().dport = dport;
  return p;
}

// The backend each of `flows` goes to (0: dropped).
std::vector<uint32_t> route(L4lb& lb, Collect& out, const std::vector<test::Packet>& flows) {
  Worker w(0, WorkerConfig{});
  std::vector<uint32_t> r;
  for (const test::Packet& f : flows) {
    Batch b;
    b.push(test::to_mbuf(test::test_pool(), f.build()));
    Module::deliver(w, lb, b);
    if (out.got.empty()) {
      r.push_back(0);
      continue;
    }
    r.push_back(rte_pktmbuf_mtod_offset(out.got[0], rte_ipv4_hdr*, 14)->dst_addr);
    rte_pktmbuf_free(out.got[0]);
    out.got.clear();
  }
  return r;
}

TEST(L4lb, WrapsThePacketInAnOuterHeaderToTheBackend) {
  const L4lbConfig c = config(4);
  RendezvousTable t(c.backends);
  L4lb lb(c, &t);
  Collect out;
  lb.connect(0, &out);
  Worker w(0, WorkerConfig{});
  const test::Bytes inner = to_vip(ip(198, 19, 0, 7), 40000).build();
  Batch b;
  b.push(test::to_mbuf(test::test_pool(), inner));
  Module::deliver(w, lb, b);
  ASSERT_EQ(out.got.size(), 1u);
  const test::Bytes got = test::bytes_of(out.got[0]);
  ASSERT_EQ(got.size(), inner.size() + 20);
  const auto* outer = reinterpret_cast<const rte_ipv4_hdr*>(got.data() + 14);
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.begin() + 6), (test::Bytes{2, 0, 0, 0, 0, 0xfe}));
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 6, got.begin() + 12),
            std::vector<uint8_t>(inner.begin(), inner.begin() + 6));  // from the MAC it came to
  EXPECT_EQ(outer->next_proto_id, IPPROTO_IPIP);
  EXPECT_EQ(outer->src_addr, c.self);
  EXPECT_NE(std::find(c.backends.begin(), c.backends.end(), outer->dst_addr), c.backends.end());
  EXPECT_EQ(rte_be_to_cpu_16(outer->total_length), inner.size() - 14 + 20);
  EXPECT_EQ(rte_raw_cksum(outer, 20), 0xffff);
  EXPECT_EQ(test::Bytes(got.begin() + 34, got.end()), test::Bytes(inner.begin() + 14, inner.end()));
  rte_pktmbuf_free(out.got[0]);
}

TEST(L4lb, FlowsStayPinnedSpreadAndOnlyTheRemovedBackendsMove) {
  std::vector<test::Packet> flows;
  for (uint32_t i = 0; i < 4000; ++i)
    flows.push_back(
        to_vip(ip(198, 19, static_cast<uint8_t>(i / 200), static_cast<uint8_t>(i % 200)),
               static_cast<uint16_t>(10000 + i)));
  const L4lbConfig four = config(4);
  RendezvousTable t4(four.backends);
  L4lb lb(four, &t4);
  Collect out;
  lb.connect(0, &out);
  const std::vector<uint32_t> first = route(lb, out, flows);
  EXPECT_EQ(route(lb, out, flows), first);  // pinned: the same backend every time
  std::map<uint32_t, int> load;
  for (uint32_t b : first) ++load[b];
  ASSERT_EQ(load.size(), 4u);
  for (const auto& [b, n] : load) EXPECT_NEAR(n, 1000, 150) << b;

  // Backend 198.18.1.3 goes: its flows move to the others, no other flow moves.
  L4lbConfig three = four;
  const uint32_t gone = three.backends[2];
  three.backends.erase(three.backends.begin() + 2);
  RendezvousTable t3(three.backends);
  lb.use(three, &t3);
  const std::vector<uint32_t> after = route(lb, out, flows);
  int moved = 0;
  for (size_t i = 0; i < flows.size(); ++i) {
    EXPECT_NE(after[i], gone);
    if (first[i] != gone) {
      EXPECT_EQ(after[i], first[i]) << "flow " << i;
    }
    moved += first[i] != after[i];
  }
  EXPECT_EQ(moved, load[gone]);
}

TEST(L4lb, DropsWhatIsNotForTheVirtualService) {
  const L4lbConfig c = config(2);
  RendezvousTable t(c.backends);
  L4lb lb(c, &t);
  Collect out;
  lb.connect(0, &out);
  test::Packet other = to_vip(ip(198, 19, 0, 1), 4000);
  other.ip4().dst = RTE_IPV4(198, 18, 0, 99);
  const auto r = route(
      lb, out, {to_vip(ip(198, 19, 0, 1), 4000, 81), other, test::arp_request(), test::udp6()});
  EXPECT_EQ(r, (std::vector<uint32_t>{0, 0, 0, 0}));
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kNotVip)].get(), 4u);
  // Fragments to the service, first (more to come) and later: refused, named.
  test::Packet first = to_vip(ip(198, 19, 0, 1), 4000);
  first.ip4().frag = 0x2000;
  test::Packet later = to_vip(ip(198, 19, 0, 1), 4000);
  later.ip4().frag = 0x0010;
  EXPECT_EQ(route(lb, out, {first, later}), (std::vector<uint32_t>{0, 0}));
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kFragment)].get(), 2u);
  RendezvousTable none({});
  lb.use(c, &none);
  EXPECT_EQ(route(lb, out, {to_vip(ip(198, 19, 0, 1), 4000)})[0], 0u);
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kNoBackend)].get(), 1u);
}

// The outer length is the inner's plus 20, so an inner header that does not
// hold together is dropped as malformed_ip: not version 4, IHL under 5, a
// total length under the header or past the frame. TTL 0: ttl_expired.
// Ethernet padding after a sound packet is not counted in the outer length.
TEST(L4lb, NeverWrapsAnInnerHeaderThatDoesNotHoldTogether) {
  const L4lbConfig c = config(2);
  RendezvousTable t(c.backends);
  L4lb lb(c, &t);
  Collect out;
  lb.connect(0, &out);
  const test::Packet good = to_vip(ip(198, 19, 0, 1), 4000);
  const size_t frame = good.build().size();
  std::vector<test::Packet> bad(5, good);
  bad[0].ip4().version = 6;
  bad[1].ip4().ihl = 4;
  bad[2].ip4().total_length = 0;
  bad[3].ip4().total_length = 19;
  bad[4].ip4().total_length = static_cast<uint16_t>(frame - 14 + 1);  // a byte more than came
  EXPECT_EQ(route(lb, out, bad), std::vector<uint32_t>(5, 0));
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kMalformed)].get(), 5u);
  test::Packet spent = good;
  spent.ip4().ttl = 0;
  EXPECT_EQ(route(lb, out, {spent}), std::vector<uint32_t>{0});
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kTtl)].get(), 1u);
  EXPECT_EQ(lb.drop_table().name(L4lbDrop::kTtl), "ttl_expired");
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kNotVip)].get(), 0u);

  test::Packet padded = good;
  padded.min_frame = 60;
  Worker w(0, WorkerConfig{});
  Batch b;
  b.push(test::to_mbuf(test::test_pool(), padded.build()));
  Module::deliver(w, lb, b);
  ASSERT_EQ(out.got.size(), 1u);
  EXPECT_EQ(rte_be_to_cpu_16(rte_pktmbuf_mtod_offset(out.got[0], rte_ipv4_hdr*, 14)->total_length),
            frame - 14 + 20);
  rte_pktmbuf_free(out.got[0]);
}

// The way to the backends carries `mtu` (1500) bytes: a packet of 1480 is
// wrapped to 1500; one byte more, with DF, comes back to the client as an
// ICMP "fragmentation needed" naming 1480, from our address through the
// gateway, quoting its IP header and 8 bytes; without DF it is dropped as
// too_big. At most 1000 answers a second: the rest are dropped as too_big.
TEST(L4lb, APacketThatWouldPassTheMtuOnceWrappedIsAnsweredFragmentationNeeded) {
  const L4lbConfig c = config(2);
  RendezvousTable t(c.backends);
  L4lb lb(c, &t);
  Collect out;
  lb.connect(0, &out);
  ManualClock clock(1'000'000'000, 7'000'000'000);
  Worker w(0, WorkerConfig{}, &clock);
  const auto send = [&](const test::Packet& p) {
    w.sample_clock();
    Batch b;
    b.push(test::to_mbuf(test::test_pool(), p.build()));
    Module::deliver(w, lb, b);
  };
  test::Packet fits = to_vip(ip(198, 19, 0, 9), 4000);
  fits.payload = test::Bytes(1480 - 28, 'f');
  send(fits);
  ASSERT_EQ(out.got.size(), 1u);
  EXPECT_EQ(rte_pktmbuf_mtod_offset(out.got[0], rte_ipv4_hdr*, 14)->total_length,
            rte_cpu_to_be_16(1500));
  rte_pktmbuf_free(out.got[0]);
  out.got.clear();

  test::Packet big = fits;
  big.payload.push_back('!');
  const test::Bytes sent = big.build();
  send(big);
  ASSERT_EQ(out.got.size(), 1u);
  const test::Bytes got = test::bytes_of(out.got[0]);
  ASSERT_EQ(got.size(), 14u + 20 + 8 + 20 + 8);
  EXPECT_EQ(test::Bytes(got.begin(), got.begin() + 6), (test::Bytes{2, 0, 0, 0, 0, 0xfe}));
  EXPECT_EQ(test::Bytes(got.begin() + 6, got.begin() + 12),
            test::Bytes(sent.begin(), sent.begin() + 6));  // from the MAC it came to
  const auto* ip4 = reinterpret_cast<const rte_ipv4_hdr*>(got.data() + 14);
  EXPECT_EQ(ip4->next_proto_id, IPPROTO_ICMP);
  EXPECT_EQ(ip4->src_addr, c.self);
  EXPECT_EQ(ip4->dst_addr, ip(198, 19, 0, 9));
  EXPECT_EQ(rte_be_to_cpu_16(ip4->total_length), 20u + 8 + 20 + 8);
  EXPECT_EQ(rte_raw_cksum(ip4, 20), 0xffff);
  const uint8_t* icmp = got.data() + 34;
  EXPECT_EQ(icmp[0], 3);  // destination unreachable
  EXPECT_EQ(icmp[1], 4);  // fragmentation needed and DF set
  EXPECT_EQ(icmp[6] << 8 | icmp[7], 1480);
  EXPECT_EQ(rte_raw_cksum(icmp, 8 + 28), 0xffff);
  EXPECT_EQ(test::Bytes(got.begin() + 42, got.end()),
            test::Bytes(sent.begin() + 14, sent.begin() + 14 + 28));
  EXPECT_EQ(lb.told_too_big(), 1u);
  rte_pktmbuf_free(out.got[0]);
  out.got.clear();

  test::Packet may_fragment = big;
  may_fragment.ip4().frag = 0;
  send(may_fragment);
  EXPECT_TRUE(out.got.empty());
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kTooBig)].get(), 1u);
  EXPECT_EQ(lb.drop_table().name(L4lbDrop::kTooBig), "too_big");

  // The bucket held 1000 and gave one: 999 more now, then 10 in the next 10 ms.
  for (int i = 0; i < 1005; ++i) send(big);
  EXPECT_EQ(lb.told_too_big(), 1000u);
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kTooBig)].get(), 7u);
  clock.advance(10'000'000);
  for (int i = 0; i < 20; ++i) send(big);
  EXPECT_EQ(lb.told_too_big(), 1010u);
  clock.advance(-50'000'000);  // a clock that runs back gives no credit
  for (int i = 0; i < 5; ++i) send(big);
  EXPECT_EQ(lb.told_too_big(), 1010u);
  EXPECT_EQ(lb.tally().drops[drop_index(L4lbDrop::kTooBig)].get(), 7u + 10 + 5);
  for (rte_mbuf* m : out.got) rte_pktmbuf_free(m);
  out.got.clear();
}

}  // namespace
}  // namespace bypass::examples
