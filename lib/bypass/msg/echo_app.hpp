// The message echo application: every message goes back to its sender on
// the channel it came by, text as text. A message that finds the queue full
// is counted, not retried (the client's flow control keeps that rare).
#pragma once

#include <bypass/msg/session.hpp>

namespace bypass::msg {

class EchoApp final : public MessageHandler {
 public:
  void on_open(Session&) override {}
  void on_message(Session& s, uint8_t channel, bool text, std::span<const uint8_t> b) override {
    if (s.send(channel, text, b) != SendResult::kOk) ++refused;
  }
  void on_close(Session&, uint16_t, std::string_view) override {}
  uint64_t refused = 0;
};

}  // namespace bypass::msg
