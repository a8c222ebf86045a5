#include <bypass/udp/frames.hpp>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_udp.h>

#include <cstring>

#include <bypass/net/checksum.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/net/wire.hpp>

namespace bypass {
namespace {

// Don't Fragment, in memory (network order) as the checksum sums it. A reply
// made in place keeps the request's DF bit (and its ID). A frame built from
// nothing has ID 0, so it carries DF: a datagram that is never fragmented
// needs no unique ID (RFC 6864). bypass does no path MTU discovery: such a
// frame larger than the path's MTU is dropped on the way.
constexpr rte_be16_t kDontFragment = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);

// Fills in the UDP checksum of a frame whose headers are final: the device
// does it when it can (we store the pseudo-header sum), else software.
void set_udp_cksum(rte_mbuf* m, uint32_t l3_off, uint32_t l4_off, bool v6, const ReplyParams& rp) {
  auto* u = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, l4_off);
  const uint32_t ulen = rte_be_to_cpu_16(u->dgram_len);
  u->dgram_cksum = 0;
  if (rp.tx_offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
    m->l2_len = l3_off;
    m->l3_len = l4_off - l3_off;
    if (v6) {
      m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
      u->dgram_cksum =
          rte_ipv6_phdr_cksum(rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, l3_off), m->ol_flags);
    } else {
      m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
      u->dgram_cksum =
          rte_ipv4_phdr_cksum(rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l3_off), m->ol_flags);
    }
    return;
  }
  uint32_t sum =
      v6 ? pseudo_sum_v6(rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, l3_off), ulen, kProtoUdp)
         : pseudo_sum_v4(rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l3_off), ulen, kProtoUdp);
  u->dgram_cksum = finish_udp_cksum(sum + packet_sum(m, l4_off, ulen));
}

void set_ipv4_cksum(rte_mbuf* m, rte_ipv4_hdr* ip, uint32_t l3_off, const ReplyParams& rp) {
  ip->hdr_checksum = 0;
  if (rp.tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
    m->l2_len = l3_off;
    m->l3_len = (ip->version_ihl & 0x0f) * 4u;
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
  } else {
    ip->hdr_checksum = ipv4_header_cksum(ip);
  }
}

// A buffer with room for a `frame`-byte first segment, or nullptr and why.
rte_mbuf* alloc_frame(rte_mempool* pool, uint32_t frame, FrameFail* why) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) {
    if (why) *why = FrameFail::kNoBuffer;
    return nullptr;
  }
  if (frame > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    if (why) *why = FrameFail::kTooBig;
    return nullptr;
  }
  return m;
}

}  // namespace

