/// @file
/// Session: one side of one connection of bypass's message protocol
/// (docs/protocol.md) over a transport that carries packets of up to 1200
/// bytes with integrity but no delivery guarantee (a netcode connection).
/// Messages go on channels, reliable-ordered or unreliable; they are queued by
/// send(), coalesced into as few packets as fit and put on the wire by
/// flush(), which the owner calls at the end of each burst. Packet acks,
/// RTT/jitter, retransmission with backoff, a congestion window (AIMD), the
/// peer's receive window, ping/pong, close and idle timeout live here.
/// One thread; no allocation after open(); time comes from the owner.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/msg/chunk_pool.hpp>
#include <bypass/msg/msg_drops.hpp>
#include <bypass/msg/msg_wire.hpp>
#include <bypass/msg/packet_batch.hpp>

namespace bypass::msg {

class Session;

/// Close codes (WebSocket's where one fits, ours from 4000).
enum CloseCode : uint16_t {
  kCloseNormal = 1000,         ///< done, as agreed
  kCloseGoingAway = 1001,      ///< the side is leaving (a server shutting down)
  kCloseProtocolError = 1002,  ///< malformed frames past the limit
  kCloseLost = 1006,           ///< never sent: the transport went away
  kCloseTooBig = 1009,         ///< a message over what the receiver accepts
  kCloseIdle = 4000,           ///< nothing heard for idle_timeout
  kCloseSlowConsumer = 4001,   ///< a member that did not keep up (rooms)
  kCloseBadVersion = 4002,     ///< a message protocol version we do not speak
  kCloseNoAck = 4003,          ///< our reliable data unacked for idle_timeout, the peer talking
  kCloseStalled = 4004,        ///< reliable fragments held, none completing, for idle_timeout
};

/// What the application sees of its sessions. Called from inside receive(),
/// tick() and flush(); a callback may call send() and close() on any session
/// of the same owner, never receive().
class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  /// Hellos exchanged: messages may flow both ways.
  virtual void on_open(Session& s) = 0;
  /// A whole message; bytes valid only during the call. Return false when
  /// it cannot be taken now (the application's own queue is full): a reliable
  /// message is then offered again later (it stays unacknowledged or held, so
  /// the peer's window fills and it slows down), an unreliable one is dropped.
  virtual bool on_message(Session& s, uint8_t channel, bool text,
                          std::span<const uint8_t> bytes) = 0;
  /// Once per session that opened, whoever closed it.
  virtual void on_close(Session& s, uint16_t code, std::string_view reason) = 0;
  /// send() refused for a full queue earlier; there is room again.
  virtual void on_writable(Session& s) { (void)s; }
};

/// What all sessions of one owner count together. Written by the owner's
/// thread only, read by anyone (the control thread's reports): Counters.
struct SessionCounters {
  Counter drops[MsgDrop::kEnd];  ///< frames and packets dropped, by reason (msg_drops.hpp)
  Counter messages_in;           ///< whole messages delivered to the application
  Counter messages_out;          ///< whole messages queued by send()
  Counter packets_in;            ///< packets received
  Counter packets_out;           ///< packets put on the wire
  Counter ack_only;              ///< of those, packets that carried only acks
  Counter retransmits;           ///< fragments sent again, for whatever reason
  Counter fast_retransmits;      ///< fragments marked for resend as later packets were acked
  Counter packets_lost;          ///< packets taken for lost
  /// Packets taken for lost that the peer acknowledged after all: a delay,
  /// not a loss.
  Counter spurious_losses;
  Counter queue_full;        ///< send() refused: the session's queue was full
  Counter no_memory;         ///< send() refused: the owner's chunk pool was short
  Counter closed_malformed;  ///< sessions closed with 1002 for malformed frames
  Counter closed_stalled;    ///< sessions closed with 4004
};

