#include <bypass/udp/socket_backend.hpp>

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <bypass/core/counter.hpp>
#include <bypass/core/sandbox.hpp>
#include <bypass/udp/udp_socket.hpp>

namespace bypass {
namespace {

constexpr uint32_t kMaxSends = SocketBackend::kMaxBatch + Outbox::kCapacity;
constexpr int kRoundsPerWake = 8;  // recvmmsg calls per socket per wake: fairness
constexpr int kMaxEvents = 64;
constexpr uint64_t kDropsEveryNs = 100'000'000;  // how often the kernel's drop counts are read

struct Sock {
  int fd = -1;
  uint32_t service = 0;
  SockAddr local;
  bool wildcard = false;
  uint32_t kernel_drops = 0;  // the socket's drop count when last read
};

struct alignas(RTE_CACHE_LINE_SIZE) SocketCounters {
  Counter rx_datagrams, rx_bytes, tx_datagrams, tx_bytes, replies, outbox_sends, send_errors,
      recv_errors, truncated, kernel_dropped, martian, to_broadcast;
};

// Each counter with its field in SocketStats, so reading and summing are loops.
constexpr std::pair<Counter SocketCounters::*, uint64_t SocketStats::*> kFields[] = {
    {&SocketCounters::rx_datagrams, &SocketStats::rx_datagrams},
    {&SocketCounters::rx_bytes, &SocketStats::rx_bytes},
    {&SocketCounters::tx_datagrams, &SocketStats::tx_datagrams},
    {&SocketCounters::tx_bytes, &SocketStats::tx_bytes},
    {&SocketCounters::replies, &SocketStats::replies},
    {&SocketCounters::outbox_sends, &SocketStats::outbox_sends},
    {&SocketCounters::send_errors, &SocketStats::send_errors},
    {&SocketCounters::recv_errors, &SocketStats::recv_errors},
    {&SocketCounters::truncated, &SocketStats::truncated},
    {&SocketCounters::kernel_dropped, &SocketStats::kernel_dropped},
    {&SocketCounters::martian, &SocketStats::martian},
    {&SocketCounters::to_broadcast, &SocketStats::to_broadcast},
};

}  // namespace

SocketStats& SocketStats::operator+=(const SocketStats& o) {
  for (const auto& f : kFields) this->*f.second += o.*f.second;
  return *this;
}

// One worker: its sockets, handlers, buffers and counters. Its thread is the only
// writer of all of them once it runs.
class SocketBackend::Worker {
 public:
  Worker(unsigned cpu, const Options& o)
      : cpu(cpu),
        batch_(o.batch),
        buffer_(o.buffer),
        bufs_(std::make_unique<uint8_t[]>(size_t(o.batch) * o.buffer)),
        rx_(o.batch),
        rx_iov_(o.batch),
        names_(o.batch),
        ctl_(o.batch),
        dgrams_(o.batch),
        slot_(o.batch),
        tx_(kMaxSends),
        tx_iov_(2 * kMaxSends),
        outbox_(std::make_unique<Outbox>()) {
    for (uint32_t i = 0; i < batch_; ++i) {
      rx_iov_[i] = {bufs_.get() + size_t(i) * buffer_, buffer_};
      msghdr& h = rx_[i].msg_hdr;
      h.msg_name = &names_[i];
      h.msg_iov = &rx_iov_[i];
      h.msg_iovlen = 1;
      h.msg_control = &ctl_[i];
    }
    // A full peer space goes out at once (sendmmsg) and is used again.
    outbox_->set_peer_flush(
        [](void* ctx, Outbox& out) {
          static_cast<Worker*>(ctx)->send_to_peers();
          out.clear_peers();
        },
        this);
  }
  ~Worker() { close_sockets(); }

  int smallest_receive_buffer() const {
    int least = 0;
    for (const Sock& s : socks_) {
      const int v = granted_receive_buffer(s.fd);
      least = least == 0 ? v : std::min(least, v);
    }
    return least;
  }

