// SocketBackend: runs the same DatagramHandlers over plain Linux UDP sockets. It is
// the development mode (no huge pages, no NIC, no EAL needed) and the honest kernel
// baseline that every DPDK figure is compared with.
//
// One pinned thread per worker CPU. Each worker owns, for every (address, service
// port), its own SO_REUSEPORT socket (the kernel spreads flows over workers), its
// own handler instances and fixed buffers. It reads up to `batch` datagrams with
// recvmmsg, calls the handler once per batch, then sends the in-place replies and
// the Outbox (header + StaticBlob slice as two iovecs, no copy) with sendmmsg.
// Nothing is allocated, locked or shared on that path.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <bypass/core/status.hpp>
#include <bypass/net/addr.hpp>
#include <bypass/udp/handler.hpp>
#include <bypass/udp/handlers.hpp>
#include <bypass/udp/udp_socket.hpp>  // from_sockaddr, to_sockaddr

namespace bypass {

struct SocketBackendOptions {
  uint32_t batch = 32;           // datagrams per recvmmsg, 1 .. SocketBackend::kMaxBatch
  uint32_t buffer = 2048;        // bytes per receive slot (= Datagram::room); longer datagrams
                                 // are dropped and counted as truncated
  int socket_buffer = 16 << 20;  // SO_RCVBUF and SO_SNDBUF, bytes (root may exceed the sysctls)
  std::chrono::milliseconds poll_timeout{20};  // how long a worker sleeps: bounds stop()
  // Worker threads run under the seccomp filter for sockets workers
  // (core/sandbox.hpp); start() refuses if it cannot be loaded. The owner
  // calls prepare_allocator_for_workers() first, before any thread allocates.
  bool seccomp = false;
};

// Summed over workers when read. Every datagram that reaches a socket is handed to
// a handler (rx_datagrams), dropped as truncated, martian or to_broadcast, or
// dropped by the kernel before the worker read it (kernel_dropped); every reply and Outbox item is
// either sent (tx_datagrams) or counted in send_errors.
struct SocketStats {
  uint64_t rx_datagrams = 0, rx_bytes = 0;  // handed to handlers
  uint64_t tx_datagrams = 0, tx_bytes = 0;  // accepted by the kernel
  uint64_t replies = 0;                     // in-place replies asked for by handlers
  uint64_t outbox_sends = 0;                // Outbox items asked for by handlers
  uint64_t send_errors = 0;                 // not sent: EAGAIN/ENOBUFS, bad reply, ...
  uint64_t recv_errors = 0;                 // recvmmsg failures other than EAGAIN
  uint64_t truncated = 0;                   // longer than a receive slot: dropped
  // From an address no peer can have (0.0.0.0, ::, multicast, broadcast) or
  // port 0: a reply would go nowhere, or back to this host (:: means ::1).
  uint64_t martian = 0;
  // To a broadcast address (a wildcard bind receives those): not for this host alone.
  uint64_t to_broadcast = 0;
  // Dropped by the kernel at a worker's socket, almost always because its receive
  // buffer was full (SO_MEMINFO's drop count, read every 100 ms and at stop).
  uint64_t kernel_dropped = 0;

  SocketStats& operator+=(const SocketStats& o);
};

class SocketBackend {
 public:
  using Options = SocketBackendOptions;
  using Stats = SocketStats;
  // Makes one handler for one worker; make_handler (echo, discard, static) by default.
  using HandlerFactory = std::function<std::unique_ptr<DatagramHandler>(const ServiceConfig&)>;
  static constexpr uint32_t kMaxBatch = 64;

  // `addresses`: IPv4 and IPv6 (IPv6 sockets are V6ONLY); 0.0.0.0 and :: work, and
  // replies then leave from the address the client asked. `cpus`: one worker each.
  SocketBackend(std::vector<ServiceConfig> services, std::vector<IpAddr> addresses,
                std::vector<unsigned> cpus, Options options = {},
                HandlerFactory factory = make_handler);
  ~SocketBackend();  // stops
  SocketBackend(const SocketBackend&) = delete;
  SocketBackend& operator=(const SocketBackend&) = delete;

  // Makes and starts the handlers, binds every socket, starts the pinned workers.
  // A mistake (address not on this host, port in use, CPU not usable) is one
  // sentence; nothing is left open or running then.
  Status start();
  // Workers see it within poll_timeout; returns once they are joined and the
  // sockets closed. Safe to call twice. Handlers and stats stay readable.
  void stop();
  bool running() const { return running_; }

  Stats stats() const;
  Stats worker_stats(size_t worker) const;
  // The handlers' own counters, every worker's in turn (DatagramHandler::counters).
  void handler_counters(std::vector<std::pair<std::string, uint64_t>>& out) const;
  // Every worker's open connections (bypassctl conns).
  void connections(std::vector<ConnectionRow>& out) const;
  size_t worker_count() const { return cpus_.size(); }
  // The handler of one service (index in `services`) on one worker, after a
  // successful start().
  DatagramHandler& handler(size_t worker, size_t service);
  // 65507 with any IPv4 address (the IPv4 UDP limit), 65527 with IPv6 only.
  uint32_t max_payload() const;
  // After start(): the receive buffer the kernel granted each socket, in bytes
  // (the smallest of them). Below Options::socket_buffer when the process
  // lacks CAP_NET_ADMIN and net.core.rmem_max is smaller.
  int receive_buffer() const { return receive_buffer_; }

 private:
  class Worker;
  class Context;
  struct OwnedBlob;

  Status open_sockets();
  Status probe_ports() const;
  void close_all();

  std::vector<ServiceConfig> services_;
  std::vector<IpAddr> addresses_;
  std::vector<unsigned> cpus_;
  Options options_;
  HandlerFactory factory_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<OwnedBlob>> blobs_;  // make_static copies
  std::atomic<bool> stop_{false};
  bool running_ = false;
  bool started_ = false;
  int receive_buffer_ = 0;
};

}  // namespace bypass
