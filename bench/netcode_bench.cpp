// What a netcode.io server costs on one core, in process: bypass-udpd's
// netcode service (conn/netcode_service.hpp) handed batches of 32 pre-built
// datagrams with the time set by hand, so no generator or socket is the
// limit. Prints cycles per packet (TSC around each batch; building the
// packets is outside the timed region) and, measured in the same run, the
// bound that libsodium alone sets for the same cryptography, and their ratio:
//   - payload echo (open a payload packet, seal the echo) at 100 and 1200 B,
//     with 1,000, 10,000 and 100,000 connected clients (the cost must stay
//     flat: lookups are hashed);
//   - connection establishment (request: open the 1 KB token, seal the
//     challenge token and packet; response: open it and the challenge token,
//     seal the keep-alive), 32 clients' packets per batch as a port hands
//     them over, and, for comparison, one client per batch;
//   - the message layer's own cost (docs/protocol.md): a reliable 64-byte
//     message echoed, one message per packet (application = "echo", acks
//     and all), against the raw 64-byte payload echo, same run, same clients.
// Run: build/bench/netcode_bench [max clients, default 100000] [handshake]
// ("handshake": the handshake figure alone, for a profiler)
#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <bypass/conn/challenge_token.hpp>
#include <bypass/conn/client.hpp>
#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_service.hpp>
#include <bypass/conn/packet.hpp>
#include <bypass/core/clock.hpp>
#include <bypass/msg/msg_wire.hpp>

namespace {

using namespace bypass;
using namespace bypass::conn;

constexpr uint64_t kProtocol = 0x1122334455667788ull;
constexpr uint16_t kPort = 40000;
constexpr unsigned kBatch = 32;

struct NoStatic final : HandlerContext {
  Expected<const StaticBlob*> make_static(std::span<const uint8_t>) override {
    return Status::error("not in the benchmark");
  }
  uint32_t max_payload() const override { return 1472; }
};

SockAddr client_addr(uint32_t i) {
  SockAddr a;
  a.ip.set_v4(htonl(0x0a000000u | (i + 1)));  // 10.x.y.z
  a.port = static_cast<uint16_t>(1024 + i % 60000);
  return a;
}

struct Client {
  SockAddr addr;
  Key c2s;
  uint64_t sequence = 0;
  // The message layer (a Bench with messages): packets and messages sent,
  // and the server's packets so far (all acknowledged in each packet).
  uint16_t msg_packet = 0, msg_id = 0, server_packets = 0;
};

// Server and clients in memory: the service's outbox is read back as the
// clients' input.
class Bench {
 public:
  explicit Bench(uint32_t max_clients, bool messages = false)
      : messages_(messages), out_(std::make_unique<Outbox>()) {
    key_ = random_key();
    NetcodeServiceConfig c;
    c.protocol_id = kProtocol;
    c.private_key = key_;
    SockAddr server;
    server.ip.set_v4(htonl(0xc6120002u));  // 198.18.0.2
    server.port = kPort;
    server_ = server;
    c.public_addresses = {server};
    c.max_clients = max_clients;
    if (messages_) c.application = "echo";
    svc_ = std::make_unique<NetcodeService>(c);
    NoStatic ctx;
    Status s = svc_->start(ctx);
    if (!s) {
      std::fprintf(stderr, "netcode_bench: %s\n", s.message().c_str());
      std::exit(1);
    }
    unix_ = static_cast<uint64_t>(std::time(nullptr));
  }

