#include <bypass/msg/msg_wire.hpp>

#include <cstring>

namespace bypass::msg {

void PacketWriter::header(const Header& h) {
  n_ = 0;
  u16(h.sequence);
  u8(h.flags);
  u16(h.ack);
  u32(h.ack_bits);
  u16(h.window);
}

bool PacketWriter::hello(const Hello& h) {
  if (h.channel_count > kMaxChannels || room() < hello_bytes(h)) return false;
  u8(static_cast<uint8_t>(FrameType::kHello));
  u8(h.version);
  u8(h.channel_count);
  for (size_t i = 0; i < h.channel_count; ++i) u8(static_cast<uint8_t>(h.channels[i]));
  u32(h.max_message);
  return true;
}

bool PacketWriter::id_frame(FrameType t, uint32_t id) {
  if (room() < 5) return false;
  u8(static_cast<uint8_t>(t));
  u32(id);
  return true;
}

bool PacketWriter::close(uint16_t code, std::string_view reason) {
  if (reason.size() > kMaxCloseReason || room() < 4 + reason.size()) return false;
  u8(static_cast<uint8_t>(FrameType::kClose));
  u16(code);
  u8(static_cast<uint8_t>(reason.size()));
  std::memcpy(buf_.data() + n_, reason.data(), reason.size());
  n_ += reason.size();
  return true;
}

bool PacketWriter::message(const MessageFrame& m) {
  const size_t over = m.fragment ? kFragmentOverhead : kMessageOverhead;
  if (m.data.size() > 0xFFFF || room() < over + m.data.size()) return false;
  const uint8_t base =
      static_cast<uint8_t>(m.fragment ? FrameType::kFragmentBinary : FrameType::kMessageBinary);
  u8(static_cast<uint8_t>(base | (m.text ? 1 : 0)));
  u8(m.channel);
  u16(m.sequence);
  if (m.fragment) {
    u8(m.index);
    u8(m.count);
  }
  u16(static_cast<uint16_t>(m.data.size()));
  if (!m.data.empty()) std::memcpy(buf_.data() + n_, m.data.data(), m.data.size());
  n_ += m.data.size();
  return true;
}

namespace {

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool has(size_t n) const { return b_.size() - at_ >= n; }
  bool done() const { return at_ == b_.size(); }
  uint8_t u8() { return b_[at_++]; }
  uint16_t u16() {
    const uint16_t v = static_cast<uint16_t>(b_[at_] | (b_[at_ + 1] << 8));
    at_ += 2;
    return v;
  }
  uint32_t u32() {
    const uint32_t lo = u16();
    return lo | (static_cast<uint32_t>(u16()) << 16);
  }
  std::span<const uint8_t> bytes(size_t n) {
    auto s = b_.subspan(at_, n);
    at_ += n;
    return s;
  }
  size_t at() const { return at_; }

