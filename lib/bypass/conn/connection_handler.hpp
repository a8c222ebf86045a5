// What a netcode server application implements to see its clients: a client
// installed in a slot (with the user data from its connect token), a payload
// from it, and its departure with the reason. Called from inside
// NetcodeServer::receive/update/disconnect, on the caller's thread; a callback
// may call send_payload() and disconnect() on the same server, never receive().
#pragma once

#include <cstdint>
#include <span>

#include <bypass/conn/netcode_wire.hpp>

namespace bypass::conn {

enum class DisconnectReason : uint8_t {
  kTimedOut = 0,  // nothing received from the client within its token's timeout
  kByPeer = 1,    // the client sent a disconnect packet
  kByUs = 2,      // NetcodeServer::disconnect() or disconnect_all()
};

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // The slot is live: payloads may be sent to it from here on.
  virtual void on_connect(uint32_t client_index, uint64_t client_id,
                          std::span<const uint8_t, kUserDataBytes> user_data) = 0;
  // 1 to 1200 bytes, decrypted; valid only during the call.
  virtual void on_payload(uint32_t client_index, std::span<const uint8_t> payload) = 0;
  // The slot is already free when this runs.
  virtual void on_disconnect(uint32_t client_index, DisconnectReason reason) = 0;
};

}  // namespace bypass::conn
