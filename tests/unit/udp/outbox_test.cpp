// The outbox's kept-peer space: full without a backend's flush (reserve()
// refuses), sent early and reused with one, so a tick can owe more
// keep-alives than the space holds; a reservation shrunk to what was written.
#include <gtest/gtest.h>

#include <cstdint>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <bypass/udp/handler.hpp>
#include <bypass/udp/handlers.hpp>

namespace bypass {
namespace {

Peer peer(uint16_t port) {
  Peer p;
  p.remote.port = port;
  return p;
}

TEST(Outbox, FullPeerSpaceRefusesWithoutAFlush) {
  auto out = std::make_unique<Outbox>();
  size_t ok = 0;
  for (size_t i = 0; i < Outbox::kPeerCapacity + 10; ++i)
    ok += out->reserve(peer(1), 24) != nullptr;
  EXPECT_EQ(ok, Outbox::kPeerCapacity);
  EXPECT_EQ(out->peer_flushes, 0u);
}

TEST(Outbox, AFlushSendsTheFullSpaceAndReusesIt) {
  auto out = std::make_unique<Outbox>();
  struct Sent {
    std::vector<uint16_t> lens;
  } sent;
  out->set_peer_flush(
      [](void* ctx, Outbox& o) {
        for (size_t i = 0; i < o.peer_size(); ++i)
          static_cast<Sent*>(ctx)->lens.push_back(o.peer_item(i).len);
        o.clear_peers();
      },
      &sent);
  // 100,000 keep-alive-sized datagrams in one tick, then big ones that fill bytes first.
  for (size_t i = 0; i < 100000; ++i) ASSERT_NE(out->reserve(peer(2), 24), nullptr) << i;
  for (size_t i = 0; i < 1000; ++i) ASSERT_NE(out->reserve(peer(2), 1200), nullptr) << i;
  const size_t held = out->peer_size();
  EXPECT_EQ(sent.lens.size() + held, 101000u);
  EXPECT_GT(out->peer_flushes, 97u);
  EXPECT_EQ(out->reserve(peer(2), Outbox::kMaxPeerPayload + 1), nullptr);  // too big, flush or not
}

// reserve() to a datagram's sender writes the same peer as its peer() does,
// in place: the link header turned around (a stale longer header's tail
// cleared), the port, both addresses; and the sender's family sets the limit.
TEST(Outbox, ReservingToASenderKeepsTheSamePeerAsItsPeer) {
  auto out = std::make_unique<Outbox>();
  uint8_t link[18];
  for (uint8_t i = 0; i < sizeof link; ++i) link[i] = static_cast<uint8_t>(0x10 + i);
  Datagram d;
  d.src.ip.set_v4(0x0a000001);
  d.src.port = 4000;
  d.dst.ip.set_v4(0xc6120002);
  d.dst.port = 40000;
  d.link = link;
  d.link_len = 14;
  d.port = 3;
  // A peer with a longer (VLAN) header was kept there first.
  Peer vlan = d.peer();
  vlan.link_len = 18;
  for (uint8_t& b : vlan.link) b = 0xee;
  ASSERT_NE(out->reserve(vlan, 8), nullptr);
  out->shrink_last(0);
  ASSERT_NE(out->reserve(d, 8), nullptr);
  const Peer want = d.peer();
  const Peer& got = out->peer_item(0).to;
  EXPECT_EQ(got.remote, want.remote);
  EXPECT_EQ(got.local, want.local);
  EXPECT_EQ(got.port, 3);
  ASSERT_EQ(got.link_len, 14);
  EXPECT_EQ(got.link[0], 0x16);  // to the sender's MAC
  EXPECT_EQ(got.link[6], 0x10);  // from ours
  EXPECT_EQ(got.link[12], 0x1c);
  for (unsigned i = 0; i < Peer::kMaxLink; ++i) EXPECT_EQ(got.link[i], want.link[i]) << i;
  EXPECT_EQ(got.link[14], 0);
  EXPECT_EQ(out->reserve(d, Outbox::kMaxPeerPayload + 1), nullptr);
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  d.src.ip.set_v6(v6);
  EXPECT_EQ(out->reserve(d, Outbox::kMaxPeerPayload6 + 1), nullptr);
  EXPECT_NE(out->reserve(d, Outbox::kMaxPeerPayload6), nullptr);
}

// A writer reserves its largest size, seals in place, then keeps what it
// wrote: the space after it is the next datagram's; 0 takes the datagram back.
TEST(Outbox, ShrinkLastKeepsWhatWasWrittenAndGivesBackTheRest) {
  auto out = std::make_unique<Outbox>();
  uint8_t* a = out->reserve(peer(1), 1300);
  ASSERT_NE(a, nullptr);
  out->shrink_last(41);
  ASSERT_EQ(out->peer_size(), 1u);
  EXPECT_EQ(out->peer_item(0).len, 41u);
  uint8_t* b = out->reserve(peer(2), 1300);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b, a + 48);    // 41 bytes, kept 8-byte aligned
  out->shrink_last(2000);  // more than reserved: ignored
  EXPECT_EQ(out->peer_item(1).len, 1300u);
  out->shrink_last(0);
  EXPECT_EQ(out->peer_size(), 1u);
  EXPECT_EQ(out->reserve(peer(3), 24), b);
  EXPECT_EQ(out->peer_item(1).to.remote.port, 3u);
}

// Memory the test owns, handed out as the backend's blobs.
class TestContext final : public HandlerContext {
 public:
  Expected<const StaticBlob*> make_static(std::span<const uint8_t> bytes) override {
    bytes_.assign(bytes.begin(), bytes.end());
    blob_ = {bytes_.data(), bytes_.size(), nullptr};
    return static_cast<const StaticBlob*>(&blob_);
  }
  uint32_t max_payload() const override { return 65507; }

