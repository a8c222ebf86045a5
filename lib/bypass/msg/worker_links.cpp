#include <bypass/msg/worker_links.hpp>

#include <cstring>
#include <string>

namespace bypass::msg {

namespace {

constexpr uint32_t kWrap = UINT32_MAX;  // a header that sends the reader back to the start
constexpr size_t kHeader = 8;           // length (4 bytes) and padding: records stay 8-aligned

constexpr size_t round8(size_t n) {
  return (n + 7) & ~size_t{7};
}

}  // namespace

// The largest record, header and padding included, fits the smallest ring.
static_assert(kHeader + round8(kMaxMessageBytes + WorkerLinks::kMaxRecordHead) <=
              WorkerLinks::kMinRingBytes);

ByteRing::ByteRing(size_t capacity) : mem_(capacity) {}

size_t ByteRing::footprint(size_t bytes) const {
  return kHeader + round8(bytes);
}

bool ByteRing::fits(size_t bytes) {
  const size_t need = footprint(bytes);
  if (need > mem_.size()) return false;
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  const uint64_t head = head_.load(std::memory_order_acquire);
  const size_t pos = tail % mem_.size();
  if (pos + need <= mem_.size()) return tail + need - head <= mem_.size();
  // A record that would cross the end starts again at the beginning.
  const size_t waste = mem_.size() - pos;
  if (tail + waste + need - head <= mem_.size()) return true;
  // Not from here, even with the ring empty: go on to the start now.
  if (tail + waste - head <= mem_.size()) {
    const uint32_t wrap = kWrap;
    std::memcpy(mem_.data() + pos, &wrap, 4);
    tail_.store(tail + waste, std::memory_order_release);
  }
  return false;
}

bool ByteRing::push(std::initializer_list<std::span<const uint8_t>> parts) {
  size_t bytes = 0;
  for (const auto& p : parts) bytes += p.size();
  if (!fits(bytes)) return false;
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  size_t pos = tail % mem_.size();
  if (pos + footprint(bytes) > mem_.size()) {
    const uint32_t wrap = kWrap;
    std::memcpy(mem_.data() + pos, &wrap, 4);
    tail += mem_.size() - pos;
    pos = 0;
  }
  const auto len = static_cast<uint32_t>(bytes);
  std::memcpy(mem_.data() + pos, &len, 4);
  size_t at = pos + kHeader;
  for (const auto& p : parts) {
    if (!p.empty()) std::memcpy(mem_.data() + at, p.data(), p.size());
    at += p.size();
  }
  tail_.store(tail + footprint(bytes), std::memory_order_release);
  return true;
}

std::span<const uint8_t> ByteRing::peek() {
  uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  if (head == tail) return {};
  size_t pos = head % mem_.size();
  uint32_t len;
  std::memcpy(&len, mem_.data() + pos, 4);
  if (len == kWrap) {
    head += mem_.size() - pos;
    head_.store(head, std::memory_order_release);
    if (head == tail) return {};
    pos = 0;
    std::memcpy(&len, mem_.data(), 4);
  }
  peeked_ = head + footprint(len);
  return {mem_.data() + pos + kHeader, len};
}

void ByteRing::pop() {
  head_.store(peeked_, std::memory_order_release);
}

Expected<uint32_t> WorkerLinks::join() {
  const uint32_t me = workers_.load(std::memory_order_relaxed);
  if (me >= kMaxWorkers)
    return Status::error("messages: at most " + std::to_string(kMaxWorkers) +
                         " workers can share one message service");
  if ((ring_bytes_ & (ring_bytes_ - 1)) != 0 || ring_bytes_ < kMinRingBytes)
    return Status::error("messages: the rings between workers are " + std::to_string(ring_bytes_) +
                         " bytes; make them a power of two of at least " +
                         std::to_string(kMinRingBytes) + ", so that a 64 KiB message fits");
  for (uint32_t other = 0; other < me; ++other) {
    rings_[other * kMaxWorkers + me] = std::make_unique<ByteRing>(ring_bytes_);
    rings_[me * kMaxWorkers + other] = std::make_unique<ByteRing>(ring_bytes_);
  }
  workers_.store(me + 1, std::memory_order_release);
  return me;
}

}  // namespace bypass::msg
