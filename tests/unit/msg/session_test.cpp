// Message sessions end to end over a simulated path (session_link.hpp): the
// hello, reliable and unreliable delivery under 30 % loss with reordering,
// fragments up to 64 KiB, coalescing, ping, close, version refusal,
// malformed frames, and timers under a clock that skews, jumps and runs
// backwards. Flow and congestion control: session_flow_test.cpp; memory
// against peers that stop reading or acknowledging: session_pool_test.cpp.
#include "session_link.hpp"

#include <gtest/gtest.h>

namespace bypass::msg::test {
namespace {

// Hands the server one forged packet of message frames (packet sequence `seq`).
void forge(Link& link, std::vector<uint8_t> frames, uint16_t seq) {
  std::vector<uint8_t> p(kHeaderBytes, 0);
  p[0] = static_cast<uint8_t>(seq);
  p[1] = static_cast<uint8_t>(seq >> 8);
  p.insert(p.end(), frames.begin(), frames.end());
  link.server.session.receive(p, link.now);
}

TEST(Session, HelloOpensBothSidesAndTeachesTheClientTheChannels) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  EXPECT_EQ(link.client.session.state(), SessionState::kHello);
  EXPECT_EQ(link.client.session.send(0, false, pattern(10, 1)), SendResult::kNotOpen);
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 100));
  EXPECT_EQ(link.server.opened, 1);
  EXPECT_EQ(link.client.session.channels(), sc.channels);
  EXPECT_EQ(link.client.session.send(4, false, pattern(10, 1)), SendResult::kBadChannel);
  EXPECT_EQ(link.client.session.send(0, false, pattern(10, 1)), SendResult::kOk);
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == 1; }, 100));
}

TEST(Session, ReliableMessagesOfEverySizeArriveOnceWholeAndInOrderAt30PercentLoss) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.loss_percent = 30;
  link.jitter_ms = 20;  // reorders
  link.server.echo = true;
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 5000));
  const std::vector<size_t> sizes = {0, 1, 63, 64, 1023, 1024, 1025, 2048, 5000, 40000, 65536};
  std::vector<std::vector<uint8_t>> sent;
  for (int round = 0; round < 3; ++round) {
    for (size_t n : sizes) sent.push_back(pattern(n, static_cast<uint32_t>(sent.size() + 1)));
  }
  auto channel_of = [](size_t i) -> uint8_t { return (i + 1) % 2 ? 0 : 3; };
  // Sent as the queue allows (a full queue says so and is tried again).
  size_t next = 0;
  int full = 0;
  ASSERT_TRUE(link.run_until(
      [&] {
        while (next < sent.size()) {
          const SendResult r = link.client.session.send(channel_of(next), false, sent[next]);
          if (r == SendResult::kQueueFull) {
            ++full;
            break;
          }
          EXPECT_EQ(r, SendResult::kOk);
          ++next;
        }
        return link.client.got.size() == sent.size();
      },
      300000))
      << link.client.got.size() << " of " << sent.size();
  EXPECT_GT(full, 0);
  link.run_ms(2000);  // nothing more comes: no duplicates
  ASSERT_EQ(link.server.got.size(), sent.size());
  ASSERT_EQ(link.client.got.size(), sent.size());
  // Per channel, in the order sent.
  for (uint8_t ch : {0, 3}) {
    std::vector<std::vector<uint8_t>> want, at_server, at_client;
    for (size_t i = 0; i < sent.size(); ++i) {
      if (channel_of(i) == ch) want.push_back(sent[i]);
    }
    for (auto& g : link.server.got) {
      if (g.channel == ch) at_server.push_back(g.bytes);
    }
    for (auto& g : link.client.got) {
      if (g.channel == ch) at_client.push_back(g.bytes);
    }
    EXPECT_EQ(at_server, want);
    EXPECT_EQ(at_client, want);
  }
  EXPECT_GT(link.client.counters.retransmits, 0u);
  EXPECT_GT(link.client.counters.packets_lost, 0u);
  EXPECT_EQ(link.server_pool.available(), link.server_pool.capacity());
  EXPECT_EQ(link.client_pool.available(), link.client_pool.capacity());
}