  // Connects clients `first` .. `first + n - 1` (n <= kBatch) through the
  // service: each step, what the clients send (requests, then responses) is
  // handed to the service as one batch, as a port would; the clients read
  // the challenges and keep-alives it sends back between steps. Returns the
  // server's cycles for the batches (the clients' work is outside them).
  uint64_t connect_batch(uint32_t first, uint32_t n, Client* out) {
    std::vector<std::unique_ptr<NetcodeClient>> cl;
    std::vector<PrivateConnectToken> privs(n);
    Capture sink;
    for (uint32_t k = 0; k < n; ++k) {
      PrivateConnectToken& priv = privs[k];
      priv.client_id = 1000 + first + k;
      priv.timeout_seconds = -1;  // no timeout: the bench's clock jumps 100 ms a step
      priv.num_server_addresses = 1;
      priv.server_addresses[0] = to_netcode(server_);
      priv.client_to_server_key = random_key();
      priv.server_to_client_key = random_key();
      std::array<uint8_t, kConnectTokenBytes> token{};
      if (!generate_connect_token(priv, {}, kProtocol, unix_, unix_ + 3600,
                                  random_connect_token_nonce(), key_, token))
        std::exit(1);
      cl.push_back(std::make_unique<NetcodeClient>(&sink));
      cl.back()->connect(token, now());
    }
    uint64_t cycles = 0;
    static uint8_t bytes[kBatch][kConnectTokenBytes];
    Datagram d[kBatch];
    auto all_connected = [&] {
      for (auto& c : cl)
        if (!c->connected()) return false;
      return true;
    };
    for (int step = 0; step < 8 && !all_connected(); ++step) {
      mono_ += 100'000'000;  // the clients' send interval
      unsigned nd = 0;
      for (uint32_t k = 0; k < n; ++k) {
        cl[k]->update(now());
        for (auto& pkt : sink.packets) {
          if (nd == kBatch || pkt.size() > sizeof bytes[0]) std::exit(1);
          std::memcpy(bytes[nd], pkt.data(), pkt.size());
          d[nd].src = client_addr(first + k);
          d[nd].dst = server_;
          d[nd].data = bytes[nd];
          d[nd].len = static_cast<uint32_t>(pkt.size());
          d[nd].room = d[nd].len;
          ++nd;
        }
        sink.packets.clear();
      }
      if (nd == 0) continue;
      out_->clear();
      out_->now_ns = mono_;
      out_->unix_ns = unix_ * 1'000'000'000ull;
      const uint64_t t0 = cpu_cycles();
      svc_->on_datagrams({d, nd}, *out_);
      cycles += cpu_cycles() - t0;
      for (size_t j = 0; j < out_->peer_size(); ++j) {
        const SockAddr& to = out_->peer_item(j).to.remote;
        for (uint32_t k = 0; k < n; ++k) {
          if (!(to == client_addr(first + k))) continue;
          std::vector<uint8_t> p(out_->peer_payload(j),
                                 out_->peer_payload(j) + out_->peer_item(j).len);
          cl[k]->receive(to_netcode(server_), p, now());
          break;
        }
      }
    }
    for (uint32_t k = 0; k < n; ++k) {
      if (!cl[k]->connected()) {
        std::fprintf(stderr, "netcode_bench: client %u did not connect\n", first + k);
        std::exit(1);
      }
      Client& o = out[k];
      o = {client_addr(first + k), privs[k].client_to_server_key, cl[k]->next_sequence()};
      if (messages_) {
        // The hello, answered by the server's.
        uint8_t body[64];
        msg::PacketWriter w(body);
        w.header({o.msg_packet++, 0, 0, 0, 64});
        w.hello(msg::Hello{});
        uint8_t hello[200];
        Written pw = write_payload(hello, kProtocol, o.c2s, o.sequence++, w.bytes());
        std::vector<uint8_t> pkt(hello, hello + pw.size);
        feed(o.addr, pkt);
        o.server_packets = static_cast<uint16_t>(out_->peer_size());
      }
    }
    return cycles;
  }

  // One tick after `ms` of silence: the keep-alives it sends, through an
  // outbox that is flushed whenever full (as the backends do); the flushes.
  std::pair<uint64_t, uint64_t> tick_keepalives(uint64_t ms) {
    static uint64_t sent = 0;
    sent = 0;
    out_->clear();
    out_->set_peer_flush(
        [](void*, Outbox& o) {
          sent += o.peer_size();
          o.clear_peers();
        },
        nullptr);
    const uint64_t flushes0 = out_->peer_flushes;
    mono_ += ms * 1'000'000;
    out_->now_ns = mono_;
    out_->unix_ns = unix_ * 1'000'000'000ull;
    svc_->on_tick(*out_);
    sent += out_->peer_size();
    out_->set_peer_flush(nullptr, nullptr);
    out_->clear();
    return {sent, out_->peer_flushes - flushes0};
  }

