#include <bypass/msg/message_client.hpp>

namespace bypass::msg {

MessageClient::MessageClient(conn::PacketSink* sink, MessageHandler* app,
                             const SessionConfig* config, ChunkPool* pool,
                             SessionCounters* counters, conn::NetcodeClientConfig nc)
    : session_(Role::kClient, config, pool, app, &batch_, counters),
      netcode_(sink, static_cast<conn::ClientHandler*>(this), nc) {}

void MessageClient::connect(std::span<const uint8_t> connect_token, conn::Now now) {
  now_ = now;
  netcode_.connect(connect_token, now);
}

void MessageClient::connect(const conn::ConnectToken& token, conn::Now now) {
  now_ = now;
  netcode_.connect(token, now);
}

void MessageClient::close(uint16_t code, std::string_view reason, conn::Now now) {
  now_ = now;
  if (session_.state() == SessionState::kIdle) {
    netcode_.disconnect(now);  // not connected yet: nothing to close but the attempt
    return;
  }
  session_.close(code, reason);
  session_.flush(now.mono_ns);
  settle();
}

void MessageClient::receive(const conn::NetcodeAddress& from, std::span<uint8_t> packet,
                            conn::Now now) {
  now_ = now;
  netcode_.receive(from, packet, now);
}

void MessageClient::update(conn::Now now) {
  now_ = now;
  netcode_.update(now);
  session_.tick(now.mono_ns);
  settle();
}

void MessageClient::flush(conn::Now now) {
  now_ = now;
  session_.flush(now.mono_ns);
  settle();
}

void MessageClient::settle() {
  if (session_.finished() && netcode_.connected()) netcode_.disconnect(now_);
}

void MessageClient::on_state_change(conn::ClientState from, conn::ClientState to) {
  if (to == conn::ClientState::kConnected) {
    session_.open(now_.mono_ns);
    session_.flush(now_.mono_ns);  // the hello, at once
  } else if (from == conn::ClientState::kConnected) {
    session_.lost();
  }
}

void MessageClient::on_payload(std::span<const uint8_t> payload) {
  session_.receive(payload, now_.mono_ns);
}

void MessageClient::transmit(std::span<const OutPacket> packets) {
  for (const OutPacket& p : packets) netcode_.send_payload(p.data(), now_);
}

}  // namespace bypass::msg
