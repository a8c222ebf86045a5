// The kernel's UDP sockets as bypass uses them (the sockets backend, and
// clients): conversions between bypass's addresses and the kernel's, a bound
// non-blocking socket or one sentence saying why not, where a datagram on a
// wildcard socket went, and the sources no peer can have.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include <bypass/core/status.hpp>
#include <bypass/net/addr.hpp>

namespace bypass {

// Conversions between bypass's addresses and the kernel's (an IPv4-mapped
// IPv6 address, ::ffff:a.b.c.d, as on a dual-stack socket, comes back IPv4).
SockAddr from_sockaddr(const sockaddr_storage& ss);
socklen_t to_sockaddr(const SockAddr& a, sockaddr_storage& ss);  // returns the length to pass

// "UDP port 7 on 127.0.0.1", for sentences.
std::string udp_where(const IpAddr& a, uint16_t port);

// A bound, non-blocking UDP socket (SO_REUSEPORT if asked; IPv6 only for an
// IPv6 address; IP_PKTINFO on 0.0.0.0 and ::; `sockbuf` bytes of receive and
// send buffer if > 0), or one sentence saying why not.
Expected<int> open_udp(const IpAddr& a, uint16_t port, bool reuseport, int sockbuf);

// The IP_PKTINFO / IPV6_PKTINFO of one datagram on a wildcard socket: where it
// was sent to, and (sent back as it is) the source of its replies.
struct alignas(cmsghdr) PktInfoSpace {
  unsigned char b[CMSG_SPACE(sizeof(in6_pktinfo))];
};

// Reads where a datagram went (`dst`) from its control data, and leaves that
// ready to be sent back as the source of its replies. False if it went to
// more than this host: an IPv4 broadcast or a multicast group.
bool take_pktinfo(msghdr& h, IpAddr& dst);

// Control data that makes a datagram sent on a wildcard socket leave from
// `src` (IP_PKTINFO's spec_dst, or IPV6_PKTINFO's address); its length.
socklen_t put_pktinfo(PktInfoSpace& space, const IpAddr& src);

// A source no peer can have (0.0.0.0, ::, multicast, broadcast) or port 0:
// the kernel lets some through (an IPv6 datagram from ::, whose reply Linux
// would send to ::1), and a reply to port 0 fails.
// Inline: it runs once per datagram.
inline bool martian(const SockAddr& src) {
  return src.port == 0 || src.ip.is_unspecified() || src.ip.is_v6_multicast() ||
         src.ip.is_v4_multicast_or_broadcast();
}

// The receive buffer the kernel granted socket `fd` (it reports twice what
// it grants), or 0 if it cannot be asked.
int granted_receive_buffer(int fd);

}  // namespace bypass