  // One batch of payload packets from `clients` (round robin from `next`),
  // built outside the timed region; returns the server's cycles.
  uint64_t echo_batch(std::vector<Client>& clients, size_t& next, size_t payload) {
    static uint8_t bytes[kBatch][1400];
    Datagram d[kBatch];
    std::vector<uint8_t> body(payload, 0x5a);
    std::vector<uint8_t> data(payload, 0x5a);
    for (unsigned j = 0; j < kBatch; ++j) {
      Client& c = clients[next++ % clients.size()];
      if (messages_) {
        // One reliable message, acking everything the server sent.
        body.resize(msg::kMaxPacketBytes);
        msg::PacketWriter mw(body);
        mw.header({c.msg_packet++, msg::kHeaderAckValid,
                   static_cast<uint16_t>(c.server_packets - 1), 0xFFFFFFFFu, 64});
        mw.message({0, false, false, c.msg_id++, 0, 1, data});
        body.resize(mw.size());
        ++c.server_packets;  // its echo
      }
      Written w = write_payload(bytes[j], kProtocol, c.c2s, c.sequence++, body);
      d[j].src = c.addr;
      d[j].dst = server_;
      d[j].data = bytes[j];
      d[j].len = static_cast<uint32_t>(w.size);
      d[j].room = sizeof bytes[j];
    }
    out_->clear();
    out_->now_ns = mono_;
    out_->unix_ns = unix_ * 1'000'000'000ull;
    const uint64_t t0 = cpu_cycles();
    svc_->on_datagrams({d, kBatch}, *out_);
    const uint64_t dt = cpu_cycles() - t0;
    if (out_->peer_size() != kBatch) {
      std::fprintf(stderr, "netcode_bench: %zu echoes for %u payloads\n", out_->peer_size(),
                   kBatch);
      std::exit(1);
    }
    return dt;
  }

 private:
  struct Capture final : PacketSink {
    void send(const NetcodeAddress&, std::span<const uint8_t> p) override {
      packets.emplace_back(p.begin(), p.end());
    }
    std::vector<std::vector<uint8_t>> packets;
  };
  Now now() const { return {unix_, mono_}; }
  uint64_t feed(const SockAddr& from, std::vector<uint8_t>& pkt) {
    Datagram d;
    d.src = from;
    d.dst = server_;
    d.data = pkt.data();
    d.len = static_cast<uint32_t>(pkt.size());
    d.room = d.len;
    out_->clear();
    out_->now_ns = mono_;
    out_->unix_ns = unix_ * 1'000'000'000ull;
    const uint64_t t0 = cpu_cycles();
    svc_->on_datagrams({&d, 1}, *out_);
    return cpu_cycles() - t0;
  }

