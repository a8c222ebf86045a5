// Policer on a manual clock at the TSC rate rte_meter expects: a source
// sending at twice the committed rate gets the committed rate (plus the
// committed burst) through green, within 1 %; another source has a meter of
// its own; `mark` writes the colour into the DSCP with a valid checksum; a
// full source table drops new sources under their own reason; VLAN tags (up
// to two) hide no source, unless per_vlan makes each VLAN its own space.
#include <rte_cycles.h>

#include <gtest/gtest.h>

#include <vector>

#include "collect.hpp"
#include "eal_env.hpp"
#include "frames.hpp"
#include "policer.hpp"

namespace bypass::examples {
namespace {

using test::Collect;

test::Packet from(uint32_t src, uint16_t payload) {
  test::Packet p = test::udp4(test::Bytes(payload, 'x'));
  p.ip4().src = src;
  return p;
}

struct Rig {
  explicit Rig(const PolicerConfig& c)
      : clock(rte_get_tsc_hz(), rte_get_tsc_hz() * 100), w(0, {}, &clock), p(c) {
    p.connect(0, &out);
    EXPECT_TRUE(p.start(w));
  }
  // One frame from `src` at the clock's time.
  void send(uint32_t src, uint16_t payload) { send(from(src, payload).build()); }
  void send(const test::Bytes& frame) {
    w.sample_clock();
    Batch b;
    b.push(test::to_mbuf(test::test_pool(), frame));
    Module::deliver(w, p, b);
  }
  ManualClock clock;
  Worker w;
  Policer p;
  Collect out;
};

TEST(Policer, GreenIsTheCommittedRateWithinOnePercent) {
  const unsigned before = rte_mempool_in_use_count(test::test_pool());
  PolicerConfig c;
  c.params = {1000000, 10000, 10000};  // 1 MB/s, 10 kB bursts
  Rig r(c);
  // 1000-byte frames every 0.5 ms for 2 s: 2 MB/s, twice the committed rate.
  const uint64_t step = rte_get_tsc_hz() / 2000;
  uint64_t green_bytes = 0;
  for (int i = 0; i < 4000; ++i) {
    const uint64_t g = r.p.colour(RTE_COLOR_GREEN);
    r.send(test::kPeerIp4, 1000 - 42);
    if (r.p.colour(RTE_COLOR_GREEN) > g) green_bytes += 1000;
    r.clock.advance(static_cast<int64_t>(step));
    r.out.free();
  }
  const double expected = 1000000.0 * 2 + 10000;  // rate x time + the committed burst
  EXPECT_NEAR(static_cast<double>(green_bytes), expected, expected * 0.01);
  EXPECT_NEAR(static_cast<double>(r.p.colour(RTE_COLOR_YELLOW)), 10, 2);  // the excess burst
  EXPECT_EQ(r.p.tally().drops[drop_index(PolicerDrop::kRed)].get(), r.p.colour(RTE_COLOR_RED));
  EXPECT_GT(r.p.colour(RTE_COLOR_RED), 1900u);
  // Another source starts with full buckets of its own.
  r.send(test::kPeerIp4 + 1, 1000 - 42);
  EXPECT_EQ(r.out.got.size(), 1u);
  r.out.free();
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

TEST(Policer, MarkWritesTheColourIntoTheDscp) {
  PolicerConfig c;
  c.params = {1000, 1000, 1000};
  c.mark = true;
  Rig r(c);
  for (int i = 0; i < 3; ++i) r.send(test::kPeerIp4, 1000 - 42);  // green, yellow, red
  ASSERT_EQ(r.out.got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto* ip = rte_pktmbuf_mtod_offset(r.out.got[i], rte_ipv4_hdr*, 14);
    EXPECT_EQ(ip->type_of_service >> 2, 10 + 2 * i);
    EXPECT_EQ(rte_raw_cksum(ip, 20), 0xffff);
  }
  r.out.free();
}

TEST(Policer, AFullTableDropsNewSourcesUnderTheirOwnReason) {
  PolicerConfig c;
  c.max_sources = 8;
  Rig r(c);
  for (uint32_t s = 0; s < 64; ++s) r.send(test::kPeerIp4 + s, 100);
  // rte_hash may hold a few more keys than asked for (buckets of 8).
  const uint64_t full = r.p.tally().drops[drop_index(PolicerDrop::kFull)].get();
  EXPECT_GT(full, 0u);
  EXPECT_EQ(r.out.got.size() + full, 64u);
  r.out.free();
  EXPECT_EQ(r.p.drop_table().name(PolicerDrop::kFull), "sources_full");
}

// A full table forgets a source only once both its buckets have refilled
// ((cbs + ebs) / cir: 2 s here), so a flood of fresh sources cannot lock new
// ones out for good, and a source still sending keeps its meter.
TEST(Policer, AFullTableForgetsOnlySourcesIdleLongEnoughToHaveRefilled) {
  PolicerConfig c;
  c.params = {1000, 1000, 1000};  // 1 kB/s, 1 kB bursts
  c.max_sources = 8;
  Rig r(c);
  const uint32_t active = test::kPeerIp4;
  for (uint32_t s = 0; s < 64; ++s) r.send(active + s, 100);
  const auto full = [&] { return r.p.tally().drops[drop_index(PolicerDrop::kFull)].get(); };
  const uint64_t held = 64 - full();  // rte_hash may hold a few more than asked for
  r.out.free();
  // 1.95 s on, just short of the refill time: a new one is still refused.
  r.clock.advance(static_cast<int64_t>(rte_get_tsc_hz() * 195 / 100));
  const uint64_t refused = full();
  r.send(active + 1000, 100);
  EXPECT_EQ(full(), refused + 1);
  EXPECT_EQ(r.p.forgotten(), 0u);
  // The first source sends again; the others stay quiet just past 2 s.
  r.send(active, 100);
  r.clock.advance(static_cast<int64_t>(rte_get_tsc_hz() / 10));
  r.send(active, 100);
  r.out.free();
  // New sources take the places of the quiet ones, not of the one sending.
  for (uint32_t s = 0; s < 2 * held; ++s) r.send(active + 2000 + s, 100);
  EXPECT_EQ(r.p.forgotten(), held - 1);
  EXPECT_EQ(r.out.got.size(), held - 1);
  r.out.free();
}

// One 802.1Q tag, or two (802.1ad then 802.1Q), hide no source: its frames
// meet its one meter and go red; `mark` writes the DSCP behind the tags. A
// third tag, or one cut short, is dropped as vlan_tags, not passed unpoliced.
TEST(Policer, LooksThroughUpToTwoVlanTags) {
  PolicerConfig c;
  c.params = {1000, 1000, 1000};
  Rig r(c);
  test::Packet one = from(test::kPeerIp4, 900), two = one;
  one.eth.tags = {7};
  two.eth.tags = {7, 8};
  two.eth.outer_tpid = 0x88a8;
  for (const test::Packet* f : {&one, &two, &one}) r.send(f->build());  // green, yellow, red
  EXPECT_EQ(r.out.got.size(), 2u);
  EXPECT_EQ(r.p.tally().drops[drop_index(PolicerDrop::kRed)].get(), 1u);
  r.out.free();
  test::Packet six = test::udp6(test::Bytes(900, 'x'));
  six.eth.tags = {7, 8};
  for (int i = 0; i < 3; ++i) r.send(six.build());
  EXPECT_EQ(r.out.got.size(), 2u);
  EXPECT_EQ(r.p.tally().drops[drop_index(PolicerDrop::kRed)].get(), 2u);
  r.out.free();
  test::Packet three = from(test::kPeerIp4 + 1, 100);
  three.eth.tags = {7, 8, 9};
  r.send(three.build());
  test::Bytes cut = from(test::kPeerIp4 + 2, 100).build();
  cut.resize(16);  // a tag of which only the TCI came
  cut[12] = 0x81, cut[13] = 0x00;
  r.send(cut);
  EXPECT_EQ(r.out.got.size(), 0u);
  EXPECT_EQ(r.p.tally().drops[drop_index(PolicerDrop::kTags)].get(), 2u);
  EXPECT_EQ(r.p.drop_table().name(PolicerDrop::kTags), "vlan_tags");

  c.mark = true;
  Rig m(c);
  for (int i = 0; i < 3; ++i) m.send(two.build());  // IPv4 at 22
  for (int i = 0; i < 3; ++i) m.send(six.build());  // IPv6 at 22
  ASSERT_EQ(m.out.got.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    const auto* ip = rte_pktmbuf_mtod_offset(m.out.got[i], const uint8_t*, 22);
    EXPECT_EQ(ip[1] >> 2, 10 + 2 * i);
    EXPECT_EQ(rte_raw_cksum(ip, 20), 0xffff);
    const auto* v6 = rte_pktmbuf_mtod_offset(m.out.got[3 + i], const uint8_t*, 22);
    EXPECT_EQ((v6[0] & 0x0f) << 2 | v6[1] >> 6, 10 + 2 * i);  // the traffic class's DSCP
    EXPECT_EQ(v6[0] >> 4, 6);
  }
  m.out.free();
}

// By default an address is one source whatever its tags (so a sender that
// sets its own tags cannot multiply its rate, the older 0x9100 outer tag
// included); with per_vlan each VLAN is an address space of its own: the
// same address untagged, on VLAN 7, and on 7 inside 8 has three meters.
TEST(Policer, PerVlanGivesEachVlanItsOwnMeters) {
  PolicerConfig c;
  c.params = {1000, 1000, 1000};
  test::Packet bare = from(test::kPeerIp4, 900), seven = bare, stacked = bare, legacy = bare;
  seven.eth.tags = {7};
  stacked.eth.tags = {8, 7};
  stacked.eth.outer_tpid = 0x88a8;
  legacy.eth.tags = {8, 7};
  legacy.eth.outer_tpid = 0x9100;
  Rig shared(c);
  for (const test::Packet* f : {&bare, &seven, &legacy}) shared.send(f->build());
  EXPECT_EQ(shared.out.got.size(), 2u) << "green, yellow, then red: one meter";
  EXPECT_EQ(shared.p.tally().drops[drop_index(PolicerDrop::kRed)].get(), 1u);
  shared.out.free();

  c.per_vlan = true;
  Rig apart(c);
  for (const test::Packet* f : {&bare, &seven, &stacked, &bare, &seven, &stacked})
    apart.send(f->build());
  EXPECT_EQ(apart.out.got.size(), 6u) << "green then yellow on each of three meters";
  EXPECT_EQ(apart.p.tally().drops[drop_index(PolicerDrop::kRed)].get(), 0u);
  apart.send(stacked.build());
  apart.send(legacy.build());  // the same two ids under the older outer tag: the same meter
  EXPECT_EQ(apart.p.tally().drops[drop_index(PolicerDrop::kRed)].get(), 2u);
  apart.out.free();
}

}  // namespace
}  // namespace bypass::examples
