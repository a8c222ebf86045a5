/// @file
/// The bytes of bypass's message protocol, version 1 (docs/protocol.md): one
/// packet per netcode payload, an 11-byte header (sequence, acks, receive
/// window) and then frames (hello, ping, pong, close, message, fragment).
/// Writing appends to a caller's buffer; reading walks a packet's frames and
/// names the first thing wrong with it. Integers are little-endian, as in
/// netcode. Nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <bypass/msg/msg_drops.hpp>

namespace bypass::msg {

/// The protocol version this code speaks (the hello's `version`).
inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kMaxPacketBytes = 1200;  ///< a netcode payload
inline constexpr size_t kHeaderBytes = 11;       ///< a packet's header, before its frames
inline constexpr size_t kFragmentBytes = 1024;   ///< every fragment but the last is this long
inline constexpr size_t kMaxFragments = 64;      ///< the most fragments a message is split into
inline constexpr size_t kMaxMessageBytes = kFragmentBytes * kMaxFragments;  ///< 64 KiB
/// Fragments a message of `bytes` takes (an empty message takes one).
constexpr size_t fragments_for(size_t bytes) {
  return bytes <= kFragmentBytes ? 1 : (bytes + kFragmentBytes - 1) / kFragmentBytes;
}
inline constexpr size_t kMaxChannels = 32;      ///< the most channels a hello names
inline constexpr size_t kMaxCloseReason = 123;  ///< as WebSocket's close frame allows

/// A frame's first byte: what kind of frame it is.
enum class FrameType : uint8_t {
  kHello = 0x01,           ///< version, channels and largest message accepted
  kPing = 0x02,            ///< asks for a pong with the same id
  kPong = 0x03,            ///< answers a ping
  kClose = 0x04,           ///< a close code and reason
  kMessageBinary = 0x06,   ///< a whole binary message
  kMessageText = 0x07,     ///< a whole text (UTF-8) message
  kFragmentBinary = 0x08,  ///< one fragment of a binary message
  kFragmentText = 0x09,    ///< one fragment of a text message
};

/// How a channel delivers its messages (named in the server's hello).
enum class ChannelKind : uint8_t {
  kReliable = 0,             ///< every message, once, in order; retransmitted
  kUnreliable = 1,           ///< never retransmitted; delivered as it completes
  kUnreliableSequenced = 2,  ///< never retransmitted; older than the last delivered: dropped
};

inline constexpr uint8_t kHeaderAckValid = 0x01;  ///< flags: `ack` names a received packet

/// A packet's header: its sequence, what it acknowledges and the receive window.
struct Header {
  uint16_t sequence = 0;  ///< this packet's number, per direction
  uint8_t flags = 0;      ///< kHeaderAckValid or 0
  uint16_t ack = 0;       ///< the newest packet received
  uint32_t ack_bits = 0;  ///< bit i: packet ack-1-i received too
  uint16_t window = 0;    ///< fragments the sender of this packet can still buffer
  /// Whether `ack` and `ack_bits` mean anything (the sender has received a packet).
  bool ack_valid() const { return (flags & kHeaderAckValid) != 0; }
};

/// The hello frame each side sends first.
struct Hello {
  uint8_t version = kProtocolVersion;       ///< the protocol version its sender speaks
  uint8_t channel_count = 0;                ///< the server's channels; a client sends 0
  ChannelKind channels[kMaxChannels] = {};  ///< kind of each channel, the first channel_count
  uint32_t max_message = kMaxMessageBytes;  ///< the largest message its sender accepts
};

/// A message frame (single) or fragment frame; `data` points into the packet.
struct MessageFrame {
  uint8_t channel = 0;            ///< the channel it travels on
  bool text = false;              ///< a text (UTF-8) message, not binary
  bool fragment = false;          ///< a fragment frame, not a whole message
  uint16_t sequence = 0;          ///< per channel
  uint8_t index = 0;              ///< fragments: 0..count-1
  uint8_t count = 1;              ///< fragments in the message (1 for a whole one)
  std::span<const uint8_t> data;  ///< the payload
};

/// A close frame: why its sender closes.
struct CloseFrame {
  uint16_t code = 0;        ///< the close code (docs/protocol.md, section 7)
  std::string_view reason;  ///< UTF-8, checked
};

/// Appends to a fixed buffer; `room()` says what still fits.
class PacketWriter {
 public:
  /// Writes into `buf`, which must hold at least a header.
  explicit PacketWriter(std::span<uint8_t> buf) : buf_(buf) {}
  /// Starts the packet over with header `h`.
  void header(const Header& h);
  ///@{
  /// Appends a frame; false, and nothing written, if it does not fit, or if a
  /// length is over its field (more than 32 channels, a close reason over
  /// 123 bytes, data over 65,535 bytes). The caller checks the rest (a
  /// fragment's index and count, UTF-8).
  bool hello(const Hello& h);
  bool ping(uint32_t id) { return id_frame(FrameType::kPing, id); }
  bool pong(uint32_t id) { return id_frame(FrameType::kPong, id); }
  bool close(uint16_t code, std::string_view reason);
  bool message(const MessageFrame& m);
  ///@}
  size_t size() const { return n_; }                                 ///< bytes written
  size_t room() const { return buf_.size() - n_; }                   ///< bytes still free
  std::span<const uint8_t> bytes() const { return buf_.first(n_); }  ///< the bytes written

