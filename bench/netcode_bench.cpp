// What a netcode.io server costs on one core, in process: bypass-udpd's
// netcode service (conn/netcode_service.hpp) handed batches of 32 pre-built
// datagrams with the time set by hand, so no generator or socket is the
// limit. Prints cycles per packet (TSC around each batch; building the
// packets is outside the timed region) and, measured in the same run, the
// bound that libsodium alone sets for the same cryptography (as the service
// does it, conn/aead.hpp; libsodium's one-call AEAD printed beside it), and
// their ratio:
//   - payload echo (open a payload packet, seal the echo) at 100 and 1200 B,
//     with 1,000, 10,000 and 100,000 connected clients (the cost must stay
//     flat: lookups are hashed);
//   - connection establishment (request: open the 1 KB token, seal the
//     challenge token and packet; response: open it and the challenge token,
//     seal the keep-alive), 32 clients' packets per batch as a port hands
//     them over, and, for comparison, one client per batch; the bounds'
//     rounds are taken between those batches, so noise weighs on both; beside the
//     bound, the bound for the work the service does (it decrypts only the
//     token's fields), whose ratio shows what is not cryptography;
//   - the message layer's own cost (docs/protocol.md): a reliable 64-byte
//     message echoed, one message per packet (application = "echo", acks
//     and all), against the raw 64-byte payload echo, same run, same clients.
// Run: build/bench/netcode_bench [max clients, default 100000] [handshake|messages]
// ("handshake", "messages": that figure alone, for a profiler)
#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <bypass/conn/aead.hpp>
#include <bypass/conn/challenge_token.hpp>
#include <bypass/conn/client.hpp>
#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_service.hpp>
#include <bypass/conn/packet.hpp>
#include <bypass/core/clock.hpp>
#include <bypass/msg/msg_wire.hpp>

#include "netcode_fixture.hpp"

