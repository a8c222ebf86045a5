// The netcode.io 1.02 server state machine (netcode 1.4.5 rules), independent
// of any transport and of any clock: the caller hands it datagrams with their
// source address and the time, and it hands back datagrams through a
// PacketSink and events through a ConnectionHandler.
//
// Connection requests: wire checks and token decryption (packet.hpp), then
// our address in the token, address / client id not connected yet, token
// history (token_history.hpp), server full -> denied, encryption mapping,
// challenge. Responses: challenge token, not connected, full -> denied, a
// free slot (the last freed, O(1)), token consumed, keep-alive, on_connect. Connected clients:
// replay protection, keep-alives at the configured interval, confirmation, timeouts, disconnects
// (ten redundant packets when we end it). Every refusal is counted under a ServerDrop reason.
//
// Nonces: per-slot packets use the slot's sequence from 0; challenge and denied
// packets, sealed with the same per-token key, use the global sequence from
// this server's part of [2^63, 2^64) (ServerShared gives each server its own
// 2^57), re-seeded by every construction (a start); no range may reach
// another, checked before each send. Challenge tokens use a challenge key drawn at
// construction with a sequence from 0. Nothing is sent to an address before a
// connect token decrypted from it: denied and challenge go to the request's
// source, everything else to an address holding an encryption mapping.
//
// Memory, allocated by create() and never after: kBytesPerClient (820 bytes
// at most) per client slot, of which 40 are the replay window, 64 the slot,
// and 4 x 180 its four encryption mappings with their index slots. What the
// servers of a service share is separate: ServerShared::kBytesPerClient (768)
// per client of the service (the token history, 8 x max clients as the
// reference sizes it, and the client ids). 100,000 clients: 82 MB per worker
// + 77 MB shared. Lookups by address and by client id go through keyed
// open-addressing indexes (O(1)); update() walks the 48-byte slots once.
//
// Threading: none inside. One thread at a time per server; servers on
// several threads share a ServerShared, which is lock-free. The per-packet calls (receive,
// update, send_payload) allocate nothing, take no lock and make no syscall.
// The PacketSink must not call receive() synchronously (queue instead).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <bypass/conn/connection_handler.hpp>
#include <bypass/conn/encryption_mappings.hpp>
#include <bypass/conn/keyed_hash.hpp>
#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_now.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/packet.hpp>
#include <bypass/conn/packet_sink.hpp>
#include <bypass/conn/replay.hpp>
#include <bypass/conn/server_drops.hpp>
#include <bypass/conn/server_shared.hpp>
#include <bypass/conn/token_history.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/core/huge_array.hpp>
#include <bypass/core/prefetch.hpp>
#include <bypass/core/status.hpp>

namespace bypass::conn {

class NetcodeService;

struct NetcodeServerConfig {
  uint64_t protocol_id = 0;
  Key private_key{};  // shared with the backend; all zeros is refused
  // The addresses this server answers as, exactly as the backend writes them
  // into private connect tokens (address and port). 1 to 32.
  std::vector<NetcodeAddress> public_addresses;
  uint32_t max_clients = 0;                       // 1 .. kMaxClients
  uint64_t keep_alive_interval_ns = 100'000'000;  // 10 Hz
  // Restart rule: requests whose token expires before start + this are
  // refused (token_predates_start). Set it to the backend's token lifetime.
  // <= 0 means the default of 30 seconds.
  int64_t max_connect_token_lifetime_seconds = 30;
  uint32_t disconnect_packets = 10;  // redundant disconnect packets we send, 1 .. 64
};

class NetcodeServer {
 public:
  static constexpr uint32_t kMaxClients = 1u << 20;
  static constexpr uint32_t kMappingsPerClient = 4;
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr int64_t kDefaultTokenLifetimeSeconds = 30;
  static constexpr uint64_t kGlobalSequenceStart = 1ULL << 63;
  // Each server's part of the global range: 2^63 / ServerShared::kMaxServers.
  static constexpr uint64_t kGlobalPartition = kGlobalSequenceStart / ServerShared::kMaxServers;
  // Mapping entries update() looks at per call for expired ones.
  static constexpr uint32_t kSweepPerUpdate = 1024;

