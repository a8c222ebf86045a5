/// @file
/// NetcodeClient: the netcode.io 1.02 client state machine, independent of any
/// transport and clock (PacketSink out, receive() in, time passed in as Now).
/// It connects with a public connect token, trying its server addresses in
/// turn; sends requests, then challenge responses, then keep-alives at 10 Hz;
/// handles denied, challenge, keep-alive, payload and disconnect packets;
/// times out per the token's timeout; and gives up when the token's lifetime
/// (expire - create) has passed since connect(). States and their numbers are
/// the standard's, the negative ones being errors.
///
/// Follows the standard where the reference differs: the token lifetime counts
/// from connect() across all servers (the reference restarts it per server),
/// and a disconnect packet from the server ends in kDisconnected (the reference
/// tries the next server in the token). Its packet sequence advances for every
/// packet sent, requests included, and is kept across server addresses (the
/// client-to-server key is the same for all of them), as the reference does;
/// unlike the reference it is kept across connect() calls too, so a token
/// given again (even after others) never seals a packet under a used nonce.
/// (A token must still not be given to two client processes.)
///
/// No allocation and no syscall after construction.
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

/// Where a client is: the standard's states and numbers. The negative ones
/// are errors the client stopped in; 0 and above are the normal ones.
enum class ClientState : int8_t {
  kConnectTokenExpired = -6,  ///< the token's lifetime passed before a connection was made
  kInvalidConnectToken = -5,  ///< connect() was given a token that does not read or check out
  kConnectionTimedOut = -4,   ///< connected, then nothing heard for the token's timeout
  /// Challenge responses sent to the last server address, but no keep-alive
  /// came within the token's timeout.
  kConnectionResponseTimedOut = -3,
  /// Requests sent to the last server address, but no challenge came within
  /// the token's timeout.
  kConnectionRequestTimedOut = -2,
  kConnectionDenied = -1,          ///< the last server address refused (a full server)
  kDisconnected = 0,               ///< idle: before connect(), or after either side disconnected
  kSendingConnectionRequest = 1,   ///< sending connection requests to the current server
  kSendingConnectionResponse = 2,  ///< challenged: sending challenge responses back
  kConnected = 3,                  ///< given a client slot: payloads flow both ways
};

/// The state's name in snake case ("connection_denied"), for logs and tests;
/// "unknown" for a value that is not a state.
std::string_view client_state_name(ClientState s);

/// What the client application sees. Called from inside the client's calls.
class ClientHandler {
 public:
  virtual ~ClientHandler() = default;
  /// The client went from state `from` to state `to` (called only when they
  /// differ). Does nothing by default.
  virtual void on_state_change(ClientState from, ClientState to) {
    (void)from;
    (void)to;
  }
  /// A payload from the server while connected: 1 to 1200 bytes, decrypted;
  /// valid only during the call. Ignored by default.
  virtual void on_payload(std::span<const uint8_t> payload) { (void)payload; }
};

/// A NetcodeClient's settings; a 0 in either field means its default.
struct NetcodeClientConfig {
  uint64_t send_interval_ns = 100'000'000;  ///< requests, responses, keep-alives: 10 Hz
  uint32_t disconnect_packets = 10;         ///< redundant disconnect packets on disconnect()
};

/// One netcode.io client connection (see the file comment). One thread.
class NetcodeClient {
 public:
  /// `sink` (and `handler`, if not null) must outlive the client.
  explicit NetcodeClient(PacketSink* sink, ClientHandler* handler = nullptr,
                         NetcodeClientConfig config = {});
  /// Wipes the token (its keys too), the challenge token and the send buffer.
  /// Sends nothing: call disconnect() first to tell the server.
  ~NetcodeClient();
  NetcodeClient(const NetcodeClient&) = delete;
  NetcodeClient& operator=(const NetcodeClient&) = delete;

  /// Disconnects first if needed, then reads the 2048-byte public token (an
  /// invalid one: kInvalidConnectToken) and starts with its first server. The
  /// first request goes out at the next update().
  void connect(std::span<const uint8_t> connect_token, Now now);
  /// The same with a token already read: disconnects first if needed, checks
  /// the server count, address types and create <= expire (failing that:
  /// kInvalidConnectToken) and starts with its first server.
  void connect(const ConnectToken& token, Now now);

  /// One datagram, decrypted in place. Only packets from the current server
  /// address, while connecting or connected, are read; a denial moves on to
  /// the next server address. The handler's calls happen inside.
  void receive(const NetcodeAddress& from, std::span<uint8_t> packet, Now now);

  /// Token expiry, timeouts, then the packet due for the state (if the send
  /// interval has passed since the last one). A timeout while connecting
  /// moves on to the next server address in the token.
  void update(Now now);

  /// A payload (1 to 1200 bytes) to the server, sent at once. False when
  /// nothing was sent: not connected, or a size out of that range.
  bool send_payload(std::span<const uint8_t> payload, Now now);

  /// Sends the redundant disconnect packets (in any connecting or connected
  /// state) and goes to kDisconnected; does nothing in any other state.
  void disconnect(Now now);

  /// The state now.
  ClientState state() const { return state_; }
  /// Whether the state is kConnected.
  bool connected() const { return state_ == ClientState::kConnected; }
  /// The slot the server gave this client in its keep-alive (0 when not connected).
  uint32_t client_index() const { return client_index_; }
  /// The server's slot count, from the same keep-alive (0 when not connected).
  uint32_t max_clients() const { return max_clients_; }
  /// The server address being tried or connected to (of type kNone when idle).
  const NetcodeAddress& server_address() const { return server_address_; }
  /// Its index in the token's server list.
  uint32_t server_address_index() const { return server_index_; }
  /// The sequence number the next packet sent will carry (it never goes back).
  uint64_t next_sequence() const { return sequence_; }

  /// Packets the wire layer refused, counted by WireDrop code.
  std::span<const uint64_t, kWireDropCount> drops() const { return drops_; }
  /// Packets read fine but not wanted (wrong source address, or not expected
  /// in the current state).
  uint64_t ignored() const { return ignored_; }

 private:
  void set_state(ClientState s);
  void reset_for_server(Now now);
  bool next_server(Now now);
  void fail(ClientState error);  ///< next server was not possible: end in `error`
  void reset();
  template <typename Write>
  bool send(Now now, Write&& write);

  PacketSink* sink_;
  ClientHandler* handler_;
  SteadyTime time_;  ///< every public call's `now` goes through it first
  NetcodeClientConfig config_;

  ClientState state_ = ClientState::kDisconnected;
  ConnectToken token_{};
  uint32_t server_index_ = 0;
  NetcodeAddress server_address_{};
  uint64_t sequence_ = 0;  ///< never reset: every key's nonces stay fresh
  uint64_t connect_start_ns_ = 0;
  uint64_t last_send_ns_ = 0;
  uint64_t last_receive_ns_ = 0;
  bool send_now_ = false;  ///< the next update() sends whatever the interval says
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