TEST(Session, UnreliableMessagesAreNeverRetransmitted) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.loss_percent = 30;
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 5000));
  for (uint32_t i = 0; i < 200; ++i) {
    ASSERT_EQ(link.client.session.send(1, false, pattern(i % 3 == 0 ? 3000 : 100, i)),
              SendResult::kOk);
    link.step();
  }
  link.run_ms(3000);
  // Every fragment went out: 67 messages of 3000 bytes in 3 fragments, 133 of 100 bytes in one.
  ASSERT_EQ(link.client_log.sends.size(), 67 * fragments_for(3000) + 133);
  for (const auto& [key, n] : link.client_log.sends) {
    EXPECT_EQ(n, 1) << "channel " << int(std::get<0>(key)) << " message " << std::get<1>(key);
  }
  // Some got through whole, some did not; none arrived twice or torn.
  EXPECT_GT(link.server.got.size(), 50u);
  EXPECT_LT(link.server.got.size(), 200u);
  for (const Got& g : link.server.got) EXPECT_TRUE(g.bytes.size() == 100 || g.bytes.size() == 3000);
  // Partial messages whose other fragments were lost are held, within bounds.
  EXPECT_GE(link.server_pool.available(), link.server_pool.capacity() - sc.ahead_buffer);
}

TEST(Session, SequencedUnreliableDropsWhatIsOlderThanDelivered) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.jitter_ms = 30;  // heavy reordering
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  for (uint32_t i = 0; i < 100; ++i) {
    std::vector<uint8_t> b = {static_cast<uint8_t>(i)};
    ASSERT_EQ(link.client.session.send(2, false, b), SendResult::kOk);
    link.step();
  }
  link.run_ms(500);
  ASSERT_FALSE(link.server.got.empty());
  for (size_t i = 1; i < link.server.got.size(); ++i) {
    EXPECT_GT(link.server.got[i].bytes[0], link.server.got[i - 1].bytes[0]);
  }
  EXPECT_GT(link.server.counters.drops[drop_index(MsgDrop::kStale)], 0u);
}

TEST(Session, SmallMessagesShareAPacket) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  const int before = link.client_log.packets + static_cast<int>(link.client.wire.size());
  for (uint32_t i = 0; i < 100; ++i) {
    ASSERT_EQ(link.client.session.send(0, false, pattern(64, i)), SendResult::kOk);
  }
  link.client.session.flush(link.now);
  // 100 x (64 + 6) bytes, 16 to a packet of 1200: 7 packets, not 100.
  EXPECT_EQ(link.client_log.packets + static_cast<int>(link.client.wire.size()) - before, 7);
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == 100; }, 1000));
}

TEST(Session, RttAndPing) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.latency_ms = 20;
  link.open();
  link.run_ms(3000);
  // 20 ms each way, plus up to a tick for the first ack.
  EXPECT_GE(link.client.session.srtt_ns(), 38'000'000u);
  EXPECT_LE(link.client.session.srtt_ns(), 55'000'000u);
  EXPECT_GE(link.client.session.last_ping_rtt_ns(), 38'000'000u);
  EXPECT_LE(link.client.session.last_ping_rtt_ns(), 55'000'000u);
  EXPECT_EQ(link.client.closed, 0);  // pings keep an idle connection alive
}

TEST(Session, CloseCarriesCodeAndReasonToBothSides) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.loss_percent = 30;
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 5000));
  ASSERT_EQ(link.client.session.send(0, true, pattern(0, 0)), SendResult::kOk);
  const std::string last = "the last word";
  ASSERT_EQ(link.client.session.send(0, true,
                                     {reinterpret_cast<const uint8_t*>(last.data()), last.size()}),
            SendResult::kOk);
  link.client.session.close(kCloseNormal, "bye \xC3\xA9");
  EXPECT_EQ(link.client.session.send(0, false, pattern(1, 1)), SendResult::kNotOpen);
  ASSERT_TRUE(
      link.run_until([&] { return link.server.closed == 1 && link.client.closed == 1; }, 5000));
  // What was queued before close() arrived first.
  ASSERT_EQ(link.server.got.size(), 2u);
  EXPECT_EQ(std::string(link.server.got[1].bytes.begin(), link.server.got[1].bytes.end()), last);
  EXPECT_EQ(link.server.close_code, kCloseNormal);
  EXPECT_EQ(link.server.close_reason, "bye \xC3\xA9");
  EXPECT_EQ(link.client.close_code, kCloseNormal);
  EXPECT_TRUE(link.server.session.finished());
  EXPECT_TRUE(link.client.session.finished());
}

