// Message sessions' flow and congestion control over a simulated path
// (session_link.hpp): an application that refuses messages slows its sender
// and loses nothing, the send queue and on_writable, unreliable messages past
// a shut window, the congestion window's back-off and its undo after a
// stall, and acknowledgements when many packets are in flight. The rest of
// the protocol: session_test.cpp.
#include "session_link.hpp"

#include <gtest/gtest.h>

namespace bypass::msg::test {
namespace {

// An application that stops taking messages for longer than idle_timeout
// is a slow reader, not a dead peer: its side still acks packets that carry
// no refused data, the connection stays, and nothing is lost.
TEST(Session, AnApplicationThatRefusesLongerThanTheIdleTimeoutStaysOpen) {
  SessionConfig sc = server_config();
  sc.idle_timeout_ns = 3'000'000'000;
  const SessionConfig cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.client.busy = true;
  size_t sent = 0;
  for (int i = 0; i < 40; ++i)
    sent += link.server.session.send(0, false, pattern(500, i)) == SendResult::kOk;
  link.run_ms(8000);
  EXPECT_EQ(link.server.closed, 0) << link.server.close_code;
  EXPECT_EQ(link.client.closed, 0) << link.client.close_code;
  link.client.busy = false;
  ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == sent; }, 20000))
      << link.client.got.size() << " of " << sent;
  EXPECT_EQ(link.server.closed, 0);
}

// The queue holds exactly send_queue fragments, a power of two or not (the
// ring under it is rounded up to one).
TEST(Session, WritableFollowsAFullQueue) {
  for (const uint32_t limit : {16u, 12u}) {
    SessionConfig sc = server_config();
    sc.send_queue = limit;
    const SessionConfig cc;
    Link link(&sc, &cc);
    link.open();
    ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
    uint32_t ok = 0;
    while (link.server.session.send(0, false, pattern(100, ok)) == SendResult::kOk) ++ok;
    EXPECT_EQ(ok, limit);
    EXPECT_EQ(link.server.writable, 0);
    ASSERT_TRUE(link.run_until([&] { return link.server.writable == 1; }, 1000));
    EXPECT_EQ(link.server.session.send(0, false, pattern(100, 99)), SendResult::kOk);
    // Everything queued arrives, once and in order.
    ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == ok + 1; }, 2000));
    for (uint32_t i = 0; i < ok; ++i) EXPECT_EQ(link.client.got[i].bytes, pattern(100, i));
  }
}

TEST(Session, AnApplicationThatRefusesSlowsTheSenderAndLosesNothing) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.server.busy = true;
  std::vector<std::vector<uint8_t>> sent;
  bool full = false;
  for (int ms = 0; ms < 2000; ++ms) {
    auto m = pattern(sent.size() % 3 == 0 ? 2500 : 300, static_cast<uint32_t>(sent.size()));
    const SendResult r = link.client.session.send(0, false, m);
    if (r == SendResult::kOk) sent.push_back(std::move(m));
    full |= r == SendResult::kQueueFull;
    link.step();
  }
  EXPECT_TRUE(full);  // the sender was held back, not the receiver's memory
  EXPECT_TRUE(link.server.got.empty());
  EXPECT_GT(link.server.counters.drops[drop_index(MsgDrop::kAppBusy)], 0u);
  EXPECT_GE(link.server_pool.available(), link.server_pool.capacity() - 2 * kMaxFragments - 64);
  link.server.busy = false;
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == sent.size(); }, 60000))
      << link.server.got.size() << " of " << sent.size();
  for (size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(link.server.got[i].bytes, sent[i]) << i;
}

// Opens the link; the client sends 200 reliable 300-byte messages on
// channel 0 that the server's application refuses, so that the server's
// window shuts and the client's queue holds them.
void shut_window(Link& link) {
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.server.refuse = [](std::span<const uint8_t> b) { return b.size() == 300; };
  for (uint32_t i = 0; i < 200; ++i) {
    ASSERT_EQ(link.client.session.send(0, false, pattern(300, i)), SendResult::kOk) << i;
    link.step();
  }
  link.run_ms(50);
}

