// A backend-agnostic GoogleTest suite for the built-in datagram handlers (echo,
// discard, static): what every backend of the handler API must do the same way.
// A backend's test implements UdpHarness (start services on given ports, open
// client endpoints that send and receive datagrams, report two counters) and
// instantiates the suite with one line:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sockets, UdpHandlerSuite, SocketHarness);
// GoogleTest records these cases as this header's, so the backend's meson
// test names them too (tests/meson.build, unit_cases: --cases=Sockets/...).
// The harness type must be default-constructible; each test makes its own.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <bypass/core/status.hpp>
#include <bypass/net/addr.hpp>
#include <bypass/udp/handlers.hpp>

namespace bypass::test {

using Bytes = std::vector<uint8_t>;
using std::chrono::milliseconds;

// How long an answer may take, and how long silence must last to count as none.
// A ceiling, not a speed: waits end as soon as the answer is there, and a
// loaded machine (ASan, CI) must not turn a slow answer into a failure.
inline constexpr milliseconds kAnswerTimeout{10000};
inline constexpr milliseconds kSilence{200};

// One client endpoint (its own address and source port) talking to one service.
class UdpClient {
 public:
  virtual ~UdpClient() = default;
  virtual bool send(std::span<const uint8_t> payload) = 0;
  // The next datagram from the service, or nothing within `timeout`.
  virtual std::optional<Bytes> receive(milliseconds timeout) = 0;
};

class UdpHarness {
 public:
  struct Stats {
    uint64_t rx_datagrams = 0;  // handed to handlers
    uint64_t tx_datagrams = 0;  // sent by handlers (replies and Outbox items)
  };
  virtual ~UdpHarness() = default;

  // The address families this backend serves (the tests run on each).
  virtual std::vector<IpAddr::Family> families() const = 0;
  // Largest payload that goes through both ways (echo is tested up to 8000 if so).
  virtual uint32_t max_datagram() const = 0;
  // `n` distinct service ports that start() can bind in every family.
  virtual std::vector<uint16_t> free_ports(size_t n) = 0;
  virtual Status start(const std::vector<ServiceConfig>& services,
                       const std::vector<IpAddr::Family>& families) = 0;
  virtual std::unique_ptr<UdpClient> client(IpAddr::Family family, uint16_t port) = 0;
  virtual Stats stats() const = 0;
  virtual void stop() = 0;

  // One datagram there, the first answer back.
  std::optional<Bytes> roundtrip(IpAddr::Family f, uint16_t port, std::span<const uint8_t> payload,
                                 milliseconds timeout = kAnswerTimeout) {
    auto c = client(f, port);
    if (!c || !c->send(payload)) return std::nullopt;
    return c->receive(timeout);
  }

  // One datagram there; the answers until `expect_n` came (or `timeout`), plus any
  // that follow within kSilence, so that a surplus shows.
  std::vector<Bytes> collect(IpAddr::Family f, uint16_t port, std::span<const uint8_t> payload,
                             size_t expect_n, milliseconds timeout = kAnswerTimeout) {
    std::vector<Bytes> got;
    auto c = client(f, port);
    if (!c || !c->send(payload)) return got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got.size() < expect_n) {
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      auto d = c->receive(left);
      if (!d) break;
      got.push_back(std::move(*d));
    }
    while (auto d = c->receive(kSilence)) got.push_back(std::move(*d));
    return got;
  }
};

inline const char* family_name(IpAddr::Family f) {
  return f == IpAddr::Family::kV6 ? "IPv6" : "IPv4";
}

// Deterministic bytes that differ for every (seed, index).
inline Bytes pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i)
    b[i] = static_cast<uint8_t>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return b;
}

// Static requests: (first, count) as two big-endian u32.
inline Bytes static_request(uint32_t first, uint32_t count) {
  uint32_t v[2] = {htonl(first), htonl(count)};
  Bytes b(8);
  std::memcpy(b.data(), v, 8);
  return b;
}

struct Chunk {
  uint32_t index = 0, total = 0;
  Bytes bytes;
};