  bool messages_;
  Key key_;
  SockAddr server_;
  std::unique_ptr<NetcodeService> svc_;
  std::unique_ptr<Outbox> out_;
  uint64_t unix_ = 0, mono_ = 1'000'000'000;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// libsodium alone: open and seal of one payload packet's body (IETF
// ChaCha20-Poly1305, 22 bytes of associated data), cycles per pair: the
// median over rounds of kBatch, the statistic the service's figures use.
double sodium_echo_bound(size_t payload, int rounds) {
  std::vector<uint8_t> m(payload, 0x5a), c(payload + 16), p(payload);
  uint8_t key[32], nonce[12] = {}, ad[22] = {};
  randombytes_buf(key, sizeof key);
  unsigned long long clen = 0, plen = 0;
  std::vector<double> per;
  for (int r = 0; r < rounds; ++r) {
    const uint64_t t0 = cpu_cycles();
    for (unsigned j = 0; j < kBatch; ++j) {
      nonce[0] = static_cast<uint8_t>(j);
      crypto_aead_chacha20poly1305_ietf_encrypt(c.data(), &clen, m.data(), m.size(), ad, sizeof ad,
                                                nullptr, nonce, key);
      if (crypto_aead_chacha20poly1305_ietf_decrypt(p.data(), &plen, nullptr, c.data(), clen, ad,
                                                    sizeof ad, nonce, key) != 0)
        std::exit(1);
    }
    per.push_back(static_cast<double>(cpu_cycles() - t0) / kBatch);
  }
  return median(per);
}

// libsodium alone for one handshake on the server: open the 1 KB private
// token (XChaCha20-Poly1305), seal the challenge token (300 B) and the
// challenge packet (308 B); open the response (308 B) and the challenge token;
// seal the keep-alive (8 B).
double sodium_handshake_bound(int rounds) {
  uint8_t key[32], xn[24] = {}, n[12] = {}, ad[30] = {};
  randombytes_buf(key, sizeof key);
  std::vector<uint8_t> tok(1008), tok_c(1024), tok_p(1008), ch(284), ch_c(300), ch_p(284), pk(292),
      pk_c(308), pk_p(292), ka(8), ka_c(24);
  unsigned long long l = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(tok_c.data(), &l, tok.data(), tok.size(), ad, 29,
                                             nullptr, xn, key);
  std::vector<double> per;
  for (int r = 0; r < rounds; ++r) {
    const uint64_t t0 = cpu_cycles();
    for (unsigned j = 0; j < kBatch; ++j) {
      if (crypto_aead_xchacha20poly1305_ietf_decrypt(tok_p.data(), &l, nullptr, tok_c.data(),
                                                     tok_c.size(), ad, 29, xn, key) != 0)
        std::exit(1);
      crypto_aead_chacha20poly1305_ietf_encrypt(ch_c.data(), &l, ch.data(), ch.size(), nullptr, 0,
                                                nullptr, n, key);
      crypto_aead_chacha20poly1305_ietf_encrypt(pk_c.data(), &l, pk.data(), pk.size(), ad, 22,
                                                nullptr, n, key);
      if (crypto_aead_chacha20poly1305_ietf_decrypt(pk_p.data(), &l, nullptr, pk_c.data(),
                                                    pk_c.size(), ad, 22, n, key) != 0 ||
          crypto_aead_chacha20poly1305_ietf_decrypt(ch_p.data(), &l, nullptr, ch_c.data(),
                                                    ch_c.size(), nullptr, 0, n, key) != 0)
        std::exit(1);
      crypto_aead_chacha20poly1305_ietf_encrypt(ka_c.data(), &l, ka.data(), ka.size(), ad, 22,
                                                nullptr, n, key);
    }
    per.push_back(static_cast<double>(cpu_cycles() - t0) / kBatch);
  }
  return median(per);
}

// The TSC's rate, from 100 ms of the steady clock: to turn cycles into
// packets per second of one core.
double tsc_hz() {
  const auto w0 = std::chrono::steady_clock::now();
  const uint64_t c0 = cpu_cycles();
  while (std::chrono::steady_clock::now() - w0 < std::chrono::milliseconds(100)) {
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  return static_cast<double>(cpu_cycles() - c0) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t max_clients = argc > 1 ? static_cast<uint32_t>(std::atoi(argv[1])) : 100000;
  const bool only_handshake = argc > 2 && std::strcmp(argv[2], "handshake") == 0;
  if (!crypto_init()) return 1;
  std::printf(
      "netcode_bench: bypass-udpd's netcode service on one core, batches of %u, cycles "
      "per packet (TSC); bound: libsodium alone for the same cryptography, same run, median of "
      "rounds as for the service\n",
      kBatch);
  const double hz = tsc_hz();
  std::printf("TSC %.2f GHz\n", hz / 1e9);
  Bench b(max_clients);
  std::vector<Client> clients;
  clients.reserve(max_clients);
  // The first 1,024 clients connect one per batch (the clients' work between
  // the server's packets leaves its caches cold), the rest 32 per batch.
  constexpr uint32_t kSingles = 1024;
  std::vector<double> hs1, hs32;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < max_clients;) {
    const uint32_t n = i < kSingles ? 1 : std::min(kBatch, max_clients - i);
    Client c[kBatch];
    const double per = static_cast<double>(b.connect_batch(i, n, c)) / n;
    (n == 1 ? hs1 : hs32).push_back(per);
    clients.insert(clients.end(), c, c + n);
    i += n;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double hs_bound = sodium_handshake_bound(200);
  const double hs_med = median(hs32), hs1_med = median(hs1);
  std::printf(
      "handshake (request + response, server side), batches of %u: %.0f cycles median (%.0f "
      "connections/s per core); libsodium bound %.0f; bound/actual %.2f; one client per batch: "
      "%.0f cycles, bound/actual %.2f (%u clients connected in %.1f s, clients included)\n",
      kBatch, hs_med, hz / hs_med, hs_bound, hs_bound / hs_med, hs1_med, hs_bound / hs1_med,
      max_clients, secs);
  if (only_handshake) return 0;
  // The message layer against raw payloads: 64 B, 1,000 clients, same run.
  {
    constexpr uint32_t kN = 1000;
    Bench raw(kN), messages(kN, true);
    std::vector<Client> rc(kN), mc(kN);
    for (uint32_t i = 0; i < kN; i += kBatch) {
      const uint32_t n = std::min(kBatch, kN - i);
      raw.connect_batch(i, n, &rc[i]);
      messages.connect_batch(i, n, &mc[i]);
    }
    size_t rn = 0, mn = 0;
    std::vector<double> r_per, m_per;
    for (int r = 0; r < 3000; ++r) {
      r_per.push_back(static_cast<double>(raw.echo_batch(rc, rn, 64)) / kBatch);
      m_per.push_back(static_cast<double>(messages.echo_batch(mc, mn, 64)) / kBatch);
    }
    const double rm = median(r_per), mm = median(m_per);
    std::printf(
        "message echo 64 B, one reliable message per packet, %u clients: %.0f cycles/packet "
        "median (%.0fk/s per core); raw payload echo 64 B: %.0f (%.0fk/s); messages/raw "
        "packets per second %.2f\n",
        kN, mm, hz / mm / 1e3, rm, hz / rm / 1e3, rm / mm);
  }
  for (size_t payload : {size_t{100}, size_t{1200}}) {
    const double bound = sodium_echo_bound(payload, 2000);
    for (uint32_t n : {1000u, 10000u, 100000u}) {
      if (n > clients.size()) continue;
      std::vector<Client> some(clients.begin(), clients.begin() + n);
      size_t next = 0;
      std::vector<double> per;
      for (int r = 0; r < 3000; ++r)
        per.push_back(static_cast<double>(b.echo_batch(some, next, payload)) / kBatch);
      // Write back the sequences used.
      std::copy(some.begin(), some.end(), clients.begin());
      std::vector<double> sorted = per;
      std::sort(sorted.begin(), sorted.end());
      std::printf(
          "echo %4zu B, %6u clients: %.0f cycles/packet median (p10 %.0f, p90 %.0f), %.0fk "
          "echoes/s per core; libsodium bound %.0f; bound/actual %.2f\n",
          payload, n, median(per), sorted[sorted.size() / 10], sorted[sorted.size() * 9 / 10],
          hz / median(per) / 1e3, bound, bound / median(per));
    }
  }
  {
    const uint64_t t0c = cpu_cycles();
    const auto [keepalives, flushes] = b.tick_keepalives(150);
    std::printf(
        "keep-alives in one tick, %u idle clients: %llu sent (%llu outbox flushes), %.1f ms of "
        "one core\n",
        max_clients, static_cast<unsigned long long>(keepalives),
        static_cast<unsigned long long>(flushes),
        static_cast<double>(cpu_cycles() - t0c) / hz * 1e3);
  }
  return 0;
}
