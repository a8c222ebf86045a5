// The message protocol's bytes: a known-answer vector for the header and each
// frame kind (the same bytes docs/protocol.md lists), and every rule the
// reader enforces, each with the reason it names.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <bypass/msg/msg_wire.hpp>

namespace bypass::msg {
namespace {

struct Seen : FrameVisitor {
  std::vector<std::string> log;
  std::vector<MessageFrame> messages;
  Hello hello;
  void on_hello(const Hello& h) override {
    hello = h;
    log.push_back("hello");
  }
  void on_ping(uint32_t id) override { log.push_back("ping " + std::to_string(id)); }
  void on_pong(uint32_t id) override { log.push_back("pong " + std::to_string(id)); }
  void on_close(const CloseFrame& c) override {
    log.push_back("close " + std::to_string(c.code) + " " + std::string(c.reason));
  }
  void on_message(const MessageFrame& m) override {
    messages.push_back(m);
    log.push_back("msg");
  }
};

std::vector<uint8_t> bytes(std::initializer_list<int> l) {
  return std::vector<uint8_t>(l.begin(), l.end());
}

// Header: seq 0x0102, ack valid, ack 0x0304, bits 0x80000001, window 64.
const std::vector<uint8_t> kHeader =
    bytes({0x02, 0x01, 0x01, 0x04, 0x03, 0x01, 0x00, 0x00, 0x80, 0x40, 0x00});

std::vector<uint8_t> with_header(std::vector<uint8_t> frames) {
  std::vector<uint8_t> p = kHeader;
  p.insert(p.end(), frames.begin(), frames.end());
  return p;
}

std::vector<uint8_t> write(const std::function<void(PacketWriter&)>& f) {
  uint8_t buf[kMaxPacketBytes];
  PacketWriter w(buf);
  Header h{0x0102, kHeaderAckValid, 0x0304, 0x80000001u, 64};
  w.header(h);
  f(w);
  return {w.bytes().begin(), w.bytes().end()};
}

TEST(MsgWire, HeaderVector) {
  EXPECT_EQ(write([](PacketWriter&) {}), kHeader);
  Header h;
  ASSERT_EQ(read_header(kHeader, h), kPass);
  EXPECT_EQ(h.sequence, 0x0102);
  EXPECT_TRUE(h.ack_valid());
  EXPECT_EQ(h.ack, 0x0304);
  EXPECT_EQ(h.ack_bits, 0x80000001u);
  EXPECT_EQ(h.window, 64);
}

TEST(MsgWire, HelloVector) {
  Hello h;
  h.channel_count = 3;
  h.channels[0] = ChannelKind::kReliable;
  h.channels[1] = ChannelKind::kUnreliable;
  h.channels[2] = ChannelKind::kUnreliableSequenced;
  const auto expect =
      with_header(bytes({0x01, 0x01, 0x03, 0x00, 0x01, 0x02, 0x00, 0x00, 0x01, 0x00}));
  EXPECT_EQ(write([&](PacketWriter& w) { ASSERT_TRUE(w.hello(h)); }), expect);
  Seen s;
  ASSERT_EQ(read_frames(expect, s), kPass);
  ASSERT_EQ(s.log, std::vector<std::string>{"hello"});
  EXPECT_EQ(s.hello.version, 1);
  EXPECT_EQ(s.hello.channel_count, 3);
  EXPECT_EQ(s.hello.channels[2], ChannelKind::kUnreliableSequenced);
  EXPECT_EQ(s.hello.max_message, 65536u);
}

TEST(MsgWire, PingPongCloseVectors) {
  const auto expect = with_header(bytes({0x02, 0x78, 0x56, 0x34, 0x12,  // ping 0x12345678
                                         0x03, 0x01, 0x00, 0x00, 0x00,  // pong 1
                                         0x04, 0xE8, 0x03, 0x03, 'b', 'y', 'e'}));
  EXPECT_EQ(write([](PacketWriter& w) {
              ASSERT_TRUE(w.ping(0x12345678));
              ASSERT_TRUE(w.pong(1));
              ASSERT_TRUE(w.close(1000, "bye"));
            }),
            expect);
  Seen s;
  ASSERT_EQ(read_frames(expect, s), kPass);
  EXPECT_EQ(s.log, (std::vector<std::string>{"ping 305419896", "pong 1", "close 1000 bye"}));
}

TEST(MsgWire, MessageAndFragmentVectors) {
  const std::vector<uint8_t> hi = {'h', 'i'};
  std::vector<uint8_t> frag(kFragmentBytes, 0xAB);
  auto expect = with_header(bytes({0x07, 0x02, 0x05, 0x00, 0x02, 0x00, 'h', 'i',  // text, ch 2
                                   0x08, 0x00, 0x09, 0x00, 0x01, 0x03, 0x00, 0x04}));
  expect.insert(expect.end(), frag.begin(), frag.end());
  EXPECT_EQ(write([&](PacketWriter& w) {
              ASSERT_TRUE(w.message({2, true, false, 5, 0, 1, hi}));
              ASSERT_TRUE(w.message({0, false, true, 9, 1, 3, frag}));
            }),
            expect);
  Seen s;
  ASSERT_EQ(read_frames(expect, s), kPass);
  ASSERT_EQ(s.messages.size(), 2u);
  EXPECT_TRUE(s.messages[0].text);
  EXPECT_FALSE(s.messages[0].fragment);
  EXPECT_EQ(s.messages[0].channel, 2);
  EXPECT_EQ(s.messages[0].sequence, 5);
  EXPECT_EQ(std::vector<uint8_t>(s.messages[0].data.begin(), s.messages[0].data.end()), hi);
  EXPECT_TRUE(s.messages[1].fragment);
  EXPECT_EQ(s.messages[1].index, 1);
  EXPECT_EQ(s.messages[1].count, 3);
  EXPECT_EQ(s.messages[1].data.size(), kFragmentBytes);
}

TEST(MsgWire, WriterRefusesWhatDoesNotFit) {
  uint8_t buf[kHeaderBytes + 8];
  PacketWriter w(buf);
  w.header({});
  std::vector<uint8_t> big(5, 1);
  EXPECT_FALSE(w.message({0, false, false, 0, 0, 1, big}));  // 6 + 5 > 8
  EXPECT_TRUE(w.ping(1));
  EXPECT_FALSE(w.ping(2));
  EXPECT_EQ(w.size(), kHeaderBytes + 5);
}

DropReason frames_of(std::vector<uint8_t> f) {
  Seen s;
  return read_frames(with_header(std::move(f)), s);
}

TEST(MsgWire, ReaderNamesEachRule) {
  Header h;
  EXPECT_EQ(read_header(bytes({1, 2, 3}), h), MsgDrop::kBadHeader);
  auto bad_flags = kHeader;
  bad_flags[2] = 0x80;
  EXPECT_EQ(read_header(bad_flags, h), MsgDrop::kBadHeader);
  EXPECT_EQ(frames_of({0x05}), MsgDrop::kUnknownFrame);
  EXPECT_EQ(frames_of({0xFF}), MsgDrop::kUnknownFrame);
  EXPECT_EQ(frames_of({0x02, 1, 2}), MsgDrop::kFrameTruncated);
  EXPECT_EQ(frames_of({0x06, 0, 0, 0, 5, 0, 'a'}), MsgDrop::kFrameTruncated);
  EXPECT_EQ(frames_of({0x01, 1, 33}), MsgDrop::kBadHello);                      // 33 channels
  EXPECT_EQ(frames_of({0x01, 1, 1, 7, 0, 0, 1, 0}), MsgDrop::kBadHello);        // kind 7
  EXPECT_EQ(frames_of({0x01, 1, 0, 0, 0, 0, 0}), MsgDrop::kBadHello);           // max 0
  EXPECT_EQ(frames_of({0x04, 0xE8, 0x03, 2, 0xC3, 0x28}), MsgDrop::kBadClose);  // bad UTF-8
  EXPECT_EQ(frames_of({0x06, 32, 0, 0, 0, 0}), MsgDrop::kBadChannel);
  EXPECT_EQ(frames_of({0x08, 0, 0, 0, 2, 2, 1, 0, 'a'}), MsgDrop::kBadFragment);   // index 2 of 2
  EXPECT_EQ(frames_of({0x08, 0, 0, 0, 0, 1, 1, 0, 'a'}), MsgDrop::kBadFragment);   // count 1
  EXPECT_EQ(frames_of({0x08, 0, 0, 0, 0, 65, 1, 0, 'a'}), MsgDrop::kBadFragment);  // count 65
  EXPECT_EQ(frames_of({0x08, 0, 0, 0, 0, 2, 1, 0, 'a'}), MsgDrop::kBadFragment);   // not full
  EXPECT_EQ(frames_of({0x08, 0, 0, 0, 1, 2, 0, 0}), MsgDrop::kBadFragment);        // empty last
  // Frames before the bad one were read.
  Seen s;
  EXPECT_EQ(read_frames(with_header({0x02, 1, 0, 0, 0, 0x05}), s), MsgDrop::kUnknownFrame);
  EXPECT_EQ(s.log, std::vector<std::string>{"ping 1"});
  // A header alone is a well-formed (ack-only) packet.
  EXPECT_EQ(read_frames(kHeader, s), kPass);
}

TEST(MsgWire, Utf8) {
  auto ok = [](std::string s) {
    return valid_utf8({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  EXPECT_TRUE(ok(""));
  EXPECT_TRUE(ok("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(ok("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(ok("\xC0\xAF"));          // overlong
  EXPECT_FALSE(ok("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(ok("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(ok("abc\xE2\x82"));       // cut short
  EXPECT_FALSE(ok("\x80"));              // stray continuation
  EXPECT_FALSE(ok("0123456789\xFF"));    // after the fast path
}

}  // namespace
}  // namespace bypass::msg
