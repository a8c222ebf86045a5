#include <bypass/gen/traffic.hpp>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf_dyn.h>

#include <bypass/gen/gen_header.hpp>

namespace bypass::gen {

void GenTx::start(uint64_t now) {
  for (auto& s : streams_) s->pacer.start(now);
}

bool GenTx::poll(Worker& w) {
  bool did = false;
  rte_mbuf* pkts[bypass::kMaxBurst];
  for (auto& sp : streams_) {
    StreamTx& s = *sp;
    const uint64_t now = w.clock().now();
    uint32_t n = s.pacer.due(now);
    if (n == 0) continue;
    if (n > bypass::kMaxBurst) n = bypass::kMaxBurst;
    if (rte_pktmbuf_alloc_bulk(pool_, pkts, n) != 0) [[unlikely]] {
      s.pacer.give_back(n);
      c_.tx_nombuf.add();
      continue;
    }
    const uint32_t first = s.cursor.position();
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; ++i)
      bytes += s.table->emit(pkts[i], s.cursor.next(), s.seq + i, now);
    const uint16_t sent = port_.tx_burst(txq_, pkts, static_cast<uint16_t>(n));
    if (sent < n) [[unlikely]] {
      // The unsent frames never existed: their sequence numbers and flows are
      // used again next time, so the receiver sees no gap.
      for (uint32_t i = sent; i < n; ++i) bytes -= pkts[i]->pkt_len + 4u;
      rte_pktmbuf_free_bulk(pkts + sent, n - sent);
      s.pacer.give_back(n - sent);
      s.cursor = TemplateCursor(s.table->size(), first + sent);
    }
    s.seq += sent;
    s.sent.add(sent);
    c_.tx_packets.add(sent);
    c_.tx_bytes.add(bytes);
    w.counters().tx_packets.add(sent);  // the worker's totals, as PortTx keeps them
    w.counters().tx_bytes.add(bytes);
    did |= sent > 0;
  }
  return did;
}

FlowTrackers::FlowTrackers(size_t flows, uint64_t hz, const HistogramConfig& latency) {
  for (size_t i = 0; i < flows; ++i)
    trackers_.push_back(std::make_unique<RxTracker>(hz, RxTracker::kDefaultWindow, latency));
}

uint16_t gen_header_offset(const rte_mbuf* m) {
  const uint32_t len = m->data_len;
  if (len < sizeof(rte_ether_hdr) + 28) return 0;
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t off = 12;
  uint16_t type = static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
  for (int v = 0; v < 2 && (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ); ++v) {
    off += 4;
    if (off + 2 > len) return 0;
    type = static_cast<uint16_t>(p[off] << 8 | p[off + 1]);
  }
  off += 2;
  if (type == RTE_ETHER_TYPE_IPV4) {
    if (off + 20 > len || p[off + 9] != IPPROTO_UDP) return 0;
    off += (p[off] & 0x0f) * 4u + 8;
  } else if (type == RTE_ETHER_TYPE_IPV6) {
    if (off + 40 > len || p[off + 6] != IPPROTO_UDP) return 0;
    off += 48;
  } else {
    return 0;
  }
  return off + kGenHeaderSize <= len ? static_cast<uint16_t>(off) : 0;
}

GenRx::GenRx(Port& port, FlowTrackers& flows, PortCounters& counters)
    : Module("GenRx", 0),
      flows_(flows),
      c_(counters),
      clock_(&GenRx::read_clock, &port, 0),
      sample_(&GenRx::on_sample, this) {
  int offset = -1;
  uint64_t flag = 0;
  uint64_t probe = 0;
  if (port.rx_timestamps(&offset, &flag) && flag != 0 && port.read_clock(&probe)) {
    ts_offset_ = offset;
    ts_flag_ = flag;
  }
}

Status GenRx::start(Worker& w) {
  // Two samples 10 ms apart map the device clock; a sample every 10 ms after.
  if (ts_flag_) w.timers().arm(sample_, w.clock().now(), w.clock().ms_to_ticks(10));
  return Status::ok();
}

// Was a frame stamped `tx` (48 bits) sent at or after count_from()? Its age
// now (modulo 2^48; a stamp a little after `now`, from another core, is
// age 0) is at most the time since then, however long the run has been.
bool GenRx::sent_since(uint64_t tx, uint64_t now) const {
  uint64_t age = gen_tsc_delta(now, tx);
  if (age >= kGenNegativeDelta) age = 0;
  return now >= since_ && age <= now - since_;
}

void GenRx::process(Worker& w, Batch& in) {
  const uint16_t n = in.size();
  const uint64_t now = w.clock().now();
  // Device timestamps need a mapping to the worker's clock (two samples).
  const uint64_t dev_flag = clock_.ready() ? ts_flag_ : 0;
  uint64_t bytes = 0, other = 0, timed = 0;
  for (rte_mbuf* m : in) {
    bytes += m->pkt_len + 4u;
    GenHeader h;
    const uint16_t off = gen_header_offset(m);
    RxTracker* t = nullptr;
    if (off && read_gen_header(rte_pktmbuf_mtod_offset(m, const uint8_t*, off), &h) &&
        (!counting_from_ || sent_since(h.tx_tsc, now)) && (t = flows_.get(h.stream))) {
      uint64_t rx = now;
      if (m->ol_flags & dev_flag) {
        rx = clock_.to_tsc(*RTE_MBUF_DYNFIELD(m, ts_offset_, const uint64_t*));
        ++timed;
      }
      t->on_packet(h, rx);
    } else {
      ++other;
    }
  }
  if (timed) c_.rx_device_timed.add(timed);
  in.free_all();
  c_.rx_packets.add(n);
  c_.rx_bytes.add(bytes);
  if (other) c_.rx_other.add(other);
}

}  // namespace bypass::gen