  static constexpr size_t kMessageOverhead = 6;   ///< type, channel, sequence, length
  static constexpr size_t kFragmentOverhead = 8;  ///< + index, count
  /// The bytes hello(h) writes.
  static size_t hello_bytes(const Hello& h) { return 7 + h.channel_count; }

 private:
  bool id_frame(FrameType t, uint32_t id);
  void u8(uint8_t v) { buf_[n_++] = v; }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v));
    u8(static_cast<uint8_t>(v >> 8));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v));
    u16(static_cast<uint16_t>(v >> 16));
  }
  std::span<uint8_t> buf_;
  size_t n_ = 0;
};

/// One frame as FrameReader hands it over: `type` says which member holds it
/// (the message types: `message`).
struct Frame {
  FrameType type = FrameType::kPing;  ///< which frame it is
  uint32_t id = 0;                    ///< ping, pong
  Hello hello;                        ///< hello
  CloseFrame close;                   ///< close
  MessageFrame message;               ///< message, fragment
};

/// Walks the frames after a packet's header, one per next(), with plain calls
/// (the receive path of every packet: no virtual call per frame). It checks
/// what the bytes alone can say: lengths, frame types, fragment index and
/// count, fragment sizes, UTF-8 of close reasons.
class FrameReader {
 public:
  /// Reads the frames of a whole packet; its header is skipped, not checked (see read_header).
  explicit FrameReader(std::span<const uint8_t> packet);
  /// True when no frame is left (or the packet is shorter than a header).
  bool done() const { return short_ || at_ == b_.size(); }
  /// The next frame into `f`, or why it is malformed (then stop: the rest of
  /// the packet cannot be delimited).
  DropReason next(Frame& f);
  bool short_packet() const { return short_; }  ///< shorter than a header

 private:
  std::span<const uint8_t> b_;
  size_t at_ = 0;
  bool short_ = false;
};

/// What read_frames hands over, frame by frame (tools and tests; Session is
/// visited directly, see visit_frames).
class FrameVisitor {
 public:
  virtual ~FrameVisitor() = default;
  virtual void on_hello(const Hello& h) = 0;           ///< a hello frame
  virtual void on_ping(uint32_t id) = 0;               ///< a ping frame
  virtual void on_pong(uint32_t id) = 0;               ///< a pong frame
  virtual void on_close(const CloseFrame& c) = 0;      ///< a close frame
  virtual void on_message(const MessageFrame& m) = 0;  ///< a message or fragment frame
};

/// Reads the header; kPass, or why the packet is refused.
DropReason read_header(std::span<const uint8_t> packet, Header& out);

/// Visits the frames after the header in order, calling v.on_hello(),
/// on_ping(), on_pong(), on_close() and on_message(): plain calls when V is a
/// concrete class (Session, on every packet it receives), virtual ones through
/// FrameVisitor. Stops at the first malformed frame and returns its reason
/// (frames before it were visited); kPass when all were well formed.
template <class V>
DropReason visit_frames(std::span<const uint8_t> packet, V& v) {
  FrameReader r(packet);
  Frame f;
  while (!r.done()) {
    if (DropReason d = r.next(f); d != kPass) return d;
    switch (f.type) {
      case FrameType::kHello:
        v.on_hello(f.hello);
        break;
      case FrameType::kPing:
        v.on_ping(f.id);
        break;
      case FrameType::kPong:
        v.on_pong(f.id);
        break;
      case FrameType::kClose:
        v.on_close(f.close);
        break;
      default:
        v.on_message(f.message);
        break;
    }
  }
  return r.short_packet() ? MsgDrop::kBadHeader : kPass;
}

/// visit_frames() through FrameVisitor's virtual calls.
inline DropReason read_frames(std::span<const uint8_t> packet, FrameVisitor& v) {
  return visit_frames(packet, v);
}

/// True if the bytes are well-formed UTF-8 (no overlongs, no surrogates, at
/// most U+10FFFF).
bool valid_utf8(std::span<const uint8_t> bytes);

/// What utf8_code_point() returns for a sequence that is not well-formed.
inline constexpr uint32_t kNotUtf8 = UINT32_MAX;
/// The code point whose UTF-8 sequence starts at bytes[i] (i < size), its
/// length in `len`; kNotUtf8 when the sequence is not well-formed.
uint32_t utf8_code_point(std::span<const uint8_t> bytes, size_t i, size_t& len);

}  // namespace bypass::msg