/// A session's settings; both sides of a connection must agree on the channels.
struct SessionConfig {
  /// The channels, in order (a message names its channel by index).
  std::vector<ChannelKind> channels = {ChannelKind::kReliable, ChannelKind::kUnreliable};
  uint32_t max_message = kMaxMessageBytes;  ///< what this side accepts
  uint32_t send_queue = 256;   ///< fragments queued per session, unsent or unacked (at most 2^24)
  uint32_t ahead_buffer = 64;  ///< fragments held ahead of order per session (at most 896)
  uint32_t initial_cwnd = 16;  ///< packets in flight
  uint32_t max_cwnd = 1024;    ///< packets in flight at most
  uint64_t initial_rto_ns = 200'000'000;      ///< retransmission timeout before an RTT sample
  uint64_t min_rto_ns = 20'000'000;           ///< the retransmission timeout's floor
  uint64_t max_rto_ns = 1'000'000'000;        ///< its ceiling, backoff included
  uint64_t ping_interval_ns = 1'000'000'000;  ///< a ping after this long without one
  uint64_t idle_timeout_ns = 10'000'000'000;  ///< closed with 4000 after this long unheard
  uint64_t close_linger_ns = 1'000'000'000;   ///< how long close() waits for queued data
  uint32_t max_malformed = 8;                 ///< then close with 1002
  uint32_t close_repeats = 3;                 ///< close frames sent, an rto apart
};

/// What send() did with a message.
enum class SendResult : uint8_t {
  kOk,          ///< queued
  kQueueFull,   ///< on_writable() follows when there is room
  kNoMemory,    ///< the owner's chunk pool is empty; on_writable() follows
  kBadChannel,  ///< no such channel
  kTooBig,      ///< over the peer's max_message
  kBadUtf8,     ///< text that is not UTF-8
  kNotOpen,     ///< closing or closed
};
/// Its name, for messages and tests ("queue_full").
const char* to_string(SendResult r);

/// Which side of the connection a session is.
enum class Role : uint8_t {
  kServer,  ///< answers the client's hello
  kClient,  ///< sends the first hello
};
/// Where a session is in its life.
enum class SessionState : uint8_t {
  kIdle,     ///< not opened yet
  kHello,    ///< hello sent or awaited
  kOpen,     ///< messages flow both ways
  kClosing,  ///< closing: queued data and the close frame go out first
  kClosed,   ///< finished: the owner may drop the transport
};

/// One side of one connection (see the file comment).
class Session final {
 public:
  /// Everything passed must outlive the session; `config` and `pool` may be
  /// shared by the sessions of one owner.
  Session(Role role, const SessionConfig* config, ChunkPool* pool, MessageHandler* handler,
          PacketBatch* out, SessionCounters* counters);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// A new connection (the previous one's state is dropped, its chunks freed).
  void open(uint64_t now_ns);

  /// One packet from the peer, as the transport delivered it.
  void receive(std::span<const uint8_t> packet, uint64_t now_ns);

  /// Queues a whole message; nothing goes out before flush().
  SendResult send(uint8_t channel, bool text, std::span<const uint8_t> bytes);
  /// Queues a message already cut into this session's pool's chunks (a full
  /// kFragmentBytes each but the last), sharing them rather than copying: a
  /// room publication framed once for every member. `bytes` is its length.
  /// Text must have been checked as UTF-8 by the caller.
  SendResult send_shared(uint8_t channel, bool text, std::span<const uint32_t> chunks,
                         size_t bytes);

  /// Closes with a code and a UTF-8 reason (cut at 123 bytes): queued data
  /// goes first (for up to close_linger), then the close frame, then
  /// on_close(). The owner drops the transport once finished().
  void close(uint16_t code, std::string_view reason);

  /// The transport is gone: on_close() if it was open (1006, or the code of a
  /// close already sent or received); chunks freed.
  void lost();

  /// Timers: retransmission, packet loss, ping, idle timeout, close linger.
  void tick(uint64_t now_ns);
  /// Puts what is queued (and acks owed) on the wire.
  void flush(uint64_t now_ns);
  /// When tick() next has work: at once (the next tick) while anything is in
  /// flight, queued, owed or closing; otherwise the next ping or idle
  /// timeout. An owner ticks a session only from then on, so idle
  /// connections cost nothing between pings.
  uint64_t next_deadline() const;

  /// Where the session is in its life.
  SessionState state() const { return state_; }
  /// Whether send() takes messages now.
  bool open_for_messages() const { return state_ == SessionState::kOpen; }
  /// Closed: the owner may drop the transport.
  bool finished() const { return state_ == SessionState::kClosed; }
  /// Whether on_open() ran for this connection.
  bool opened_once() const { return opened_; }
  /// Whether flush() has something to put on the wire.
  bool want_flush() const { return ack_owed_ || pending_ > 0 || control_owed(); }