inline std::vector<Chunk> parse_chunks(const std::vector<Bytes>& answers) {
  std::vector<Chunk> out;
  for (const Bytes& a : answers) {
    EXPECT_GE(a.size(), StaticHandler::kHeader) << "a static answer shorter than its header";
    if (a.size() < StaticHandler::kHeader) continue;
    uint32_t v[2];
    std::memcpy(v, a.data(), 8);
    out.push_back({ntohl(v[0]), ntohl(v[1]), Bytes(a.begin() + 8, a.end())});
  }
  std::sort(out.begin(), out.end(),
            [](const Chunk& x, const Chunk& y) { return x.index < y.index; });
  return out;
}

inline std::vector<uint32_t> indices(const std::vector<Chunk>& chunks) {
  std::vector<uint32_t> v;
  for (const Chunk& c : chunks) v.push_back(c.index);
  return v;
}

// Fanout sends to kept peers, outside the request's own reply: what one
// member says reaches every other member (not itself). A room lives on one
// worker, so `h` must run a single worker.
inline void expect_fanout_relays(UdpHarness& h) {
  auto ports = h.free_ports(1);
  ASSERT_EQ(ports.size(), 1u);
  ServiceConfig s;
  s.handler = "fanout";
  s.port = ports[0];
  const auto families = h.families();
  Status st = h.start({s}, families);
  ASSERT_TRUE(st.is_ok()) << st.message();
  for (IpAddr::Family f : families) {
    auto a = h.client(f, ports[0]);
    auto b = h.client(f, ports[0]);
    auto c = h.client(f, ports[0]);
    ASSERT_TRUE(a->send(Bytes{'a', '1'}));  // a joins; nobody else to tell
    EXPECT_FALSE(a->receive(kSilence)) << "a member does not hear itself";
    ASSERT_TRUE(b->send(Bytes{'b', '1'}));
    auto got = a->receive(kAnswerTimeout);
    ASSERT_TRUE(got) << "a did not hear b";
    EXPECT_EQ(*got, (Bytes{'b', '1'}));
    ASSERT_TRUE(c->send(Bytes{'c', '1'}));
    auto to_a = a->receive(kAnswerTimeout), to_b = b->receive(kAnswerTimeout);
    ASSERT_TRUE(to_a && to_b);
    EXPECT_EQ(*to_a, (Bytes{'c', '1'}));
    EXPECT_EQ(*to_b, (Bytes{'c', '1'}));
    EXPECT_FALSE(c->receive(kSilence));
  }
  // One room for both families: the k-th member to speak (from 0) reached k others.
  const uint64_t members = 3 * families.size();
  EXPECT_EQ(h.stats().tx_datagrams, members * (members - 1) / 2);
  h.stop();
}

template <typename H>
class UdpHandlerSuite : public ::testing::Test {
  static_assert(std::is_base_of_v<UdpHarness, H>, "the suite's type must be a UdpHarness");

 protected:
  // The services every test starts: echo, discard, and one file served twice,
  // once with room for all its chunks per request and once with 3 at most.
  static constexpr uint32_t kChunk = 1000, kChunks = 10, kSmallMax = 3;
  enum Service : size_t { kEcho, kDiscard, kStatic, kStaticSmall };

  void SetUp() override {
    content_ = pattern(kChunk * (kChunks - 1) + kChunk / 2, 99);
    ports_ = h_.free_ports(4);
    ASSERT_EQ(ports_.size(), 4u);
    std::vector<ServiceConfig> s(4);
    s[kEcho].handler = "echo";
    s[kDiscard].handler = "discard";
    for (size_t i : {kStatic, kStaticSmall}) {
      s[i].handler = "static";
      s[i].content = content_;
      s[i].chunk = kChunk;
      s[i].max_chunks = i == kStatic ? 64 : kSmallMax;
    }
    for (size_t i = 0; i < 4; ++i) s[i].port = ports_[i];
    families_ = h_.families();
    ASSERT_FALSE(families_.empty());
    Status st = h_.start(s, families_);
    ASSERT_TRUE(st.is_ok()) << st.message();
  }
  void TearDown() override { h_.stop(); }

  // Waits until the counters satisfy `pred` (they may trail the answers a little).
  template <typename Pred>
  UdpHarness::Stats wait_stats(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
    auto s = h_.stats();
    while (!pred(s) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
      s = h_.stats();
    }
    return s;
  }

  Bytes reassemble(const std::vector<Chunk>& chunks) {
    Bytes out;
    for (const Chunk& c : chunks) out.insert(out.end(), c.bytes.begin(), c.bytes.end());
    return out;
  }

  H h_;
  Bytes content_;
  std::vector<uint16_t> ports_;
  std::vector<IpAddr::Family> families_;
};

