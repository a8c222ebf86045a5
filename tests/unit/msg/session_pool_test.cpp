// A session's memory against peers that stop reading or acknowledging: its
// queue bounds what it holds, the idle and no-ack timeouts give it all back,
// and the sessions of one worker share its chunk pool so that a few heavy
// ones leave the pool's reserve to the others (ChunkPool::may_take), while a
// message being rebuilt in order can finish while free chunks remain.
#include <gtest/gtest.h>

#include "session_link.hpp"

namespace bypass::msg::test {
namespace {

TEST(Session, MemoryStaysFlatAgainstAPeerThatStopsReading) {
  SessionConfig sc = server_config();
  sc.send_queue = 64;
  sc.idle_timeout_ns = 3'000'000'000;
  const SessionConfig cc;
  Link link(&sc, &cc, 1024);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.client_reads_stop = true;
  link.client.session.close(kCloseNormal, "");  // keep the client from acking anything
  uint32_t refused = 0;
  uint32_t least_free = link.server_pool.capacity();
  for (int ms = 0; ms < 2500; ++ms) {
    for (int k = 0; k < 4; ++k) {
      if (link.server.session.send(0, false, pattern(1500, ms)) != SendResult::kOk) ++refused;
    }
    link.step();
    least_free = std::min(least_free, link.server_pool.available());
    ASSERT_LE(link.server.session.queued(), 64u);
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(link.server.counters.queue_full, 0u);
  EXPECT_GE(least_free, link.server_pool.capacity() - 64);  // never more than the queue
  // The idle timeout closes it and gives everything back.
  ASSERT_TRUE(link.run_until([&] { return link.server.closed == 1; }, 5000));
  EXPECT_EQ(link.server.close_code, kCloseIdle);
  EXPECT_EQ(link.server_pool.available(), link.server_pool.capacity());
}

// Sessions of one worker share its chunk pool. One whose peer stops
// acknowledging (here with a queue as large as the pool) stops at the pool's
// reserve, the last eighth, which only sessions holding at most one whole
// message's chunks may take: another session still sends a 64 KiB message.
// Before the reserve, a few such peers took every chunk from everyone.
TEST(Session, ASessionThatHoldsMuchLeavesThePoolsReserveToTheOthers) {
  ChunkPool pool(1024);
  ASSERT_EQ(pool.reserve(), 128u);
  SessionConfig sc = server_config();
  sc.send_queue = 4096;  // the pool is the limit here, not the queue
  const SessionConfig cc;
  Link hog(&sc, &cc, 64, &pool), light(&sc, &cc, 64, &pool);
  hog.open();
  light.open();
  ASSERT_TRUE(hog.run_until([&] { return hog.client.opened == 1; }, 1000));
  ASSERT_TRUE(light.run_until([&] { return light.client.opened == 1; }, 1000));
  hog.client_reads_stop = true;
  uint32_t ok = 0;
  SendResult r;
  while ((r = hog.server.session.send(0, false, pattern(1000, ok))) == SendResult::kOk) ++ok;
  EXPECT_EQ(r, SendResult::kNoMemory);
  EXPECT_EQ(ok, 1024u - 128u);
  EXPECT_EQ(pool.available(), 128u);
  const auto big = pattern(kMaxMessageBytes, 5);
  ASSERT_EQ(light.server.session.send(0, false, big), SendResult::kOk);
  EXPECT_EQ(light.server.session.send(0, false, pattern(100, 6)), SendResult::kNoMemory)
      << "past one whole message, the reserve is not this session's either";
  ASSERT_TRUE(light.run_until([&] { return light.client.got.size() == 1; }, 5000));
  EXPECT_EQ(light.client.got[0].bytes, big);
}

// The reserve is not for the fragments a session needs next, in order: a
// session holding much (its peer acknowledges nothing it sends) still
// rebuilds a message the peer sends it while the pool is down to its reserve.
// (Refused, they were never acknowledged, and the message never completed.)
TEST(Session, AHeavySessionStillRebuildsAMessageInOrderFromTheReserve) {
  ChunkPool pool(1024);
  SessionConfig sc = server_config();
  sc.send_queue = 4096;
  const SessionConfig cc;
  Link link(&sc, &cc, 64, &pool);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.client_acks_nothing = true;  // nothing the server sends is acknowledged
  uint32_t ok = 0;
  while (link.server.session.send(0, false, pattern(1000, ok)) == SendResult::kOk) ++ok;
  ASSERT_EQ(pool.available(), pool.reserve());
  const auto msg = pattern(10 * 1024, 9);
  ASSERT_EQ(link.client.session.send(0, false, msg), SendResult::kOk);
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == 1; }, 3000));
  EXPECT_EQ(link.server.got[0].bytes, msg);
}