TEST(Session, AnotherVersionIsRefusedWithACodeThatSaysSo) {
  const SessionConfig sc = server_config();
  ChunkPool pool(64);
  Side server(Role::kServer, &sc, &pool);
  server.session.open(0);
  uint8_t buf[64];
  PacketWriter w(buf);
  w.header({});
  Hello h;
  h.version = 2;
  ASSERT_TRUE(w.hello(h));
  server.session.receive(w.bytes(), 1);
  server.session.flush(2);
  ASSERT_FALSE(server.wire.empty());
  struct Closes : WireLog {
    uint16_t code = 0;
    std::string reason;
    void on_close(const CloseFrame& c) override {
      code = c.code;
      reason = std::string(c.reason);
    }
  } seen;
  read_frames(server.wire.back(), seen);
  EXPECT_EQ(seen.code, kCloseBadVersion);
  EXPECT_EQ(seen.reason, "message protocol version 2 is not supported; this server speaks 1");
  EXPECT_EQ(server.counters.drops[drop_index(MsgDrop::kBadVersion)], 1u);
  EXPECT_EQ(server.opened, 0);
}

TEST(Session, MalformedFramesAreCountedAndAPersistentSenderIsClosed) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  forge(link, {0x06, 9, 0, 0, 0, 0}, 1000);              // channel 9: none
  forge(link, {0x07, 0, 0, 0, 2, 0, 0xC3, 0x28}, 1001);  // text, bad UTF-8
  forge(link, {0x08, 0, 0, 0, 5, 3, 1, 0, 'x'}, 1002);   // index past count
  forge(link, {0x33}, 1003);                             // unknown frame
  forge(link, {0x06, 0, 0, 0x20, 0, 0}, 1004);           // sequence far ahead
  auto& d = link.server.counters.drops;
  EXPECT_EQ(d[drop_index(MsgDrop::kBadChannel)], 1u);
  EXPECT_EQ(d[drop_index(MsgDrop::kBadUtf8)], 1u);
  EXPECT_EQ(d[drop_index(MsgDrop::kBadFragment)], 1u);
  EXPECT_EQ(d[drop_index(MsgDrop::kUnknownFrame)], 1u);
  EXPECT_EQ(d[drop_index(MsgDrop::kOutOfWindow)], 1u);
  EXPECT_EQ(link.server.got.size(), 0u);
  EXPECT_EQ(link.server.session.state(), SessionState::kOpen);
  for (uint16_t i = 0; i < 10; ++i) forge(link, {0x33}, static_cast<uint16_t>(1010 + i));
  ASSERT_TRUE(link.run_until([&] { return link.client.closed == 1; }, 1000));
  EXPECT_EQ(link.client.close_code, kCloseProtocolError);
  EXPECT_EQ(link.client.close_reason, "protocol error: msg_unknown_frame");
  EXPECT_EQ(link.server.counters.closed_malformed, 1u);
}

// A malformed frame ends the reading of its packet, and the packet is not
// acknowledged: a message behind it in the packet comes again and is
// delivered. (It was acked unread, so the channel waited for it for good.)
TEST(Session, AMessageBehindAMalformedFrameIsNotAckedUnread) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.run_ms(20);
  link.server.wire.clear();
  const std::vector<uint8_t> bad = {0x08, 0, 0, 0, 5, 3, 1, 0, 'x'};  // index past count
  ASSERT_EQ(link.client.session.send(0, false, pattern(10, 7)), SendResult::kOk);
  link.client.session.flush(link.now);
  ASSERT_EQ(link.client.wire.size(), 1u);
  std::vector<uint8_t> p = link.client.wire[0];
  link.client.wire.clear();
  Header h;
  ASSERT_EQ(read_header(p, h), kPass);
  p.insert(p.begin() + kHeaderBytes, bad.begin(), bad.end());
  link.server.session.receive(p, link.now);
  EXPECT_EQ(link.server.counters.drops[drop_index(MsgDrop::kBadFragment)], 1u);
  EXPECT_EQ(link.server.got.size(), 0u);
  link.server.session.flush(link.now);
  for (const auto& out : link.server.wire) {
    Header a;
    ASSERT_EQ(read_header(out, a), kPass);
    EXPECT_FALSE(a.ack_valid() && a.ack == h.sequence) << "the packet was acked unread";
  }
  link.server.wire.clear();
  // The client's resend (without the malformed frame) is delivered.
  ASSERT_TRUE(link.run_until([&] { return link.server.got.size() == 1; }, 2000));
  EXPECT_EQ(link.server.got[0].bytes, pattern(10, 7));
}