TYPED_TEST_SUITE_P(UdpHandlerSuite);

TYPED_TEST_P(UdpHandlerSuite, EchoReturnsEveryPayloadSizeUnchanged) {
  std::vector<size_t> sizes = {0, 1, 64, 1400};
  if (this->h_.max_datagram() >= 8000) sizes.push_back(8000);
  for (auto f : this->families_)
    for (size_t n : sizes) {
      SCOPED_TRACE(std::string(family_name(f)) + ", " + std::to_string(n) + " bytes");
      Bytes p = pattern(n, static_cast<uint32_t>(n));
      auto r = this->h_.roundtrip(f, this->ports_[this->kEcho], p);
      ASSERT_TRUE(r.has_value()) << "no echo";
      EXPECT_EQ(*r, p);
    }
}

TYPED_TEST_P(UdpHandlerSuite, EchoReturnsAThousandDatagramsWithABoundedWindow) {
  constexpr uint32_t kTotal = 1000, kWindow = 32;
  for (auto f : this->families_) {
    SCOPED_TRACE(family_name(f));
    auto c = this->h_.client(f, this->ports_[this->kEcho]);
    ASSERT_TRUE(c);
    std::set<uint32_t> seen;
    uint32_t next = 0;
    while (seen.size() < kTotal) {
      for (; next < kTotal && next - seen.size() < kWindow; ++next) {
        Bytes p = pattern(64, next);
        std::memcpy(p.data(), &next, 4);
        ASSERT_TRUE(c->send(p)) << "send " << next;
      }
      auto r = c->receive(kAnswerTimeout);
      ASSERT_TRUE(r.has_value()) << seen.size() << " of " << kTotal << " came back";
      ASSERT_EQ(r->size(), 64u);
      uint32_t seq;
      std::memcpy(&seq, r->data(), 4);
      ASSERT_LT(seq, next);
      Bytes want = pattern(64, seq);
      std::memcpy(want.data(), &seq, 4);
      EXPECT_EQ(*r, want) << "datagram " << seq;
      EXPECT_TRUE(seen.insert(seq).second) << "datagram " << seq << " came back twice";
    }
  }
}

TYPED_TEST_P(UdpHandlerSuite, EchoAnswersManyClientsEachOnItsOwnPort) {
  for (auto f : this->families_) {
    SCOPED_TRACE(family_name(f));
    std::vector<std::unique_ptr<UdpClient>> clients;
    for (uint32_t i = 0; i < 16; ++i) {
      clients.push_back(this->h_.client(f, this->ports_[this->kEcho]));
      ASSERT_TRUE(clients.back());
      ASSERT_TRUE(clients.back()->send(pattern(100, i)));
    }
    for (uint32_t i = 0; i < 16; ++i) {
      auto r = clients[i]->receive(kAnswerTimeout);
      ASSERT_TRUE(r.has_value()) << "client " << i;
      EXPECT_EQ(*r, pattern(100, i)) << "client " << i << " got another client's answer";
    }
  }
}

TYPED_TEST_P(UdpHandlerSuite, DiscardAnswersNothingAndCountsWhatItGot) {
  constexpr uint64_t kN = 50;
  for (auto f : this->families_) {
    SCOPED_TRACE(family_name(f));
    auto before = this->wait_stats([](auto&) { return true; });
    auto c = this->h_.client(f, this->ports_[this->kDiscard]);
    ASSERT_TRUE(c);
    for (uint32_t i = 0; i < kN; ++i) ASSERT_TRUE(c->send(pattern(200, i)));
    auto after =
        this->wait_stats([&](auto& s) { return s.rx_datagrams >= before.rx_datagrams + kN; });
    EXPECT_EQ(after.rx_datagrams, before.rx_datagrams + kN);
    EXPECT_FALSE(c->receive(kSilence).has_value()) << "discard answered";
    EXPECT_EQ(this->h_.stats().tx_datagrams, before.tx_datagrams);
  }
}

