// The datagram handler API, the same over every backend (DPDK ports + Endpoint,
// or Linux UDP sockets). A handler gets datagrams in batches and, for each,
// either replies in place (the reply is written over the request's payload,
// no copy), or consumes it. It may also queue further datagrams in the Outbox:
// copied bytes, or slices of a StaticBlob sent without copying (DPDK external
// buffers; iovecs on sockets). One virtual call per batch, none per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <bypass/core/status.hpp>
#include <bypass/net/addr.hpp>

namespace bypass {

enum class Reply : uint8_t {
  kNone,       // consumed: nothing goes back
  kUnchanged,  // send the payload back as it is (echo): checksums are only swapped
  kModified,   // send back reply_len bytes written at data
};

struct Datagram {
  SockAddr src;             // the peer
  SockAddr dst;             // our address and port
  uint8_t* data = nullptr;  // payload, writable
  uint32_t len = 0;         // payload bytes
  uint32_t room = 0;        // bytes writable at data for a reply (>= len)
  Reply reply = Reply::kNone;
  uint32_t reply_len = 0;  // with kModified

  void reply_unchanged() { reply = Reply::kUnchanged; }
  // The handler wrote `n` bytes at data (n <= room).
  void reply_with(uint32_t n) {
    reply = Reply::kModified;
    reply_len = n;
  }
};

// Read-only bytes a handler sends many times without copying. Made by the
// backend (DMA-able memory for DPDK), owned by it, alive until it stops.
struct StaticBlob {
  const uint8_t* data = nullptr;
  size_t size = 0;
  void* backend = nullptr;  // the backend's own handle (DPDK: its shared info)
};

// Further datagrams a handler sends during a batch: to the sender of one of the
// batch's datagrams (same path back), with a small copied header and an
// optional slice of a StaticBlob. Bounded: send() returns false when full.
class Outbox {
 public:
  static constexpr size_t kCapacity = 256;
  static constexpr size_t kMaxHeader = 32;

  struct Item {
    uint16_t to;  // index of the datagram in the batch whose sender gets it
    uint8_t header_len;
    uint8_t header[kMaxHeader];
    const StaticBlob* blob;
    size_t offset, len;
  };

  bool send(uint16_t to, std::span<const uint8_t> header, const StaticBlob* blob = nullptr,
            size_t offset = 0, size_t len = 0) {
    if (n_ == kCapacity || header.size() > kMaxHeader || (blob && offset + len > blob->size))
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
  std::span<const Item> items() const { return {items_, n_}; }
  size_t size() const { return n_; }
  void clear() { n_ = 0; }

 private:
  Item items_[kCapacity];
  size_t n_ = 0;
};

// What a handler can ask of its backend at start.
class HandlerContext {
 public:
  virtual ~HandlerContext() = default;
  // Copies `bytes` once into memory the backend can send from without copying.
  virtual Expected<const StaticBlob*> make_static(std::span<const uint8_t> bytes) = 0;
  // Largest payload one datagram may carry on this backend.
  virtual uint32_t max_payload() const = 0;
};

class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  // Runs once on the control thread before traffic flows.
  virtual Status start(HandlerContext&) { return Status::ok(); }
  // A batch of datagrams, all for this handler's port.
  virtual void on_datagrams(std::span<Datagram> batch, Outbox& out) = 0;
};

}  // namespace bypass
