/// @file
/// The datagram handler API, the same over every backend (DPDK ports + Endpoint,
/// or Linux UDP sockets). A handler gets datagrams in batches and, for each,
/// either replies in place (the reply is written over the request's payload,
/// no copy), or consumes it. It may also queue further datagrams in the Outbox:
/// copied bytes, or slices of a StaticBlob sent without copying (DPDK external
/// buffers; iovecs on sockets). A handler that keeps peers (connections) may
/// also send to any of them at any time, within a batch or from its tick, to
/// the Peer it kept: the backend needs no neighbour lookup for that. One
/// virtual call per batch (and per tick), none per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <bypass/core/journal_sink.hpp>
#include <bypass/core/status.hpp>
#include <bypass/net/addr.hpp>
#include <bypass/udp/connection_list.hpp>

namespace bypass {

/// The most services one server runs (a worker's dispatch slot is a byte).
inline constexpr size_t kMaxServices = 255;

/// What goes back for a datagram.
enum class Reply : uint8_t {
  kNone,       ///< consumed: nothing goes back
  kUnchanged,  ///< send the payload back as it is (echo): checksums are only swapped
  kModified,   ///< send back reply_len bytes written at data
};

/// Where a datagram came from, kept by a handler to send to that peer later:
/// both addresses and, on DPDK ports, the link header of the path back (the
/// peer's MAC, ours, VLAN tags) and the port, so sending needs no lookup.
struct Peer {
  static constexpr unsigned kMaxLink = 22;  ///< Ethernet and two VLAN tags
  SockAddr remote;                          ///< the peer
  SockAddr local;                           ///< our address and port it sent to
  uint8_t link[kMaxLink] = {};              ///< DPDK: ready to put in front of IP
  uint8_t link_len = 0;                     ///< 0 on sockets
  uint8_t port = 0;                         ///< DPDK: the backend's port index
};

/// One datagram of a batch, and the handler's answer to it.
struct Datagram {
  SockAddr src;                ///< the peer
  SockAddr dst;                ///< our address and port
  uint8_t* data = nullptr;     ///< payload, writable
  uint32_t len = 0;            ///< payload bytes
  uint32_t room = 0;           ///< bytes writable at data for a reply (>= len)
  Reply reply = Reply::kNone;  ///< the answer; nothing goes back until the handler sets it
  uint32_t reply_len = 0;      ///< with kModified
  /// DPDK: the request's link header as it arrived (valid during the batch;
  /// peer() turns it around for the way back).
  const uint8_t* link = nullptr;
  uint8_t link_len = 0;  ///< its bytes; 0 on sockets
  uint8_t port = 0;      ///< DPDK: the backend's port index it came in on

  /// The sender, to keep beyond this batch.
  Peer peer() const {
    Peer p;
    put_peer(p);
    return p;
  }
  /// The sender, written into `p` where it is kept. (A Peer built field by
  /// field and then copied whole is read back before its narrow stores land:
  /// a store-forwarding stall per copy.)
  void put_peer(Peer& p) const {
    p.remote = src;
    p.local = dst;
    p.link_len = link_len >= 12 && link_len <= Peer::kMaxLink ? link_len : 0;
    for (unsigned i = 0; i < p.link_len; ++i) p.link[i] = link[i];
    for (unsigned i = p.link_len; i < Peer::kMaxLink; ++i) p.link[i] = 0;
    for (unsigned i = 0; i < 6 && p.link_len; ++i) {  // to the sender; the source MAC is ours
      p.link[i] = link[6 + i];
      p.link[6 + i] = link[i];
    }
    p.port = port;
  }

  /// Sends the payload back as it is.
  void reply_unchanged() { reply = Reply::kUnchanged; }
  /// The handler wrote `n` bytes at data (n <= room).
  void reply_with(uint32_t n) {
    reply = Reply::kModified;
    reply_len = n;
  }
};

/// Read-only bytes a handler sends many times without copying. Made by the
/// backend (DMA-able memory for DPDK), owned by it, alive until it stops.
struct StaticBlob {
  const uint8_t* data = nullptr;  ///< the bytes
  size_t size = 0;                ///< how many
  void* backend = nullptr;        ///< the backend's own handle (DPDK: its shared info)
};

/// Further datagrams a handler sends during a batch: to the sender of one of the
/// batch's datagrams (same path back), with a small copied header and an
/// optional slice of a StaticBlob. Bounded: send() returns false when full.
class Outbox {
 public:
  static constexpr size_t kCapacity = 256;  ///< datagrams send() takes per batch
  static constexpr size_t kMaxHeader = 32;  ///< bytes of copied header, at most

