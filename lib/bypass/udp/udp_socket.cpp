#include <bypass/udp/udp_socket.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace bypass {

std::string udp_where(const IpAddr& a, uint16_t port) {
  return "UDP port " + std::to_string(port) + " on " + a.str();
}

namespace {

std::string bind_error(const IpAddr& a, uint16_t port, int e) {
  std::string head = "cannot bind " + udp_where(a, port) + ": ";
  switch (e) {
    case EADDRNOTAVAIL:
      return head + "address not available on this host: use an address of this machine or " +
             (a.is_v6() ? "::." : "0.0.0.0.");
    case EADDRINUSE:
      return head + "the port is already in use by another socket: stop the program that holds " +
             "it or choose another port.";
    case EACCES:
      return head + "permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE; " +
             "run with it or choose a port from 1024 up.";
    case EINVAL:
      if (a.is_v6_link_local())
        return head + "a link-local address needs an interface, which cannot be given here: " +
               "use a global address or ::.";
      break;
    default:
      break;
  }
  return head + std::strerror(e) + ".";
}

void raise_buffer(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);  // capped by the sysctl
}

}  // namespace

SockAddr from_sockaddr(const sockaddr_storage& ss) {
  SockAddr s;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    s.ip = IpAddr::v4(in->sin_addr.s_addr);
    s.port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    // An IPv4 peer on a dual-stack socket (::ffff:a.b.c.d) is that IPv4 peer.
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      uint32_t v4;
      std::memcpy(&v4, in6->sin6_addr.s6_addr + 12, 4);
      s.ip = IpAddr::v4(v4);
    } else {
      s.ip = IpAddr::v6(in6->sin6_addr.s6_addr);
    }
    s.port = ntohs(in6->sin6_port);
  }
  return s;
}

socklen_t to_sockaddr(const SockAddr& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.ip.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(a.port);
    in->sin_addr.s_addr = a.ip.v4_be();
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(a.port);
  std::memcpy(in6->sin6_addr.s6_addr, a.ip.v6_bytes(), 16);
  return sizeof(sockaddr_in6);
}

int granted_receive_buffer(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) == 0 ? v / 2 : 0;
}

// A bound, non-blocking UDP socket, or one sentence saying why not.
Expected<int> open_udp(const IpAddr& a, uint16_t port, bool reuseport, int sockbuf) {
  const bool v6 = a.is_v6();
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int e = errno;
    return Status::error("cannot open a socket for " + udp_where(a, port) + ": " +
                         (e == EAFNOSUPPORT ? "IPv6 is disabled on this host: enable it or list "
                                              "only IPv4 addresses."
                                            : std::string(std::strerror(e)) + "."));
  }
  int one = 1;
  bool ok = !v6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0;
  ok = ok && (!reuseport || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0);
  if (ok && a.is_unspecified())
    ok = v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0
            : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0;
  if (!ok) {
    int e = errno;
    close(fd);
    return Status::error("cannot set up the socket for " + udp_where(a, port) + ": " +
                         std::strerror(e) + ".");
  }
  if (sockbuf > 0) {
    raise_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, sockbuf);
    raise_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sockbuf);
  }
  sockaddr_storage ss;
  socklen_t len = to_sockaddr({a, port}, ss);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    int e = errno;
    close(fd);
    return Status::error(bind_error(a, port, e));
  }
  return fd;
}

// Reads where a datagram went; leaves the control data ready to be sent back as
// the source of its replies (IPv4: without the interface, which would override
// it). False if it went to more than this host: an IPv4 broadcast (its
// destination is not the local address the kernel would answer from) or a
// multicast group.
bool take_pktinfo(msghdr& h, IpAddr& dst) {
  bool alone = true;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      dst = IpAddr::v4(pi.ipi_addr.s_addr);
      alone = pi.ipi_addr.s_addr == pi.ipi_spec_dst.s_addr && !dst.is_v4_multicast_or_broadcast();
      pi.ipi_ifindex = 0;
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      dst = IpAddr::v6(pi.ipi6_addr.s6_addr);
      alone = !dst.is_v6_multicast();
    }
  }
  return alone;
}

socklen_t put_pktinfo(PktInfoSpace& space, const IpAddr& src) {
  std::memset(&space, 0, sizeof space);
  msghdr h{};
  h.msg_control = space.b;
  h.msg_controllen = sizeof space.b;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (src.is_v4()) {
    in_pktinfo pi{};
    pi.ipi_spec_dst.s_addr = src.v4_be();
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  in6_pktinfo pi{};
  std::memcpy(pi.ipi6_addr.s6_addr, src.v6_bytes(), 16);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof pi);
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return CMSG_SPACE(sizeof pi);
}

}  // namespace bypass