// A peer whose window holds reliable data back still gets unreliable
// messages: they do not queue behind reliable fragments that may not go.
TEST(Session, UnreliableMessagesPassAReliableChannelTheWindowHoldsBack) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  ASSERT_NO_FATAL_FAILURE(shut_window(link));
  size_t reliable_sent = 0;
  for (const auto& [key, n] : link.client_log.sends) reliable_sent += std::get<0>(key) == 0;
  ASSERT_LT(reliable_sent, 200u);  // the window is shut: some wait in the queue
  for (uint32_t i = 0; i < 20; ++i) {
    ASSERT_EQ(link.client.session.send(1, false, pattern(50, i)), SendResult::kOk) << i;
  }
  // A message of three fragments would not fit the window the peer has left
  // to rebuild it in: it waits (not sent to be dropped there), and so does
  // its channel's next one; another unreliable channel's still goes.
  ASSERT_LT(link.client.session.peer_window(), 3u);
  ASSERT_EQ(link.client.session.send(1, false, pattern(3000, 1)), SendResult::kOk);
  ASSERT_EQ(link.client.session.send(1, false, pattern(50, 99)), SendResult::kOk);
  ASSERT_EQ(link.client.session.send(2, false, pattern(60, 1)), SendResult::kOk);
  link.run_ms(50);
  std::vector<std::vector<uint8_t>> unreliable;
  for (const Got& g : link.server.got) {
    if (g.channel == 1) unreliable.push_back(g.bytes);
  }
  ASSERT_EQ(unreliable.size(), 20u);  // no loss on this path: every one, in order
  for (uint32_t i = 0; i < 20; ++i) EXPECT_EQ(unreliable[i], pattern(50, i)) << i;
  ASSERT_EQ(link.server.got.size(), 21u);
  EXPECT_EQ(link.server.got[20].channel, 2);
  // The reliable ones arrive, whole and in order, once the application takes
  // them; then the waiting channel's, in its order.
  link.server.refuse = nullptr;
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == 223; }, 20000))
      << link.server.got.size();
  std::vector<std::vector<uint8_t>> reliable, channel1;
  for (size_t i = 21; i < link.server.got.size(); ++i) {
    (link.server.got[i].channel == 0 ? reliable : channel1).push_back(link.server.got[i].bytes);
  }
  ASSERT_EQ(reliable.size(), 200u);
  for (uint32_t i = 0; i < 200; ++i) EXPECT_EQ(reliable[i], pattern(300, i)) << i;
  ASSERT_EQ(channel1.size(), 2u);
  EXPECT_EQ(channel1[0], pattern(3000, 1));
  EXPECT_EQ(channel1[1], pattern(50, 99));
}

// Unreliable messages sent past a shut window give their queue room back:
// a stream of them outlasts the send queue (256) while the window stays shut.
TEST(Session, UnreliableMessagesPastAShutWindowDoNotFillTheQueue) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  ASSERT_NO_FATAL_FAILURE(shut_window(link));
  ASSERT_EQ(link.client.session.peer_window(), 0u);
  const uint32_t backlog = link.client.session.queued();
  // The reliable ones unsent or unacked: all but those the peer holds ahead
  // of the one it refuses (acked, so done with here).
  ASSERT_GE(backlog, 200u - sc.ahead_buffer);
  const uint64_t resent = link.client.counters.retransmits.get();
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(link.client.session.send(1, false, pattern(50, i)), SendResult::kOk)
        << i << ": queued " << link.client.session.queued() << ", cwnd "
        << link.client.session.cwnd();
    link.step();
  }
  link.run_ms(50);
  EXPECT_LE(link.client.session.queued(), backlog);  // none of the 1,000 left
  EXPECT_EQ(link.client.counters.queue_full.get(), 0u);
  // What the peer refuses went as probes, at most one a timeout (20 ms at
  // least), not at every chance.
  EXPECT_LE(link.client.counters.retransmits.get() - resent, 1050u / 20 + 1) << "resent";
  std::vector<std::vector<uint8_t>> unreliable;
  for (const Got& g : link.server.got) {
    if (g.channel == 1) unreliable.push_back(g.bytes);
  }
  ASSERT_EQ(unreliable.size(), 1000u);
  for (uint32_t i = 0; i < 1000; ++i) EXPECT_EQ(unreliable[i], pattern(50, i)) << i;
  // Queued behind the held reliable ones, a 3-fragment unreliable message
  // waits; entries taken out around it leave it and the order whole.
  ASSERT_EQ(link.client.session.send(1, false, pattern(3000, 7)), SendResult::kOk);
  for (uint32_t i = 0; i < 100; ++i) {
    ASSERT_EQ(link.client.session.send(2, false, pattern(60, i)), SendResult::kOk) << i;
    link.step();
  }
  link.server.refuse = nullptr;
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == 1301; }, 20000))
      << link.server.got.size();
  std::vector<std::vector<uint8_t>> reliable, channel2;
  std::vector<uint8_t> big;
  for (const Got& g : link.server.got) {
    if (g.channel == 0) reliable.push_back(g.bytes);
    if (g.channel == 2) channel2.push_back(g.bytes);
    if (g.channel == 1 && g.bytes.size() == 3000) big = g.bytes;
  }
  ASSERT_EQ(reliable.size(), 200u);
  for (uint32_t i = 0; i < 200; ++i) EXPECT_EQ(reliable[i], pattern(300, i)) << i;
  ASSERT_EQ(channel2.size(), 100u);
  for (uint32_t i = 0; i < 100; ++i) EXPECT_EQ(channel2[i], pattern(60, i)) << i;
  EXPECT_EQ(big, pattern(3000, 7));
}