  // Starts a server: draws the challenge key, takes a part of the global
  // sequence range from `shared`, and fixes the restart rule's minimum expiry
  // at now + lifetime. `shared`, `sink` and `handler` must outlive the server;
  // `handler` may be null (no callbacks). `shared` is used as it is (give each
  // start a fresh one; the servers of one service on several workers share
  // one); its max_clients is the service's, config.max_clients this server's
  // slots (at most the service's).
  static Expected<std::unique_ptr<NetcodeServer>> create(const NetcodeServerConfig& config,
                                                         ServerShared* shared, PacketSink* sink,
                                                         ConnectionHandler* handler, Now now);
  ~NetcodeServer();
  NetcodeServer(const NetcodeServer&) = delete;
  NetcodeServer& operator=(const NetcodeServer&) = delete;

  // `service` is this server's sink and handler (it passed itself to
  // create()): packets and payloads then go to it by a direct call, as it is
  // final, instead of a virtual call per packet.
  void serve_directly(NetcodeService* service) { service_ = service; }

  // One datagram from `from`. Encrypted bodies are decrypted in place; a
  // payload handed to on_payload points into `packet`. `mapping_hint`: what
  // prefetch() found for `from`, saving a lookup.
  void receive(const NetcodeAddress& from, std::span<uint8_t> packet, Now now,
               uint32_t mapping_hint = kNone);
  // As receive(), for a caller that hands over batches: a connection request
  // is read (its token opened) at once but acted on at the next call or at
  // end_batch(). Its client id, known only once the token is open, names the
  // shared client-id table's entry that the checks read; held back, that entry
  // comes into cache while the next packet is opened instead of stalling
  // (some hundreds of cycles at 100,000 clients). A packet of another kind
  // first has the held request acted on, so effects keep the arrival order.
  // The caller's sink must still know how to reach the held request's source.
  // True if it holds this packet, a request, now.
  bool receive_in_batch(const NetcodeAddress& from, std::span<uint8_t> packet, Now now,
                        uint32_t mapping_hint = kNone);
  // Acts on the request receive_in_batch() holds, if any. update() and
  // disconnect_all() call it first too.
  void end_batch();
  bool holding() const { return holding_; }
  // True while end_batch() acts on a held request: what the server sends
  // then answers that request, not the packet being read.
  bool acting_on_held() const { return acting_on_held_; }
  // Before receive() of a batch: fetches into cache what each packet will
  // touch (the address index for all; for a packet of a connection, prefix
  // byte not 0, also the mapping, the client's slot and replay window), in
  // passes over the whole batch so the misses overlap instead of following
  // one another. No effect but on timing, and
  // each source's mapping (or kNone) in `hints`, for receive().
  void prefetch(std::span<const NetcodeAddress> from, const uint8_t* prefix, uint32_t* hints) const;

  // Times out silent clients, sends a keep-alive to every connected client
  // nothing was sent to for keep_alive_interval_ns, and reclaims a few
  // expired encryption mappings.
  void update(Now now);

  // A payload packet (1 to 1200 bytes) to a connected client; an unconfirmed
  // client gets a keep-alive first. False if the size or the slot is wrong or
  // sealing failed.
  bool send_payload(uint32_t client_index, std::span<const uint8_t> payload, Now now);

  // Sends the redundant disconnect packets, frees the slot, then
  // on_disconnect(kByUs). Nothing if the slot is not connected.
  void disconnect(uint32_t client_index, Now now);
  void disconnect_all(Now now);

  bool connected(uint32_t client_index) const;
  uint64_t client_id(uint32_t client_index) const;                    // 0 if not connected
  const NetcodeAddress* client_address(uint32_t client_index) const;  // null if not connected
  uint64_t next_sequence(uint32_t client_index) const;                // 0 if not connected
  uint32_t num_connected() const { return num_connected_.load(std::memory_order_relaxed); }
  uint32_t max_clients() const { return max_clients_; }
  uint64_t global_sequence() const { return global_sequence_; }
  uint64_t min_expire_timestamp() const { return min_expire_timestamp_; }
  // Fixes the restart rule's start at `now` (once): tokens must expire at or
  // after now + the token lifetime. Called by the first packet or tick, or
  // sooner by an owner that starts serving at once (a program's start; a
  // reload builds a server while the old one serves, so it waits).
  void begin_serving(Now now);
  const EncryptionMappings& mappings() const { return mappings_; }

  // Refusals by reason, indexed by ServerDrop (names: server_drop_name()).
  // Read by the control thread while the worker counts (Counter: relaxed).
  std::span<const Counter, kServerDropCount> drops() const { return drops_; }
  uint64_t drop_count(ServerDrop d) const { return drops_[static_cast<size_t>(d)].get(); }

