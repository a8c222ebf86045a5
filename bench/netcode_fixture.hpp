// The in-memory fixture of the netcode benchmarks (netcode_bench,
// netcode_path_bench): bypass-udpd's netcode service and its clients in one
// process, the service's outbox read back as the clients' input, the time
// set by hand. Connects clients through the real handshake and builds the
// payload packets a connected client sends.
#pragma once

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
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

namespace netcode_fixture {

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

inline SockAddr client_addr(uint32_t i) {
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
  // built outside the timed region; returns the server's cycles. With
  // messages, `per_packet` reliable messages of `payload` bytes share each
  // packet (and come back sharing one).
  uint64_t echo_batch(std::vector<Client>& clients, size_t& next, size_t payload,
                      unsigned per_packet = 1) {
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
        for (unsigned k = 0; k < per_packet; ++k)
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

  // The service, to bind into a data path of one's own; its address.
  NetcodeService& service() { return *svc_; }
  const SockAddr& server() const { return server_; }

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

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace netcode_fixture
