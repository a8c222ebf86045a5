// UDP frames on the DPDK path: udp_reply_in_place (addresses and ports
// swapped, lengths set, checksums valid for unchanged and modified payloads,
// v4 and v6, padding trimmed, IPv6 extension headers not sent back, TX
// checksum offload) and udp_frame_to_sender (copied header, zero-copy blob
// segment or a copy of it, pool exhaustion). Golden bytes come from tests/support/frames.hpp.
#include <rte_ethdev.h>

#include <cstring>
#include <random>

#include <bypass/net/wire.hpp>
#include <bypass/udp/dpdk_backend.hpp>
#include <bypass/udp/frames.hpp>

#include <bypass/net/checksum.hpp>
#include <bypass/udp/handlers.hpp>

#include "../net/net_fixture.hpp"

namespace bypass {
namespace {

using namespace test;

class UdpFrames : public NetTest {
 protected:
  ReplyParams rp(uint64_t offloads = 0) const {
    ReplyParams r;
    r.mac = kOurMac;
    r.ttl = 50;
    r.tx_offloads = offloads;
    return r;
  }
  // The request in an mbuf (freed by the fixture), parsed.
  rte_mbuf* request(const Bytes& f, Parsed& p, const std::vector<uint32_t>& cuts = {}) {
    rte_mbuf* m = own(f, cuts);
    p = Parsed{};
    EXPECT_EQ(parse_frame(m, p), kPass);
    return m;
  }
};

// The reply udp_reply_in_place should produce to a request built from `rq`.
Packet reply_to(Packet rq, Bytes payload) {
  rq.eth.dst = kPeerMac;
  rq.eth.src = kOurMac;
  std::swap(rq.udp().sport, rq.udp().dport);
  rq.payload = std::move(payload);
  rq.min_frame = 0;
  rq.trailer.clear();
  if (auto* v4 = std::get_if<Ip4Spec>(&rq.l3)) {
    std::swap(v4->src, v4->dst);
    v4->ttl = 50;
    v4->frag &= 0x4000;  // the request's Don't Fragment bit stays, nothing else
  } else {
    std::swap(rq.ip6().src, rq.ip6().dst);
    rq.ip6().hop_limit = 50;
    rq.ip6().ext.clear();
  }
  return rq;
}

void expect_valid(const Bytes& out, const Parsed& p) {
  const bool v6 = p.ethertype == RTE_ETHER_TYPE_IPV6;
  if (!v6) {
    EXPECT_TRUE(ipv4_header_ok(out, p.l3_off));
  }
  EXPECT_TRUE(l4_checksum_ok(out, p.l3_off, p.l4_off, out.size() - p.l4_off, kProtoUdp));
}

// A reply made in place keeps the request's Don't Fragment bit and its ID;
// the reserved flag goes. The checksum stays right for each.
TEST_F(UdpFrames, ReplyKeepsTheRequestsDontFragmentBit) {
  for (uint16_t frag : {0x0000, 0x4000, 0x8000, 0xc000}) {
    Packet rq = udp4({'h', 'i'});
    rq.ip4().frag = frag;
    rq.ip4().id = 0x1234;
    Parsed p;
    rte_mbuf* m = request(rq.build(), p);
    ASSERT_TRUE(udp_reply_in_place(m, p, 2, true, rp())) << frag;
    const Bytes out = bytes_of(m);
    EXPECT_EQ(out, reply_to(rq, {'h', 'i'}).build()) << frag;
    const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, p.l3_off);
    EXPECT_EQ(rte_be_to_cpu_16(ip->fragment_offset), frag & 0x4000) << frag;
    EXPECT_EQ(rte_be_to_cpu_16(ip->packet_id), 0x1234);
    expect_valid(out, p);
  }
}

TEST_F(UdpFrames, ReplyUnchangedV4AndV6) {
  for (bool v6 : {false, true}) {
    Packet rq = v6 ? udp6({'h', 'e', 'l', 'l', 'o'}) : udp4({'h', 'e', 'l', 'l', 'o'});
    Parsed p;
    rte_mbuf* m = request(rq.build(), p);
    ASSERT_TRUE(udp_reply_in_place(m, p, 5, true, rp()));
    const Bytes out = bytes_of(m);
    EXPECT_EQ(out, reply_to(rq, {'h', 'e', 'l', 'l', 'o'}).build()) << v6;
    expect_valid(out, p);
    EXPECT_EQ(p.l4_len, 13u);
    EXPECT_EQ(m->ol_flags, 0u);
  }
}

// A request from a veth peer whose checksum was left to an offload (only the
// pseudo-header sum in the field): the unchanged echo gets a full checksum,
// not the peer's unfinished one carried over.
TEST_F(UdpFrames, ReplyToAPartialChecksumGetsAFullOne) {
  ParseLimits veth;
  veth.udp_checksum_partial_ok = true;
  for (bool v6 : {false, true}) {
    Packet rq = v6 ? udp6(Bytes(33, 0x71)) : udp4(Bytes(33, 0x71));
    Bytes f = rq.build();
    make_udp_checksum_partial(f, 14, v6 ? 14 + 40 : 14 + 20, v6);
    rte_mbuf* m = own(f);
    Parsed p;
    ASSERT_EQ(parse_frame(m, p, veth), kPass);
    ASSERT_TRUE(p.udp_cksum_partial);
    ASSERT_TRUE(udp_reply_in_place(m, p, 33, true, rp()));
    const Bytes out = bytes_of(m);
    EXPECT_EQ(out, reply_to(rq, Bytes(33, 0x71)).build()) << v6;
    expect_valid(out, p);
  }
}

TEST_F(UdpFrames, ReplyModifiedLongerAndShorter) {
  for (bool v6 : {false, true}) {
    for (const Bytes& answer : {Bytes(300, 0x77), Bytes{'!'}, Bytes{}}) {
      Packet rq = v6 ? udp6(Bytes(40, 1)) : udp4(Bytes(40, 1));
      Parsed p;
      rte_mbuf* m = request(rq.build(), p);
      ASSERT_LE(answer.size(), udp_room(m, p));
      if (!answer.empty()) std::memcpy(udp_payload(m, p), answer.data(), answer.size());
      ASSERT_TRUE(udp_reply_in_place(m, p, static_cast<uint32_t>(answer.size()), false, rp()));
      const Bytes out = bytes_of(m);
      EXPECT_EQ(out, reply_to(rq, answer).build()) << v6 << " " << answer.size();
      expect_valid(out, p);
      EXPECT_EQ(m->pkt_len, m->data_len);
    }
  }
}

// The reply's IPv4 header checksum is updated incrementally (RFC 1624) for
// length, TTL and fragment field; it must equal the full recompute for any
// request: TTLs, DF or not, TOS, ids, options of every length, any payload,
// unchanged or with a new length, and a wrong checksum the device called good.
TEST_F(UdpFrames, IncrementalIpv4ChecksumEqualsFullRecompute) {
  std::mt19937_64 next(11);
  for (int k = 0; k < 3000; ++k) {
    Packet rq = udp4(Bytes(next() % 200, static_cast<uint8_t>(next())),
                     static_cast<uint16_t>(1024 + next() % 60000));
    Ip4Spec& ip = std::get<Ip4Spec>(rq.l3);
    ip.ttl = static_cast<uint8_t>(1 + next() % 255);
    ip.frag = next() % 2 ? 0x4000 : 0;
    ip.id = static_cast<uint16_t>(next());
    ip.tos = static_cast<uint8_t>(next());
    ip.src = 0x0a000000u | static_cast<uint32_t>(next() & 0xffffff);
    ip.options = Bytes((next() % 11) * 4, 1);  // no-ops, 0..40 bytes
    // Every third request has a wrong header checksum that the device called
    // good: the reply's must still be right.
    const bool device_wrong = k % 3 == 0;
    if (device_wrong) ip.checksum_xor = static_cast<uint16_t>(1 + next() % 0xfffe);
    Parsed p;
    rte_mbuf* m = own(rq.build());
    if (device_wrong) m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    ASSERT_EQ(parse_frame(m, p), kPass);
    ip.checksum_xor = 0;  // the reply the builder makes has the right one
    const bool unchanged = next() % 2;
    Bytes answer = rq.payload;
    if (!unchanged) {
      answer.resize(next() % (udp_room(m, p) < 300 ? udp_room(m, p) : 300), 0x5a);
      if (!answer.empty()) std::memcpy(udp_payload(m, p), answer.data(), answer.size());
    }
    ASSERT_TRUE(udp_reply_in_place(m, p, static_cast<uint32_t>(answer.size()), unchanged, rp()));
    const Bytes out = bytes_of(m);
    ASSERT_EQ(out, reply_to(rq, answer).build()) << "case " << k;
  }
}

TEST_F(UdpFrames, PaddedRequestIsTrimmed) {
  Packet rq = udp4({1, 2});
  rq.min_frame = 60;
  Parsed p;
  rte_mbuf* m = request(rq.build(), p);
  ASSERT_EQ(m->pkt_len, 60u);
  ASSERT_TRUE(udp_reply_in_place(m, p, 2, true, rp()));
  EXPECT_EQ(m->pkt_len, 44u);
  EXPECT_EQ(m->data_len, 44u);
  EXPECT_EQ(bytes_of(m), reply_to(rq, {1, 2}).build());
}

TEST_F(UdpFrames, Ipv6ExtensionHeadersAreNotSentBack) {
  for (bool unchanged : {true, false}) {
    Packet rq = udp6({'a', 'b', 'c'});
    rq.ip6().ext = {ext_options(kIp6HopByHop), ext_options(kIp6DestOpts, 14)};
    Parsed p;
    rte_mbuf* m = request(rq.build(), p);
    ASSERT_EQ(p.l4_off, 54 + 24);
    if (!unchanged) std::memcpy(udp_payload(m, p), "xyz", 3);
    ASSERT_TRUE(udp_reply_in_place(m, p, 3, unchanged, rp()));
    EXPECT_EQ(p.l4_off, 54) << "the datagram moved up";
    const Bytes out = bytes_of(m);
    const Bytes body = unchanged ? Bytes{'a', 'b', 'c'} : Bytes{'x', 'y', 'z'};
    EXPECT_EQ(out, reply_to(rq, body).build()) << unchanged;
    expect_valid(out, p);
  }
}

TEST_F(UdpFrames, VlanTagsStay) {
  Packet rq = udp4({9, 9, 9});
  rq.eth.tags = {100, 200};
  rq.eth.outer_tpid = RTE_ETHER_TYPE_QINQ;
  Parsed p;
  rte_mbuf* m = request(rq.build(), p);
  ASSERT_TRUE(udp_reply_in_place(m, p, 3, true, rp()));
  EXPECT_EQ(bytes_of(m), reply_to(rq, {9, 9, 9}).build());
}

TEST_F(UdpFrames, MultiSegmentRequestBecomesOneSegment) {
  Packet rq = udp4(Bytes(500, 4));
  Parsed p;
  rte_mbuf* m = request(rq.build(), p, {100, 300});
  ASSERT_EQ(m->nb_segs, 3);
  std::memcpy(udp_payload(m, p), "short", 5);
  ASSERT_TRUE(udp_reply_in_place(m, p, 5, false, rp()));
  EXPECT_EQ(m->nb_segs, 1);
  EXPECT_EQ(m->next, nullptr);
  EXPECT_EQ(bytes_of(m), reply_to(rq, {'s', 'h', 'o', 'r', 't'}).build());
  // The fixture frees m; the two segments it had are already back in the pool.
  EXPECT_EQ(pool_in_use(), before_ + 1);
}

TEST_F(UdpFrames, TxChecksumOffload) {
  const uint64_t both = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  // Modified v4: the device finishes both checksums; we leave the pseudo-header sum.
  Packet rq = udp4({1, 2, 3});
  Parsed p;
  rte_mbuf* m = request(rq.build(), p);
  ASSERT_TRUE(udp_reply_in_place(m, p, 3, false, rp(both)));
  EXPECT_EQ(m->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM);
  EXPECT_EQ(m->l2_len, 14u);
  EXPECT_EQ(m->l3_len, 20u);
  Bytes out = bytes_of(m);
  EXPECT_EQ(be16(out, 24), 0) << "IP checksum left to the device";
  const uint8_t ph[] = {out[26], out[27], out[28], out[29], out[30], out[31],
                        out[32], out[33], 0,       17,      0,       11};
  EXPECT_EQ(be16(out, 40), ones_sum(ph, sizeof(ph))) << "the pseudo-header sum";

  // Unchanged v4: the UDP checksum is still right, only the IP one is offloaded.
  rte_mbuf* u = request(rq.build(), p);
  ASSERT_TRUE(udp_reply_in_place(u, p, 3, true, rp(both)));
  EXPECT_EQ(u->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
  out = bytes_of(u);
  EXPECT_TRUE(l4_checksum_ok(out, 14, 34, 11, kProtoUdp));

  // Modified v6.
  rte_mbuf* s = request(udp6({5}).build(), p);
  ASSERT_TRUE(udp_reply_in_place(s, p, 1, false, rp(RTE_ETH_TX_OFFLOAD_UDP_CKSUM)));
  EXPECT_EQ(s->ol_flags, RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM);
  EXPECT_EQ(s->l2_len, 14u);
  EXPECT_EQ(s->l3_len, 40u);
}

// ---- udp_frame_to_sender ----

Packet frame_to_sender(Packet rq, Bytes payload) {
  Packet p = reply_to(std::move(rq), std::move(payload));
  if (auto* v4 = std::get_if<Ip4Spec>(&p.l3)) {
    const uint32_t src = v4->src, dst = v4->dst;
    *v4 = Ip4Spec{};
    v4->id = 0;
    v4->frag = 0x4000;  // Don't Fragment
    v4->ttl = 50;
    v4->src = src;
    v4->dst = dst;
  }
  return p;
}

TEST_F(UdpFrames, FrameToSenderWithHeaderOnly) {
  for (bool v6 : {false, true}) {
    Packet rq = v6 ? udp6(Bytes(20, 3), 41000, 4433) : udp4(Bytes(20, 3), 41000, 4433);
    rq.eth.tags = {77};
    if (v6) rq.ip6().ext = {ext_options(kIp6DestOpts)};
    Parsed p;
    rte_mbuf* req = request(rq.build(), p);
    const Bytes before = bytes_of(req);
    const uint8_t hdr[] = {'H', 'D', 'R', '1'};
    rte_mbuf* m = udp_frame_to_sender(test_pool(), req, p, hdr, 4, nullptr, 0, 0, rp());
    ASSERT_NE(m, nullptr);
    owned_.push_back(m);
    EXPECT_EQ(bytes_of(req), before) << "the request is not touched";
    const Bytes out = bytes_of(m);
    EXPECT_EQ(out, frame_to_sender(rq, {'H', 'D', 'R', '1'}).build()) << v6;
    EXPECT_EQ(m->nb_segs, 1);
  }
}

TEST_F(UdpFrames, FrameToSenderWithBlob) {
  Bytes content(256);
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<uint8_t>(i * 7 + 1);
  DpdkBlob* blob = DpdkBlob::create(content);
  ASSERT_NE(blob, nullptr);
  for (bool multi : {true, false}) {  // ports with and without multi-segment TX
    for (bool v6 : {false, true}) {
      Packet rq = v6 ? udp6({1}) : udp4({1});
      Parsed p;
      rte_mbuf* req = request(rq.build(), p);
      const uint8_t hdr[] = {0xaa, 0xbb, 0xcc, 0xdd};
      rte_mbuf* m = udp_frame_to_sender(test_pool(), req, p, hdr, 4, &blob->blob, 10, 100,
                                        rp(multi ? RTE_ETH_TX_OFFLOAD_MULTI_SEGS : 0));
      ASSERT_NE(m, nullptr);
      const bool chained =
          multi && blob->iova_at(10, 100) != RTE_BAD_IOVA;  // else copied, whatever the port
      EXPECT_EQ(m->nb_segs, chained ? 2 : 1);
      EXPECT_EQ(rte_mbuf_ext_refcnt_read(&blob->shinfo), chained ? 2 : 1)
          << "a chained segment holds a reference to the blob, a copy none";
      const Bytes body =
          cat(Bytes(hdr, hdr + 4), Bytes(content.begin() + 10, content.begin() + 110));
      const Bytes out = bytes_of(m);
      EXPECT_EQ(out, frame_to_sender(rq, body).build()) << v6 << chained;
      Parsed q;
      EXPECT_EQ(parse_frame(m, q), kPass);
      if (chained) {
        EXPECT_FALSE(DpdkBlob::destroy(blob)) << "an mbuf still points into it";
      }
      rte_pktmbuf_free(m);
    }
  }
  EXPECT_TRUE(DpdkBlob::destroy(blob));
}

// On a port with multi-segment TX (and no UDP checksum offload), the header
// segment of a blob frame ends at an odd distance from the UDP header when the
// copied header has an odd length; the software checksum over both segments
// must carry across that boundary (DPDK 22.11's rte_raw_cksum_mbuf did not,
// and the frame left with a wrong UDP checksum).
TEST_F(UdpFrames, FrameToSenderWithBlobAndOddHeader) {
  DpdkBlob* blob = DpdkBlob::create(Bytes(512, 0xf1));
  ASSERT_NE(blob, nullptr);
  Parsed p;
  rte_mbuf* req = request(udp4({1}).build(), p);
  const uint8_t hdr[] = {1, 2, 3};
  rte_mbuf* m = udp_frame_to_sender(test_pool(), req, p, hdr, 3, &blob->blob, 0, 400,
                                    rp(RTE_ETH_TX_OFFLOAD_MULTI_SEGS));
  ASSERT_NE(m, nullptr);
  const Bytes out = bytes_of(m);
  EXPECT_TRUE(l4_checksum_ok(out, 14, 34, out.size() - 34, kProtoUdp));
  rte_pktmbuf_free(m);
  EXPECT_TRUE(DpdkBlob::destroy(blob));
}

// A chained segment is read by the device at the IOVA it is given:
// rte_malloc() promises contiguous IOVA only in IOVA-as-VA mode, and with
// IOVA as PA two huge pages of one allocation need not be adjacent. Each
// chunk sent in place must be contiguous where the device reads it; one
// that crosses a break is copied. 3 MiB spans a 2 MB page boundary.
TEST_F(UdpFrames, ABlobChunkSentInPlaceIsContiguousInIova) {
  DpdkBlob* blob = DpdkBlob::create(Bytes(3 << 20, 0x5a));
  ASSERT_NE(blob, nullptr);
  constexpr size_t kChunk = 1400;
  size_t in_place = 0, chunks = 0;
  for (size_t off = 0; off + kChunk <= blob->blob.size; off += kChunk, ++chunks) {
    const rte_iova_t io = blob->iova_at(off, kChunk);
    if (io == RTE_BAD_IOVA) continue;
    ++in_place;
    ASSERT_EQ(io, rte_mem_virt2iova(blob->blob.data + off)) << off;
    ASSERT_EQ(io + kChunk - 1, rte_mem_virt2iova(blob->blob.data + off + kChunk - 1)) << off;
  }
  std::printf("IOVA as %s; %zu of %zu chunks of 1400 B sent in place\n",
              rte_eal_iova_mode() == RTE_IOVA_VA ? "VA" : "PA", in_place, chunks);
  EXPECT_GE(in_place * 10, chunks * 9) << "only chunks across a break are copied";
  // A frame of a chunk across a break is a copy, whatever the port.
  for (size_t off = 0; off + kChunk <= blob->blob.size; off += kChunk) {
    if (blob->iova_at(off, kChunk) != RTE_BAD_IOVA) continue;
    Parsed p;
    rte_mbuf* req = request(udp4({1}).build(), p);
    rte_mbuf* m = udp_frame_to_sender(test_pool(), req, p, nullptr, 0, &blob->blob, off, kChunk,
                                      rp(RTE_ETH_TX_OFFLOAD_MULTI_SEGS));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->nb_segs, 1) << "copied, not chained";
    rte_pktmbuf_free(m);
    break;
  }
  EXPECT_TRUE(DpdkBlob::destroy(blob));
}

// A live reload retires the static handler of a changed service: its copy of
// the content in DPDK memory goes, at once or, while a packet still points
// into it, as soon as the context looks again after that packet is freed.
// (Each reload kept the old copy, workers x file size, until exit.)
TEST_F(UdpFrames, ARetiredStaticHandlerGivesItsContentBack) {
  DpdkHandlerContext ctx(1452);
  StaticHandler old_version(Bytes(5000, 1), 1000, 16);
  ASSERT_TRUE(old_version.start(ctx));
  EXPECT_EQ(ctx.blobs(), 1u);
  old_version.retire(ctx);
  EXPECT_EQ(ctx.blobs(), 0u);

  auto blob = ctx.make_static(Bytes(512, 2));
  ASSERT_TRUE(blob);
  Parsed p;
  rte_mbuf* req = request(udp4({1}).build(), p);
  const uint8_t hdr[] = {1, 2};
  rte_mbuf* in_flight = udp_frame_to_sender(test_pool(), req, p, hdr, 2, *blob, 0, 400,
                                            rp(RTE_ETH_TX_OFFLOAD_MULTI_SEGS));
  rte_pktmbuf_free(req);
  ASSERT_NE(in_flight, nullptr);
  ctx.release_static(*blob);
  EXPECT_EQ(ctx.blobs(), 1u) << "a packet still points into it";
  rte_pktmbuf_free(in_flight);
  StaticHandler next_version(Bytes(100, 3), 50, 16);
  ASSERT_TRUE(next_version.start(ctx));  // looks again
  EXPECT_EQ(ctx.blobs(), 1u) << "the old one freed, the new one held";
}

TEST_F(UdpFrames, FrameToSenderWhenThePoolRunsOut) {
  rte_mempool* tiny =
      rte_pktmbuf_pool_create("frames_tiny", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(tiny, nullptr);
  DpdkBlob* blob = DpdkBlob::create(Bytes(64, 1));
  ASSERT_NE(blob, nullptr);
  Parsed p;
  rte_mbuf* req = request(udp4({1}).build(), p);
  const uint8_t hdr[] = {1};
  // One mbuf: the header fits, the blob segment does not; nothing is kept.
  FrameFail why = FrameFail::kBadPeer;
  EXPECT_EQ(udp_frame_to_sender(tiny, req, p, hdr, 1, &blob->blob, 0, 64,
                                rp(RTE_ETH_TX_OFFLOAD_MULTI_SEGS), &why),
            nullptr);
  EXPECT_EQ(why, FrameFail::kNoBuffer);
  EXPECT_EQ(rte_mempool_in_use_count(tiny), 0u);
  EXPECT_TRUE(DpdkBlob::destroy(blob)) << "no reference was taken";
  // Copied instead of chained, but larger than one mbuf: refused as too big
  // (not as an empty pool), nothing kept.
  DpdkBlob* big = DpdkBlob::create(Bytes(4000, 2));
  ASSERT_NE(big, nullptr);
  why = FrameFail::kNoBuffer;
  EXPECT_EQ(udp_frame_to_sender(test_pool(), req, p, hdr, 1, &big->blob, 0, 3000, rp(), &why),
            nullptr);
  EXPECT_EQ(why, FrameFail::kTooBig);
  EXPECT_TRUE(DpdkBlob::destroy(big));
  rte_mbuf* hold = rte_pktmbuf_alloc(tiny);
  ASSERT_NE(hold, nullptr);
  why = FrameFail::kTooBig;
  EXPECT_EQ(udp_frame_to_sender(tiny, req, p, hdr, 1, nullptr, 0, 0, rp(), &why), nullptr);
  EXPECT_EQ(why, FrameFail::kNoBuffer);
  rte_pktmbuf_free(hold);
  rte_mempool_free(tiny);
}

TEST_F(UdpFrames, FrameToPeerSaysWhyItMadeNone) {
  Peer to;
  to.remote = {*IpAddr::parse("198.18.0.9"), 4000};
  to.local = {*IpAddr::parse("198.18.0.2"), 7000};
  const uint8_t link[14] = {2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 2, 0x08, 0x00};
  std::memcpy(to.link, link, sizeof link);
  to.link_len = sizeof link;
  const Bytes payload(3000, 7);
  FrameFail why = FrameFail::kNoBuffer;
  rte_mbuf* m = udp_frame_to_peer(test_pool(), to, payload.data(), 100, rp(), &why);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(rte_pktmbuf_pkt_len(m), 14u + 20 + 8 + 100);
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14);
  EXPECT_EQ(rte_be_to_cpu_16(ip->fragment_offset), RTE_IPV4_HDR_DF_FLAG) << "Don't Fragment";
  EXPECT_EQ(ipv4_header_cksum(ip), 0) << "a header whose checksum sums to 0xffff";
  rte_pktmbuf_free(m);
  const unsigned before = rte_mempool_in_use_count(test_pool());
  // Larger than one buffer's data room: too big, not an empty pool.
  EXPECT_EQ(udp_frame_to_peer(test_pool(), to, payload.data(), 3000, rp(), &why), nullptr);
  EXPECT_EQ(why, FrameFail::kTooBig);
  // An IPv6 peer kept with an IPv4 local address: a peer of two families.
  Peer mixed = to;
  mixed.remote = {*IpAddr::parse("2001:db8::9"), 4000};
  EXPECT_EQ(udp_frame_to_peer(test_pool(), mixed, payload.data(), 100, rp(), &why), nullptr);
  EXPECT_EQ(why, FrameFail::kBadPeer);
  EXPECT_EQ(rte_mempool_in_use_count(test_pool()), before) << "nothing kept";
}

}  // namespace
}  // namespace bypass