 private:
  std::vector<uint8_t> bytes_;
  StaticBlob blob_;
};

// A batch of whole-file requests that fills the Outbox: what is left
// unanswered is counted, not lost silently.
TEST(Outbox, ASliceOutsideItsBlobOrOverADatagramIsRefused) {
  static std::vector<uint8_t> bytes(100000, 0x5a);
  const StaticBlob blob{bytes.data(), bytes.size(), nullptr};
  auto out = std::make_unique<Outbox>();
  const uint8_t h[2] = {1, 2};
  EXPECT_TRUE(out->send(0, h, &blob, 0, 1000));
  EXPECT_TRUE(out->send(0, h, &blob, bytes.size() - 10, 10));
  EXPECT_FALSE(out->send(0, h, &blob, bytes.size() - 10, 11)) << "past the end";
  EXPECT_FALSE(out->send(0, h, &blob, 10, SIZE_MAX - 5)) << "offset + len wraps";
  EXPECT_FALSE(out->send(0, h, &blob, bytes.size() + 1, 0)) << "offset past the end";
  EXPECT_FALSE(out->send(0, h, &blob, 0, Outbox::kMaxDatagram - 1)) << "over a UDP datagram";
  EXPECT_TRUE(out->send(0, h, &blob, 0, Outbox::kMaxDatagram - 2));
  EXPECT_EQ(out->size(), 3u);
}

TEST(StaticHandler, RequestsAFullOutboxLeavesUnansweredAreCounted) {
  StaticHandler h(std::vector<uint8_t>(16 * 100, 7), 100, 16);  // 16 chunks of 100 B
  TestContext ctx;
  ASSERT_TRUE(h.start(ctx).is_ok());
  constexpr size_t kRequests = Outbox::kCapacity / 16 + 2;  // 16 fill it; 2 more
  std::vector<Datagram> batch(kRequests);
  for (Datagram& d : batch) d.len = 0;  // "everything"
  auto out = std::make_unique<Outbox>();
  h.on_datagrams(batch, *out);
  EXPECT_EQ(out->size(), Outbox::kCapacity);
  EXPECT_EQ(h.sent(), Outbox::kCapacity);
  EXPECT_EQ(h.outbox_full(), 2u);
  std::vector<std::pair<std::string, uint64_t>> c;
  h.counters(c);
  EXPECT_NE(
      std::find(c.begin(), c.end(), std::pair<std::string, uint64_t>{"static.outbox_full", 2}),
      c.end());
}

}  // namespace
}  // namespace bypass