TYPED_TEST_P(UdpHandlerSuite, StaticReassemblesTheWholeFileByteForByte) {
  for (auto f : this->families_) {
    SCOPED_TRACE(family_name(f));
    auto chunks = parse_chunks(this->h_.collect(f, this->ports_[this->kStatic], {}, this->kChunks));
    ASSERT_EQ(chunks.size(), this->kChunks);
    for (uint32_t i = 0; i < this->kChunks; ++i) {
      EXPECT_EQ(chunks[i].index, i);
      EXPECT_EQ(chunks[i].total, this->kChunks);
      EXPECT_EQ(chunks[i].bytes.size(), i + 1 < this->kChunks ? this->kChunk : this->kChunk / 2);
    }
    EXPECT_TRUE(this->reassemble(chunks) == this->content_) << "the file differs";
  }
}

TYPED_TEST_P(UdpHandlerSuite, StaticAnswersExactlyTheRequestedChunks) {
  using V = std::vector<uint32_t>;
  const uint16_t port = this->ports_[this->kStatic];
  for (auto f : this->families_) {
    SCOPED_TRACE(family_name(f));
    auto c = parse_chunks(this->h_.collect(f, port, static_request(3, 4), 4));
    EXPECT_EQ(indices(c), (V{3, 4, 5, 6}));
    for (const Chunk& k : c) {
      Bytes want(this->content_.begin() + k.index * this->kChunk,
                 this->content_.begin() + (k.index + 1) * this->kChunk);
      EXPECT_TRUE(k.bytes == want) << "chunk " << k.index << " differs";
    }
    EXPECT_EQ(indices(parse_chunks(this->h_.collect(f, port, static_request(8, 5), 2))), (V{8, 9}))
        << "a request past the end gets the chunks that exist";
    EXPECT_EQ(indices(parse_chunks(this->h_.collect(f, port, static_request(7, 1), 1))), (V{7}));
    EXPECT_TRUE(this->h_.collect(f, port, static_request(10, 1), 0).empty())
        << "a request for no existing chunk gets nothing";
    EXPECT_TRUE(this->h_.collect(f, port, static_request(2, 0), 0).empty());
  }
}

TYPED_TEST_P(UdpHandlerSuite, StaticHonoursMaxChunks) {
  using V = std::vector<uint32_t>;
  const uint16_t port = this->ports_[this->kStaticSmall];
  for (auto f : this->families_) {
    SCOPED_TRACE(family_name(f));
    EXPECT_EQ(indices(parse_chunks(this->h_.collect(f, port, {}, 3))), (V{0, 1, 2}));
    EXPECT_EQ(indices(parse_chunks(this->h_.collect(f, port, static_request(5, 100), 3))),
              (V{5, 6, 7}));
    std::vector<Chunk> all;
    for (uint32_t first = 0; first < this->kChunks; first += this->kSmallMax) {
      const uint32_t n = std::min(this->kSmallMax, this->kChunks - first);
      auto part = parse_chunks(this->h_.collect(f, port, static_request(first, 1000), n));
      ASSERT_FALSE(part.empty()) << "no chunk from " << first;
      EXPECT_EQ(part.front().index, first);
      all.insert(all.end(), part.begin(), part.end());
    }
    EXPECT_EQ(all.size(), this->kChunks);
    EXPECT_TRUE(this->reassemble(all) == this->content_) << "the file differs";
  }
}

TYPED_TEST_P(UdpHandlerSuite, StaticIgnoresABadRequest) {
  for (auto f : this->families_) {
    SCOPED_TRACE(family_name(f));
    for (size_t s : {this->kStatic, this->kStaticSmall}) {
      const Bytes bad = {1, 2, 3};
      EXPECT_TRUE(this->h_.collect(f, this->ports_[s], bad, 0).empty())
          << "a 3-byte request was answered";
      EXPECT_TRUE(this->h_.collect(f, this->ports_[s], Bytes(9, 0), 0).empty());
    }
    EXPECT_EQ(
        parse_chunks(this->h_.collect(f, this->ports_[this->kStatic], static_request(1, 1), 1))
            .size(),
        1u)
        << "a good request after bad ones is still answered";
  }
}

REGISTER_TYPED_TEST_SUITE_P(UdpHandlerSuite, EchoReturnsEveryPayloadSizeUnchanged,
                            EchoReturnsAThousandDatagramsWithABoundedWindow,
                            EchoAnswersManyClientsEachOnItsOwnPort,
                            DiscardAnswersNothingAndCountsWhatItGot,
                            StaticReassemblesTheWholeFileByteForByte,
                            StaticAnswersExactlyTheRequestedChunks, StaticHonoursMaxChunks,
                            StaticIgnoresABadRequest);

}  // namespace bypass::test
