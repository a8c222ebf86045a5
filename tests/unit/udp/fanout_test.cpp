// FanoutHandler on its own, with the batch's time set by hand: who hears
// whom, peers forgotten after their silence on the tick, a full room refusing
// newcomers, a full outbox counted, and the Peer kept from the link header.
#include <bypass/udp/fanout.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace bypass {
namespace {

constexpr uint64_t kSec = 1000000000ull;

class Fanout : public ::testing::Test {
 protected:
  // One datagram from 198.18.0.<host>:<port> to us, at `t` seconds.
  void say(FanoutHandler& h, uint8_t host, uint16_t port, const std::string& text, uint64_t t,
           uint8_t via_port = 3) {
    say_from(h, "198.18.0." + std::to_string(host), "198.18.0.2", port, text, t, via_port);
  }
  void say_from(FanoutHandler& h, const std::string& from, const std::string& to, uint16_t port,
                const std::string& text, uint64_t t, uint8_t via_port = 3) {
    out_->clear();
    out_->now_ns = t * kSec;
    Datagram d;
    d.src = {*IpAddr::parse(from), port};
    d.dst = {*IpAddr::parse(to), 5000};
    bytes_.assign(text.begin(), text.end());
    d.data = bytes_.data();
    d.len = static_cast<uint32_t>(bytes_.size());
    d.room = d.len;
    d.link = link_;
    d.link_len = 14;
    d.port = via_port;
    Datagram batch[1] = {d};
    h.on_datagrams(batch, *out_);
  }
  // Who got what in the last batch: "host:text" each.
  std::vector<std::string> heard() const {
    std::vector<std::string> v;
    for (size_t i = 0; i < out_->peer_size(); ++i) {
      const auto& it = out_->peer_item(i);
      v.push_back(std::to_string(it.to.remote.ip.v4_be() >> 24) + ":" +
                  std::string(reinterpret_cast<const char*>(out_->peer_payload(i)), it.len));
    }
    return v;
  }
  void tick(FanoutHandler& h, uint64_t t) {
    out_->clear();
    out_->now_ns = t * kSec;
    h.on_tick(*out_);
  }

  std::unique_ptr<Outbox> out_ = std::make_unique<Outbox>();
  std::vector<uint8_t> bytes_;
  // dst MAC 02:..:02 (ours), src 02:..:07 (the peer), IPv4.
  uint8_t link_[14] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 7, 0x08, 0x00};
};

TEST_F(Fanout, EachMemberHearsEveryOtherOne) {
  FanoutHandler h(8, 30);
  say(h, 10, 1000, "hi", 1);
  EXPECT_TRUE(heard().empty());
  say(h, 11, 1000, "yo", 2);
  EXPECT_EQ(heard(), (std::vector<std::string>{"10:yo"}));
  say(h, 12, 1000, "hey", 3);
  EXPECT_EQ(heard(), (std::vector<std::string>{"10:hey", "11:hey"}));
  say(h, 10, 1000, "again", 4);  // known: not added twice
  EXPECT_EQ(heard(), (std::vector<std::string>{"11:again", "12:again"}));
  EXPECT_EQ(h.peers(), 3u);
  EXPECT_EQ(h.forwarded(), 5u);
  const Peer& p = out_->peer_item(0).to;
  EXPECT_EQ(p.port, 3);
  EXPECT_EQ(p.link_len, 14);
  EXPECT_EQ(p.link[5], 7) << "to the MAC the datagram came from";
  EXPECT_EQ(p.link[11], 2);
  EXPECT_EQ(p.local.port, 5000);
}

TEST_F(Fanout, SilentPeersAreForgottenOnTheTick) {
  FanoutHandler h(8, 30);
  say(h, 10, 1000, "a", 0);
  say(h, 11, 1000, "b", 20);
  tick(h, 30);
  EXPECT_EQ(h.peers(), 2u) << "30 s of silence is not more than 30";
  tick(h, 31);
  EXPECT_EQ(h.peers(), 1u) << "10 said nothing for 31 s";
  say(h, 11, 1000, "c", 32);
  EXPECT_TRUE(heard().empty()) << "nobody else is left";
}

