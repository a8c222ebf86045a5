// The netcode.io 1.02 client state machine, independent of any transport and
// clock (PacketSink out, receive() in, time passed in as Now): connects with a
// public connect token, trying its server addresses in turn; sends requests,
// then challenge responses, then keep-alives at 10 Hz; handles denied,
// challenge, keep-alive, payload and disconnect packets; times out per the
// token's timeout; gives up when the token's lifetime (expire - create) has
// passed since connect(). States and their numbers are the standard's, the
// negative ones being errors.
//
// Follows the standard where the reference differs: the token lifetime counts
// from connect() across all servers (the reference restarts it per server),
// and a disconnect packet from the server ends in kDisconnected (the reference
// tries the next server in the token). Its packet sequence advances for every
// packet sent, requests included, and is kept across server addresses (the
// client-to-server key is the same for all of them), as the reference does;
// unlike the reference it is kept across connect() calls too, so a token
// given again (even after others) never seals a packet under a used nonce.
// (A token must still not be given to two client processes.)
//
// No allocation and no syscall after construction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_now.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/packet.hpp>
#include <bypass/conn/packet_sink.hpp>
#include <bypass/conn/replay.hpp>
#include <bypass/conn/wire_drops.hpp>

namespace bypass::conn {

enum class ClientState : int8_t {
  kConnectTokenExpired = -6,
  kInvalidConnectToken = -5,
  kConnectionTimedOut = -4,
  kConnectionResponseTimedOut = -3,
  kConnectionRequestTimedOut = -2,
  kConnectionDenied = -1,
  kDisconnected = 0,
  kSendingConnectionRequest = 1,
  kSendingConnectionResponse = 2,
  kConnected = 3,
};

std::string_view client_state_name(ClientState s);

// What the client application sees. Called from inside the client's calls.
class ClientHandler {
 public:
  virtual ~ClientHandler() = default;
  virtual void on_state_change(ClientState from, ClientState to) {
    (void)from;
    (void)to;
  }
  // 1 to 1200 bytes, decrypted; valid only during the call.
  virtual void on_payload(std::span<const uint8_t> payload) { (void)payload; }
};

struct NetcodeClientConfig {
  uint64_t send_interval_ns = 100'000'000;  // requests, responses, keep-alives: 10 Hz
  uint32_t disconnect_packets = 10;         // redundant disconnect packets on disconnect()
};

class NetcodeClient {
 public:
  // `sink` (and `handler`, if not null) must outlive the client.
  explicit NetcodeClient(PacketSink* sink, ClientHandler* handler = nullptr,
                         NetcodeClientConfig config = {});
  ~NetcodeClient();
  NetcodeClient(const NetcodeClient&) = delete;
  NetcodeClient& operator=(const NetcodeClient&) = delete;

  // Disconnects first if needed, then reads the 2048-byte public token (an
  // invalid one: kInvalidConnectToken) and starts with its first server. The
  // first request goes out at the next update().
  void connect(std::span<const uint8_t> connect_token, Now now);
  void connect(const ConnectToken& token, Now now);

  // One datagram. Only packets from the current server address are read.
  void receive(const NetcodeAddress& from, std::span<uint8_t> packet, Now now);

  // Token expiry, timeouts, then the packet due for the state (if the send
  // interval has passed since the last one).
  void update(Now now);

  // A payload (1 to 1200 bytes) to the server; false unless connected.
  bool send_payload(std::span<const uint8_t> payload, Now now);

  // Sends the redundant disconnect packets (in any connecting or connected
  // state) and goes to kDisconnected.
  void disconnect(Now now);

  ClientState state() const { return state_; }
  bool connected() const { return state_ == ClientState::kConnected; }
  uint32_t client_index() const { return client_index_; }
  uint32_t max_clients() const { return max_clients_; }
  const NetcodeAddress& server_address() const { return server_address_; }
  uint32_t server_address_index() const { return server_index_; }
  uint64_t next_sequence() const { return sequence_; }

  // Packets the wire layer refused, by WireDrop; and packets read fine but not
  // wanted (wrong source address, or not expected in the current state).
  std::span<const uint64_t, kWireDropCount> drops() const { return drops_; }
  uint64_t ignored() const { return ignored_; }

 private:
  void set_state(ClientState s);
  void reset_for_server(Now now);
  bool next_server(Now now);
  void fail(ClientState error);  // next server was not possible: end in `error`
  void reset();
  template <typename Write>
  bool send(Now now, Write&& write);

  PacketSink* sink_;
  ClientHandler* handler_;
  SteadyTime time_;  // every public call's `now` goes through it first
  NetcodeClientConfig config_;

  ClientState state_ = ClientState::kDisconnected;
  ConnectToken token_{};
  uint32_t server_index_ = 0;
  NetcodeAddress server_address_{};
  uint64_t sequence_ = 0;  // never reset: every key's nonces stay fresh
  uint64_t connect_start_ns_ = 0;
  uint64_t last_send_ns_ = 0;
  uint64_t last_receive_ns_ = 0;
  bool send_now_ = false;  // the next update() sends whatever the interval says
  uint64_t challenge_sequence_ = 0;
  std::array<uint8_t, kChallengeTokenBytes> challenge_token_{};
  uint32_t client_index_ = 0;
  uint32_t max_clients_ = 0;
  ReplayProtection replay_;

  std::array<uint64_t, kWireDropCount> drops_{};
  uint64_t ignored_ = 0;
  Packet rx_;
  std::array<uint8_t, kMaxPacketBytes> tx_{};
};

}  // namespace bypass::conn