namespace {

using namespace netcode_fixture;

// The cryptography alone, done one of two ways: bypass's composition of
// libsodium's ChaCha20 and Poly1305 (conn/aead.hpp, what the service runs),
// or libsodium's one-call AEAD functions. Same bytes either way.
struct Crypto {
  bool composed;
  bool token_head = false;  // the private token's fields alone decrypted, as the service does
  void seal(const uint8_t* m, size_t len, uint8_t* c, const uint8_t* ad, size_t adlen,
            const uint8_t* n, const uint8_t* k) const {
    unsigned long long l = 0;
    const bool ok = composed ? aead::seal(m, c, len, c + len, {ad, adlen}, n, k)
                             : crypto_aead_chacha20poly1305_ietf_encrypt(c, &l, m, len, ad, adlen,
                                                                         nullptr, n, k) == 0;
    if (!ok) std::exit(1);
  }
  void open(const uint8_t* c, size_t len, uint8_t* m, const uint8_t* ad, size_t adlen,
            const uint8_t* n, const uint8_t* k) const {  // len: with the tag
    unsigned long long l = 0;
    const bool ok = composed ? aead::open(c, m, len - 16, c + len - 16, {ad, adlen}, n, k)
                             : crypto_aead_chacha20poly1305_ietf_decrypt(m, &l, nullptr, c, len, ad,
                                                                         adlen, n, k) == 0;
    if (!ok) std::exit(1);
  }
  void xopen(const uint8_t* c, size_t len, uint8_t* m, const uint8_t* ad, size_t adlen,
             const uint8_t* n, const uint8_t* k) const {
    unsigned long long l = 0;
    const bool ok = token_head ? aead::xopen_head(c, m, len - 16, kPrivateTokenHeadBytes,
                                                  c + len - 16, {ad, adlen}, n, k)
                    : composed ? aead::xopen(c, m, len - 16, c + len - 16, {ad, adlen}, n, k)
                               : crypto_aead_xchacha20poly1305_ietf_decrypt(m, &l, nullptr, c, len,
                                                                            ad, adlen, n, k) == 0;
    if (!ok) std::exit(1);
  }
};
constexpr Crypto kComposed{true}, kOneCall{false}, kComposedHead{true, true};

// Open and seal of one payload packet's body (IETF ChaCha20-Poly1305, 22
// bytes of associated data), cycles per pair: the median over rounds of
// kBatch, the statistic the service's figures use.
double sodium_echo_bound(const Crypto& crypto, size_t payload, int rounds) {
  std::vector<uint8_t> m(payload, 0x5a), c(payload + 16), p(payload);
  uint8_t key[32], nonce[12] = {}, ad[22] = {};
  randombytes_buf(key, sizeof key);
  std::vector<double> per;
  for (int r = 0; r < rounds; ++r) {
    const uint64_t t0 = cpu_cycles();
    for (unsigned j = 0; j < kBatch; ++j) {
      nonce[0] = static_cast<uint8_t>(j);
      crypto.seal(m.data(), m.size(), c.data(), ad, sizeof ad, nonce, key);
      crypto.open(c.data(), c.size(), p.data(), ad, sizeof ad, nonce, key);
    }
    per.push_back(static_cast<double>(cpu_cycles() - t0) / kBatch);
  }
  return median(per);
}

// The cryptography of one handshake on the server: open the 1 KB private
// token (XChaCha20-Poly1305), seal the challenge token (300 B) and the
// challenge packet (308 B); open the response (308 B) and the challenge token;
// seal the keep-alive (8 B). One round is kBatch handshakes; round() gives
// cycles per handshake, so that rounds can be taken between the service's
// batches and both see the machine in the same state.
class HandshakeBound {
 public:
  explicit HandshakeBound(const Crypto& crypto) : crypto_(crypto) {
    randombytes_buf(key_, sizeof key_);
    unsigned long long l = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(tok_c_.data(), &l, tok_.data(), tok_.size(), ad_, 29,
                                               nullptr, xn_, key_);
  }
  double round() {
    const uint64_t t0 = cpu_cycles();
    for (unsigned j = 0; j < kBatch; ++j) {
      crypto_.xopen(tok_c_.data(), tok_c_.size(), tok_p_.data(), ad_, 29, xn_, key_);
      crypto_.seal(ch_.data(), ch_.size(), ch_c_.data(), nullptr, 0, n_, key_);
      crypto_.seal(pk_.data(), pk_.size(), pk_c_.data(), ad_, 22, n_, key_);
      crypto_.open(pk_c_.data(), pk_c_.size(), pk_p_.data(), ad_, 22, n_, key_);
      crypto_.open(ch_c_.data(), ch_c_.size(), ch_p_.data(), nullptr, 0, n_, key_);
      crypto_.seal(ka_.data(), ka_.size(), ka_c_.data(), ad_, 22, n_, key_);
    }
    return static_cast<double>(cpu_cycles() - t0) / kBatch;
  }

