// Message sessions whose receiving application refuses reliable messages for
// a while (on_message returns false): the window it advertises, what its
// sender resends, and that unreliable messages do not wait for it. A
// refusal long enough to hold the sender's queue: session_flow_test.cpp.
#include "session_link.hpp"

#include <gtest/gtest.h>

namespace bypass::msg::test {
namespace {

// Opens the link; the client sends `n` reliable 300-byte messages on channel
// 0, which the server's application refuses.
void refuse_some(Link& link, uint32_t n) {
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.server.refuse = [](std::span<const uint8_t> b) { return b.size() == 300; };
  for (uint32_t i = 0; i < n; ++i) {
    ASSERT_EQ(link.client.session.send(0, false, pattern(300, i)), SendResult::kOk) << i;
    link.step();
  }
  link.run_ms(50);
  ASSERT_EQ(link.client.session.peer_window(), 0u);
}

std::vector<std::vector<uint8_t>> on_channel(const Side& side, uint8_t channel) {
  std::vector<std::vector<uint8_t>> v;
  for (const Got& g : side.got) {
    if (g.channel == channel) v.push_back(g.bytes);
  }
  return v;
}

// A few refused messages (fewer than the fragments a shut window still lets
// go) leave the unreliable messages sent after them in order, behind the
// refused one: their spent entries give the queue its room back all the
// same, and the refused one's probes cost the congestion window nothing.
TEST(Refusal, AFewRefusedMessagesDoNotFillTheQueueBehindThem) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  ASSERT_NO_FATAL_FAILURE(refuse_some(link, 5));
  const uint64_t lost = link.client.counters.packets_lost.get();
  const uint32_t cwnd = link.client.session.cwnd();
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(link.client.session.send(1, false, pattern(50, i)), SendResult::kOk)
        << i << ": queued " << link.client.session.queued();
    link.step();
  }
  link.run_ms(50);
  EXPECT_EQ(link.client.counters.queue_full.get(), 0u);
  EXPECT_LE(link.client.session.queued(), 5u);
  // No packet of this path was lost: unanswered probes are not losses.
  EXPECT_EQ(link.client.counters.packets_lost.get(), lost);
  EXPECT_GE(link.client.session.cwnd(), cwnd);
  const auto unreliable = on_channel(link.server, 1);
  ASSERT_EQ(unreliable.size(), 1000u);
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_EQ(unreliable[i], pattern(50, i)) << i;
  link.server.refuse = nullptr;
  ASSERT_TRUE(link.run_until([&] { return on_channel(link.server, 0).size() == 5; }, 5000));
  const auto reliable = on_channel(link.server, 0);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(reliable[i], pattern(300, i)) << i;
}

// The window shows a refusal until the refused channel moves on: messages
// another reliable channel delivers meanwhile do not open it.
TEST(Refusal, AnotherReliableChannelsDeliveriesKeepTheWindowShut) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  ASSERT_NO_FATAL_FAILURE(refuse_some(link, 3));
  for (uint32_t i = 0; i < 20; ++i) {
    ASSERT_EQ(link.client.session.send(3, false, pattern(100, i)), SendResult::kOk) << i;
    link.step();
  }
  link.run_ms(50);
  const auto other = on_channel(link.server, 3);
  ASSERT_EQ(other.size(), 20u);
  for (uint32_t i = 0; i < 20; ++i) EXPECT_EQ(other[i], pattern(100, i)) << i;
  EXPECT_EQ(link.client.session.peer_window(), 0u);
  EXPECT_TRUE(on_channel(link.server, 0).empty());
  link.server.refuse = nullptr;
  ASSERT_TRUE(link.run_until([&] { return on_channel(link.server, 0).size() == 3; }, 5000));
  link.run_ms(20);
  EXPECT_GT(link.client.session.peer_window(), 0u);
}

// A message of several fragments that the application refused is held
// whole and offered again at each tick; once taken, the window that opens
// reaches the sender at once, not with the next ping a second later.
TEST(Refusal, TheWindowReopensAsSoonAsAHeldMessageIsTaken) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.server.busy = true;
  ASSERT_EQ(link.client.session.send(0, false, pattern(3000, 1)), SendResult::kOk);
  link.run_ms(100);
  ASSERT_EQ(link.client.session.peer_window(), 0u);
  ASSERT_EQ(link.client.session.queued(), 0u);  // acked: held by the server
  link.server.busy = false;
  // A tick (every 10 ms) offers it again; the window update then takes the
  // path's 5 ms.
  link.run_ms(20);
  ASSERT_EQ(link.server.got.size(), 1u);
  EXPECT_EQ(link.server.got[0].bytes, pattern(3000, 1));
  EXPECT_GT(link.client.session.peer_window(), 0u);
}

// The window is the newest packet's: a late packet's older window (a 0 from
// a refusal since over) does not shut it again.
TEST(Refusal, ALatePacketsWindowIsNotTaken) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  auto packet = [](uint16_t sequence, uint16_t window) {
    std::vector<uint8_t> buf(kHeaderBytes);
    PacketWriter w(buf);
    Header h;
    h.sequence = sequence;
    h.window = window;
    w.header(h);
    return buf;
  };
  link.client.session.receive(packet(1000, 7), link.now);
  EXPECT_EQ(link.client.session.peer_window(), 7u);
  link.client.session.receive(packet(999, 0), link.now);
  EXPECT_EQ(link.client.session.peer_window(), 7u);
  link.client.session.receive(packet(1001, 0), link.now);
  EXPECT_EQ(link.client.session.peer_window(), 0u);
}

}  // namespace
}  // namespace bypass::msg::test
