// libFuzzer target for the Endpoint as a whole: up to 4 frames from the input
// go through Endpoint::process as one batch (inside Worker::run, so that the
// worker's time is real), then every datagram it delivers goes to one of
// port_unreachable, udp_reply_in_place (unchanged or modified) or
// udp_frame_to_sender, and the endpoint ticks. Checked: process() empties its
// input and leaves nothing but tx and the UDP batch in use; every frame sent
// passes our own parser and carries valid checksums (computed independently,
// for frames whose input the software verified); the pool ends where it began.
//
// Input: up to 4 records of [3 frame header bytes (fuzz_env.hpp)][mode]
// [length: 2 bytes, big-endian][frame]; the last may be cut short. mode bits
// 0-1 pick what happens to a delivered datagram, bits 2-7 are its parameter.
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_udp.h>

#include <cstring>

#include <bypass/core/worker.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/net/wire.hpp>
#include <bypass/udp/frames.hpp>

#include "frames.hpp"
#include "fuzz_env.hpp"

namespace bypass::fuzz {
namespace {

struct Input {
  FrameInput frame;
  uint8_t mode = 0;
  rte_mbuf* m = nullptr;
  bool clean = false;  // one segment, checksums left to software
};

struct World {
  Worker worker{0, WorkerConfig{}};
  OnePoll poller;
  EndpointConfig cfg;
  DpdkBlob* blob = nullptr;
  World() {
    worker.add(&poller);
    cfg.mac = test::kOurMac;
    for (const char* a : {"198.18.0.2/24", "198.18.0.3/24", "2001:db8::2/64", "fe80::2/64"})
      cfg.addrs.push_back(*IfAddr::parse(a));
    cfg.icmp_errors_per_sec = 1000;
    cfg.neighbors.capacity = 64;
    std::vector<uint8_t> content(1024);
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<uint8_t>(i * 13 + 5);
    blob = DpdkBlob::create(content);
    FUZZ_CHECK(blob != nullptr, "no blob");
  }
};

World& world() {
  static World* w = new World;
  return *w;
}

// How far a frame we send can be checked.
enum class Check : uint8_t {
  kFull,     // our parser takes it and its checksums are right (computed here)
  kParse,    // our parser takes it (the input went through a multi-segment sum)
  kTrustL4,  // our parser takes it if told the UDP checksum is good: an unchanged
             // reply keeps the request's checksum, which the device vouched for
};

void check_sent(rte_mbuf* m, Check how) {
  const uint64_t flags = m->ol_flags;
  m->ol_flags = how == Check::kTrustL4 ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;  // not TX flags
  Parsed p;
  const DropReason r = parse_frame(m, p);
  m->ol_flags = flags;
  FUZZ_CHECK(r == kPass, "a frame we send is refused by our parser: %s", reason_name(r));
  const bool verify = how == Check::kFull;
  if (!verify || p.ethertype == RTE_ETHER_TYPE_ARP) return;
  std::vector<uint8_t> f(m->pkt_len + 1);  // never empty: data() is not null
  const void* src = rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
  if (src != f.data()) std::memcpy(f.data(), src, m->pkt_len);
  f.pop_back();
  if (p.ethertype == RTE_ETHER_TYPE_IPV4)
    FUZZ_CHECK(test::ipv4_header_ok(f, p.l3_off), "IPv4 header checksum");
  if (p.proto == kProtoUdp && f[p.l4_off + 6] == 0 && f[p.l4_off + 7] == 0 &&
      p.ethertype == RTE_ETHER_TYPE_IPV4)
    return;  // no UDP checksum
  FUZZ_CHECK(test::l4_checksum_ok(f, p.l3_off, p.l4_off, p.l4_len, p.proto),
             "transport checksum of a frame we send (proto %u)", p.proto);
}

void serve(World& wd, Worker& w, Endpoint& ep, UdpBatch& udp, Batch& tx,
           std::vector<std::pair<rte_mbuf*, Check>>& sent, const std::vector<Input>& ins) {
  ReplyParams rp;
  rp.mac = wd.cfg.mac;
  rp.ttl = wd.cfg.ttl;
  for (uint16_t i = 0; i < udp.pkts.size(); ++i) {
    rte_mbuf* m = udp.pkts[i];
    Parsed& p = udp.info(i);
    const Input* in = nullptr;
    for (const Input& x : ins)
      if (x.m == m) in = &x;
    FUZZ_CHECK(in != nullptr, "a datagram that was not received");
    const unsigned param = in->mode >> 2;
    // No service is on port 0 (the config takes 1 to 65535): a datagram to it
    // is answered as the dispatch answers one for a closed port.
    const bool to_port_zero =
        rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, p.l4_off)->dst_port == 0;
    switch (to_port_zero ? 0 : in->mode & 3) {
      case 0: {
        const uint16_t n = tx.size();
        ep.port_unreachable(w, m, p, tx);  // takes m
        if (tx.size() > n) sent.emplace_back(tx[n], Check::kFull);
        continue;
      }
      case 1:
      case 2: {
        if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) break;
        uint32_t len = p.l4_len - 8;
        const bool unchanged = (in->mode & 3) == 1;
        if (!unchanged) {
          len = std::min<uint32_t>(param * 23u, udp_room(m, p));
          for (uint32_t k = 0; k < len; ++k) udp_payload(m, p)[k] = static_cast<uint8_t>(k ^ param);
        }
        if (tx.full() || !udp_reply_in_place(m, p, len, unchanged, rp)) break;
        tx.push(m);
        // An unchanged reply keeps the request's UDP checksum: only as good as its check.
        const bool l4_good =
            (in->frame.ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        sent.emplace_back(m, !unchanged  ? Check::kFull
                             : l4_good   ? Check::kTrustL4
                             : in->clean ? Check::kFull
                                         : Check::kParse);
        continue;
      }
      case 3: {
        uint8_t hdr[Outbox::kMaxHeader];
        // A blob is chained on ports with multi-segment TX, else copied; after
        // a header of any length, odd ones included (the checksum carries
        // across an odd segment boundary: frames_test.cpp).
        const bool with_blob = param & 1;
        ReplyParams out_rp = rp;
        if (param & 0x20) out_rp.tx_offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
        const uint32_t hlen = param % (Outbox::kMaxHeader + 1);
        for (uint32_t k = 0; k < hlen; ++k) hdr[k] = static_cast<uint8_t>(k * 3 + param);
        const size_t off = (param * 37u) % 512, len = with_blob ? 64 + param * 7u : 0;
        rte_mbuf* out = udp_frame_to_sender(pool(), m, p, hdr, hlen,
                                            with_blob ? &wd.blob->blob : nullptr, off, len, out_rp);
        if (out && !tx.full()) {
          tx.push(out);
          sent.emplace_back(out, Check::kFull);
        } else {
          rte_pktmbuf_free(out);
        }
        break;
      }
    }
    rte_pktmbuf_free(m);  // consumed, or the reply did not fit
  }
  udp.clear();
}

}  // namespace
}  // namespace bypass::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bypass::fuzz::init();
  bypass::fuzz::world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bypass;
  using namespace bypass::fuzz;
  World& wd = world();
  const unsigned before = pool_in_use();
  std::vector<Input> ins;
  for (const FrameRecord& r : decode_records(data, size, 4)) {
    Input in;
    in.frame = r.frame;
    in.mode = r.mode;
    in.m = build(in.frame, false);
    if (!in.m) break;
    in.clean = !in.m->next && (in.frame.ol_flags &
                               (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) == 0;
    ins.push_back(in);
  }
  if (ins.empty()) return 0;

  EndpointConfig cfg = wd.cfg;
  for (const Input& in : ins)
    if (in.frame.tight) cfg.limits = in.frame.limits();
  Endpoint ep(cfg, wd.worker.clock().hz());
  size_t in_segs = 0;
  for (const Input& in : ins) in_segs += segments(in.m);

  wd.poller.f = [&](Worker& w) {
    Batch in, tx;
    UdpBatch udp;
    for (const Input& x : ins) in.push(x.m);
    ep.process(w, in, tx, udp);
    FUZZ_CHECK(in.empty(), "process() left %u packets in its input", in.size());
    size_t kept = 0;
    std::vector<std::pair<rte_mbuf*, Check>> sent;
    for (rte_mbuf* m : tx) {
      const Input* from = nullptr;
      for (const Input& x : ins)
        if (x.m == m) from = &x;
      FUZZ_CHECK(from != nullptr, "process() sent a packet it did not receive");
      kept += segments(m);
      sent.emplace_back(m, from->clean ? Check::kFull : Check::kParse);
    }
    for (rte_mbuf* m : udp.pkts.span()) {
      for (rte_mbuf* t : tx) FUZZ_CHECK(t != m, "a packet both sent and delivered");
      kept += segments(m);
    }
    FUZZ_CHECK(kept <= in_segs, "more segments kept than received");
    FUZZ_CHECK(pool_in_use() == before + kept, "in use %u, expected %u + %zu", pool_in_use(),
               before, kept);
    serve(wd, w, ep, udp, tx, sent, ins);
    ep.tick(w, pool(), tx);
    for (rte_mbuf* m : tx) {
      Check how = Check::kFull;  // tick()'s probes are not in `sent`
      for (const auto& [s, c] : sent)
        if (s == m) how = c;
      check_sent(m, how);
    }
    tx.free_all();
  };
  wd.poller.stop = false;
  wd.worker.run(wd.poller.stop);
  FUZZ_CHECK(pool_in_use() == before, "mbufs in use %u, were %u", pool_in_use(), before);
  return 0;
}