  /// A datagram queued by send().
  struct Item {
    uint16_t to;                 ///< index of the datagram in the batch whose sender gets it
    uint8_t header_len;          ///< bytes of header
    uint8_t header[kMaxHeader];  ///< the copied header
    const StaticBlob* blob;      ///< the blob of the slice that follows, or nullptr
    ///@{
    /// The slice of blob: where it starts, and its bytes.
    size_t offset, len;
    ///@}
  };

  /// The most a UDP datagram carries (over IPv4: 65535 - 20 - 8).
  static constexpr size_t kMaxDatagram = 65507;
  /// Queues a datagram to the sender of datagram `to` of the batch: `header`
  /// copied, then `len` bytes of `blob` from `offset`, not copied. False when
  /// the outbox is full, the header is over kMaxHeader, the slice is past the
  /// blob or the datagram over kMaxDatagram.
  bool send(uint16_t to, std::span<const uint8_t> header, const StaticBlob* blob = nullptr,
            size_t offset = 0, size_t len = 0) {
    if (n_ == kCapacity || header.size() > kMaxHeader) return false;
    if (blob &&
        (offset > blob->size || len > blob->size - offset || len > kMaxDatagram - header.size()))
      return false;
    Item& it = items_[n_++];
    it.to = to;
    it.header_len = static_cast<uint8_t>(header.size());
    for (size_t i = 0; i < header.size(); ++i) it.header[i] = header[i];
    it.blob = blob;
    it.offset = offset;
    it.len = blob ? len : 0;
    return true;
  }
  std::span<const Item> items() const { return {items_, n_}; }  ///< what send() queued
  size_t size() const { return n_; }                            ///< how many send() queued

  ///@{
  /// Datagrams to kept peers, packed into the outbox's own memory: up to
  /// kPeerCapacity of them and kPeerBytes of payload per batch or tick (a tick
  /// may owe a thousand small keep-alives).
  static constexpr size_t kPeerCapacity = 1024;
  static constexpr size_t kPeerBytes = 256 * 1024;
  ///@}
  static constexpr size_t kMaxPeerPayload = 1472;   ///< what fits a 1500-byte IPv4 MTU
  static constexpr size_t kMaxPeerPayload6 = 1452;  ///< what fits a 1500-byte IPv6 MTU
  /// The largest datagram to `to` (its family's header is 20 bytes longer on IPv6).
  static size_t max_peer_payload(const Peer& to) { return max_payload_to(to.remote); }
  /// A datagram to a kept peer.
  struct PeerItem {
    Peer to;          ///< the peer
    uint32_t offset;  ///< where its payload is in the outbox's memory
    uint16_t len;     ///< payload bytes
  };
  /// Room for a `len`-byte datagram to `to` (0 is a datagram too): the
  /// caller writes the payload there (it may seal it in place). nullptr when
  /// full or `len` is over max_peer_payload(to).
  uint8_t* reserve(const Peer& to, size_t len) {
    PeerItem* it = take_item(len, to.remote);
    if (!it) return nullptr;
    it->to = to;
    return peer_bytes_ + it->offset;
  }
  /// reserve() to the sender of `from`, its Peer written in place.
  uint8_t* reserve(const Datagram& from, size_t len) {
    PeerItem* it = take_item(len, from.src);
    if (!it) return nullptr;
    from.put_peer(it->to);
    return peer_bytes_ + it->offset;
  }
  /// The datagram of the last reserve() is `len` bytes, no more than were
  /// reserved (a writer that reserved its largest size); 0 takes it back.
  void shrink_last(size_t len) {
    if (np_ == 0) return;
    PeerItem& it = peer_items_[np_ - 1];
    if (len == 0) {
      used_ = it.offset;
      --np_;
      return;
    }
    if (len > it.len) return;
    it.len = static_cast<uint16_t>(len);
    used_ = it.offset + ((len + 7) & ~size_t{7});
  }
  /// A copy of `payload` to `to`; false where reserve() would return nullptr.
  bool send_to(const Peer& to, std::span<const uint8_t> payload) {
    uint8_t* p = reserve(to, payload.size());
    if (!p) return false;
    for (size_t i = 0; i < payload.size(); ++i) p[i] = payload[i];
    return true;
  }
  size_t peer_size() const { return np_; }  ///< datagrams to kept peers queued