  Status add_socket(const IpAddr& a, uint16_t port, uint32_t service, int sockbuf) {
    if (epfd_ < 0 && (epfd_ = epoll_create1(EPOLL_CLOEXEC)) < 0)
      return Status::error(std::string("cannot create an epoll instance: ") + std::strerror(errno) +
                           ".");
    auto fd = open_udp(a, port, true, sockbuf);
    if (!fd) return fd.status();
    socks_.push_back({*fd, service, {a, port}, a.is_unspecified()});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(socks_.size() - 1);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, *fd, &ev) != 0)
      return Status::error("cannot watch the socket for " + udp_where(a, port) + ": " +
                           std::strerror(errno) + ".");
    return Status::ok();
  }

  void close_sockets() {
    for (Sock& s : socks_) close(s.fd);
    socks_.clear();
    if (epfd_ >= 0) close(epfd_);
    epfd_ = -1;
  }

  void run(const std::atomic<bool>& stop, int timeout_ms) {
    epoll_event ev[kMaxEvents];
    std::vector<uint64_t> every(handlers.size()), due(handlers.size());
    const uint64_t t0 = stamp();
    uint64_t drops_due = t0 + kDropsEveryNs;
    for (size_t h = 0; h < handlers.size(); ++h) {
      every[h] = handlers[h]->tick_interval_ns();
      due[h] = t0 + every[h];
    }
    while (!stop.load(std::memory_order_acquire)) {
      int wait = timeout_ms;
      const uint64_t now = stamp();
      for (size_t h = 0; h < handlers.size(); ++h)
        if (every[h])
          wait = static_cast<int>(
              std::min<int64_t>(wait, due[h] > now ? (due[h] - now) / 1000000 + 1 : 0));
      int n = epoll_wait(epfd_, ev, kMaxEvents, wait);
      for (int i = 0; i < n; ++i) drain(socks_[ev[i].data.u32]);
      const uint64_t after = stamp();
      if (after >= drops_due) {
        count_kernel_drops();
        drops_due = after + kDropsEveryNs;
      }
      for (size_t h = 0; h < handlers.size(); ++h) {
        if (!every[h] || after < due[h]) continue;
        // On time, the next is one interval on; late by an interval or more,
        // one interval from now: a late tick is not run twice in a row.
        due[h] = after < due[h] + every[h] ? due[h] + every[h] : after + every[h];
        outbox_->clear();
        outbox_->now_ns = after;
        outbox_->unix_ns = unix_now();
        handlers[h]->on_tick(*outbox_);
        send_to_peers();
        outbox_->clear();
      }
    }
    count_kernel_drops();  // what the last interval dropped, before the sockets close
  }

  Stats read() const {
    Stats s;
    for (const auto& f : kFields) s.*f.second = (c_.*f.first).get();
    return s;
  }

  const unsigned cpu;
  std::thread thread;
  std::vector<std::unique_ptr<DatagramHandler>> handlers;  // one per service

 private:
  // Reads batches from one ready socket until it is empty (or for a bounded
  // number of rounds, so the other sockets and stop() get their turn).
  void drain(const Sock& s) {
    DatagramHandler& handler = *handlers[s.service];
    const socklen_t ctl_len = s.wildcard ? sizeof(PktInfoSpace) : 0;
    for (int round = 0; round < kRoundsPerWake; ++round) {
      for (uint32_t i = 0; i < batch_; ++i) {
        msghdr& h = rx_[i].msg_hdr;
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_controllen = ctl_len;
        h.msg_flags = 0;
      }
      int n = recvmmsg(s.fd, rx_.data(), batch_, MSG_DONTWAIT, nullptr);
      if (n <= 0) {
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          c_.recv_errors.add();
        return;
      }
      uint32_t m = 0;
      uint64_t bytes = 0;
      for (uint32_t i = 0; i < uint32_t(n); ++i) {
        msghdr& h = rx_[i].msg_hdr;
        if (h.msg_flags & MSG_TRUNC) {
          c_.truncated.add();
          continue;
        }
        Datagram& d = dgrams_[m];
        d = {from_sockaddr(names_[i]), s.local, bufs_.get() + size_t(i) * buffer_, rx_[i].msg_len,
             buffer_};  // no reply unless the handler asks
        if (martian(d.src)) {
          c_.martian.add();
          continue;
        }
        if (s.wildcard && !take_pktinfo(h, d.dst.ip)) {
          c_.to_broadcast.add();
          continue;
        }
        bytes += d.len;
        slot_[m++] = static_cast<uint16_t>(i);
      }
      c_.rx_datagrams.add(m);
      c_.rx_bytes.add(bytes);
      if (m) {
        outbox_->now_ns = stamp();
        outbox_->unix_ns = unix_now();
        handler.on_datagrams({dgrams_.data(), m}, *outbox_);
        send(s, m);
      }
      if (uint32_t(n) < batch_) return;
    }
  }

  // Sends the replies and the Outbox of one batch, in as few sendmmsg as the
  // kernel allows. A datagram the kernel refuses is counted, never retried.
  void send(const Sock& s, uint32_t m) {
    uint32_t k = 0;
    uint64_t bad = 0, replies = 0;
    auto queue = [&](uint16_t slot, const void* a, size_t alen, const void* b, size_t blen) {
      iovec* iov = &tx_iov_[2 * k];
      iov[0] = {const_cast<void*>(a), alen};
      iov[1] = {const_cast<void*>(b), blen};
      msghdr& h = tx_[k++].msg_hdr;
      const msghdr& from = rx_[slot].msg_hdr;
      h.msg_name = &names_[slot];
      h.msg_namelen = from.msg_namelen;
      h.msg_iov = iov;
      h.msg_iovlen = blen ? 2 : 1;
      h.msg_control = s.wildcard && from.msg_controllen ? &ctl_[slot] : nullptr;
      h.msg_controllen = s.wildcard ? from.msg_controllen : 0;
    };
    for (uint32_t j = 0; j < m; ++j) {
      const Datagram& d = dgrams_[j];
      if (d.reply == Reply::kNone) continue;
      ++replies;
      uint32_t len = d.reply == Reply::kUnchanged ? d.len : d.reply_len;
      if (len > d.room) {
        ++bad;
        continue;
      }
      queue(slot_[j], d.data, len, nullptr, 0);
    }
    for (const Outbox::Item& it : outbox_->items()) {
      if (it.to >= m) {
        ++bad;
        continue;
      }
      queue(slot_[it.to], it.header, it.header_len, it.blob ? it.blob->data + it.offset : nullptr,
            it.len);
    }
    c_.replies.add(replies);
    c_.outbox_sends.add(outbox_->size());

    uint32_t off = 0;
    uint64_t sent_bytes = 0;
    while (off < k) {
      int r = sendmmsg(s.fd, &tx_[off], k - off, MSG_DONTWAIT);
      if (r > 0) {
        for (int i = 0; i < r; ++i) sent_bytes += tx_[off + i].msg_len;
        c_.tx_datagrams.add(r);
        off += r;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        bad += k - off;  // the socket is full: drop the rest of this batch
        break;
      } else {
        ++bad;  // this one datagram was refused (EMSGSIZE, unreachable, ...)
        ++off;
      }
    }
    c_.tx_bytes.add(sent_bytes);
    c_.send_errors.add(bad);
    send_to_peers();
    outbox_->clear();
  }

  // The monotonic and wall clocks, in nanoseconds (vDSO reads, no syscall).
  static uint64_t stamp() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }
  static uint64_t unix_now() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }

  // Adds what the kernel dropped at each socket since the last reading. One
  // getsockopt per socket every 100 ms: never on the per-batch path.
  void count_kernel_drops() {
    uint64_t dropped = 0;
    for (Sock& s : socks_) {
      uint32_t mem[SK_MEMINFO_VARS] = {};
      socklen_t len = sizeof mem;
      if (getsockopt(s.fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
          len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
        continue;
      dropped += uint32_t(mem[SK_MEMINFO_DROPS] - s.kernel_drops);  // wraps like the kernel's
      s.kernel_drops = mem[SK_MEMINFO_DROPS];
    }
    if (dropped) c_.kernel_dropped.add(dropped);
  }

  // Datagrams to kept peers, each from the socket bound to the address and
  // port the peer sent to (or the wildcard one of that port and family), in
  // one sendmmsg per run of the same socket.
  void send_to_peers() {
    const size_t n = outbox_->peer_size();
    uint64_t bad = 0, bytes = 0;
    for (size_t i = 0; i < n;) {
      const Sock* s = sock_for(outbox_->peer_item(i).to.local);
      if (!s) {
        ++bad;
        ++i;
        continue;
      }
      uint32_t k = 0;
      for (; i < n && k < kPeerBatch && sock_for(outbox_->peer_item(i).to.local) == s; ++i, ++k) {
        const Outbox::PeerItem& it = outbox_->peer_item(i);
        peer_iov_[k] = {const_cast<uint8_t*>(outbox_->peer_payload(i)), it.len};
        msghdr& h = peer_tx_[k].msg_hdr;
        h = {};
        h.msg_namelen = to_sockaddr(it.to.remote, peer_names_[k]);
        h.msg_name = &peer_names_[k];
        h.msg_iov = &peer_iov_[k];
        h.msg_iovlen = 1;
        if (s->wildcard) {  // from the address the peer sent to, not the route's choice
          h.msg_control = &peer_ctl_[k];
          h.msg_controllen = put_pktinfo(peer_ctl_[k], it.to.local.ip);
        }
      }
      for (uint32_t off = 0; off < k;) {
        int r = sendmmsg(s->fd, &peer_tx_[off], k - off, MSG_DONTWAIT);
        if (r > 0) {
          for (int j = 0; j < r; ++j) bytes += peer_tx_[off + j].msg_len;
          c_.tx_datagrams.add(r);
          off += r;
        } else if (r < 0 && errno == EINTR) {
          continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
          bad += k - off;
          break;
        } else {
          ++bad;
          ++off;
        }
      }
    }
    c_.outbox_sends.add(n);
    c_.tx_bytes.add(bytes);
    c_.send_errors.add(bad);
  }

  const Sock* sock_for(const SockAddr& local) const {
    const Sock* wild = nullptr;
    for (const Sock& s : socks_) {
      if (s.local.port != local.port || s.local.ip.family != local.ip.family) continue;
      if (s.local.ip == local.ip) return &s;
      if (s.wildcard) wild = &s;
    }
    return wild;
  }

  SocketCounters c_;
  const uint32_t batch_, buffer_;
  int epfd_ = -1;
  std::vector<Sock> socks_;
  std::unique_ptr<uint8_t[]> bufs_;
  std::vector<mmsghdr> rx_;
  std::vector<iovec> rx_iov_;
  std::vector<sockaddr_storage> names_;
  std::vector<PktInfoSpace> ctl_;
  std::vector<Datagram> dgrams_;
  std::vector<uint16_t> slot_;  // datagram index in the batch -> receive slot
  std::vector<mmsghdr> tx_;
  std::vector<iovec> tx_iov_;
  std::unique_ptr<Outbox> outbox_;
  static constexpr uint32_t kPeerBatch = 256;  // datagrams per sendmmsg
  mmsghdr peer_tx_[kPeerBatch];
  iovec peer_iov_[kPeerBatch];
  sockaddr_storage peer_names_[kPeerBatch];
  PktInfoSpace peer_ctl_[kPeerBatch];
};

struct SocketBackend::OwnedBlob {
  std::unique_ptr<uint8_t[]> bytes;
  StaticBlob blob;
};

class SocketBackend::Context final : public HandlerContext {
 public:
  explicit Context(SocketBackend& b) : b_(b) {}

  // Workers each start their own handler with the same content: keep one copy.
  Expected<const StaticBlob*> make_static(std::span<const uint8_t> bytes) override {
    for (const auto& b : b_.blobs_)
      if (b->blob.size == bytes.size() &&
          (bytes.empty() || std::memcmp(b->blob.data, bytes.data(), bytes.size()) == 0))
        return static_cast<const StaticBlob*>(&b->blob);
    auto b = std::make_unique<OwnedBlob>();
    b->bytes = std::make_unique<uint8_t[]>(std::max<size_t>(bytes.size(), 1));
    if (!bytes.empty()) std::memcpy(b->bytes.get(), bytes.data(), bytes.size());
    b->blob = {b->bytes.get(), bytes.size(), nullptr};
    b_.blobs_.push_back(std::move(b));
    return static_cast<const StaticBlob*>(&b_.blobs_.back()->blob);
  }
  uint32_t max_payload() const override { return b_.max_payload(); }

 private:
  SocketBackend& b_;
};

SocketBackend::SocketBackend(std::vector<ServiceConfig> services, std::vector<IpAddr> addresses,
                             std::vector<unsigned> cpus, Options options, HandlerFactory factory)
    : services_(std::move(services)),
      addresses_(std::move(addresses)),
      cpus_(std::move(cpus)),
      options_(options),
      factory_(std::move(factory)) {}

SocketBackend::~SocketBackend() {
  stop();
}

uint32_t SocketBackend::max_payload() const {
  bool v4 = std::any_of(addresses_.begin(), addresses_.end(), [](auto& a) { return a.is_v4(); });
  return v4 || addresses_.empty() ? 65507 : 65527;
}

// Every (address, port) must be free: a plain bind (without SO_REUSEPORT) fails if
// anyone holds it, even with SO_REUSEPORT, which would otherwise silently share it.
Status SocketBackend::probe_ports() const {
  for (const IpAddr& a : addresses_)
    for (const ServiceConfig& s : services_) {
      auto fd = open_udp(a, s.port, false, 0);
      if (!fd) return fd.status();
      close(*fd);
    }
  return Status::ok();
}

Status SocketBackend::open_sockets() {
  for (auto& w : workers_)
    for (const IpAddr& a : addresses_)
      for (uint32_t i = 0; i < services_.size(); ++i)
        if (Status st = w->add_socket(a, services_[i].port, i, options_.socket_buffer); !st)
          return st;
  receive_buffer_ = 0;
  for (auto& w : workers_) {
    const int v = w->smallest_receive_buffer();
    receive_buffer_ = receive_buffer_ == 0 ? v : std::min(receive_buffer_, v);
  }
  return Status::ok();
}

Status SocketBackend::start() {
  if (started_)
    return Status::error("this socket backend was started before: make a new one to start again.");
  started_ = true;
  if (services_.empty()) return Status::error("no UDP service to serve: add one with a port.");
  if (addresses_.empty())
    return Status::error("no address to bind: list one (0.0.0.0 or :: for all addresses).");
  if (cpus_.empty()) return Status::error("no worker CPU: name at least one CPU for a worker.");
  if (options_.batch < 1 || options_.batch > kMaxBatch)
    return Status::error("batch = " + std::to_string(options_.batch) +
                         " is out of range: use 1 to " + std::to_string(kMaxBatch) + ".");
  if (options_.buffer < 1 || options_.buffer > 65536)
    return Status::error("buffer = " + std::to_string(options_.buffer) +
                         " bytes is out of range: use 1 to 65536.");
  for (size_t i = 0; i < addresses_.size(); ++i) {
    if (!addresses_[i].is_v4() && !addresses_[i].is_v6())
      return Status::error("address " + std::to_string(i + 1) + " is empty: give an IP address.");
    for (size_t j = 0; j < i; ++j)
      if (addresses_[i] == addresses_[j])
        return Status::error("address " + addresses_[i].str() + " is listed twice: list it once.");
  }
  for (size_t i = 0; i < services_.size(); ++i) {
    if (services_[i].port == 0)
      return Status::error("a service has port 0: give it a port from 1 to 65535.");
    for (size_t j = 0; j < i; ++j)
      if (services_[i].port == services_[j].port)
        return Status::error("two services use UDP port " + std::to_string(services_[i].port) +
                             ": give each its own port.");
  }
  if (Status st = probe_ports(); !st) return st;

  Context ctx(*this);
  for (unsigned cpu : cpus_) {
    auto w = std::make_unique<Worker>(cpu, options_);
    for (const ServiceConfig& s : services_) {
      auto h = factory_ ? factory_(s) : nullptr;
      if (!h) {
        workers_.clear();
        return Status::error("no handler for the service on UDP port " + std::to_string(s.port) +
                             " (the reason is logged above): fix its [[udpd.service]] table.");
      }
      if (Status st = h->start(ctx); !st) {
        workers_.clear();
        return st;
      }
      w->handlers.push_back(std::move(h));
    }
    workers_.push_back(std::move(w));
  }
  if (Status st = open_sockets(); !st) {
    close_all();
    return st;
  }

  if (options_.seccomp) {
    if (Status st = check_worker_filter(WorkerKind::kSockets); !st) {
      close_all();
      return st;
    }
  }
  stop_.store(false, std::memory_order_release);
  const int timeout_ms = static_cast<int>(std::max<int64_t>(options_.poll_timeout.count(), 1));
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* w = workers_[i].get();
    try {
      w->thread = std::thread([this, w, timeout_ms, i] {
        if (options_.seccomp)
          if (Status st = confine_worker_thread(WorkerKind::kSockets); !st)
            spdlog::error("worker {}: {}", i + 1, st.message());
        w->run(stop_, timeout_ms);
      });
    } catch (const std::system_error& e) {
      stop();
      return Status::error(std::string("cannot start a worker thread: ") + e.what() + ".");
    }
    std::string name = "bypass-sock-" + std::to_string(i);
    pthread_setname_np(w->thread.native_handle(), name.substr(0, 15).c_str());
    cpu_set_t set;
    CPU_ZERO(&set);
    if (w->cpu < CPU_SETSIZE) CPU_SET(w->cpu, &set);  // else: no CPU, refused (EINVAL)
    if (int rc = pthread_setaffinity_np(w->thread.native_handle(), sizeof set, &set); rc != 0) {
      stop();
      return Status::error("cannot pin a worker to CPU " + std::to_string(w->cpu) + ": " +
                           std::strerror(rc) +
                           ": use a CPU this process may run on (see taskset -p).");
    }
  }
  running_ = true;
  return Status::ok();
}

