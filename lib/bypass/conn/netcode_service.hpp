// NetcodeService: a netcode.io 1.02 server (conn/server.hpp) as a datagram
// handler of bypass-udpd, on both backends: `[[udpd.service]] handler =
// "netcode"`. Each worker runs its own server over the datagrams its port
// gives it (the port spreads clients by flow); the servers of one service
// share a ServerShared (token history, client ids, seats, nonce ranges), made
// by the first worker's start(). What the server sends goes to Peers kept per client slot (the
// link header each client came by), so keep-alives and pushes reach clients
// outside the batch that woke it. The application behind it is, for now,
// `payload_echo` (every netcode payload back to its sender, what any netcode
// client understands) or `echo` (bypass's message protocol, msg/, each
// message back on its channel) or `rooms` (join, leave and publish to named
// rooms over messages).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <bypass/conn/connection_handler.hpp>
#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/packet_sink.hpp>
#include <bypass/conn/request_limiter.hpp>
#include <bypass/conn/server.hpp>
#include <bypass/conn/server_shared.hpp>
#include <bypass/conn/token_history.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/core/prefetch.hpp>
#include <bypass/msg/echo_app.hpp>
#include <bypass/msg/message_app.hpp>
#include <bypass/msg/message_server.hpp>
#include <bypass/msg/rooms_app.hpp>
#include <bypass/msg/worker_links.hpp>
#include <bypass/udp/handler.hpp>

