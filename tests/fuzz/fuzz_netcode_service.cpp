// libFuzzer target for bypass-udpd's netcode service (conn/netcode_service.hpp),
// the layer fuzz_netcode (one server, one packet at a time) does not reach:
// batches as a port hands them over, connection requests held back by one
// packet, the per-source request limiter, the outbox and the reply paths,
// ticks, and several clients handshaking at once against too few slots.
//
// The input is a script. Each step is an op byte (mod 8) and its operands:
//   0 k      client k's due packets (requests, responses, keep-alives) join the batch
//   1 p p v  a copy of the batch's last datagram, byte p (16 bits) set to v, joins it
//   2        the batch's last datagram again (a duplicate)
//   3 s n n  n bytes of the input as a datagram, from client s's address (s < 5) or a stranger's
//   4        the batch goes to the service; what it sends goes to the clients
//   5 t      the clock moves on t x 10 ms, the service ticks, the clients update
//   6 k n    client k sends a payload of n bytes (if connected)
//   7 k      client k connects again with its token (a reuse from the same address)
// Each input starts a new service (3 slots) and 5 clients with fresh tokens.
// Checked, besides the sanitizers': nothing goes to an address that no valid
// request came from, no more clients are connected than there are slots, and
// no client id is connected twice. libsodium's randomness is replaced by a
// counter reset for each input, so an input replays the same way.
#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include <bypass/conn/client.hpp>
#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_service.hpp>

#include "fuzz_env.hpp"

namespace {

using namespace bypass;
using namespace bypass::conn;

constexpr uint64_t kProtocol = 0x1122334455667788ull;
constexpr uint32_t kClients = 5;
constexpr uint32_t kSlots = 3;
constexpr size_t kMaxBatch = 64;
constexpr int kMaxSteps = 256;

struct NoStatic final : HandlerContext {
  Expected<const StaticBlob*> make_static(std::span<const uint8_t>) override {
    return Status::error("not in the fuzzer");
  }
  uint32_t max_payload() const override { return 1472; }
};

struct Queue final : PacketSink {
  void send(const NetcodeAddress&, std::span<const uint8_t> p) override {
    packets.emplace_back(p.begin(), p.end());
  }
  std::vector<std::vector<uint8_t>> packets;
};

SockAddr v4(uint32_t host_order, uint16_t port) {
  SockAddr a;
  a.ip.set_v4(htonl(host_order));
  a.port = port;
  return a;
}

struct Input {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

class World {
 public:
  World() : out_(std::make_unique<Outbox>()) {
    // The wall clock starts at the real one: the service refuses tokens that
    // expire before its own start plus a token's lifetime (the restart rule).
    unix_start_ = static_cast<uint64_t>(std::time(nullptr));
    unix_ = unix_start_;
    key_ = random_key();
    server_ = v4(0xc6120002u, 40000);  // 198.18.0.2
    NetcodeServiceConfig c;
    c.protocol_id = kProtocol;
    c.private_key = key_;
    c.public_addresses = {server_};
    c.max_clients = kSlots;
    svc_ = std::make_unique<NetcodeService>(c);
    NoStatic ctx;
    const Status s = svc_->start(ctx);
    FUZZ_CHECK(s.is_ok(), "the service did not start: %s", s.message().c_str());
    for (uint32_t k = 0; k < kClients; ++k) {
      Peer& p = peers_[k];
      p.addr = v4(0xc612000au + k, 5000);  // 198.18.0.10 + k
      p.client = std::make_unique<NetcodeClient>(&p.sent);
      PrivateConnectToken priv;
      priv.client_id = 100 + k % 4;  // four ids for three slots; clients 0 and 4 share one
      priv.timeout_seconds = 5;
      priv.num_server_addresses = 1;
      priv.server_addresses[0] = to_netcode(server_);
      priv.client_to_server_key = random_key();
      priv.server_to_client_key = random_key();
      const bool ok = generate_connect_token(priv, {}, kProtocol, unix_, unix_ + 120,
                                             random_connect_token_nonce(), key_, p.token)
                          .is_ok();
      FUZZ_CHECK(ok, "no connect token");
      p.client->connect(p.token, now());
    }
  }

  void run(Input in) {
    for (int step = 0; step < kMaxSteps && !in.empty(); ++step) {
      switch (in.byte() % 8) {
        case 0:
          take_sent(peers_[in.byte() % kClients]);
          break;
        case 1: {
          const size_t at = size_t{in.byte()} << 8 | in.byte();
          const uint8_t v = in.byte();
          if (batch_.empty()) break;
          Pending copy = batch_.back();
          if (!copy.bytes.empty()) copy.bytes[at % copy.bytes.size()] = v;
          add(copy);
          break;
        }
        case 2:
          if (!batch_.empty()) add(Pending(batch_.back()));
          break;
        case 3: {
          const uint8_t s = in.byte();
          const size_t len = (size_t{in.byte()} << 8 | in.byte()) % 1300;
          Pending d;
          d.from = s < kClients ? peers_[s].addr : v4(0xc6130000u + s, 6000 + s);  // 198.19.0.s
          for (size_t i = 0; i < len && !in.empty(); ++i) d.bytes.push_back(in.byte());
          if (!d.bytes.empty()) add(d);
          break;
        }
        case 4:
          deliver();
          break;
        case 5:
          advance(uint64_t{in.byte()} * 10'000'000);
          break;
        case 6: {
          Peer& p = peers_[in.byte() % kClients];
          std::vector<uint8_t> payload(1 + in.byte() % kMaxPayloadBytes, 0x5a);
          if (p.client->connected()) p.client->send_payload(payload, now());
          take_sent(p);
          break;
        }
        case 7: {
          Peer& p = peers_[in.byte() % kClients];
          p.client->connect(p.token, now());
          take_sent(p);
          break;
        }
      }
    }
    deliver();
  }