// A peer that keeps talking but acks none of our packets holds our queued
// reliable data for nothing: after idle_timeout it is closed with 4003 and
// everything goes back to the pool. (It is never idle: its messages arrive.)
TEST(Session, APeerThatTalksButNeverAcksIsClosedWith4003) {
  SessionConfig sc = server_config();
  sc.idle_timeout_ns = 3'000'000'000;
  const SessionConfig cc;
  Link link(&sc, &cc, 1024);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.client_acks_nothing = true;
  for (int i = 0; i < 32; ++i) link.server.session.send(0, false, pattern(1000, i));
  const size_t heard = link.server.got.size();
  for (int ms = 0; ms < 2500; ++ms) {
    link.client.session.send(1, false, pattern(20, ms));  // unreliable chatter
    link.step();
  }
  EXPECT_GT(link.server.got.size(), heard + 1000) << "the client kept talking";
  EXPECT_EQ(link.server.closed, 0) << "closed before idle_timeout";
  ASSERT_TRUE(link.run_until(
      [&] {
        link.client.session.send(1, false, pattern(20, 0));
        return link.server.closed == 1;
      },
      1000));
  EXPECT_EQ(link.server.close_code, kCloseNoAck);
  EXPECT_EQ(link.server_pool.available(), link.server_pool.capacity());
}

// An application that refuses messages longer than idle_timeout, while the
// peer's pings keep coming: a complete message held for it, and the ones
// held behind it, are the application's wait, not the peer's stall (4004).
TEST(Session, AnApplicationThatRefusesIsNoStall) {
  SessionConfig sc = server_config(), cc;
  sc.idle_timeout_ns = cc.idle_timeout_ns = 3'000'000'000;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.client.busy = true;
  ASSERT_EQ(link.server.session.send(0, false, pattern(3000, 1)), SendResult::kOk);  // 3 fragments
  for (uint32_t i = 0; i < 5; ++i)
    ASSERT_EQ(link.server.session.send(0, false, pattern(500, i)), SendResult::kOk);
  link.run_ms(8000);
  EXPECT_EQ(link.client.closed, 0) << link.client.close_code;
  EXPECT_EQ(link.server.closed, 0) << link.server.close_code;
  EXPECT_EQ(link.client.counters.closed_stalled.get(), 0u);
  link.client.busy = false;
  ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == 6; }, 5000));
  EXPECT_EQ(link.client.got[0].bytes, pattern(3000, 1));
}

// A peer that begins a reliable message and never finishes it (63 of its 64
// fragments) while it keeps talking, and completing messages on another
// channel, pinned 63 chunks of the worker's pool for good: after
// idle_timeout it is closed with 4004 and they go back.
TEST(Session, APeerThatNeverFinishesAMessageIsClosedWith4004) {
  SessionConfig sc = server_config();
  sc.idle_timeout_ns = 3'000'000'000;
  const SessionConfig cc;
  Link link(&sc, &cc, 1024);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.run_ms(20);
  for (uint8_t i = 0; i < 63; ++i) {
    std::vector<uint8_t> p(kHeaderBytes, 0);
    // Packet sequences far behind the client's: the server acks none of
    // them, and its acks of the client's own packets are undisturbed.
    const uint16_t seq = static_cast<uint16_t>(60000 + i);
    p[0] = static_cast<uint8_t>(seq);
    p[1] = static_cast<uint8_t>(seq >> 8);
    // FRAGMENT, channel 0, message 0, index i of 64, 1024 bytes.
    const uint8_t f[] = {0x08, 0, 0, 0, i, 64, 0x00, 0x04};
    p.insert(p.end(), f, f + sizeof f);
    p.resize(p.size() + 1024, i);
    link.server.session.receive(p, link.now);
  }
  ASSERT_EQ(link.server_pool.available(), link.server_pool.capacity() - 63);
  // Chatter, unreliable and reliable on another channel (channel 3): its
  // messages complete, and that does not hide channel 0's stall.
  const size_t before = link.server.got.size();
  for (int ms = 0; ms < 2500; ++ms) {
    link.client.session.send(ms % 2 ? 1 : 3, false, pattern(20, ms));
    link.step();
  }
  EXPECT_GT(link.server.got.size(), before + 1000);
  EXPECT_EQ(link.server.closed, 0) << "closed before idle_timeout";
  ASSERT_TRUE(link.run_until(
      [&] {
        link.client.session.send(1, false, pattern(20, 0));
        return link.server.closed == 1;
      },
      1000));
  EXPECT_EQ(link.server.close_code, kCloseStalled);
  EXPECT_EQ(link.server.counters.closed_stalled.get(), 1u);
  EXPECT_EQ(link.server_pool.available(), link.server_pool.capacity());
}

