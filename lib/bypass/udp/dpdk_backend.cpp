#include <bypass/udp/dpdk_backend.hpp>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <spdlog/spdlog.h>

namespace bypass {

UdpPoller::UdpPoller(Port& port, uint16_t rxq, uint16_t txq, Endpoint& ep,
                     const ServiceTable& services, rte_mempool* pool, bool announce)
    : port_(port),
      rxq_(rxq),
      txq_(txq),
      ep_(ep),
      services_(services),
      pool_(pool),
      announce_(announce) {
  rp_.mac = ep.config().mac;
  rp_.ttl = ep.config().ttl;
  rp_.tx_offloads = port.tx_offloads();
  tick_interval_ = rte_get_tsc_hz() / 1000;
}

void UdpPoller::queue(Worker& w, rte_mbuf* m) {
  if (tx_.full()) flush(w);
  tx_.push(m);
}

void UdpPoller::flush(Worker& w) {
  if (tx_.empty()) return;
  // Bytes are counted before the driver owns the packets (it may free them at once).
  uint64_t bytes = 0;
  for (rte_mbuf* m : tx_) bytes += m->pkt_len;
  uint16_t sent = 0;
  for (int t = 0; t < 4 && sent < tx_.size(); ++t)
    sent += port_.tx_burst(txq_, tx_.data() + sent, static_cast<uint16_t>(tx_.size() - sent));
  for (uint16_t i = sent; i < tx_.size(); ++i) bytes -= tx_[i]->pkt_len;
  w.counters().tx_packets.add(sent);
  w.counters().tx_bytes.add(bytes);
  if (sent < tx_.size()) [[unlikely]] {
    w.counters().drop(DropReason::kTxFull, tx_.size() - sent);
    rte_pktmbuf_free_bulk(tx_.data() + sent, tx_.size() - sent);
  }
  tx_.clear();
}

bool UdpPoller::poll(Worker& w) {
  if (announce_) [[unlikely]] {
    announce_ = false;
    ep_.announce(pool_, tx_);
    flush(w);
  }
  if (w.now() - last_tick_ >= tick_interval_) [[unlikely]] {
    last_tick_ = w.now();
    ep_.tick(w, pool_, tx_);
    flush(w);
  }
  Batch in;
  const uint16_t n = port_.rx_burst(rxq_, in.data(), kMaxBurst);
  if (n == 0) return false;
  in.set_size(n);
  uint64_t bytes = 0;
  for (rte_mbuf* m : in) bytes += m->pkt_len;
  w.counters().rx_packets.add(n);
  w.counters().rx_bytes.add(bytes);
  UdpBatch udp;
  ep_.process(w, in, tx_, udp);  // answers ARP/NDP/ping into tx_ (at most one per packet)
  if (!udp.pkts.empty()) dispatch(w, udp);
  flush(w);
  return true;
}

void UdpPoller::dispatch(Worker& w, UdpBatch& udp) {
  // Group the burst by handler; most bursts hold one service.
  uint8_t slot[kMaxBurst];
  uint8_t idx[kMaxBurst];
  for (uint16_t i = 0; i < udp.pkts.size(); ++i) {
    const auto* u = rte_pktmbuf_mtod_offset(udp.pkts[i], const rte_udp_hdr*, udp.info[i].l4_off);
    slot[i] = services_.slot[rte_be_to_cpu_16(u->dst_port)];
    if (slot[i] == 0) {
      if (tx_.full()) flush(w);
      ep_.port_unreachable(w, udp.pkts[i], udp.info[i], tx_);
    }
  }
  for (size_t h = 1; h <= services_.handlers.size(); ++h) {
    unsigned k = 0;
    for (uint16_t i = 0; i < udp.pkts.size(); ++i)
      if (slot[i] == h) idx[k++] = static_cast<uint8_t>(i);
    if (k) serve(w, services_.handlers[h - 1], udp, idx, k);
  }
  udp.clear();
}

void UdpPoller::serve(Worker& w, DatagramHandler* h, UdpBatch& udp, const uint8_t* idx,
                      unsigned n) {
  std::array<Datagram, kMaxBurst> d;
  std::array<rte_mbuf*, kMaxBurst> pk;
  std::array<Parsed*, kMaxBurst> pp;
  unsigned k = 0;
  for (unsigned j = 0; j < n; ++j) {
    rte_mbuf* m = udp.pkts[idx[j]];
    Parsed& p = udp.info[idx[j]];
    if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
      w.counters().drop(DropReason::kSplitHeaders);
      rte_pktmbuf_free(m);
      continue;
    }
    const bool v6 = p.ethertype == RTE_ETHER_TYPE_IPV6;
    const auto* u = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, p.l4_off);
    // Every field written in place (no temporaries copied in: a copy that
    // reads back fresh narrow stores stalls on store forwarding).
    Datagram& g = d[k];
    if (v6) {
      const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, p.l3_off);
      g.src.ip.set_v6(ip->src_addr);
      g.dst.ip.set_v6(ip->dst_addr);
    } else {
      const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, p.l3_off);
      g.src.ip.set_v4(ip->src_addr);
      g.dst.ip.set_v4(ip->dst_addr);
    }
    g.src.port = rte_be_to_cpu_16(u->src_port);
    g.dst.port = rte_be_to_cpu_16(u->dst_port);
    g.data = udp_payload(m, p);
    g.len = p.l4_len - 8;
    g.room = udp_room(m, p);
    g.reply = Reply::kNone;
    g.reply_len = 0;
    pk[k] = m;
    pp[k] = &p;
    ++k;
  }
  if (k == 0) return;
  counters_.datagrams.add(k);
  outbox_.clear();
  h->on_datagrams({d.data(), k}, outbox_);
  // Further datagrams first: they copy the link header from their request.
  for (const Outbox::Item& it : outbox_.items()) {
    if (it.to >= k) continue;
    rte_mbuf* m = udp_frame_to_sender(pool_, pk[it.to], *pp[it.to], it.header, it.header_len,
                                      it.blob, it.offset, it.len, rp_);
    if (!m) {
      counters_.send_failed.add();
      w.counters().drop(DropReason::kNoBuffer);
      continue;
    }
    counters_.sent.add();
    queue(w, m);
  }
  Batch dead;
  for (unsigned j = 0; j < k; ++j) {
    const Datagram& g = d[j];
    if (g.reply == Reply::kNone) {
      counters_.consumed.add();
      dead.push(pk[j]);
      continue;
    }
    const uint32_t len = g.reply == Reply::kUnchanged ? g.len : g.reply_len;
    if (len > g.room ||
        !udp_reply_in_place(pk[j], *pp[j], len, g.reply == Reply::kUnchanged, rp_)) {
      w.counters().drop(DropReason::kTooBig);
      dead.push(pk[j]);
      continue;
    }
    counters_.replies.add();
    queue(w, pk[j]);
  }
  dead.free_all();
}

void UdpPoller::finish(Worker& w) {
  flush(w);
}

DpdkHandlerContext::~DpdkHandlerContext() {
  for (DpdkBlob* b : blobs_)
    if (!DpdkBlob::destroy(b))
      spdlog::warn("a static blob is still referenced by packets in flight; kept");
}

Expected<const StaticBlob*> DpdkHandlerContext::make_static(std::span<const uint8_t> bytes) {
  DpdkBlob* b = DpdkBlob::create(bytes);
  if (!b)
    return Status::error(
        "no DPDK memory for " + std::to_string(bytes.size()) +
        " bytes of static content: give DPDK more memory or serve a smaller file.");
  blobs_.push_back(b);
  return &b->blob;
}

}  // namespace bypass