void SocketBackend::stop() {
  stop_.store(true, std::memory_order_release);
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  close_all();
  running_ = false;
}

void SocketBackend::close_all() {
  for (auto& w : workers_) w->close_sockets();
}

SocketStats SocketBackend::worker_stats(size_t worker) const {
  return worker < workers_.size() ? workers_[worker]->read() : Stats{};
}

void SocketBackend::handler_counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  for (const auto& w : workers_)
    for (const auto& h : w->handlers) h->counters(out);
}

void SocketBackend::connections(std::vector<ConnectionRow>& out) const {
  for (size_t w = 0; w < workers_.size(); ++w)
    for (size_t i = 0; i < workers_[w]->handlers.size() && i < services_.size(); ++i) {
      const size_t first = out.size();
      workers_[w]->handlers[i]->list_connections(out);
      for (size_t k = first; k < out.size(); ++k) {
        out[k].worker = static_cast<unsigned>(w + 1);
        out[k].service = services_[i].port;
      }
    }
}

SocketStats SocketBackend::stats() const {
  Stats s;
  for (const auto& w : workers_) s += w->read();
  return s;
}

DatagramHandler& SocketBackend::handler(size_t worker, size_t service) {
  return *workers_.at(worker)->handlers.at(service);
}

}  // namespace bypass
