// What bypass-client's netcode modes share: the time as a netcode client
// wants it (wall-clock seconds, monotonic nanoseconds), a PacketSink that
// sends over one UDP socket, the socket for a token's servers, and the
// one-line error exit.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>

#include <bypass/conn/netcode_now.hpp>
#include <bypass/conn/netcode_service.hpp>
#include <bypass/conn/packet_sink.hpp>
#include <bypass/core/file_read.hpp>
#include <bypass/udp/socket_backend.hpp>

namespace bypass::client {

inline conn::Now clock_now() {
  return conn::system_now();
}

// Sends what a client state machine hands it over one UDP socket; on a
// dual-stack IPv6 socket an IPv4 server is sent to as ::ffff:a.b.c.d.
class SocketSink final : public conn::PacketSink {
 public:
  explicit SocketSink(int fd, bool dual = false) : fd_(fd), dual_(dual) {}
  void send(const conn::NetcodeAddress& to, std::span<const uint8_t> packet) override {
    SockAddr a = conn::from_netcode(to);
    if (dual_ && a.ip.is_v4()) {
      uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      const uint32_t v4 = a.ip.v4_be();
      std::memcpy(mapped + 12, &v4, 4);
      a.ip = IpAddr::v6(mapped);
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(a, ss);
    if (sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0)
      ++errors;
  }
  uint64_t errors = 0;

 private:
  int fd_;
  bool dual_;
};

// A non-blocking UDP socket that reaches every server in `t`: IPv4 or IPv6
// when they are all of one family, else IPv6 taking IPv4 too (*dual set).
// -1 with errno when the kernel gives none.
inline int open_token_socket(const conn::ConnectToken& t, bool* dual) {
  bool v4 = false, v6 = false;
  for (uint32_t i = 0; i < t.num_server_addresses && i < conn::kMaxServersPerConnect; ++i)
    (t.server_addresses[i].type == conn::AddressType::kIpv6 ? v6 : v4) = true;
  *dual = v4 && v6;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const int off = 0;
  if (fd >= 0 && *dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0) {
    const int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// A connect token file is the token's 2,048 bytes; a file much larger is the
// wrong one (read_user_file() refuses it before reading it).
inline constexpr size_t kMaxTokenFileBytes = 64 * 1024;

inline int fail(const std::string& m) {
  std::fprintf(stderr, "bypass-client: %s\n", m.c_str());
  return 2;
}

}  // namespace bypass::client