// Opens the link, then the server sends one 1000-byte message each
// millisecond for `ms` (counted in `sent` when accepted).
void send_for_ms(Link& link, int ms, size_t& sent, uint32_t seed = 0) {
  if (link.client.opened == 0) {
    link.open();
    ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  }
  for (int i = 0; i < ms; ++i) {
    sent += link.server.session.send(0, false, pattern(1000, seed + i)) == SendResult::kOk;
    link.step();
  }
}

TEST(Session, TheCongestionWindowBacksOffOnLoss) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  size_t sent = 0;
  ASSERT_NO_FATAL_FAILURE(send_for_ms(link, 200, sent));
  const uint32_t grown = link.server.session.cwnd();
  EXPECT_GT(grown, sc.initial_cwnd);
  link.loss_percent = 60;
  send_for_ms(link, 300, sent);
  EXPECT_LT(link.server.session.cwnd(), grown / 2);
  EXPECT_LE(link.server.session.in_flight(), link.server.session.cwnd() + 1);
  // Lost for real: few of those packets were acknowledged after all.
  EXPECT_LT(link.server.counters.spurious_losses.get(),
            link.server.counters.packets_lost.get() / 2);
  link.loss_percent = 0;
  ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == sent; }, 60000))
      << link.client.got.size() << " of " << sent;
}

// A peer that stalls (descheduled, a full CPU) for longer than the
// retransmission timeout has lost nothing: the sender's timeouts fire, and
// it probes, but once the late acknowledgements come in it counts those
// packets as late, not lost, and undoes its back-off.
TEST(Session, APeerThatStallsCostsAFewProbesButNotTheWindow) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  size_t sent = 0;
  ASSERT_NO_FATAL_FAILURE(send_for_ms(link, 200, sent));
  ASSERT_EQ(link.server.counters.packets_lost.get(), 0u);
  const uint32_t grown = link.server.session.cwnd();
  ASSERT_GT(grown, sc.initial_cwnd);
  link.client_stalls = true;
  send_for_ms(link, 100, sent, 200);
  // The timeouts fired while the client stalled.
  const uint64_t lost = link.server.counters.packets_lost.get();
  EXPECT_GT(lost, 0u);
  // While the client says nothing, only the oldest fragment goes again, as
  // a probe, once per (backed-off) timeout: 5 here, where resending every
  // overdue fragment sent 66.
  EXPECT_GT(link.server.counters.retransmits.get(), 0u);
  EXPECT_LE(link.server.counters.retransmits.get(), 8u);
  EXPECT_LT(link.server.session.cwnd(), grown);
  link.client_stalls = false;
  ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == sent; }, 5000))
      << link.client.got.size() << " of " << sent;
  // Every packet taken for lost was acknowledged after all, and the window
  // is back where it was.
  EXPECT_EQ(link.server.counters.spurious_losses.get(), lost);
  EXPECT_GE(link.server.session.cwnd(), grown);
  EXPECT_GT(link.client.counters.drops[drop_index(MsgDrop::kDuplicate)].get(), 0u);
}

// A back-off undone never happened: the next real loss halves the window at
// once, even within a round trip of the timeout that was undone.
TEST(Session, AfterAnUndoneBackOffARealLossHalvesAtOnce) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  size_t sent = 0;
  ASSERT_NO_FATAL_FAILURE(send_for_ms(link, 200, sent));
  // A long stall: back-offs one round trip apart, the last just before the
  // acks come and undo them, with a round trip estimate the stall stretched.
  link.client_stalls = true;
  send_for_ms(link, 400, sent, 200);
  link.client_stalls = false;
  const SessionCounters& c = link.server.counters;
  ASSERT_GT(c.packets_lost.get(), 0u);
  for (int ms = 0; ms < 1000 && c.spurious_losses.get() < c.packets_lost.get(); ++ms)
    send_for_ms(link, 1, sent, 1200 + ms);
  ASSERT_EQ(c.spurious_losses.get(), c.packets_lost.get());
  // Now one packet is lost for real.
  const uint64_t lost = c.packets_lost.get();
  link.drop_to_client = 1;
  uint32_t before = link.server.session.cwnd();
  for (int ms = 0; ms < 100 && c.packets_lost.get() == lost; ++ms) {
    before = link.server.session.cwnd();
    send_for_ms(link, 1, sent, 2200 + ms);
  }
  ASSERT_EQ(c.packets_lost.get(), lost + 1);
  EXPECT_LE(link.server.session.cwnd(), before * 3 / 4);  // halved (acks that step add a little)
  ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == sent; }, 5000));
}