// A packet of the client's with one fragment of a message (sequence numbers
// far ahead of the link's own, which only the packet's acks care about).
std::vector<uint8_t> fragment_packet(uint16_t packet, uint8_t channel, uint16_t msg, uint8_t index,
                                     uint8_t count) {
  std::vector<uint8_t> buf(kHeaderBytes + 16 + kFragmentBytes);
  PacketWriter w(buf);
  Header h;
  h.sequence = packet;
  h.window = 64;
  w.header(h);
  const std::vector<uint8_t> data(kFragmentBytes, index);
  EXPECT_TRUE(w.message({channel, false, true, msg, index, count, data}));
  buf.resize(w.size());
  return buf;
}

// An unreliable message of which a fragment never comes (unreliable ones
// are not resent) is let go after max_rto, counted msg_stale: a peer cannot
// pin the worker's chunks with partial messages it never finishes, on a
// channel where nothing newer comes to push them out.
TEST(Session, UnreliablePartialsThatNeverCompleteAreLetGo) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.server.opened == 1; }, 1000));
  for (uint8_t i = 0; i < 63; ++i)  // fragment 63 of 64 never comes
    link.server.session.receive(fragment_packet(5000 + i, 1, 7, i, 64), link.now);
  ASSERT_EQ(link.server.session.holding(), 63u);
  const uint64_t stale = link.server.counters.drops[drop_index(MsgDrop::kStale)].get();
  link.run_ms(static_cast<int>(sc.max_rto_ns / 1'000'000) / 2);
  EXPECT_EQ(link.server.session.holding(), 63u) << "let go before max_rto";
  link.run_ms(static_cast<int>(sc.max_rto_ns / 1'000'000));
  EXPECT_EQ(link.server.session.holding(), 0u);
  EXPECT_EQ(link.server.counters.drops[drop_index(MsgDrop::kStale)].get() - stale, 63u);
  EXPECT_EQ(link.server.closed, 0);
  // The channel still works.
  ASSERT_EQ(link.client.session.send(1, false, pattern(3000, 1)), SendResult::kOk);
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == 1; }, 200));
  EXPECT_EQ(link.server.got[0].bytes, pattern(3000, 1));
}

// A partial unreliable message is not evicted to make room for its own next
// fragment (it would then never complete): another one is.
TEST(Session, AnUnreliableFragmentDoesNotEvictItsOwnMessage) {
  SessionConfig sc = server_config();
  sc.ahead_buffer = 4;
  const SessionConfig cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.server.opened == 1; }, 1000));
  // Messages 8 and 7 (3 fragments each) fill the 4 slots, 8 first; then 8's last.
  link.server.session.receive(fragment_packet(6000, 1, 8, 0, 3), link.now);
  link.server.session.receive(fragment_packet(6001, 1, 8, 1, 3), link.now);
  link.server.session.receive(fragment_packet(6002, 1, 7, 0, 3), link.now);
  link.server.session.receive(fragment_packet(6003, 1, 7, 1, 3), link.now);
  ASSERT_EQ(link.server.session.holding(), 4u);
  link.server.session.receive(fragment_packet(6004, 1, 8, 2, 3), link.now);
  ASSERT_EQ(link.server.got.size(), 1u);
  EXPECT_EQ(link.server.got[0].bytes.size(), 3 * kFragmentBytes);
  EXPECT_EQ(link.server.session.holding(), 0u);  // 7 made room
}

// ahead_buffer is kept within the reliable channels' reach: a window past
// it would let a sender run 1024 messages ahead of a lost one, and what
// the receiver dropped there would have been acknowledged.
TEST(Session, TheWindowStaysWithinTheReliableReach) {
  SessionConfig sc = server_config();
  sc.ahead_buffer = 5000;
  const SessionConfig cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.run_ms(20);
  EXPECT_EQ(link.client.session.peer_window(), 896u);
}

}  // namespace
}  // namespace bypass::msg::test
