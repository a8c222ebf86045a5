// CaptureTap: a capture point between two modules (bypassctl capture). It
// passes every batch on unchanged and copies the packets its filter (a
// classic BPF program compiled by libpcap on the control thread) accepts,
// up to a budget, into a single-producer, single-consumer ring of fixed-size
// records that the control thread drains into a pcapng file. The worker
// never waits: a copy that finds the ring full is counted and dropped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/graph/module.hpp>

namespace bypass {

// One instruction of a classic BPF program, laid out as libpcap's bpf_insn
// (capture_tap.cpp checks that), so that this header needs no libpcap.
struct BpfInsn {
  uint16_t code;
  uint8_t jt, jf;
  uint32_t k;
};

struct CaptureRecord {
  static constexpr uint32_t kSnap = 2048;
  uint64_t unix_ns = 0;
  uint32_t wire_len = 0, len = 0;
  uint32_t worker = 0;
  uint8_t data[kSnap];
};

// What one capture shares with its taps (one per worker
// that has the point); made and drained by the control thread.
class CaptureChannel {
 public:
  CaptureChannel(std::vector<BpfInsn> filter, uint64_t budget, size_t slots = 1024)
      : filter_(std::move(filter)), budget_(budget), slots_(slots) {}
  const std::vector<BpfInsn>& filter() const { return filter_; }
  uint64_t budget() const { return budget_; }
  size_t slots() const { return slots_; }

 private:
  std::vector<BpfInsn> filter_;
  uint64_t budget_;
  size_t slots_;
};

class CaptureTap final : public Module {
 public:
  CaptureTap(std::shared_ptr<CaptureChannel> ch, unsigned worker);
  void process(Worker& w, Batch& in) override;

  // Control thread: the next record, or false.
  bool pop(CaptureRecord* out);
  uint64_t ring_full() const { return ring_full_.get(); }
  uint64_t seen() const { return seen_.get(); }
  unsigned worker() const { return worker_; }  // its worker's number, from 1

 private:
  std::shared_ptr<CaptureChannel> ch_;
  unsigned worker_;
  std::unique_ptr<CaptureRecord[]> ring_;
  uint64_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  Counter ring_full_, seen_;
  uint64_t taken_ = 0;  // copies this tap made: each stops at the budget on its own
};

}  // namespace bypass