namespace bypass::conn {

// Where the workers of one service find their ServerShared: copies of one
// config share it. Not configuration: equal whatever it holds, so a reload
// compares only what the file says.
struct NetcodeSharedSlot {
  std::shared_ptr<std::unique_ptr<ServerShared>> state =
      std::make_shared<std::unique_ptr<ServerShared>>();
  // The message layer's rings between the workers.
  std::shared_ptr<msg::WorkerLinks> links = std::make_shared<msg::WorkerLinks>();
  bool operator==(const NetcodeSharedSlot&) const { return true; }
};

// A program's own message application (msg/message_app.hpp): made once per
// worker when the service starts. Not compared: the service's table, which
// holds the application's keys, is (udp::ServiceConfig::table).
struct NetcodeAppMaker {
  std::function<Expected<std::unique_ptr<msg::MessageApplication>>()> make;
  bool operator==(const NetcodeAppMaker&) const { return true; }
};

// The applications the service runs itself; a program adds others by name.
inline constexpr std::array<std::string_view, 3> kBuiltInApplications = {"payload_echo", "echo",
                                                                         "rooms"};
inline bool is_built_in_application(std::string_view name) {
  return std::find(kBuiltInApplications.begin(), kBuiltInApplications.end(), name) !=
         kBuiltInApplications.end();
}

// What [[udpd.service]] says for handler = "netcode".
struct NetcodeServiceConfig {
  uint64_t protocol_id = 0;
  Key private_key{};                       // from private_key_file; never printed
  std::vector<SockAddr> public_addresses;  // what tokens name; default: ours, this port
  uint32_t max_clients = 256;
  uint32_t keep_alive_ms = 100;
  uint32_t token_lifetime_seconds = 30;  // the backend's: the restart rule
  uint32_t requests_per_second = 10;     // connection requests per source, then refused
  uint32_t request_burst = 20;
  // Per host (an IPv4 address or an IPv6 /64, all its ports), bursts of twice
  // this: bounds one host that cycles through its ports, not a NAT's clients.
  uint32_t host_requests_per_second = 1000;
  // What runs on the connections: "payload_echo", or on messages "echo",
  // "rooms" or an application the program added (then `app` makes it).
  std::string application = "payload_echo";
  NetcodeAppMaker app;
  std::vector<msg::ChannelKind> channels = {msg::ChannelKind::kReliable,
                                            msg::ChannelKind::kUnreliable};
  uint32_t message_memory_mib = 16;  // the worker's message chunks, all connections
  uint32_t max_message = 65536;
  msg::RoomsConfig rooms;
  NetcodeSharedSlot shared;  // made at the first start
  bool operator==(const NetcodeServiceConfig&) const = default;
};

NetcodeAddress to_netcode(const SockAddr& a);
SockAddr from_netcode(const NetcodeAddress& a);

class NetcodeService final : public DatagramHandler,
                             PacketSink,
                             ConnectionHandler,
                             msg::ConnectionTransport {
 public:
  explicit NetcodeService(NetcodeServiceConfig config) : config_(std::move(config)) {}
  ~NetcodeService() override;

  Status start(HandlerContext& ctx) override;
  void on_datagrams(std::span<Datagram> batch, Outbox& out) override;
  uint64_t tick_interval_ns() const override { return 10'000'000; }  // 100 Hz
  void on_tick(Outbox& out) override;
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const override;
  void set_journal(JournalSink* sink) override { journal_ = sink; }
  void list_connections(std::vector<ConnectionRow>& out) const override {
    if (listed_) listed_->read(out);
  }

  const NetcodeServer* server() const { return server_.get(); }
  const msg::MessageServer* messages() const { return messages_.get(); }

 private:
  friend class NetcodeServer;  // calls room(), on_payload()... directly: see serve_directly()
  void send(const NetcodeAddress& to, std::span<const uint8_t> packet) override;
  // Room in the batch's outbox for a packet of up to `max` bytes to `to`, on
  // the path send() takes; nullptr (counted) when there is none. The server
  // seals its packet there, then says its size with commit() (0: none).
  uint8_t* room(const NetcodeAddress& to, size_t max);
  void commit(size_t len) { out_->shrink_last(len); }
  // A connected client's packet opened and passed its replay check: its path
  // back is this packet's (a router's failover, another port), as for a
  // fanout member. Only an authenticated packet may move it.
  void heard(uint32_t client_index) {
    if (!current_ || client_index >= peers_.size()) return;
    const Datagram& d = *current_;
    Peer& p = peers_[client_index];
    bool same = p.port == d.port && p.local == d.dst &&
                p.link_len == (d.link_len >= 12 && d.link_len <= Peer::kMaxLink ? d.link_len : 0);
    for (unsigned i = 0; same && i < 6 && p.link_len; ++i) same = p.link[i] == d.link[6 + i];
    for (unsigned i = 12; same && i < p.link_len; ++i) same = p.link[i] == d.link[i];
    if (!same) d.put_peer(p);
  }
  // While a response is opened: what on_connect() will write for the slot
  // the client is about to take, fetched for writing.
  void prefetch_connect(uint32_t client_index) const {
    if (client_index >= peers_.size()) return;
    prefetch_object<kForWrite>(&peers_[client_index]);
    prefetch_object<kForWrite>(&client_ids_[client_index]);
    listed_->prefetch(client_index);
  }
  void on_connect(uint32_t client_index, uint64_t client_id,
                  std::span<const uint8_t, kUserDataBytes> user_data) override;
  void on_payload(uint32_t client_index, std::span<const uint8_t> payload) override;
  void on_disconnect(uint32_t client_index, DisconnectReason reason) override;
  size_t send_payloads(std::span<const msg::OutPacket> packets) override;
  void disconnect(uint32_t conn) override;
  Now now_of(const Outbox& out) const { return {out.unix_ns / kNanosPerSecond, out.now_ns}; }

  NetcodeServiceConfig config_;
  std::shared_ptr<std::unique_ptr<ServerShared>> shared_;
  std::shared_ptr<msg::WorkerLinks> links_;
  std::unique_ptr<NetcodeServer> server_;
  // By client slot. In a HugeArray (page-aligned, like the server's slots)
  // echo cost 2-3 % more, even at 1,000 clients: kept on the heap.
  std::vector<Peer> peers_;           // the path back
  std::vector<uint64_t> client_ids_;  // for the journal
  JournalSink* journal_ = nullptr;
  std::unique_ptr<ConnectionList> listed_;  // for bypassctl conns
  void note(JournalKind k, uint32_t client_index, uint32_t code);
  std::unique_ptr<RequestLimiter> limiter_;  // connection requests, per address and per host
  msg::EchoApp echo_app_;
  std::unique_ptr<msg::RoomsApp> rooms_app_;
  std::unique_ptr<msg::MessageApplication> own_app_;  // the program's, from config_.app
  std::unique_ptr<msg::MessageServer> messages_;      // "echo": the message layer
  // During a batch or tick: where sends go, the datagram being read, its time.
  Outbox* out_ = nullptr;
  const Datagram* current_ = nullptr;
  NetcodeAddress current_from_;
  const Datagram* held_ = nullptr;  // the request the server holds until its next packet
  NetcodeAddress held_from_;
  Now now_;
  // Written by the worker, read by the control thread (as are the server's
  // own refusal counts, NetcodeServer::drops()).
  Counter connects_, disconnects_, payloads_in_, payloads_out_, outbox_full_, no_path_,
      rate_limited_, host_rate_limited_;
};

}  // namespace bypass::conn