  /// The smoothed round-trip time.
  uint64_t srtt_ns() const { return srtt_; }
  /// The round-trip time's variation (jitter).
  uint64_t rttvar_ns() const { return rttvar_; }
  /// The retransmission timeout now.
  uint64_t rto_ns() const { return rto_; }
  /// The congestion window, in packets.
  uint32_t cwnd() const { return static_cast<uint32_t>(cwnd_); }
  /// Packets sent and not yet acked or taken for lost.
  uint32_t in_flight() const { return in_flight_; }
  /// Fragments in the send queue, unsent or unacked (not those done with,
  /// whose entries are only waiting to be taken out).
  uint32_t queued() const { return tail_ - head_ - done_; }
  /// Whether the send queue has room now for a message of `bytes`.
  bool has_room(size_t bytes) const {
    return out_limit_ - std::min(queued(), out_limit_) >= fragments_for(bytes);
  }
  /// The fragments the peer said it can take ahead of order (its receive window).
  uint32_t peer_window() const { return peer_window_; }
  /// The largest message the peer accepts, from its hello.
  uint32_t peer_max_message() const { return peer_max_message_; }
  /// Chunks this session holds, or shares, in its send queue and reassembly:
  /// what ChunkPool::may_take() weighs.
  uint32_t holding() const { return queued() + held_used_; }
  /// The round trip of the last ping answered.
  uint64_t last_ping_rtt_ns() const { return ping_rtt_; }
  /// The code it closed with (0 while open).
  uint16_t close_code() const { return close_code_; }
  /// The channels, as configured.
  const std::vector<ChannelKind>& channels() const { return channels_; }
  /// The config it was made with.
  const SessionConfig& config() const { return *config_; }
  /// The time of its owner's latest call into it (receive, tick, flush).
  uint64_t now_ns() const { return now_; }

  uint32_t id = 0;                       ///< the owner's: which connection this is
  uint64_t client_id = 0;                ///< the connect token's client id
  std::array<uint8_t, 256> user_data{};  ///< the connect token's user data
  void* user = nullptr;                  ///< the application's, as it likes

 private:
  /// Where a queued fragment is.
  enum class OutState : uint8_t {
    kQueued,    ///< not sent yet
    kInFlight,  ///< sent, not acked
    kResend,    ///< taken for lost: to send again (reliable)
    kDone,      ///< acked, or unreliable and sent: its entry waits to be taken out
  };
  struct Out {
    uint32_t chunk;
    uint16_t len;
    uint16_t msg_seq;
    uint16_t packet;  ///< sent in
    uint8_t channel, index, count;
    bool text;
    OutState state;
    uint8_t sends;
    uint64_t sent_ns;
  };
  struct Sent {
    uint16_t seq;
    bool valid, acked, data, lost;
    bool eliciting;  ///< the peer answers it at once: a fair RTT sample
    /// Carries the persist probe (a resend while the peer's window is 0):
    /// its application refuses, so no ack is no sign of congestion.
    bool probe;
    uint64_t sent_ns;
  };
  struct Held {      ///< a fragment (or early single message) waiting for the rest
    uint32_t chunk;  ///< kNone: slot free
    uint16_t msg_seq, len;
    uint8_t channel, index, count;
    bool text, ahead;
    bool unreliable;  ///< on an unreliable channel
    uint16_t since;   ///< when it came (coarse_now())
  };

  /// The frames of a received packet, in order (receive() visits them).
  template <class V>
  friend DropReason visit_frames(std::span<const uint8_t> packet, V& v);
  void on_hello(const Hello& h);
  void on_ping(uint32_t id);
  void on_pong(uint32_t id);
  void on_close(const CloseFrame& c);
  void on_message(const MessageFrame& m);

