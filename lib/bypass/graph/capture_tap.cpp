#include <bypass/graph/capture_tap.hpp>

#include <pcap/pcap.h>
#include <rte_mbuf.h>

#include <chrono>
#include <cstddef>
#include <cstring>

namespace bypass {

static_assert(sizeof(BpfInsn) == sizeof(bpf_insn) && offsetof(BpfInsn, k) == offsetof(bpf_insn, k),
              "BpfInsn must be laid out as libpcap's bpf_insn");

CaptureTap::CaptureTap(std::shared_ptr<CaptureChannel> ch, unsigned worker)
    : Module("CaptureTap", 1), ch_(std::move(ch)), worker_(worker) {
  size_t n = 16;
  while (n < ch_->slots()) n <<= 1;
  ring_ = std::make_unique<CaptureRecord[]>(n);
  mask_ = n - 1;
}

void CaptureTap::process(Worker& w, Batch& in) {
  const auto* prog =
      ch_->filter().empty() ? nullptr : reinterpret_cast<const bpf_insn*>(ch_->filter().data());
  int64_t now_ns = -1;
  for (uint16_t i = 0; i < in.size(); ++i) {
    rte_mbuf* m = in[i];
    seen_.add();
    const auto* data = rte_pktmbuf_mtod(m, const u_char*);
    const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
    const uint32_t snap = pkt_len < CaptureRecord::kSnap ? pkt_len : CaptureRecord::kSnap;
    // A chain (a reply with its content in segments) is judged and kept
    // whole, up to the snap length, once copied; a single segment in place.
    const bool chained = m->nb_segs > 1;
    if (!chained && prog && bpf_filter(prog, data, pkt_len, rte_pktmbuf_data_len(m)) == 0) continue;
    if (taken_ >= ch_->budget()) continue;
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) {
      ring_full_.add();  // (a chain counted here may be one the filter would refuse)
      continue;
    }
    CaptureRecord& r = ring_[head & mask_];
    if (chained) {
      const void* at = rte_pktmbuf_read(m, 0, snap, r.data);
      if (at != r.data) std::memcpy(r.data, at, snap);
      if (prog && bpf_filter(prog, r.data, pkt_len, snap) == 0) continue;
    } else {
      std::memcpy(r.data, data, snap);
    }
    ++taken_;
    if (now_ns < 0)  // the vDSO's clock, once per batch
      now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    r.unix_ns = static_cast<uint64_t>(now_ns);
    r.wire_len = pkt_len;
    r.len = snap;
    r.worker = worker_;
    head_.store(head + 1, std::memory_order_release);
  }
  emit(w, 0, in);
}

bool CaptureTap::pop(CaptureRecord* out) {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (tail == head_.load(std::memory_order_acquire)) return false;
  const CaptureRecord& r = ring_[tail & mask_];
  out->unix_ns = r.unix_ns;
  out->wire_len = r.wire_len;
  out->len = r.len;
  out->worker = r.worker;
  std::memcpy(out->data, r.data, r.len);
  tail_.store(tail + 1, std::memory_order_release);
  return true;
}

}  // namespace bypass