 private:
  Crypto crypto_;
  uint8_t key_[32], xn_[24] = {}, n_[12] = {}, ad_[30] = {};
  std::vector<uint8_t> tok_ = std::vector<uint8_t>(1008), tok_c_ = std::vector<uint8_t>(1024),
                       tok_p_ = std::vector<uint8_t>(1008), ch_ = std::vector<uint8_t>(284),
                       ch_c_ = std::vector<uint8_t>(300), ch_p_ = std::vector<uint8_t>(284),
                       pk_ = std::vector<uint8_t>(292), pk_c_ = std::vector<uint8_t>(308),
                       pk_p_ = std::vector<uint8_t>(292), ka_ = std::vector<uint8_t>(8),
                       ka_c_ = std::vector<uint8_t>(24);
};

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

// The message layer against raw payloads: 64 B, 1,000 clients, same run.
void message_figures(double hz) {
  constexpr uint32_t kN = 1000;
  Bench raw(kN), messages(kN, true);
  std::vector<Client> rc(kN), mc(kN);
  for (uint32_t i = 0; i < kN; i += kBatch) {
    const uint32_t n = std::min(kBatch, kN - i);
    raw.connect_batch(i, n, &rc[i]);
    messages.connect_batch(i, n, &mc[i]);
  }
  size_t rn = 0, mn = 0;
  // Medians of cycles per packet over `rounds` batches, alternated: message
  // echo of `size`-byte messages, `per` to a packet, and raw payload echo of
  // `raw_bytes`.
  struct Pair {
    double messages, raw;
  };
  auto measure = [&](size_t size, unsigned per, size_t raw_bytes, int rounds) {
    std::vector<double> m_per, r_per;
    for (int r = 0; r < rounds; ++r) {
      r_per.push_back(static_cast<double>(raw.echo_batch(rc, rn, raw_bytes)) / kBatch);
      m_per.push_back(static_cast<double>(messages.echo_batch(mc, mn, size, per)) / kBatch);
    }
    return Pair{median(m_per), median(r_per)};
  };
  const Pair one = measure(64, 1, 64, 3000);
  std::printf(
      "message echo 64 B, one reliable message per packet, %u clients: %.0f cycles/packet "
      "median (%.0fk/s per core); raw payload echo 64 B: %.0f (%.0fk/s); messages/raw "
      "packets per second %.2f\n",
      kN, one.messages, hz / one.messages / 1e3, one.raw, hz / one.raw / 1e3,
      one.raw / one.messages);
  // Messages in flight share packets (what bench-messages' load does): 16
  // of 64 B per packet, against the raw echo of a payload that size.
  constexpr unsigned kPer = 16;
  const size_t shared_bytes = msg::kHeaderBytes + kPer * (64 + msg::PacketWriter::kMessageOverhead);
  const Pair shared = measure(64, kPer, shared_bytes, 3000);
  std::printf(
      "message echo 64 B, %u reliable messages per packet: %.0f cycles/packet, %.0f per "
      "message (%.2fM messages/s per core); raw payload echo of the same %zu B: %.0f; the "
      "message layer's own cost %.0f cycles per message\n",
      kPer, shared.messages, shared.messages / kPer, hz / (shared.messages / kPer) / 1e6,
      shared_bytes, shared.raw, (shared.messages - shared.raw) / kPer);
  // 1 KiB messages, bench-messages' other size: one per packet, each packet
  // paying its AEAD over 1 KiB.
  const size_t kib_bytes = msg::kHeaderBytes + 1024 + msg::PacketWriter::kMessageOverhead;
  const Pair kib = measure(1024, 1, kib_bytes, 1000);
  std::printf(
      "message echo 1 KiB, one reliable message per packet: %.0f cycles per message (%.2f us, "
      "%.0fk/s per core); raw payload echo of the same %zu B: %.0f; the message layer's own "
      "cost %.0f\n",
      kib.messages, kib.messages / hz * 1e6, hz / kib.messages / 1e3, kib_bytes, kib.raw,
      kib.messages - kib.raw);
}

int main(int argc, char** argv) {
  const uint32_t max_clients = argc > 1 ? static_cast<uint32_t>(std::atoi(argv[1])) : 100000;
  const bool only_handshake = argc > 2 && std::strcmp(argv[2], "handshake") == 0;
  const bool only_messages = argc > 2 && std::strcmp(argv[2], "messages") == 0;
  if (!crypto_init()) return 1;
  std::printf(
      "netcode_bench: bypass-udpd's netcode service on one core, batches of %u, cycles "
      "per packet (TSC); bound: libsodium alone for the same cryptography, same run, median of "
      "rounds as for the service\n",
      kBatch);
  const double hz = tsc_hz();
  std::printf("TSC %.2f GHz\n", hz / 1e9);
  if (only_messages) {
    message_figures(hz);
    return 0;
  }
  Bench b(max_clients);
  std::vector<Client> clients;
  clients.reserve(max_clients);
  // The first 1,024 clients (half, when fewer than 2,048 are asked for)
  // connect one per batch (the clients' work between the server's packets
  // leaves its caches cold), the rest 32 per batch.
  if (max_clients < 2) {
    std::fprintf(stderr, "netcode_bench: give at least 2 clients (one per batch, and batches)\n");
    return 1;
  }
  const uint32_t kSingles = std::min<uint32_t>(1024, max_clients / 2);
  // The bounds' rounds are taken between the service's batches of 32, about
  // 200 of each in all, so that a noisy neighbour or a frequency change
  // weighs on both sides of a ratio alike; their order turns each time.
  std::vector<double> hs1, hs32, bound_samples, one_call_samples, head_samples;
  HandshakeBound composed(kComposed), one_call(kOneCall), head(kComposedHead);
  constexpr uint32_t kRounds = 200;
  const uint32_t batches = (max_clients - kSingles + kBatch - 1) / kBatch;
  const uint32_t every = std::max<uint32_t>(1, (batches + kRounds - 1) / kRounds);
  const uint32_t per_sample =
      std::max<uint32_t>(1, (kRounds + batches - 1) / std::max(1u, batches));
  unsigned turn = 0;
  auto sample_bounds = [&] {
    for (uint32_t k = 0; k < per_sample; ++k, ++turn) {
      for (unsigned j = 0; j < 3; ++j) {
        switch ((turn + j) % 3) {
          case 0:
            bound_samples.push_back(composed.round());
            break;
          case 1:
            one_call_samples.push_back(one_call.round());
            break;
          default:
            head_samples.push_back(head.round());
            break;
        }
      }
    }
  };
  double secs = 0;
  for (uint32_t i = 0, batch = 0; i < max_clients;) {
    const uint32_t n = i < kSingles ? 1 : std::min(kBatch, max_clients - i);
    Client c[kBatch];
    const auto t0 = std::chrono::steady_clock::now();
    const double per = static_cast<double>(b.connect_batch(i, n, c)) / n;
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    (n == 1 ? hs1 : hs32).push_back(per);
    clients.insert(clients.end(), c, c + n);
    i += n;
    if (n > 1 && batch++ % every == 0) sample_bounds();
  }
  if (bound_samples.empty()) sample_bounds();  // every client came one per batch
  if (hs32.empty()) hs32 = hs1;
  const double hs_bound = median(bound_samples);
  const double hs_one_call = median(one_call_samples);
  const double hs_head = median(head_samples);
  const double hs_med = median(hs32), hs1_med = median(hs1);
  std::printf(
      "handshake (request + response, server side), batches of %u: %.0f cycles median (%.0f "
      "connections/s per core); libsodium bound %.0f (with its one-call AEAD %.0f); "
      "bound/actual %.2f; one client per batch: %.0f cycles, bound/actual %.2f (%u clients "
      "connected in %.1f s, clients included; %zu bound rounds between the batches)\n",
      kBatch, hs_med, hz / hs_med, hs_bound, hs_one_call, hs_bound / hs_med, hs1_med,
      hs_bound / hs1_med, max_clients, secs, bound_samples.size());
  // The service decrypts only the private token's fields (its tag still
  // covers all of it): the same AEAD work, less keystream. Against a bound
  // that does the same, the ratio shows what is not cryptography.
  std::printf(
      "handshake bound with the token's fields alone decrypted, as the service does: %.0f; "
      "bound/actual %.2f; not cryptography: %.0f cycles\n",
      hs_head, hs_head / hs_med, hs_med - hs_head);
  if (only_handshake) return 0;
  message_figures(hz);
  for (size_t payload : {size_t{100}, size_t{1200}}) {
    const double bound = sodium_echo_bound(kComposed, payload, 2000);
    const double one_call = sodium_echo_bound(kOneCall, payload, 2000);
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
          "echoes/s per core; libsodium bound %.0f (with its one-call AEAD %.0f); bound/actual "
          "%.2f\n",
          payload, n, median(per), sorted[sorted.size() / 10], sorted[sorted.size() * 9 / 10],
          hz / median(per) / 1e3, bound, one_call, bound / median(per));
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
