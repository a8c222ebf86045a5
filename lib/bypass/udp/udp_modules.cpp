#include <bypass/udp/udp_modules.hpp>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <time.h>

#include <algorithm>

namespace bypass {

void UdpDispatch::process(Worker& w, Batch& in) {
  // Most bursts hold one service: look each port up once, then hand each
  // service its datagrams in one batch.
  uint8_t slot[kMaxBurst];
  Batch icmp;
  for (uint16_t i = 0; i < in.size(); ++i) {
    rte_mbuf* m = in[i];
    const Parsed& p = parsed(m);
    const auto* u = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, p.l4_off);
    slot[i] = services_.slot[rte_be_to_cpu_16(u->dst_port)];
    if (slot[i] == 0) {
      if (icmp.full()) emit(w, kIcmp, icmp);
      w.drop(DispatchDrop::kPortClosed);
      ep_.port_unreachable(w, m, p, icmp);  // frees m
    }
  }
  emit(w, kIcmp, icmp);
  const unsigned handlers = static_cast<unsigned>(services_.handlers.size());
  for (unsigned h = 1; h <= handlers; ++h) {
    Batch b;
    for (uint16_t i = 0; i < in.size(); ++i)
      if (slot[i] == h) b.push(in[i]);
    emit(w, h, b);
  }
  in.clear();
}

void ServiceModule::process(Worker& w, Batch& in) {
  // Members, not locals: a local array of Datagrams would be initialised
  // whole on every call, and bursts are often short (docs/benchmarks.md).
  std::array<Datagram, kMaxBurst>& d = dgrams_;
  std::array<rte_mbuf*, kMaxBurst>& pk = pkts_;
  unsigned k = 0;
  for (rte_mbuf* m : in) {
    Parsed& p = parsed(m);
    if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
      w.drop(ServiceDrop::kSplitHeaders);
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
    g.link = rte_pktmbuf_mtod(m, const uint8_t*);
    g.link_len = static_cast<uint8_t>(p.l3_off);
    g.port = port_;
    pk[k++] = m;
  }
  in.clear();
  if (k == 0) return;
  counters_.datagrams.add(k);
  outbox_.clear();
  stamp(w);
  current_ = &w;
  h_.on_datagrams({d.data(), k}, outbox_);
  send_to_peers(w);
  current_ = nullptr;
  // Further datagrams first: they copy the link header from their request.
  for (const Outbox::Item& it : outbox_.items()) {
    if (it.to >= k) {
      w.drop(ServiceDrop::kNoRequest);  // a handler's mistake: counted as the sockets backend does
      continue;
    }
    FrameFail why = FrameFail::kNoBuffer;
    send_built(w,
               udp_frame_to_sender(pool_, pk[it.to], parsed(pk[it.to]), it.header, it.header_len,
                                   it.blob, it.offset, it.len, rp_, &why),
               why);
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
        !udp_reply_in_place(pk[j], parsed(pk[j]), len, g.reply == Reply::kUnchanged, rp_)) {
      w.drop(ServiceDrop::kTooBig);
      dead.push(pk[j]);
      continue;
    }
    counters_.replies.add();
    out(w, pk[j]);
  }
  dead.free_all();
  emit(w, 0, tx_);
}

void ServiceModule::stamp(Worker& w) {
  // Ticks to nanoseconds by a multiply and a shift (ns_per_tick_ is 32.32
  // fixed point, set at start): no division and no call per batch.
  outbox_.now_ns =
      static_cast<uint64_t>((static_cast<unsigned __int128>(w.now()) * ns_per_tick_) >> 32);
  outbox_.unix_ns = outbox_.now_ns + unix_offset_ns_;
}

void ServiceModule::send_to_peers(Worker& w) {
  for (size_t i = 0; i < outbox_.peer_size(); ++i) {
    const Outbox::PeerItem& it = outbox_.peer_item(i);
    if (it.to.link_len == 0) {
      w.drop(ServiceDrop::kPeerElsewhere);
      continue;
    }
    if (it.to.port == port_) {
      FrameFail why = FrameFail::kNoBuffer;
      send_built(w, udp_frame_to_peer(pool_, it.to, outbox_.peer_payload(i), it.len, rp_, &why),
                 why);
      continue;
    }
    // A peer kept on another of this worker's ports: built for that port
    // and sent on its tx.
    size_t o = 0;
    while (o < others_.size() && others_[o].index != it.to.port) ++o;
    if (o == others_.size()) {
      w.drop(ServiceDrop::kPeerElsewhere);  // a port this worker does not send on
      continue;
    }
    FrameFail why = FrameFail::kNoBuffer;
    rte_mbuf* m =
        udp_frame_to_peer(pool_, it.to, outbox_.peer_payload(i), it.len, others_[o].rp, &why);
    if (!m) {
      send_failed(w, why);
      continue;
    }
    counters_.sent.add();
    if (other_tx_[o].full()) emit(w, static_cast<unsigned>(1 + o), other_tx_[o]);
    other_tx_[o].push(m);
  }
  for (size_t o = 0; o < other_tx_.size(); ++o) emit(w, static_cast<unsigned>(1 + o), other_tx_[o]);
}

void ServiceModule::flush_peers(void* ctx, Outbox& out) {
  auto* self = static_cast<ServiceModule*>(ctx);
  if (!self->current_) return;
  self->send_to_peers(*self->current_);
  self->emit(*self->current_, 0, self->tx_);
  out.clear_peers();
}

void ServiceModule::send_failed(Worker& w, FrameFail why) {
  counters_.send_failed.add();
  w.drop(why == FrameFail::kTooBig    ? ServiceDrop::kTooBig
         : why == FrameFail::kBadPeer ? ServiceDrop::kBadPeer
                                      : ServiceDrop::kNoBuffer);
}

void ServiceModule::send_built(Worker& w, rte_mbuf* m, FrameFail why) {
  if (!m) {
    send_failed(w, why);
    return;
  }
  counters_.sent.add();
  out(w, m);
}

Status ServiceModule::start(Worker& w) {
  // The wall clock's offset from the worker's, read once here: the worker
  // then needs no clock read (nor syscall) to know the wall-clock time.
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const uint64_t unix_ns =
      static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  ns_per_tick_ = (1000000000ull << 32) / w.clock().hz();
  outbox_.set_peer_flush(&ServiceModule::flush_peers, this);
  w.sample_clock();
  stamp(w);
  unix_offset_ns_ = unix_ns - outbox_.now_ns;
  const uint64_t every_ns = ticks_ ? h_.tick_interval_ns() : 0;
  if (every_ns) {
    // In 128 bits: a 10 s interval at 3 GHz overflows 64.
    const uint64_t every =
        std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<unsigned __int128>(every_ns) *
                                                    w.clock().hz() / 1000000000ull));
    w.timers().arm(tick_, w.clock().now() + every, every);
  }
  return Status::ok();
}

void ServiceModule::stop(Worker& w) {
  w.timers().cancel(tick_);
}

void ServiceModule::on_tick(void* ctx, Worker& w) {
  auto* self = static_cast<ServiceModule*>(ctx);
  self->as_self(w, [&] {
    self->outbox_.clear();
    self->stamp(w);
    self->current_ = &w;
    self->h_.on_tick(self->outbox_);
    self->send_to_peers(w);
    self->current_ = nullptr;
    self->emit(w, 0, self->tx_);
  });
}

}  // namespace bypass