// A whole MESSAGE whose sequence has fragments held disagrees with them:
// malformed, counted, and the message is skipped with its fragments freed
// (it was delivered, and the fragments freed without a word).
TEST(Session, AWholeMessageThatHasFragmentsHeldIsMalformed) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  const uint32_t free_before = link.server_pool.available();
  // Message 0, index 0 of 3: a whole message's index too (it was taken for
  // a duplicate of the fragment, and acked).
  std::vector<uint8_t> frag = {0x08, 0, 0, 0, 0, 3, 0x00, 0x04};
  frag.resize(frag.size() + 1024, 0xab);
  forge(link, frag, 1000);
  EXPECT_EQ(link.server_pool.available(), free_before - 1);
  forge(link, {0x06, 0, 0, 0, 2, 0, 'h', 'i'}, 1001);  // MESSAGE, channel 0, sequence 0
  EXPECT_EQ(link.server.counters.drops[drop_index(MsgDrop::kBadFragment)], 1u);
  EXPECT_EQ(link.server.got.size(), 0u);
  EXPECT_EQ(link.server_pool.available(), free_before);
  // The channel moved past it: message 1 is delivered.
  forge(link, {0x06, 0, 1, 0, 2, 0, 'o', 'k'}, 1002);
  ASSERT_EQ(link.server.got.size(), 1u);
  EXPECT_EQ(link.server.got[0].bytes, (std::vector<uint8_t>{'o', 'k'}));
}

TEST(Session, AHeldCopyOfARefusedMessageIsTheOneOfferedAgain) {
  // Message 1 arrives ahead of 0 and is held; 0 comes and is delivered, the
  // application refuses 1 when it is drained; then 1 is resent. The held
  // copy is delivered, once, and nothing stays held (before, the resend was
  // delivered and the held copy stayed, to come out as message 1 of the next
  // 65,536).
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  const size_t free_chunks = link.server_pool.available();
  link.server.refuse = [](std::span<const uint8_t> b) { return b.size() == 1 && b[0] == 'B'; };
  forge(link, {0x06, 0, 1, 0, 1, 0, 'B'}, 1000);  // message 1, ahead: held
  forge(link, {0x06, 0, 0, 0, 1, 0, 'A'}, 1001);  // message 0: delivered; 1 refused
  ASSERT_EQ(link.server.got.size(), 1u);
  link.server.refuse = nullptr;
  forge(link, {0x06, 0, 1, 0, 1, 0, 'B'}, 1002);  // 1 again
  ASSERT_EQ(link.server.got.size(), 2u);
  EXPECT_EQ(link.server.got[1].bytes, std::vector<uint8_t>{'B'});
  EXPECT_EQ(link.server_pool.available(), free_chunks);  // nothing held
  forge(link, {0x06, 0, 1, 0, 1, 0, 'B'}, 1003);         // and again: a duplicate
  EXPECT_EQ(link.server.got.size(), 2u);
  EXPECT_EQ(link.server.counters.drops[drop_index(MsgDrop::kDuplicate)], 2u);
}

TEST(Session, PartialUnreliableMessagesExpireAndGiveWayToReliableData) {
  // Unreliable messages that each lost a fragment, more of them than the
  // ahead buffer holds: the old ones go (msg_stale), the advertised window
  // stays whole, and a reliable message ahead of order is still held.
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  uint16_t packet = 1000;
  for (uint16_t seq = 0; seq < 2 * sc.ahead_buffer; ++seq) {
    std::vector<uint8_t> frag = {
        0x08, 1, static_cast<uint8_t>(seq), static_cast<uint8_t>(seq >> 8), 0, 2, 0x00, 0x04};
    frag.resize(frag.size() + kFragmentBytes, 'u');
    forge(link, frag, packet++);
  }
  auto& d = link.server.counters.drops;
  EXPECT_GE(d[drop_index(MsgDrop::kStale)], sc.ahead_buffer);
  forge(link, {0x06, 0, 1, 0, 1, 0, 'B'}, packet++);  // reliable message 1, ahead
  forge(link, {0x06, 0, 0, 0, 1, 0, 'A'}, packet++);  // 0: both delivered
  ASSERT_EQ(link.server.got.size(), 2u);
  EXPECT_EQ(link.server.got[1].bytes, std::vector<uint8_t>{'B'});
  link.server.session.flush(link.now);
  link.run_ms(30);
  EXPECT_EQ(link.client.session.peer_window(), sc.ahead_buffer);
}

