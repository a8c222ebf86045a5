// Message sessions at the edges a review found: a malformed reliable message
// is skipped (the channel does not wait for it for good), incomplete
// unreliable messages are let go and counted, and a packet without data does
// not take the sent-ring entry of unacknowledged data.
#include <gtest/gtest.h>

#include <bypass/msg/echo_app.hpp>
#include <bypass/msg/message_server.hpp>
#include <bypass/msg/msg_wire.hpp>
#include <bypass/msg/packet_batch.hpp>

#include "session_link.hpp"

namespace bypass::msg::test {
namespace {

// One packet of message frames to the server, packet sequence `seq`.
void to_server(Link& link, const std::vector<uint8_t>& frames, uint16_t seq) {
  std::vector<uint8_t> p(kHeaderBytes, 0);
  p[0] = static_cast<uint8_t>(seq);
  p[1] = static_cast<uint8_t>(seq >> 8);
  for (uint8_t b : frames) p.push_back(b);
  link.server.session.receive(p, link.now);
}

// A MESSAGE frame (binary, or text), and a FRAGMENT frame.
std::vector<uint8_t> message(uint8_t ch, uint16_t seq, const std::vector<uint8_t>& data,
                             bool text = false) {
  std::vector<uint8_t> f;
  for (uint8_t b : {static_cast<uint8_t>(text ? 0x07 : 0x06), ch, static_cast<uint8_t>(seq),
                    static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(data.size()),
                    static_cast<uint8_t>(data.size() >> 8)})
    f.push_back(b);
  for (uint8_t b : data) f.push_back(b);
  return f;
}
std::vector<uint8_t> fragment(uint8_t ch, uint16_t seq, uint8_t index, uint8_t count,
                              const std::vector<uint8_t>& data) {
  std::vector<uint8_t> f;
  for (uint8_t b :
       {uint8_t{0x08}, ch, static_cast<uint8_t>(seq), static_cast<uint8_t>(seq >> 8), index, count,
        static_cast<uint8_t>(data.size()), static_cast<uint8_t>(data.size() >> 8)})
    f.push_back(b);
  for (uint8_t b : data) f.push_back(b);
  return f;
}

class Skip : public ::testing::Test {
 protected:
  void SetUp() override {
    link.open();
    ASSERT_TRUE(link.run_until([&] { return link.client.opened == 1; }, 1000));
  }
  uint64_t dropped(DropReason d) const { return link.server.counters.drops[drop_index(d)]; }
  const SessionConfig sc = server_config(), cc;
  Link link{&sc, &cc};
};

// Section 5: a malformed message is skipped. A reliable one that was acked
// and dropped left its channel waiting for it for good.
TEST_F(Skip, AMalformedReliableMessageIsSkipped) {
  to_server(link, message(0, 0, {0xFF}, /*text=*/true), 1000);
  to_server(link, message(0, 1, {'o', 'k'}), 1001);
  EXPECT_EQ(dropped(MsgDrop::kBadUtf8), 1u);
  ASSERT_EQ(link.server.got.size(), 1u);
  EXPECT_EQ(link.server.got[0].bytes, (std::vector<uint8_t>{'o', 'k'}));
  // Fragments of one message that disagree on their count: skipped too.
  to_server(link, fragment(0, 2, 0, 2, std::vector<uint8_t>(1024, 1)), 1002);
  to_server(link, fragment(0, 2, 2, 3, {2}), 1003);  // the last of 3, not of 2
  EXPECT_EQ(dropped(MsgDrop::kBadFragment), 1u);
  to_server(link, message(0, 3, {'n', 'e', 'x', 't'}), 1004);
  ASSERT_EQ(link.server.got.size(), 2u);
  EXPECT_EQ(link.server.session.holding(), 0u) << "the disagreeing message's fragments are freed";
}

// A malformed message ahead of order is not acked: its resend is skipped in
// its turn, once the one before it arrives.
TEST_F(Skip, AMalformedReliableMessageAheadIsSkippedInItsTurn) {
  to_server(link, message(0, 1, {0xFF}, true), 1000);
  to_server(link, message(0, 0, {'a'}), 1001);
  to_server(link, message(0, 1, {0xFF}, true), 1002);  // the resend
  to_server(link, message(0, 2, {'b'}), 1003);
  ASSERT_EQ(link.server.got.size(), 2u);
  EXPECT_EQ(link.server.got[1].bytes, (std::vector<uint8_t>{'b'}));
}

// Fragments that disagree ahead of order: the packet is not acked and the
// fragments held stay, so that the resend, in its turn, disagrees again and
// the message is skipped (freed ahead of order, the resend was held alone
// and never completed).
TEST_F(Skip, DisagreeingFragmentsAheadAreSkippedInTheirTurn) {
  to_server(link, fragment(0, 1, 0, 2, std::vector<uint8_t>(1024, 1)), 1000);
  to_server(link, fragment(0, 1, 2, 3, {2}), 1001);
  to_server(link, message(0, 0, {'a'}), 1002);
  to_server(link, fragment(0, 1, 2, 3, {2}), 1003);  // the resend
  to_server(link, message(0, 2, {'b'}), 1004);
  ASSERT_EQ(link.server.got.size(), 2u);
  EXPECT_EQ(link.server.got[1].bytes, (std::vector<uint8_t>{'b'}));
  EXPECT_EQ(link.server.session.holding(), 0u);
  EXPECT_EQ(dropped(MsgDrop::kBadFragment), 2u);
}

// On a plain unreliable channel (1) an incomplete message was freed only by
// another fragment: single messages kept it for good, and 65,536 messages
// later a new message of its sequence was completed with its old fragment.
TEST_F(Skip, AnIncompleteUnreliableMessageIsLetGoBySingleMessagesToo) {
  to_server(link, fragment(1, 0, 0, 2, std::vector<uint8_t>(1024, 0xAA)), 1000);
  EXPECT_EQ(link.server.session.holding(), 1u);
  for (uint16_t s = 1; s <= 40; ++s) to_server(link, message(1, s, {}), 1000 + s);
  EXPECT_EQ(link.server.session.holding(), 0u);
  EXPECT_EQ(dropped(MsgDrop::kStale), 1u);
  // The sequence wraps: a new message 0, sent whole, is delivered alone.
  uint16_t pkt = 2000;
  for (uint32_t s = 41; s < 65536; s += 100) {
    std::vector<uint8_t> frames;
    for (uint32_t k = s; k < std::min<uint32_t>(s + 100, 65536); ++k) {
      for (uint8_t b : message(1, static_cast<uint16_t>(k), {})) frames.push_back(b);
    }
    to_server(link, frames, pkt++);
  }
  to_server(link, fragment(1, 0, 1, 2, {0xBB}), pkt++);
  for (const Got& g : link.server.got) EXPECT_NE(g.bytes.size(), 1025u) << "spliced across a wrap";
}

// Sections 5 and 8: on a sequenced channel, partly rebuilt messages older
// than the newest delivered one are dropped as msg_stale (they were freed
// without a count).
TEST_F(Skip, PartlyRebuiltStaleMessagesAreCounted) {
  to_server(link, fragment(2, 0, 0, 2, std::vector<uint8_t>(1024, 1)), 1000);
  to_server(link, message(2, 1, {'x'}), 1001);
  EXPECT_EQ(link.server.session.holding(), 0u);
  EXPECT_EQ(dropped(MsgDrop::kStale), 1u);
}

// Data waits while its packet's entry in the sent ring (256) holds
// unacknowledged data, but packets without data went out anyway and took
// the entry: the data was counted lost (its window halved) and its own ack
// found no entry, so it was resent.
TEST_F(Skip, PacketsWithoutDataLeaveUnackedDataInTheSentRing) {
  link.run_ms(50);
  const uint64_t lost = link.server.counters.packets_lost.get();
  ASSERT_EQ(link.server.session.send(0, false, pattern(100, 0)), SendResult::kOk);
  link.server.session.flush(link.now);
  ASSERT_EQ(link.server.wire.size(), 1u);
  const std::vector<uint8_t> data_packet = link.server.wire[0];
  link.server.wire.clear();
  // 256 packets from the client, each answered by an ack-only packet.
  for (uint16_t i = 0; i < 256; ++i) {
    to_server(link, message(1, static_cast<uint16_t>(100 + i), {}),
              static_cast<uint16_t>(5000 + i));
    link.server.session.flush(link.now);
  }
  link.server.wire.clear();
  EXPECT_EQ(link.server.counters.packets_lost.get(), lost);
  // The data arrives and its ack comes back: nothing is resent.
  link.client.session.receive(data_packet, link.now);
  link.client.session.flush(link.now);
  for (const auto& p : link.client.wire) link.server.session.receive(p, link.now);
  link.client.wire.clear();
  EXPECT_EQ(link.server.session.holding(), 0u) << "the message was acked";
  link.run_ms(2000);
  EXPECT_EQ(link.server.counters.retransmits.get(), 0u);
  EXPECT_EQ(link.server.counters.fast_retransmits.get(), 0u);
}

// A connection that goes (timed out, disconnected) while packets it finished
// wait in the owner's batch: they are taken back. The server sends by slot,
// and within one burst the slot may be the next client's before the flush.
TEST(PacketBatchForget, PacketsOfAConnectionThatWentAreNotSent) {
  struct Out final : PacketOut {
    void transmit(std::span<const OutPacket> packets) override {
      for (const OutPacket& p : packets) got.emplace_back(p.conn, p.data()[0]);
    }
    std::vector<std::pair<uint32_t, uint8_t>> got;
  } out;
  PacketBatch batch(&out, 8);
  auto put = [&](uint32_t conn, uint8_t tag) {
    batch.room()[0] = tag;
    batch.commit(conn, 1);
  };
  put(5, 1);
  put(6, 2);
  put(5, 3);
  put(7, 4);
  batch.forget(5);
  put(5, 5);  // the slot's next client
  batch.drain();
  const std::vector<std::pair<uint32_t, uint8_t>> want = {{6, 2}, {7, 4}, {5, 5}};
  EXPECT_EQ(out.got, want);
}

// The same through a message server: a client's 32 pings in one burst make
// its session send mid-burst (its acks are owed), into the server's batch;
// the client goes and another takes its slot before the flush. Nothing the
// first one's session made reaches the second (its pongs were sent by slot).
TEST(PacketBatchForget, AMessageServerSendsNothingOfAConnectionThatWent) {
  struct Transport final : ConnectionTransport {
    size_t send_payloads(std::span<const OutPacket> packets) override {
      struct Pongs final : WireLog {
        int pongs = 0;
        void on_pong(uint32_t) override { ++pongs; }
      } seen;
      for (const OutPacket& p : packets) read_frames(p.data(), seen);
      pongs += seen.pongs;
      sent += packets.size();
      return 0;
    }
    void disconnect(uint32_t) override {}
    int pongs = 0;
    size_t sent = 0;
  } transport;
  EchoApp app;
  MessageServerConfig mc;
  mc.session = server_config();
  MessageServer server(mc, &app, &transport, 8);
  constexpr uint64_t kNow = 1'000'000'000;
  server.on_connect(5, 77, {}, kNow);
  for (uint16_t i = 0; i < 40; ++i) {
    uint8_t buf[64];
    PacketWriter w(buf);
    Header h;
    h.sequence = i;
    w.header(h);
    ASSERT_TRUE(w.ping(100 + i));
    server.on_payload(5, w.bytes(), kNow);
  }
  server.on_disconnect(5);
  server.on_connect(5, 78, {}, kNow);
  server.flush(kNow);
  EXPECT_EQ(transport.pongs, 0) << "the old client's pongs went to the new one";
}

}  // namespace
}  // namespace bypass::msg::test