 private:
  struct Peer {
    SockAddr addr;
    Queue sent;
    std::unique_ptr<NetcodeClient> client;
    std::array<uint8_t, kConnectTokenBytes> token{};
    bool sent_request = false;  // a request with a valid token went to the service
  };
  struct Pending {
    SockAddr from;
    std::vector<uint8_t> bytes;
  };

  Now now() const { return {unix_, mono_}; }

  void add(Pending d) {
    if (batch_.size() == kMaxBatch) deliver();
    batch_.push_back(std::move(d));
  }

  void take_sent(Peer& p) {
    for (auto& bytes : p.sent.packets) {
      // The client's own request carries the token the service can open.
      if (!bytes.empty() && bytes[0] == 0) p.sent_request = true;
      add({p.addr, std::move(bytes)});
    }
    p.sent.packets.clear();
  }

  void deliver() {
    std::vector<Datagram> d(batch_.size());
    for (size_t i = 0; i < batch_.size(); ++i) {
      Pending& b = batch_[i];
      b.bytes.reserve(b.bytes.size() + 64);
      d[i].src = b.from;
      d[i].dst = server_;
      d[i].data = b.bytes.data();
      d[i].len = static_cast<uint32_t>(b.bytes.size());
      d[i].room = d[i].len;
    }
    prepare();
    if (!d.empty()) svc_->on_datagrams(d, *out_);
    batch_.clear();
    hand_out();
  }

  void advance(uint64_t ns) {
    mono_ += ns;
    unix_ = unix_start_ + (mono_ - kMonoStart) / 1'000'000'000;
    prepare();
    svc_->on_tick(*out_);
    hand_out();
    for (Peer& p : peers_) {
      p.client->update(now());
      take_sent(p);
    }
  }

  void prepare() {
    out_->clear();
    out_->now_ns = mono_;
    out_->unix_ns = unix_ * 1'000'000'000ull;
  }

  // What the service sent goes to the clients; none of it to an address that
  // never sent a valid request.
  void hand_out() {
    FUZZ_CHECK(out_->size() == 0, "%zu replies in place from the netcode service", out_->size());
    for (size_t j = 0; j < out_->peer_size(); ++j) {
      const SockAddr& to = out_->peer_item(j).to.remote;
      Peer* p = nullptr;
      for (Peer& q : peers_)
        if (q.addr == to) p = &q;
      FUZZ_CHECK(p != nullptr && p->sent_request,
                 "the service sent %u bytes to an address no valid request came from",
                 static_cast<unsigned>(out_->peer_item(j).len));
      std::vector<uint8_t> bytes(out_->peer_payload(j),
                                 out_->peer_payload(j) + out_->peer_item(j).len);
      p->client->receive(to_netcode(server_), bytes, now());
    }
    const auto connected = count("netcode.connected");
    FUZZ_CHECK(connected <= kSlots, "%llu clients connected, %u slots",
               static_cast<unsigned long long>(connected), kSlots);
    // A client id is connected once at most (clients 0 and 4 share one).
    for (uint32_t i = 0; i < kSlots; ++i)
      for (uint32_t j = i + 1; j < kSlots; ++j) {
        const uint64_t a = svc_->server()->client_id(i), b = svc_->server()->client_id(j);
        FUZZ_CHECK(a == 0 || a != b, "client id %llu connected in slots %u and %u",
                   static_cast<unsigned long long>(a), i, j);
      }
  }

  uint64_t count(const char* name) const {
    std::vector<std::pair<std::string, uint64_t>> all;
    svc_->counters(all);
    for (const auto& [n, v] : all)
      if (n == name) return v;
    return 0;
  }

  static constexpr uint64_t kMonoStart = 1'000'000'000;
  uint64_t unix_start_ = 0;
  Key key_{};
  SockAddr server_;
  std::unique_ptr<Outbox> out_;
  std::unique_ptr<NetcodeService> svc_;
  std::array<Peer, kClients> peers_;
  std::vector<Pending> batch_;
  uint64_t mono_ = kMonoStart;
  uint64_t unix_ = 0;
};

// libsodium's randomness made deterministic for this process: keys, nonces
// and the tables' hash seeds come from a counter reset for each input, so an
// input replays the same way (a crash reproduces, coverage is not noise).
uint64_t g_draws = 0;
void fuzz_random_buf(void* const buf, const size_t size) {
  uint8_t seed[randombytes_SEEDBYTES] = {};
  std::memcpy(seed, &g_draws, sizeof g_draws);
  ++g_draws;
  randombytes_buf_deterministic(buf, size, seed);
}
uint32_t fuzz_random() {
  uint32_t v;
  fuzz_random_buf(&v, sizeof v);
  return v;
}
const char* fuzz_random_name() {
  return "fuzz_netcode_service";
}
randombytes_implementation g_fuzz_random = {fuzz_random_name, fuzz_random,     nullptr,
                                            nullptr,          fuzz_random_buf, nullptr};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Before sodium_init(), which crypto_init() calls.
  FUZZ_CHECK(randombytes_set_implementation(&g_fuzz_random) == 0, "randombytes not replaced");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = crypto_init().is_ok();
  FUZZ_CHECK(ready, "libsodium did not start");
  g_draws = 0;
  World w;
  w.run({data, size});
  return 0;
}
