// The outbox's kept-peer space: full without a backend's flush (reserve()
// refuses), sent early and reused with one, so a tick can owe more
// keep-alives than the space holds.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <bypass/udp/handler.hpp>

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

}  // namespace
}  // namespace bypass
