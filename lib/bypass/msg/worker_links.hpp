/// @file
/// WorkerLinks: the rings between the workers of one message service, which
/// carry messages for connections that live on another worker and the
/// applications' own records (room publications). One single-producer,
/// single-consumer byte ring per ordered pair of workers: a record is copied
/// once into each ring it goes to, and read there in the order it was written.
/// Workers join at start, on the control thread, before traffic; afterwards
/// only the rings' own atomics are touched: no lock, no allocation.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include <bypass/core/status.hpp>
#include <bypass/msg/msg_wire.hpp>

namespace bypass::msg {

/// Records of bytes, each whole and contiguous. One producer, one consumer.
class ByteRing {
 public:
  /// `capacity`: bytes, a power of two (WorkerLinks checks it).
  explicit ByteRing(size_t capacity);

  /// Producer: appends one record made of `parts` in order; false (nothing
  /// written) if it does not fit now.
  bool push(std::initializer_list<std::span<const uint8_t>> parts);
  /// Producer: whether a record of `bytes` fits now. One that does not fit
  /// here, at the end of the ring, but would from its start moves the ring on
  /// to its start (a wrap marker, when that fits), so that it fits once the
  /// consumer has read up to there: any record up to the capacity (less 8
  /// bytes) fits an empty ring sooner or later, wherever the ring stood.
  bool fits(size_t bytes);

  /// Consumer: the oldest record (empty when there is none); it stays until pop().
  std::span<const uint8_t> peek();
  /// Consumer: drops the record peek() gave.
  void pop();
  /// Consumer: how far the producer has written, and how far this side has
  /// read (byte positions that only grow): a reader that takes records only
  /// up to what was written when it began ends even while the producer writes on.
  uint64_t written() const { return tail_.load(std::memory_order_acquire); }
  /// Consumer: how far this side has read (see written()).
  uint64_t read() const { return head_.load(std::memory_order_relaxed); }

  /// Its size in bytes.
  size_t capacity() const { return mem_.size(); }

 private:
  size_t footprint(size_t bytes) const;  ///< header and padding included
  std::vector<uint8_t> mem_;
  alignas(64) std::atomic<uint64_t> tail_{0};  ///< written by the producer
  alignas(64) std::atomic<uint64_t> head_{0};  ///< written by the consumer
  uint64_t peeked_ = 0;                        ///< consumer: where the record after peek() starts
};

/// Which workers want records about a key (a room): per bucket of keys, a bit
/// per worker. A worker sets its bit when it starts holding a key of the
/// bucket and clears it when it holds none, so a bit is never missing where a
/// worker holds a key; keys sharing a bucket only cost records a worker drops.
class WorkerDirectory {
 public:
  static constexpr size_t kBuckets = size_t{1} << 14;  ///< 128 KiB of bits
  /// The bucket of `key` (a hash already).
  static size_t bucket(uint64_t key) { return key & (kBuckets - 1); }
  /// A bit per worker that holds a key of `key`'s bucket.
  uint64_t workers(uint64_t key) const {
    return bits_[bucket(key)].load(std::memory_order_seq_cst);
  }
  /// Sets (`on`) or clears `worker`'s bit in `key`'s bucket.
  void set(uint32_t worker, uint64_t key, bool on) {
    const uint64_t bit = uint64_t{1} << worker;
    if (on)
      bits_[bucket(key)].fetch_or(bit, std::memory_order_seq_cst);
    else
      bits_[bucket(key)].fetch_and(~bit, std::memory_order_seq_cst);
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> bits_{};
};

/// The rings between the workers of one message service, and its directory.
class WorkerLinks {
 public:
  static constexpr uint32_t kMaxWorkers = 64;                   ///< a bit each in a uint64_t
  static constexpr size_t kDefaultRingBytes = size_t{1} << 20;  ///< 1 MiB a ring
  /// The smallest ring that takes the largest record: a message of
  /// kMaxMessageBytes with its head (a record that could never fit would
  /// hold its sender's channel for good).
  static constexpr size_t kMinRingBytes = size_t{1} << 17;
  /// The most a record adds to a message: what kMinRingBytes leaves room for.
  static constexpr size_t kMaxRecordHead = 64;

  /// `ring_bytes`: each ring's size, a power of two of at least kMinRingBytes
  /// (join() says so otherwise).
  explicit WorkerLinks(size_t ring_bytes = kDefaultRingBytes) : ring_bytes_(ring_bytes) {}

  /// On the control thread, before traffic: the next worker's index, with a
  /// ring to and from every worker that joined before it.
  Expected<uint32_t> join();
  /// How many workers joined.
  uint32_t workers() const { return workers_.load(std::memory_order_acquire); }
  /// A worker takes records from its first poll on; until then nothing is
  /// sent to it (a worker whose handlers get no traffic, as with a handoff,
  /// never polls, and its rings would only fill).
  void activate(uint32_t me) { active_[me].store(true, std::memory_order_release); }
  /// Whether worker `w` takes records (it has polled once).
  bool active(uint32_t w) const { return active_[w].load(std::memory_order_acquire); }
  /// The ring from worker `from` to worker `to` (both joined, not the same).
  ByteRing* ring(uint32_t from, uint32_t to) { return rings_[from * kMaxWorkers + to].get(); }
  /// Which workers hold which keys.
  WorkerDirectory& directory() { return directory_; }

 private:
  size_t ring_bytes_;
  std::atomic<uint32_t> workers_{0};
  std::array<std::atomic<bool>, kMaxWorkers> active_{};
  std::array<std::unique_ptr<ByteRing>, kMaxWorkers * kMaxWorkers> rings_;
  WorkerDirectory directory_;
};

}  // namespace bypass::msg
