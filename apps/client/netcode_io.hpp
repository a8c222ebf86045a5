// What bypass-client's netcode modes share: the time as a netcode client
// wants it (wall-clock seconds, monotonic nanoseconds), a PacketSink that
// sends over one UDP socket, and the one-line error exit.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include <bypass/conn/netcode_now.hpp>
#include <bypass/conn/netcode_service.hpp>
#include <bypass/conn/packet_sink.hpp>
#include <bypass/udp/socket_backend.hpp>

namespace bypass::client {

inline conn::Now clock_now() {
  using namespace std::chrono;
  return {
      static_cast<uint64_t>(duration_cast<seconds>(system_clock::now().time_since_epoch()).count()),
      static_cast<uint64_t>(
          duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count())};
}

// Sends what a client state machine hands it over one UDP socket.
class SocketSink final : public conn::PacketSink {
 public:
  explicit SocketSink(int fd) : fd_(fd) {}
  void send(const conn::NetcodeAddress& to, std::span<const uint8_t> packet) override {
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(conn::from_netcode(to), ss);
    if (sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0)
      ++errors;
  }
  uint64_t errors = 0;

 private:
  int fd_;
};

inline int fail(const std::string& m) {
  std::fprintf(stderr, "bypass-client: %s\n", m.c_str());
  return 2;
}

}  // namespace bypass::client