  void drop(DropReason r);
  void reset();
  void process_acks(const Header& h, uint64_t now);
  void note_received(uint16_t seq);
  void on_rtt_sample(uint64_t rtt);
  void mark_lost(Sent& s, uint64_t now);
  void on_loss(uint16_t seq, uint64_t now);
  void on_late_acks(uint32_t late, uint32_t in_episode);
  bool deliver(uint8_t channel, bool text, std::span<const uint8_t> bytes);
  /// What became of a message whose fragments may all be held.
  enum class Completion : uint8_t {
    kIncomplete,  ///< a fragment is still missing
    kDelivered,   ///< whole, and the application took it
    kRefused,     ///< whole, and the application refused it for now
  };
  void reliable_frame(const MessageFrame& m);
  void unreliable_frame(const MessageFrame& m);
  bool hold(const MessageFrame& m, bool ahead);
  bool is_held(const MessageFrame& m) const;
  /// Frees the first partial unreliable message held, but `m`'s own.
  bool evict_unreliable(const MessageFrame& m);
  /// Frees unreliable partial messages held for max_rto: their missing
  /// fragments are never resent (counted msg_stale).
  void forget_old_partials();
  /// How far ahead of the next expected message a reliable one may be.
  static constexpr int kReliableWindow = 1024;
  /// ahead_buffer, kept small enough that a sender within the window never
  /// runs past kReliableWindow: the window and the message in flight past
  /// it (kMaxFragments each at most) stay inside.
  uint32_t ahead_limit() const {
    return std::min<uint32_t>(config_->ahead_buffer, kReliableWindow - 2 * kMaxFragments);
  }
  /// Held::since's clock: the time in units of 2^20 ns (about 1 ms), wrapping.
  static constexpr int kCoarseShift = 20;
  uint16_t coarse_now() const { return static_cast<uint16_t>(now_ >> kCoarseShift); }
  Completion try_complete(uint8_t channel, uint16_t seq);
  uint32_t held_count() const { return held_used_; }
  void drain(uint8_t channel);
  void free_held(size_t i);
  /// Frees held fragments of messages behind the channel's next expected one.
  void forget_behind(uint8_t channel);
  void skip_malformed(const MessageFrame& m);  ///< a malformed reliable message: past it
  /// The channel's next expected message is done with (delivered or skipped):
  /// on to the one after, and its stall clock starts again.
  void advance(uint8_t channel);
  /// Frees partial messages on an unreliable channel more than
  /// kUnreliableReach behind message `seq` (counted msg_stale).
  void forget_unreliable_behind(uint8_t channel, uint16_t seq);
  void finish(uint16_t code, std::string_view reason);
  void release_done();
  bool control_owed() const;
  bool close_ready() const;
  bool hello_needed() const;
  bool send_one_packet(uint64_t now);
  /// Unreliable fragments queued behind reliable ones the peer's window holds
  /// back, into `w`; whether any went.
  bool send_past_window(PacketWriter& w);
  /// Takes the entries done with out of [head, tail), keeping the order of
  /// the rest (the cursor moves with them): their room is the queue's again.
  void compact();
  /// send() and send_shared(): copies `bytes`, or shares `shared` chunks.
  SendResult queue(uint8_t channel, bool text, std::span<const uint8_t> bytes,
                   std::span<const uint32_t> shared, size_t size);
  MessageFrame frame_of(const Out& e);
  uint64_t rto_for(uint8_t sends) const;
  Out& out_at(uint32_t i) { return outq_[i & out_mask_]; }

  Role role_;
  const SessionConfig* config_;
  ChunkPool* pool_;
  MessageHandler* handler_;
  PacketBatch* out_;  ///< finished packets, handed on by the owner
  SessionCounters* counters_;

  SessionState state_ = SessionState::kIdle;
  std::vector<ChannelKind> channels_;  ///< the server's; a client learns them from its hello
  uint32_t peer_max_message_ = kMaxMessageBytes;
  bool hello_received_ = false;
  bool hello_acked_ = false;
  uint16_t hello_packet_ = 0;
  bool hello_in_flight_ = false;
  uint64_t hello_sent_ns_ = 0;
  bool opened_ = false;  ///< on_open() ran