  struct Slot {
    uint64_t last_send_ns = 0;
    uint64_t last_receive_ns = 0;
    uint64_t timeout_ns = 0;  // 0: never times out (token timeout <= 0)
    uint64_t sequence = 0;    // next per-slot packet sequence
    uint64_t client_id = 0;
    ClaimTable::Ref id_claim;  // the client id, in the service's table
    uint32_t mapping = kNone;
    bool connected = false;
    bool confirmed = false;
  };
  // Everything create() allocates per client slot (the history aside).
  static constexpr size_t kBytesPerClient =
      sizeof(Slot) + sizeof(ReplayProtection) + sizeof(uint32_t) /* free heap */ +
      kMappingsPerClient * EncryptionMappings::kBytesPerMapping;

 private:
  NetcodeServer(const NetcodeServerConfig& config, ServerShared* shared, uint32_t partition,
                PacketSink* sink, ConnectionHandler* handler, Now now);

  void count(ServerDrop d) { drops_[static_cast<size_t>(d)].add(); }
  void count(WireDrop d) { count(server_drop(d)); }

  void on_request(const NetcodeAddress& from, const ConnectionRequest& request, Now now);
  void on_response(const NetcodeAddress& from, const Packet& packet, uint32_t mapping, Now now);
  void install(uint32_t mapping, uint64_t client_id, ClaimTable::Ref id_claim,
               std::span<const uint8_t, kUserDataBytes> user_data, Now now);
  void free_slot(uint32_t client_index);

  bool is_our_address(std::span<const NetcodeAddress> token_servers) const;
  uint32_t pop_free_slot();
  void push_free_slot(uint32_t client_index);

  // Seals a packet with the global sequence and sends it to `to`.
  template <typename Write>
  bool send_global(const NetcodeAddress& to, const Key& key, Write&& write);
  // Seals a packet with the slot's key and sequence and sends it to the client.
  template <typename Write>
  bool send_to_slot(uint32_t client_index, Now now, Write&& write);
  bool send_keep_alive(uint32_t client_index, Now now);

  NetcodeServerConfig config_;
  ServerShared* shared_;
  SteadyTime time_;  // every public call's `now` goes through it first
  TokenHistory* history_;
  PacketSink* sink_;
  ConnectionHandler* handler_;
  NetcodeService* service_ = nullptr;  // sink and handler both, called directly
  // Per packet: to the service directly when it is both (no virtual call), else through the
  // interfaces. write_out() seals a packet into the service's outbox, or into tx_ for the sink.
  template <typename Write>
  bool write_out(const NetcodeAddress& to, const Key& key, uint64_t sequence, Write&& write);
  void deliver(uint32_t client_index, std::span<const uint8_t> payload);
  uint32_t max_clients_;

  Key challenge_key_{};
  uint64_t challenge_sequence_ = 0;
  uint64_t global_sequence_ = kGlobalSequenceStart;
  uint64_t global_end_ = 0;  // the end of this server's part (0: 2^64)
  uint64_t min_expire_timestamp_ = 0;
  uint64_t token_lifetime_ = 0;
  bool serving_ = false;  // the rule's start is fixed (begin_serving)

  HugeArray<Slot> slots_;
  HugeArray<ReplayProtection> replay_;
  std::vector<uint32_t> free_slots_;  // stack of free slot indices: the last freed is reused first
  uint32_t free_slot_count_ = 0;
  std::atomic<uint32_t> num_connected_{0};  // the worker writes, the control thread reads
  EncryptionMappings mappings_;

  std::array<Counter, kServerDropCount> drops_{};
  // True if it held the packet (only when hold_requests).
  bool receive(const NetcodeAddress& from, std::span<uint8_t> packet, Now now,
               uint32_t mapping_hint, bool hold_requests);
  void act_on_request(const NetcodeAddress& from, Packet& p, Now now);

  // What receive() read, in two buffers (reused, so no call zero-fills
  // 1.2 KB): the one read into, and a request held for end_batch().
  std::array<Packet, 2> rx_;
  uint8_t reading_ = 0;  // rx_[reading_] is read into; rx_[reading_ ^ 1] is held
  // Before install() writes them: a free slot and its replay window, both
  // lines of each (neither is 64-byte aligned, so most of them span two).
  void prefetch_slot(uint32_t c) const {
    prefetch_object<kForWrite>(&slots_[c]);
    prefetch_object<kForWrite>(&replay_[c]);
  }
  bool holding_ = false;
  bool acting_on_held_ = false;
  NetcodeAddress held_from_;
  Now held_now_;
  alignas(64) std::array<uint8_t, kMaxPacketBytes> tx_{};
};

}  // namespace bypass::conn