bool udp_reply_in_place(rte_mbuf* m, Parsed& p, uint32_t len, bool unchanged,
                        const ReplyParams& rp) {
  const bool device_checked =
      (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  const bool v6 = p.ethertype == RTE_ETHER_TYPE_IPV6;
  // IPv6 extension headers are not sent back: the datagram moves up behind the fixed header.
  if (v6 && p.l4_off != p.l3_off + sizeof(rte_ipv6_hdr)) {
    uint8_t* l3 = rte_pktmbuf_mtod_offset(m, uint8_t*, p.l3_off);
    std::memmove(l3 + sizeof(rte_ipv6_hdr), rte_pktmbuf_mtod_offset(m, uint8_t*, p.l4_off),
                 8 + len);
    reinterpret_cast<rte_ipv6_hdr*>(l3)->proto = kProtoUdp;
    p.l4_off = static_cast<uint16_t>(p.l3_off + sizeof(rte_ipv6_hdr));
    unchanged = false;
  }
  const uint32_t frame = p.l4_off + 8u + len;
  if (frame > static_cast<uint32_t>(m->buf_len - m->data_off)) return false;
  if (m->nb_segs > 1 || m->pkt_len != frame) {
    // One segment of exactly the reply's length (the request may have been
    // padded to 60 bytes, or longer than the reply).
    if (m->next) {
      rte_pktmbuf_free(m->next);
      m->next = nullptr;
      m->nb_segs = 1;
    }
    m->data_len = static_cast<uint16_t>(frame);
    m->pkt_len = frame;
  }
  m->ol_flags = 0;
  swap_macs_from(rte_pktmbuf_mtod(m, rte_ether_hdr*), rp.mac);
  auto* u = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, p.l4_off);
  const rte_be16_t sport = u->src_port;
  u->src_port = u->dst_port;
  u->dst_port = sport;
  const bool same_len = rte_be_to_cpu_16(u->dgram_len) == 8 + len;
  u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + len));
  if (v6) {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv6_hdr*, p.l3_off);
    uint8_t tmp[16];
    std::memcpy(tmp, ip->src_addr, 16);
    std::memcpy(ip->src_addr, ip->dst_addr, 16);
    std::memcpy(ip->dst_addr, tmp, 16);
    ip->payload_len = u->dgram_len;
    ip->hop_limits = rp.ttl;
  } else {
    auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, p.l3_off);
    // RFC 1624: the request's checksum less the words that change plus their
    // new values (no second pass over the header, whose fresh narrow stores
    // would stall the loads). parse_ipv4 verified that checksum, unless the
    // device said it was good: then the header as it lies in memory is summed
    // too (before anything is written to it), so a device that was wrong
    // cannot make us send a bad checksum.
    const uint16_t len_be = rte_cpu_to_be_16(static_cast<uint16_t>(p.l4_off - p.l3_off + 8 + len));
    const uint16_t ttl_proto =
        rte_cpu_to_be_16(static_cast<uint16_t>(rp.ttl << 8 | ip->next_proto_id));
    uint16_t old_ttl_proto;
    std::memcpy(&old_ttl_proto, &ip->time_to_live, 2);
    // Only the request's DF bit stays (parse_ipv4 refused fragments).
    const rte_be16_t flags = ip->fragment_offset & kDontFragment;
    const uint32_t sum = (device_checked ? ones_sum(ip, (ip->version_ihl & 0x0f) * 4u) : 0u) +
                         static_cast<uint16_t>(~ip->hdr_checksum) +
                         static_cast<uint16_t>(~ip->total_length) + len_be +
                         static_cast<uint16_t>(~ip->fragment_offset) + flags +
                         static_cast<uint16_t>(~old_ttl_proto) + ttl_proto;
    // Swapping the addresses leaves the sum as it was.
    const rte_be32_t src = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = src;
    ip->total_length = len_be;
    ip->time_to_live = rp.ttl;
    ip->fragment_offset = flags;
    if (rp.tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
      set_ipv4_cksum(m, ip, p.l3_off, rp);
    else
      ip->hdr_checksum = finish_cksum(sum);
  }
  // Swapping addresses and ports leaves a one's-complement sum as it was; a
  // request whose sender left its checksum to an offload gets a full one.
  if (!(unchanged && same_len) || p.udp_cksum_partial) set_udp_cksum(m, p.l3_off, p.l4_off, v6, rp);
  p.l4_len = 8 + len;
  return true;
}