 private:
  std::span<const uint8_t> b_;
  size_t at_ = 0;
};

DropReason read_hello(Reader& r, Hello& h) {
  if (!r.has(2)) return MsgDrop::kFrameTruncated;
  h.version = r.u8();
  h.channel_count = r.u8();
  if (h.channel_count > kMaxChannels) return MsgDrop::kBadHello;
  if (!r.has(h.channel_count + 4u)) return MsgDrop::kFrameTruncated;
  for (size_t i = 0; i < h.channel_count; ++i) {
    const uint8_t k = r.u8();
    if (k > static_cast<uint8_t>(ChannelKind::kUnreliableSequenced)) return MsgDrop::kBadHello;
    h.channels[i] = static_cast<ChannelKind>(k);
  }
  h.max_message = r.u32();
  if (h.max_message == 0) return MsgDrop::kBadHello;
  return kPass;
}

DropReason read_message(Reader& r, bool fragment, MessageFrame& m) {
  if (!r.has(fragment ? 7 : 5)) return MsgDrop::kFrameTruncated;
  m.fragment = fragment;
  m.channel = r.u8();
  m.sequence = r.u16();
  m.index = fragment ? r.u8() : 0;
  m.count = fragment ? r.u8() : 1;
  const uint16_t len = r.u16();
  if (!r.has(len)) return MsgDrop::kFrameTruncated;
  m.data = r.bytes(len);
  if (m.channel >= kMaxChannels) return MsgDrop::kBadChannel;
  if (!fragment) return len <= kFragmentBytes ? kPass : MsgDrop::kBadFragment;
  // Fragments: 2..64 of them, each full but the last, which holds 1..1024.
  if (m.count < 2 || m.count > kMaxFragments || m.index >= m.count) return MsgDrop::kBadFragment;
  const bool last = m.index + 1 == m.count;
  if (last ? (len == 0 || len > kFragmentBytes) : len != kFragmentBytes) {
    return MsgDrop::kBadFragment;
  }
  return kPass;
}

DropReason read_frame(Reader& r, Frame& f) {
  const uint8_t type = r.u8();
  f.type = static_cast<FrameType>(type);
  switch (f.type) {
    case FrameType::kHello:
      f.hello = Hello{};
      return read_hello(r, f.hello);
    case FrameType::kPing:
    case FrameType::kPong:
      if (!r.has(4)) return MsgDrop::kFrameTruncated;
      f.id = r.u32();
      return kPass;
    case FrameType::kClose: {
      if (!r.has(3)) return MsgDrop::kFrameTruncated;
      f.close.code = r.u16();
      const uint8_t len = r.u8();
      if (!r.has(len)) return MsgDrop::kFrameTruncated;
      auto reason = r.bytes(len);
      if (len > kMaxCloseReason || !valid_utf8(reason)) return MsgDrop::kBadClose;
      f.close.reason =
          std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size());
      return kPass;
    }
    case FrameType::kMessageBinary:
    case FrameType::kMessageText:
    case FrameType::kFragmentBinary:
    case FrameType::kFragmentText: {
      const bool fragment = type >= static_cast<uint8_t>(FrameType::kFragmentBinary);
      if (DropReason d = read_message(r, fragment, f.message); d != kPass) return d;
      f.message.text = (type & 1) != 0;
      return kPass;
    }
  }
  return MsgDrop::kUnknownFrame;
}

}  // namespace

DropReason read_header(std::span<const uint8_t> packet, Header& h) {
  if (packet.size() < kHeaderBytes || packet.size() > kMaxPacketBytes) return MsgDrop::kBadHeader;
  Reader r(packet);
  h.sequence = r.u16();
  h.flags = r.u8();
  h.ack = r.u16();
  h.ack_bits = r.u32();
  h.window = r.u16();
  if ((h.flags & ~kHeaderAckValid) != 0) return MsgDrop::kBadHeader;
  return kPass;
}

FrameReader::FrameReader(std::span<const uint8_t> packet)
    : b_(packet.size() < kHeaderBytes ? packet.last(0) : packet.subspan(kHeaderBytes)),
      short_(packet.size() < kHeaderBytes) {}

DropReason FrameReader::next(Frame& f) {
  if (short_) return MsgDrop::kBadHeader;
  if (at_ >= b_.size()) return MsgDrop::kFrameTruncated;  // called past done()
  Reader r(b_.subspan(at_));
  const DropReason d = read_frame(r, f);
  at_ += r.at();
  return d;
}

uint32_t utf8_code_point(std::span<const uint8_t> s, size_t i, size_t& len) {
  const uint8_t c = s[i];
  uint32_t cp;
  if (c < 0x80) {
    len = 1;
    return c;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return kNotUtf8;
  }
  if (i + len > s.size()) return kNotUtf8;
  for (size_t k = 1; k < len; ++k) {
    if ((s[i + k] & 0xC0) != 0x80) return kNotUtf8;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kNotUtf8;
  return cp;
}

bool valid_utf8(std::span<const uint8_t> s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Eight ASCII bytes at a time: the common case for text.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    size_t len;
    if (utf8_code_point(s, i, len) == kNotUtf8) return false;
    i += len;
  }
  return true;
}

}  // namespace bypass::msg
