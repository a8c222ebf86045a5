/// @file
/// PacketBatch: where the sessions of one connection owner put the packets
/// they finish. A session writes each packet in place (room(), then commit());
/// the batch hands them to its PacketOut whole, when the owner calls drain()
/// at the end of a flush or when it is full: one virtual call per batch (per
/// burst on a server), never one per packet. An owner with nothing to batch
/// (a client, a test) gives it a capacity of 1. No allocation after
/// construction.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include <bypass/msg/msg_wire.hpp>

namespace bypass::msg {

/// A finished packet for connection `conn`.
struct OutPacket {
  uint32_t conn = 0;               ///< the owner's number for the connection
  uint16_t len = 0;                ///< bytes used in `bytes`
  uint8_t bytes[kMaxPacketBytes];  ///< the packet, as the session wrote it
  /// The packet's bytes (`len` of them).
  std::span<const uint8_t> data() const { return {bytes, len}; }
};

/// Where a batch of finished packets goes (the owner's connections).
class PacketOut {
 public:
  virtual ~PacketOut() = default;
  /// Sends `packets`, in order; they are only valid during the call.
  virtual void transmit(std::span<const OutPacket> packets) = 0;
};

/// Packets finished but not yet handed over; see the file's description.
class PacketBatch {
 public:
  /// A batch of up to `capacity` packets (at least 1) for `out`.
  PacketBatch(PacketOut* out, uint32_t capacity) : out_(out), packets_(capacity ? capacity : 1) {}
  PacketBatch(const PacketBatch&) = delete;
  PacketBatch& operator=(const PacketBatch&) = delete;

  /// Where the next packet is written; it counts once committed.
  std::span<uint8_t> room() { return packets_[n_].bytes; }
  /// Counts the `len` bytes written in room() as a packet for `conn`; hands
  /// the batch over if that fills it.
  void commit(uint32_t conn, size_t len) {
    OutPacket& p = packets_[n_];
    p.conn = conn;
    p.len = static_cast<uint16_t>(len);
    if (++n_ == packets_.size()) drain();
  }
  /// Takes back what is committed for `conn` (its connection is gone: the
  /// slot may be the next client's before the batch is handed over).
  void forget(uint32_t conn) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n_; ++i) {
      if (packets_[i].conn == conn) continue;
      if (kept != i) {
        packets_[kept].conn = packets_[i].conn;
        packets_[kept].len = packets_[i].len;
        std::copy_n(packets_[i].bytes, packets_[i].len, packets_[kept].bytes);
      }
      ++kept;
    }
    n_ = kept;
  }
  /// Hands over what is committed.
  void drain() {
    if (n_ == 0) return;
    const uint32_t n = n_;
    n_ = 0;
    out_->transmit({packets_.data(), n});
  }

 private:
  PacketOut* out_;
  std::vector<OutPacket> packets_;
  uint32_t n_ = 0;
};

}  // namespace bypass::msg
