// UDP socket I/O a batch at a time, for bypass-client's load modes (one
// socket per client, many datagrams each in flight): receive_batch() takes
// up to 32 waiting datagrams with one recvmmsg, and BatchSocketSink gathers
// what a client state machine sends and puts it on the wire with one
// sendmmsg at flush(). A load client is otherwise one system call per
// datagram each way, and on a two-core machine it, not the server, is what
// saturates first.
#pragma once

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>

#include <bypass/conn/netcode_service.hpp>
#include <bypass/conn/packet_sink.hpp>
#include <bypass/udp/socket_backend.hpp>

namespace bypass::client {

inline constexpr unsigned kIoBatch = 32;  // datagrams a receive takes at most

// Batches read from one socket in a row at most: a flood at it cannot keep
// the loop from its timers (keep-alives, acks) and the other sockets.
inline constexpr unsigned kDrainBatches = 8;

// Calls f(from, bytes) for each datagram waiting on `fd` (non-blocking), up
// to kIoBatch; returns how many there were (0: none waiting).
template <class F>
unsigned receive_batch(int fd, F&& f) {
  static thread_local std::array<std::array<uint8_t, 2048>, kIoBatch> bufs;
  static thread_local std::array<sockaddr_storage, kIoBatch> froms;
  std::array<iovec, kIoBatch> iov;
  std::array<mmsghdr, kIoBatch> msgs{};
  for (unsigned i = 0; i < kIoBatch; ++i) {
    iov[i] = {bufs[i].data(), bufs[i].size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &froms[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
  }
  const int n = recvmmsg(fd, msgs.data(), kIoBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i)
    f(conn::to_netcode(from_sockaddr(froms[i])),
      std::span<uint8_t>(bufs[i].data(), msgs[i].msg_len));
  return static_cast<unsigned>(n);
}

// What a client sends, held until flush() (or until kHeld are held).
class BatchSocketSink final : public conn::PacketSink {
 public:
  // Whatever is held when the owner closes the socket is not sent: flush first.
  explicit BatchSocketSink(int fd) : fd_(fd) {}
  // Connects the socket to `peer`: datagrams to it then go without an
  // address, and the kernel keeps the route instead of looking it up for
  // each one. False (nothing changed) if connect() fails.
  bool connect_to(const conn::NetcodeAddress& peer) {
    sockaddr_storage sa;
    const socklen_t len = to_sockaddr(conn::from_netcode(peer), sa);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&sa), len) != 0) return false;
    peer_ = peer;
    connected_ = true;
    return true;
  }
  void send(const conn::NetcodeAddress& to, std::span<const uint8_t> packet) override {
    if (packet.size() > kMaxDatagram) {
      ++errors;
      return;
    }
    Held& h = held_[n_];
    h.to_len = connected_ && to == peer_ ? 0 : to_sockaddr(conn::from_netcode(to), h.to);
    std::memcpy(h.bytes, packet.data(), packet.size());
    h.len = packet.size();
    if (++n_ == kHeld) flush();
  }
  // With segmentation on, flush() sends datagrams to the connected peer that
  // follow each other at one size (the last of a run may be shorter) as one
  // send with UDP_SEGMENT: the kernel's UDP and IP output runs once for the
  // run, and the run is cut into the same datagrams on the way out, by the
  // device or by the stack. Off by default: on a veth the kernel may hand the
  // run over whole, and a receiver that does not cut it up (a raw socket, as
  // DPDK's net_af_packet is) gets the run as one frame. A kernel UDP socket,
  // AF_XDP with its XDP program attached, and a NIC all get the datagrams. A
  // send the kernel refuses (EIO without checksum offload on older kernels,
  // EINVAL past the path MTU, or on a socket without UDP checksums) turns it
  // off for the socket. False when asked on a kernel without UDP_SEGMENT
  // (before Linux 4.18, which would send a run as one datagram): it stays off.
  bool segment_runs(bool on) {
    int size = 0;
    socklen_t len = sizeof size;
    gso_ = on && getsockopt(fd_, IPPROTO_UDP, UDP_SEGMENT, &size, &len) == 0;
    return gso_ == on;
  }
  // Puts what is held on the wire.
  void flush() {
    unsigned done = 0;
    while (done < n_ && send_from(done)) {
    }
    n_ = 0;
  }
  uint64_t errors = 0;     // datagrams the socket refused (the load modes report them)
  uint64_t segmented = 0;  // datagrams sent in UDP_SEGMENT runs

