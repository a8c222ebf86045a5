// The message echo application: every message goes back to its sender on
// the channel it came by, text as text. When the connection's send queue is
// full it refuses the message, which the session offers again later: the
// client's messages wait in its own window instead of being lost.
#pragma once

#include <bypass/msg/session.hpp>

namespace bypass::msg {

class EchoApp final : public MessageHandler {
 public:
  void on_open(Session&) override {}
  bool on_message(Session& s, uint8_t channel, bool text, std::span<const uint8_t> b) override {
    const SendResult r = s.send(channel, text, b);
    // A full queue: not now (offered again later, the sender slows down).
    if (r == SendResult::kQueueFull || r == SendResult::kNoMemory) return false;
    if (r != SendResult::kOk) ++refused;
    return true;
  }
  void on_close(Session&, uint16_t, std::string_view) override {}
  uint64_t refused = 0;
};

}  // namespace bypass::msg