TEST_F(Fanout, AFullRoomRefusesNewcomersAndAFullOutboxIsCounted) {
  FanoutHandler h(2, 30);
  say(h, 10, 1000, "a", 1);
  say(h, 11, 1000, "b", 1);
  say(h, 12, 1000, "c", 1);
  EXPECT_TRUE(heard().empty()) << "12 is not in the room";
  EXPECT_EQ(h.refused(), 1u);
  FanoutHandler big(Outbox::kPeerCapacity + 2, 30);
  for (unsigned i = 0; i < Outbox::kPeerCapacity + 2; ++i)
    say(big, static_cast<uint8_t>(i % 250 + 1), static_cast<uint16_t>(1000 + i), "x", 1);
  EXPECT_EQ(out_->peer_size(), Outbox::kPeerCapacity);
  EXPECT_EQ(big.dropped(), 1u) << "the last one spoke to one more than the outbox holds";
}

// A member heard again by another way (a router's failover: another source
// MAC; another port) is answered that way: its first path was kept for as
// long as it kept talking.
TEST_F(Fanout, AMembersPathBackIsItsLatestDatagrams) {
  FanoutHandler h(8, 30);
  say(h, 10, 1000, "a", 1);
  say(h, 11, 1000, "b", 1);
  link_[11] = 8;
  say(h, 10, 1000, "c", 2, /*via_port=*/4);
  link_[11] = 7;
  say(h, 11, 1000, "d", 2);
  ASSERT_EQ(heard(), (std::vector<std::string>{"10:d"}));
  EXPECT_EQ(out_->peer_item(0).to.link[5], 8);
  EXPECT_EQ(out_->peer_item(0).to.port, 4);
}

// What the room did is in the handler's counters (the program's stats and
// metrics), and an empty datagram is relayed like any other.
TEST_F(Fanout, ItsCountsAreReportedAndEmptyDatagramsRelayed) {
  FanoutHandler h(2, 30);
  say(h, 10, 1000, "a", 1);
  say(h, 11, 1000, "b", 1);
  say(h, 12, 1000, "c", 1);  // the room is full
  say(h, 10, 1000, "", 2);
  EXPECT_EQ(heard(), (std::vector<std::string>{"11:"}));
  EXPECT_EQ(h.dropped(), 0u);
  std::vector<std::pair<std::string, uint64_t>> c;
  h.counters(c);
  const std::vector<std::pair<std::string, uint64_t>> want = {{"fanout.forwarded", 2},
                                                              {"fanout.not_forwarded", 0},
                                                              {"fanout.refused", 1},
                                                              {"fanout.members", 2}};
  EXPECT_EQ(c, want);
}

// A 1472-byte datagram fills a 1500-byte IPv4 packet; to an IPv6 member it
// would be a 1520-byte packet, over the link's MTU: not sent, and counted.
TEST_F(Fanout, ADatagramTooBigForAnIpv6MemberIsCounted) {
  FanoutHandler h(8, 30);
  say_from(h, "2001:db8::10", "2001:db8::2", 1000, "a", 1);
  say(h, 11, 1000, "b", 1);
  say(h, 12, 1000, std::string(1472, 'x'), 2);
  ASSERT_EQ(out_->peer_size(), 1u);
  EXPECT_TRUE(out_->peer_item(0).to.remote.ip.is_v4());
  EXPECT_EQ(h.dropped(), 1u);
  say(h, 12, 1000, std::string(1452, 'x'), 3);
  EXPECT_EQ(out_->peer_size(), 2u) << "1452 bytes fit both families";
}

}  // namespace
}  // namespace bypass
