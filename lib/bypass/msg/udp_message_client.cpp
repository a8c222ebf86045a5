#include <bypass/msg/udp_message_client.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <sodium.h>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>

namespace bypass::msg {
namespace {

// A token's server address as the kernel wants it; an IPv4 one as
// ::ffff:a.b.c.d when the socket is IPv6 taking IPv4 too.
socklen_t to_sockaddr(const conn::NetcodeAddress& a, bool mapped, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.type == conn::AddressType::kIpv4 && !mapped) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr.s_addr, a.ipv4.data(), 4);
    in->sin_port = htons(a.port);
    return sizeof *in;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(a.port);
  uint8_t* b = in6->sin6_addr.s6_addr;
  if (a.type == conn::AddressType::kIpv4) {
    b[10] = b[11] = 0xff;
    std::memcpy(b + 12, a.ipv4.data(), 4);
  } else {
    for (int i = 0; i < 8; ++i) {
      b[2 * i] = static_cast<uint8_t>(a.ipv6[i] >> 8);
      b[2 * i + 1] = static_cast<uint8_t>(a.ipv6[i]);
    }
  }
  return sizeof *in6;
}

// Where a datagram came from, as the netcode client compares it with its
// server: an IPv4 peer on a dual-stack socket (::ffff:a.b.c.d) is that IPv4 peer.
conn::NetcodeAddress from_sockaddr(const sockaddr_storage& ss) {
  conn::NetcodeAddress a;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    a.type = conn::AddressType::kIpv4;
    std::memcpy(a.ipv4.data(), &in->sin_addr.s_addr, 4);
    a.port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    const uint8_t* b = in6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      a.type = conn::AddressType::kIpv4;
      std::memcpy(a.ipv4.data(), b + 12, 4);
    } else {
      a.type = conn::AddressType::kIpv6;
      for (int i = 0; i < 8; ++i) a.ipv6[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
    }
    a.port = ntohs(in6->sin6_port);
  }
  return a;
}

}  // namespace

void UdpMessageClient::Sink::send(const conn::NetcodeAddress& to, std::span<const uint8_t> packet) {
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(to, dual, ss);
  if (sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0)
    ++errors;
}

UdpMessageClient::UdpMessageClient(MessageHandler* app, UdpClientOptions options)
    : options_(std::move(options)),
      pool_(std::max<uint32_t>(options_.chunks, 1)),
      client_(&sink_, app, &options_.session, &pool_, &counters_, options_.netcode) {}

UdpMessageClient::~UdpMessageClient() {
  if (fd_ >= 0) ::close(fd_);
}

Status UdpMessageClient::connect(std::span<const uint8_t> token) {
  if (started_)
    return Status::error(
        "this client has connected once already: make a new UdpMessageClient for another "
        "connection.");
  if (options_.max_receive == 0)
    return Status::error("UdpClientOptions::max_receive is 0: set it to 1 or more.");
  if (options_.tick_ns < 1'000'000 || options_.tick_ns > 1'000'000'000)
    return Status::error("UdpClientOptions::tick_ns is " + std::to_string(options_.tick_ns) +
                         ": set it from 1000000 (1 ms) to 1000000000 (1 s).");
  if (Status s = conn::crypto_init(); !s) return s;
  auto t = conn::read_connect_token(token);
  if (!t) return Status::error("the " + t.error() + ".");  // "the connect token: ..."
  // The session keys in this copy are wiped on every way out.
  struct Wipe {
    conn::ConnectToken& t;
    ~Wipe() { sodium_memzero(&t, sizeof t); }
  } wipe{*t};
  const conn::Now now = conn::system_now();
  if (t->expire_timestamp <= now.unix_seconds)
    return Status::error("the connect token has expired: mint a new one.");
  bool v4 = false, v6 = false;
  for (const conn::NetcodeAddress& a : t->servers())
    (a.type == conn::AddressType::kIpv6 ? v6 : v4) = true;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int off = 0;
  if (fd < 0 || (v4 && v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0)) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    return Status::error(std::string("cannot open a UDP socket for the token's servers: ") +
                         std::strerror(e) + ".");
  }
  fd_ = fd;
  sink_.fd = fd;
  sink_.dual = v4 && v6;
  started_ = true;
  client_.connect(*t, now);
  client_.update(now);  // the first request, now
  next_tick_ns_ = now.mono_ns + options_.tick_ns;
  return {};
}

void UdpMessageClient::poll(int timeout_ms) {
  if (!started_ || finished()) return;
  const uint64_t mono = conn::system_now().mono_ns;
  const uint64_t due_ms = next_tick_ns_ > mono ? (next_tick_ns_ - mono + 999'999) / 1'000'000 : 0;
  const uint64_t asked = timeout_ms < 0 ? due_ms : static_cast<uint64_t>(timeout_ms);
  const int wait = static_cast<int>(std::min(asked, due_ms));
  pollfd p{fd_, POLLIN, 0};
  (void)::poll(&p, 1, wait);  // EINTR: run() once anyway, the caller polls again
  run();
}

void UdpMessageClient::run() {
  if (!started_) return;
  uint8_t rx[conn::kMaxPacketBytes + 64];
  for (uint32_t k = 0; k < options_.max_receive; ++k) {
    sockaddr_storage from;
    socklen_t flen = sizeof from;
    const ssize_t n =
        recvfrom(fd_, rx, sizeof rx, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) break;
    // A datagram longer than a packet was cut to sizeof rx: the netcode reader refuses it.
    client_.receive(from_sockaddr(from), {rx, static_cast<size_t>(n)}, conn::system_now());
  }
  const conn::Now now = conn::system_now();
  if (now.mono_ns >= next_tick_ns_) {
    client_.update(now);
    next_tick_ns_ = now.mono_ns + options_.tick_ns;
  } else {
    client_.flush(now);
  }
}

void UdpMessageClient::close(uint16_t code, std::string_view reason) {
  if (!started_) return;
  client_.close(code, reason, conn::system_now());
}

bool UdpMessageClient::finished() const {
  return started_ && client_.state() <= conn::ClientState::kDisconnected;
}

}  // namespace bypass::msg