  /// Sending.
  std::vector<Out> outq_;  ///< a power of two long
  uint32_t out_mask_ = 0;
  uint32_t out_limit_ = 1;  ///< send_queue, at most kMaxSendQueue
  static constexpr uint32_t kMaxSendQueue = 1u << 24;
  /// [head, cursor) sent (kDone once acked, or unreliable); [cursor, tail)
  /// not yet, but for unreliable fragments sent past the window (kDone
  /// there). Entries are found by state and packet, never kept by position:
  /// compact() moves them.
  uint32_t head_ = 0, cursor_ = 0, tail_ = 0;
  uint32_t scan_from_ = 0;  ///< in [cursor, tail): no unsent unreliable fragment before it
  uint32_t pending_ = 0;    ///< entries queued or to resend
  uint32_t resend_ = 0;
  uint32_t unreliable_queued_ = 0;  ///< unreliable fragments not yet sent
  /// kDone entries in [head, tail): acked, or unreliable and sent (in order
  /// or past the window). Their chunks went back; only their places wait.
  uint32_t done_ = 0;
  uint32_t reliable_unacked_ = 0;
  bool want_writable_ = false;
  std::array<uint16_t, kMaxChannels> send_seq_{};
  std::array<Sent, 256> sent_{};
  uint16_t next_packet_ = 0;
  uint16_t oldest_ = 0;  ///< the oldest packet that may still be in flight
  uint16_t newest_acked_ = 0;
  bool any_acked_ = false;
  /// While a packet taken for lost may still be acknowledged by the ack bits
  /// (up to 32 behind a header's ack), acks are read that far back.
  bool lost_tracked_ = false;
  uint32_t in_flight_ = 0;
  double cwnd_ = 16, ssthresh_ = 1e9;
  uint64_t last_reduction_ns_ = 0;
  uint32_t peer_window_ = 0;

  /// Receiving.
  bool any_received_ = false;
  uint16_t recv_latest_ = 0;
  uint32_t recv_bits_ = 0;
  bool ack_owed_ = false;
  uint32_t owed_since_sent_ = 0;  ///< packets wanting an ack since this side last sent
  /// Per channel: reliable fragments held, and since when the channel has held
  /// some without its next message completing (or the application refusing
  /// one complete): tick() closes a session whose channel stalls (4004).
  std::array<uint32_t, kMaxChannels> held_on_{};
  std::array<uint64_t, kMaxChannels> stall_from_{};
  /// Do not ack this packet: a reliable fragment found no room, the
  /// application refused a message, a frame was malformed, or no hello yet.
  bool refuse_packet_ = false;
  std::array<uint16_t, kMaxChannels> expected_{};
  std::array<uint16_t, kMaxChannels> delivered_{};
  std::array<bool, kMaxChannels> any_delivered_{};
  std::vector<Held> held_;
  uint32_t ahead_used_ = 0;
  uint32_t ahead_unreliable_ = 0;  ///< of ahead_used_: partial unreliable messages (they give way)
  uint32_t held_used_ = 0;
  uint32_t malformed_ = 0;

  /// Timers (ns, the owner's monotonic clock; never runs backwards here).
  uint64_t now_ = 0;
  uint64_t last_heard_ns_ = 0;
  uint64_t acked_ns_ = 0;             ///< the peer last acked a packet of ours, or nothing was owed
  uint64_t probe_sent_ns_ = 0;        ///< the last resend while the peer's window was 0
  uint64_t partials_checked_ns_ = 0;  ///< forget_old_partials() last ran
  /// A bit per reliable channel whose next message the application refused:
  /// the window shows 0 until each such channel moves on.
  uint32_t refused_ = 0;
  uint64_t last_ping_ns_ = 0;
  uint64_t srtt_ = 0, rttvar_ = 0, rto_ = 0;
  bool have_rtt_ = false;
  uint32_t ping_id_ = 0;
  uint64_t ping_sent_ns_ = 0;
  bool ping_due_ = false;
  uint64_t ping_rtt_ = 0;
  std::array<uint32_t, 4> pongs_{};
  uint32_t pong_count_ = 0;

  /// Closing.
  uint16_t close_code_ = 0;
  std::string close_reason_;  ///< reserved at construction
  uint64_t close_deadline_ns_ = 0;
  uint32_t close_left_ = 0;
  bool close_received_ = false;
  uint64_t close_sent_ns_ = 0;  ///< the last CLOSE

  /// Losses, off the per-packet path (last, not to move the fields above).
  /// The last back-off and the packets taken for lost since it: when every
  /// one of them is acknowledged after all, the back-off is undone.
  double prior_cwnd_ = 0, prior_ssthresh_ = 0;
  uint64_t prior_reduction_ns_ = 0;
  uint16_t episode_first_ = 0;
  uint16_t lost_newest_ = 0;  ///< the newest packet taken for lost
  uint32_t episode_lost_ = 0, episode_late_ = 0;
};

}  // namespace bypass::msg