TEST(Session, AFragmentedMessageOverMaxMessageIsRefused) {
  // Two fragments of 1024 bytes: each fits the count's least size, but the
  // whole is over the server's max_message of 1500.
  SessionConfig sc = server_config();
  sc.max_message = 1500;
  const SessionConfig cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  for (uint8_t i = 0; i < 2; ++i) {
    std::vector<uint8_t> frag = {0x08, 0, 0, 0, i, 2, 0x00, 0x04};
    frag.resize(frag.size() + kFragmentBytes, 'x');
    forge(link, frag, static_cast<uint16_t>(1000 + i));
  }
  EXPECT_EQ(link.server.got.size(), 0u);
  EXPECT_EQ(link.server.counters.drops[drop_index(MsgDrop::kTooBig)], 1u);
  forge(link, {0x06, 0, 1, 0, 1, 0, 'n'}, 1002);  // the sequence moved on
  EXPECT_EQ(link.server.got.size(), 1u);
}

TEST(Session, TimersHoldWhenTheClockSkewsJumpsAndRunsBackwards) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.loss_percent = 20;
  link.skew_ns = 300'000;  // runs 30 % fast
  link.jump_every = 700;
  link.jump_ns = 400'000'000;
  link.back_every = 300;
  link.back_ns = 50'000'000;
  link.server.echo = true;
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 5000));
  size_t sent = 0;
  for (int i = 0; i < 3000; ++i) {
    if (i % 10 == 0 && link.client.session.send(0, false, pattern(700, i)) == SendResult::kOk) {
      ++sent;
    }
    link.step();
  }
  ASSERT_TRUE(link.run_until([&] { return link.client.got.size() == sent; }, 60000));
  for (size_t i = 0; i < sent; ++i) {
    ASSERT_EQ(link.client.got[i].bytes, pattern(700, static_cast<int>(i * 10))) << i;
  }
  EXPECT_EQ(link.client.closed, 0);
  EXPECT_EQ(link.server.closed, 0);
}

// A closing side that has sent its CLOSE reports its own code when the
// transport goes before the answer comes (the answering side may drop it
// as soon as it has answered), as it would once its CLOSE frames were out.
TEST(Session, ATransportLostAfterOurCloseWentOutKeepsOurCode) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.run_ms(20);
  link.client.session.close(kCloseNormal, "bye");
  link.client.session.flush(link.now);  // one CLOSE out
  ASSERT_FALSE(link.client.wire.empty());
  link.client.session.lost();
  EXPECT_EQ(link.client.closed, 1);
  EXPECT_EQ(link.client.close_code, kCloseNormal);
  // Before its CLOSE went out, the same loss is 1006.
  Link other(&sc, &cc);
  other.open();
  ASSERT_TRUE(other.run_until([&] { return other.client.opened == 1; }, 1000));
  other.client_reads_stop = true;
  other.client.session.send(0, false, pattern(3000, 1));
  other.client.session.close(kCloseNormal, "bye");  // lingers: its message is unacked
  other.client.session.flush(other.now);
  other.client.session.lost();
  EXPECT_EQ(other.client.close_code, kCloseLost);
}

TEST(Session, CloseRepeatsGoARetransmissionTimeoutApart) {
  // Three CLOSEs sent back to back (one per flush, a millisecond apart here)
  // all fall into one 10 ms burst of loss; an rto apart, the second gets
  // through.
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.run_ms(20);
  const uint32_t before = link.server_log.packets;
  link.server.session.close(kCloseNormal, "bye");
  link.client_reads_stop = true;
  link.run_ms(10);
  link.client_reads_stop = false;
  EXPECT_EQ(link.server_log.packets - before, 1u);  // one CLOSE so far
  ASSERT_TRUE(link.run_until([&] { return link.client.closed == 1; }, 3000));
  EXPECT_EQ(link.client.close_code, kCloseNormal);
  EXPECT_EQ(link.client.close_reason, "bye");
  ASSERT_TRUE(link.run_until([&] { return link.server.closed == 1; }, 1000));
  EXPECT_EQ(link.server.close_code, kCloseNormal);
}

TEST(Session, LostTransportClosesWith1006AndFreesEverything) {
  const SessionConfig sc = server_config(), cc;
  Link link(&sc, &cc);
  link.open();
  ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  link.client_reads_stop = true;
  for (int i = 0; i < 10; ++i) link.server.session.send(0, false, pattern(3000, i));
  link.run_ms(50);
  EXPECT_LT(link.server_pool.available(), link.server_pool.capacity());
  link.server.session.lost();
  EXPECT_EQ(link.server.closed, 1);
  EXPECT_EQ(link.server.close_code, kCloseLost);
  EXPECT_EQ(link.server_pool.available(), link.server_pool.capacity());
}

}  // namespace
}  // namespace bypass::msg::test