  ///@{
  /// Set by a backend that can put kept-peer datagrams on the wire before the
  /// batch or tick ends: reserve() calls it when the peer space is full (a
  /// tick that owes 100,000 keep-alives), and the function sends what is
  /// there and calls clear_peers(). Without it, reserve() returns nullptr.
  using PeerFlush = void (*)(void* ctx, Outbox& out);
  void set_peer_flush(PeerFlush fn, void* ctx) {
    flush_fn_ = fn;
    flush_ctx_ = ctx;
  }
  ///@}
  /// Forgets the datagrams to kept peers (once sent).
  void clear_peers() {
    np_ = 0;
    used_ = 0;
  }
  uint64_t peer_flushes = 0;  ///< times the peer space was sent early
  /// Datagram `i` to a kept peer (i < peer_size()).
  const PeerItem& peer_item(size_t i) const { return peer_items_[i]; }
  /// Its payload.
  const uint8_t* peer_payload(size_t i) const { return peer_bytes_ + peer_items_[i].offset; }

  ///@{
  /// The time of this batch or tick on the worker's clock, set by the backend:
  /// monotonic nanoseconds, and the wall clock (for expiry times that other
  /// machines wrote) in unix nanoseconds.
  uint64_t now_ns = 0;
  uint64_t unix_ns = 0;
  ///@}

  /// Forgets every queued datagram, of both kinds.
  void clear() {
    n_ = 0;
    np_ = 0;
    used_ = 0;
  }

 private:
  static size_t max_payload_to(const SockAddr& remote) {
    return remote.ip.is_v6() ? kMaxPeerPayload6 : kMaxPeerPayload;
  }
  // The next datagram to a kept peer at `remote`, its payload's place taken
  // (the peer left for the caller to write); nullptr when full or `len` is
  // over max_payload_to(remote).
  PeerItem* take_item(size_t len, const SockAddr& remote) {
    if (len > max_payload_to(remote)) return nullptr;
    if (np_ == kPeerCapacity || used_ + len > kPeerBytes) {
      // Full: a backend that can send now does, and the space is free again.
      if (!flush_fn_) return nullptr;
      flush_fn_(flush_ctx_, *this);
      ++peer_flushes;
      if (np_ != 0) return nullptr;
    }
    PeerItem& it = peer_items_[np_++];
    it.offset = static_cast<uint32_t>(used_);
    it.len = static_cast<uint16_t>(len);
    used_ += (len + 7) & ~size_t{7};
    return &it;
  }

  Item items_[kCapacity];
  size_t n_ = 0;
  PeerItem peer_items_[kPeerCapacity];
  alignas(8) uint8_t peer_bytes_[kPeerBytes];
  size_t np_ = 0, used_ = 0;
  PeerFlush flush_fn_ = nullptr;
  void* flush_ctx_ = nullptr;
};

/// What a handler can ask of its backend at start.
class HandlerContext {
 public:
  virtual ~HandlerContext() = default;
  /// Copies `bytes` once into memory the backend can send from without copying.
  virtual Expected<const StaticBlob*> make_static(std::span<const uint8_t> bytes) = 0;
  /// Gives back a blob make_static() made, when the handler that asked for it
  /// is retired: it is freed once no packet points into it. By default blobs
  /// stay until the context goes.
  virtual void release_static(const StaticBlob*) {}
  /// Largest payload one datagram may carry on this backend.
  virtual uint32_t max_payload() const = 0;
  /// True while a live reload starts handlers that will replace running
  /// ones: what must count from when traffic reaches the new handler (a
  /// netcode service's restart rule) waits for its first datagram or tick.
  /// At a program's start, false: it counts from start(), before the
  /// program says it serves.
  virtual bool replacing() const { return false; }
};

/// The code behind a UDP port: it gets the port's datagrams in batches; see the file's description.
class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  /// Runs once on the control thread before traffic flows.
  virtual Status start(HandlerContext&) { return Status::ok(); }
  /// Runs on the control thread when a live reload retires the handler (its
  /// service was removed or changed), no worker calling it any more, before
  /// it is destroyed: gives back what start() took from the context.
  virtual void retire(HandlerContext&) {}
  /// A batch of datagrams, all for this handler's port.
  virtual void on_datagrams(std::span<Datagram> batch, Outbox& out) = 0;
  /// How often the backend calls on_tick (0: never); asked once at start.
  virtual uint64_t tick_interval_ns() const { return 0; }
  /// Periodic work (keep-alives, timeouts): sends go to kept peers.
  virtual void on_tick(Outbox&) {}
  /// The handler's own counters ("netcode.connected"), read from the control
  /// thread while the worker runs; the backend sums them over workers by name.
  virtual void counters(std::vector<std::pair<std::string, uint64_t>>&) const {}
  /// Where to hand state changes (connections opened and closed) for the
  /// journal; called before the worker starts, on handlers that have any.
  virtual void set_journal(JournalSink*) {}
  /// Appends its open connections (worker and service left for the caller);
  /// safe from the control thread while the worker runs.
  virtual void list_connections(std::vector<ConnectionRow>&) const {}
};

}  // namespace bypass