rte_mbuf* udp_frame_to_sender(rte_mempool* pool, const rte_mbuf* req, const Parsed& p,
                              const uint8_t* header, uint32_t header_len, const StaticBlob* blob,
                              size_t off, size_t len, const ReplyParams& rp, FrameFail* why) {
  const bool v6 = p.ethertype == RTE_ETHER_TYPE_IPV6;
  const uint32_t ip_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  const uint32_t l4_off = p.l3_off + ip_len;
  // A chunk the device can read in place is chained; one that crosses a
  // break in IOVA (or a port without multi-segment TX) is copied.
  const rte_iova_t chunk_iova = blob && len && (rp.tx_offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
                                    ? static_cast<const DpdkBlob*>(blob->backend)->iova_at(off, len)
                                    : RTE_BAD_IOVA;
  const bool chain = chunk_iova != RTE_BAD_IOVA;
  const uint32_t copied = (blob && !chain) ? static_cast<uint32_t>(len) : 0;
  const uint32_t hdr_frame = l4_off + 8 + header_len + copied;
  rte_mbuf* m = alloc_frame(pool, hdr_frame, why);
  if (!m) return nullptr;
  auto* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(hdr_frame)));
  rte_memcpy(out, rte_pktmbuf_mtod(req, const uint8_t*), p.l3_off);  // link header, VLAN tags too
  swap_macs_from(reinterpret_cast<rte_ether_hdr*>(out), rp.mac);
  const auto* rq_u = rte_pktmbuf_mtod_offset(req, const rte_udp_hdr*, p.l4_off);
  auto* u = reinterpret_cast<rte_udp_hdr*>(out + l4_off);
  u->src_port = rq_u->dst_port;
  u->dst_port = rq_u->src_port;
  u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + header_len + len));
  u->dgram_cksum = 0;
  if (header_len) std::memcpy(u + 1, header, header_len);
  if (copied) std::memcpy(reinterpret_cast<uint8_t*>(u + 1) + header_len, blob->data + off, copied);
  if (v6) {
    const auto* rq = rte_pktmbuf_mtod_offset(req, const rte_ipv6_hdr*, p.l3_off);
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(out + p.l3_off);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = u->dgram_len;
    ip->proto = kProtoUdp;
    ip->hop_limits = rp.ttl;
    std::memcpy(ip->src_addr, rq->dst_addr, 16);
    std::memcpy(ip->dst_addr, rq->src_addr, 16);
  } else {
    const auto* rq = rte_pktmbuf_mtod_offset(req, const rte_ipv4_hdr*, p.l3_off);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(out + p.l3_off);
    std::memset(ip, 0, sizeof(*ip));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len + 8 + header_len + len));
    ip->fragment_offset = kDontFragment;
    ip->time_to_live = rp.ttl;
    ip->next_proto_id = kProtoUdp;
    ip->src_addr = rq->dst_addr;
    ip->dst_addr = rq->src_addr;
    set_ipv4_cksum(m, ip, p.l3_off, rp);
  }
  if (chain) {
    auto* db = static_cast<DpdkBlob*>(blob->backend);
    rte_mbuf* seg = rte_pktmbuf_alloc(pool);
    if (!seg) {
      rte_pktmbuf_free(m);
      if (why) *why = FrameFail::kNoBuffer;
      return nullptr;
    }
    rte_mbuf_ext_refcnt_update(&db->shinfo, 1);
    rte_pktmbuf_attach_extbuf(seg, const_cast<uint8_t*>(blob->data) + off, chunk_iova,
                              static_cast<uint16_t>(len), &db->shinfo);
    seg->data_off = 0;
    seg->data_len = static_cast<uint16_t>(len);
    seg->pkt_len = static_cast<uint32_t>(len);
    if (rte_pktmbuf_chain(m, seg) != 0) {  // past the segment limit: cannot happen with two
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(m);
      if (why) *why = FrameFail::kTooBig;
      return nullptr;
    }
  }
  set_udp_cksum(m, p.l3_off, l4_off, v6, rp);
  return m;
}

rte_mbuf* udp_frame_to_peer(rte_mempool* pool, const Peer& to, const uint8_t* payload, uint32_t len,
                            const ReplyParams& rp, FrameFail* why) {
  const bool v6 = to.remote.ip.is_v6();
  const uint32_t l3_off = to.link_len;
  const uint32_t ip_len = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  const uint32_t l4_off = l3_off + ip_len;
  const uint32_t frame = l4_off + 8 + len;
  if (l3_off < sizeof(rte_ether_hdr) || to.local.ip.is_v6() != v6) {
    if (why) *why = FrameFail::kBadPeer;
    return nullptr;
  }
  rte_mbuf* m = alloc_frame(pool, frame, why);
  if (!m) return nullptr;
  auto* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(frame)));
  std::memcpy(out, to.link, l3_off);  // the peer's MAC, VLAN tags, the ethertype
  std::memcpy(out + 6, rp.mac.b.data(), 6);
  auto* u = reinterpret_cast<rte_udp_hdr*>(out + l4_off);
  u->src_port = rte_cpu_to_be_16(to.local.port);
  u->dst_port = rte_cpu_to_be_16(to.remote.port);
  u->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + len));
  u->dgram_cksum = 0;
  std::memcpy(u + 1, payload, len);
  if (v6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(out + l3_off);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = u->dgram_len;
    ip->proto = kProtoUdp;
    ip->hop_limits = rp.ttl;
    std::memcpy(ip->src_addr, to.local.ip.v6_bytes(), 16);
    std::memcpy(ip->dst_addr, to.remote.ip.v6_bytes(), 16);
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(out + l3_off);
    std::memset(ip, 0, sizeof(*ip));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip_len + 8 + len));
    ip->fragment_offset = kDontFragment;
    ip->time_to_live = rp.ttl;
    ip->next_proto_id = kProtoUdp;
    ip->src_addr = to.local.ip.v4_be();
    ip->dst_addr = to.remote.ip.v4_be();
    set_ipv4_cksum(m, ip, l3_off, rp);
  }
  set_udp_cksum(m, l3_off, l4_off, v6, rp);
  return m;
}