 private:
  // Sends what is held from `done` on in one sendmmsg: one message per
  // datagram, or per run of them with UDP_SEGMENT; `done` moves past what was
  // sent or counted as an error. False when the rest is lost.
  bool send_from(unsigned& done) {
    const unsigned first = done;
    std::array<iovec, kHeld> iov;
    std::array<mmsghdr, kHeld> msgs{};
    std::array<unsigned, kHeld> runs;  // datagrams in each message
    unsigned m = 0;
    for (unsigned i = first; i < n_; ++m) {
      unsigned j = i + 1;
      if (gso_ && held_[i].to_len == 0 && held_[i].len > 0) {
        // A run: datagrams of the first one's size, then at most one shorter
        // (never an empty one: the kernel would take it for no datagram).
        while (j < n_ && held_[j].to_len == 0 && held_[j].len > 0 && held_[j].len <= held_[i].len &&
               held_[j - 1].len == held_[i].len)
          ++j;
      }
      for (unsigned d = i; d < j; ++d) iov[d] = {held_[d].bytes, held_[d].len};
      msghdr& h = msgs[m].msg_hdr;
      h.msg_iov = &iov[i];
      h.msg_iovlen = j - i;
      h.msg_name = held_[i].to_len != 0 ? &held_[i].to : nullptr;
      h.msg_namelen = held_[i].to_len;
      if (j - i > 1) {
        h.msg_control = ctrl_[m].bytes;
        h.msg_controllen = sizeof ctrl_[m].bytes;
        cmsghdr* c = CMSG_FIRSTHDR(&h);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        const uint16_t seg = static_cast<uint16_t>(held_[i].len);
        std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
      runs[m] = j - i;
      i = j;
    }
    for (unsigned sent = 0; sent < m;) {
      const int k = sendmmsg(fd_, msgs.data() + sent, m - sent, 0);
      if (k > 0) {
        for (int x = 0; x < k; ++x) {
          done += runs[sent + x];
          if (runs[sent + x] > 1) segmented += runs[sent + x];
        }
        sent += static_cast<unsigned>(k);
        continue;
      }
      if (k < 0 && runs[sent] > 1 && (errno == EIO || errno == EINVAL)) {
        gso_ = false;  // the next call sends this run one datagram at a time
        return true;
      }
      if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
        errors += runs[sent];  // refused (unreachable, too big): the next may go
        done += runs[sent];
        ++sent;
        continue;
      }
      errors += n_ - done;  // a full socket buffer: the rest is lost, as UDP may lose it
      return false;
    }
    return true;
  }

  // A netcode packet is at most 1,225 bytes; 16 of them held per client
  // (about 22 KB) keep a load of thousands of clients in memory.
  static constexpr size_t kMaxDatagram = 1280;
  static constexpr unsigned kHeld = 16;
  struct Held {
    sockaddr_storage to;
    socklen_t to_len;
    size_t len;
    uint8_t bytes[kMaxDatagram];
  };
  // A run stays within what one UDP_SEGMENT send may carry: 64 segments and
  // a 64 KiB datagram.
  static_assert(kHeld <= 64 && kHeld * kMaxDatagram + 48 <= 65535);
  struct Control {
    alignas(cmsghdr) uint8_t bytes[CMSG_SPACE(sizeof(uint16_t))];
  };
  int fd_;
  bool connected_ = false;
  bool gso_ = false;  // UDP_SEGMENT for runs (segment_runs); off once the route refuses it
  conn::NetcodeAddress peer_{};
  std::array<Held, kHeld> held_;
  std::array<Control, kHeld> ctrl_;
  unsigned n_ = 0;
};

// sink.segment_runs(on) for a load mode's clients, saying once (for the
// first, `say`) on stderr when the kernel cannot.
inline void use_segmentation(BatchSocketSink& sink, bool on, bool say) {
  if (!sink.segment_runs(on) && say)
    std::fprintf(stderr,
                 "bypass-client: --gso: this kernel has no UDP_SEGMENT (Linux 4.18 and later "
                 "have it), so datagrams go one at a time.\n");
}

// A load mode's closing line under --gso: how many datagrams went out in
// UDP_SEGMENT runs (0 says the kernel or the route sent them one by one).
inline void print_segmented(bool gso, uint64_t segmented) {
  if (gso)
    std::printf("datagrams sent in UDP_SEGMENT runs %llu\n",
                static_cast<unsigned long long>(segmented));
}

}  // namespace bypass::client