// A reader that drains many packets before it writes (a client emptying its
// socket) still acknowledges every one: one ack header vouches for 33
// packets, so the session acks at once when 32 have come in since it last
// sent. Before, the sender took the ones past the ack bits for lost and sent
// them again.
TEST(Session, AWindowWiderThanTheSentRingTakesNothingForLost) {
  // 400 packets of data at once: the sent ring holds 256, so the rest wait
  // for acks rather than overwrite unacknowledged entries (taken for lost,
  // with the window halved, before).
  SessionConfig sc = server_config();
  sc.initial_cwnd = 400;
  sc.send_queue = 1024;
  const SessionConfig cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  for (uint32_t i = 0; i < 400; ++i)
    ASSERT_EQ(link.server.session.send(1, false, pattern(1000, i)), SendResult::kOk);
  ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == 400; }, 1000));
  EXPECT_EQ(link.server.counters.packets_lost, 0u);
  EXPECT_GE(link.server.session.cwnd(), 400u);
}

// An ack whose newest packet the sender's ring does not hold (one without
// data, sent while its ring entry still held unacknowledged data) still
// releases what its bits acknowledge. Those fragments stayed in flight, and
// the next header sent them again as lost.
TEST(Session, AnAckOfAPacketTheRingDoesNotHoldStillReleasesWhatItsBitsAck) {
  SessionConfig sc = server_config();
  sc.initial_cwnd = 400;
  sc.send_queue = 1024;
  SessionConfig cc;
  cc.ahead_buffer = 192;  // a receive window of 256 fragments
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.run_ms(20);  // settle the handshake's packets
  const uint32_t free_before = link.server_pool.available();
  for (int i = 0; i < 256; ++i)
    ASSERT_EQ(link.server.session.send(0, false, pattern(1000, i)), SendResult::kOk);
  link.server.session.flush(link.now);
  ASSERT_EQ(link.server.wire.size(), 256u);  // the sent ring's every entry
  ASSERT_EQ(link.server_pool.available(), free_before - 256);
  // The server owes an ack: its next packet has no data, and its ring entry
  // holds the first data packet, unacknowledged.
  ASSERT_EQ(link.client.session.send(0, false, pattern(10, 1)), SendResult::kOk);
  link.client.session.flush(link.now);
  for (auto& p : link.client.wire) link.server.session.receive(p, link.now);
  link.client.wire.clear();
  link.server.session.flush(link.now);
  ASSERT_EQ(link.server.wire.size(), 257u);
  // The client gets them all. Its acks on the way are lost, but for the
  // last: its newest is the ack-only packet, its bits the last 32 of data.
  for (auto& p : link.server.wire) link.client.session.receive(p, link.now);
  link.server.wire.clear();
  link.client.wire.clear();
  ASSERT_EQ(link.client.session.send(0, false, pattern(10, 2)), SendResult::kOk);
  link.client.session.flush(link.now);
  ASSERT_EQ(link.client.wire.size(), 1u);
  link.server.session.receive(link.client.wire[0], link.now);
  link.client.wire.clear();
  EXPECT_EQ(link.server_pool.available(), free_before - 256 + 32);
  EXPECT_EQ(link.server.counters.fast_retransmits.get(), 0u);
}

TEST(Session, AReaderThatDrainsManyPacketsBeforeWritingAcksThemAll) {
  SessionConfig sc = server_config();
  sc.initial_cwnd = 64;
  const SessionConfig cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.run_ms(20);  // settle the handshake's packets
  for (int i = 0; i < 48; ++i) {
    ASSERT_EQ(link.server.session.send(0, false, pattern(1000, i)), SendResult::kOk);
  }
  link.server.session.flush(link.now);
  ASSERT_EQ(link.server.wire.size(), 48u);  // one 1000-byte message per packet
  const size_t client_sent = link.client.wire.size();
  for (auto& p : link.server.wire) link.client.session.receive(p, link.now);
  link.server.wire.clear();
  // Acked on the way: once, after the 32nd.
  EXPECT_EQ(link.client.wire.size() - client_sent, 1u);
  link.client.session.flush(link.now);
  for (auto& p : link.client.wire) link.server.session.receive(p, link.now);
  link.client.wire.clear();
  EXPECT_EQ(link.client.got.size(), 48u);
  EXPECT_EQ(link.server.counters.packets_lost.get(), 0u);
  EXPECT_EQ(link.server.counters.fast_retransmits.get(), 0u);
  EXPECT_EQ(link.server.session.in_flight(), 0u);
}

}  // namespace
}  // namespace bypass::msg::test