namespace {
void no_free(void*, void*) {}
constexpr size_t kBlobPage = 4096;  // the smallest page: IOVA breaks only at page edges
}  // namespace

DpdkBlob* DpdkBlob::create(std::span<const uint8_t> bytes) {
  auto* b =
      static_cast<DpdkBlob*>(rte_zmalloc("bypass_blob", sizeof(DpdkBlob), RTE_CACHE_LINE_SIZE));
  if (!b) return nullptr;
  auto* data =
      static_cast<uint8_t*>(rte_malloc("bypass_blob_data", bytes.size(), RTE_CACHE_LINE_SIZE));
  if (!data) {
    rte_free(b);
    return nullptr;
  }
  std::memcpy(data, bytes.data(), bytes.size());
  b->blob.data = data;
  b->blob.size = bytes.size();
  b->blob.backend = b;
  b->iova = rte_malloc_virt2iova(data);
  b->iova_contig = b->iova != RTE_BAD_IOVA;
  if (b->iova_contig && rte_eal_iova_mode() != RTE_IOVA_VA) {
    const auto start = reinterpret_cast<uintptr_t>(data);
    for (size_t off = kBlobPage - (start & (kBlobPage - 1)); off < bytes.size(); off += kBlobPage) {
      if (rte_mem_virt2iova(data + off) != b->iova + off) {
        b->iova_contig = false;
        break;
      }
    }
    if (!b->iova_contig) {
      const size_t pages = ((start + bytes.size() - 1) / kBlobPage) - start / kBlobPage + 1;
      b->page_iova = static_cast<rte_iova_t*>(
          rte_malloc("bypass_blob_iova", pages * sizeof(rte_iova_t), RTE_CACHE_LINE_SIZE));
      if (b->page_iova)
        for (size_t i = 0; i < pages; ++i)
          b->page_iova[i] =
              rte_mem_virt2iova(reinterpret_cast<const void*>((start / kBlobPage + i) * kBlobPage));
    }
  }
  b->shinfo.free_cb = no_free;
  b->shinfo.fcb_opaque = nullptr;
  rte_mbuf_ext_refcnt_set(&b->shinfo, 1);  // the blob's own reference
  return b;
}

rte_iova_t DpdkBlob::iova_at(size_t off, size_t len) const {
  if (iova_contig) return iova + off;
  if (!page_iova || len == 0) return RTE_BAD_IOVA;
  const auto start = reinterpret_cast<uintptr_t>(blob.data);
  const uintptr_t at = start + off;
  const size_t first = at / kBlobPage - start / kBlobPage;
  const size_t last = (at + len - 1) / kBlobPage - start / kBlobPage;
  if (page_iova[first] == RTE_BAD_IOVA) return RTE_BAD_IOVA;
  for (size_t p = first + 1; p <= last; ++p)
    if (page_iova[p] != page_iova[first] + (p - first) * kBlobPage) return RTE_BAD_IOVA;
  return page_iova[first] + (at % kBlobPage);
}

bool DpdkBlob::destroy(DpdkBlob* b) {
  if (!b) return true;
  if (rte_mbuf_ext_refcnt_read(&b->shinfo) != 1) return false;
  rte_free(b->page_iova);
  rte_free(const_cast<uint8_t*>(b->blob.data));
  rte_free(b);
  return true;
}

}  // namespace bypass
