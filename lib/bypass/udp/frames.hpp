// UDP frames on the DPDK path: a reply built in the request's own mbuf, and a
// further datagram to the request's sender built in a fresh mbuf, optionally
// chained to an external-buffer segment that points into a StaticBlob (zero
// copy). Checksums go to the device when it offers TX offload, else software.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include <bypass/net/addr.hpp>
#include <bypass/net/parse.hpp>
#include <bypass/udp/handler.hpp>

namespace bypass {

struct ReplyParams {
  MacAddr mac;  // ours
  uint8_t ttl = 64;
  uint64_t tx_offloads = 0;  // RTE_ETH_TX_OFFLOAD_* the port has enabled
};

// Why a frame builder below returned no frame: so that a small `[memory]
// data_room` is not counted as an empty pool.
enum class FrameFail : uint8_t {
  kNoBuffer,  // the pool is empty
  kTooBig,    // the frame does not fit one buffer's data room
  kBadPeer,   // the peer's local and remote addresses are of different families
};

// Turns the request `m` (headers at `p`) into its reply carrying `len` payload
// bytes already written at the payload start. `unchanged`: the payload is the
// request's own, so the UDP checksum stays valid after the swap. Returns false
// if the reply does not fit the first segment (the caller drops it). `p` is
// what parse_frame() made of `m` (so its IPv4 checksum was verified).
bool udp_reply_in_place(rte_mbuf* m, Parsed& p, uint32_t len, bool unchanged,
                        const ReplyParams& rp);

// A new datagram to the sender of `req` (headers at `p`), from the port it was
// sent to: `header` bytes copied, then `blob[off, off+len)` attached without
// copy (or copied, when the port cannot send chained mbufs). Returns nullptr if
// the pool is empty or the frame does not fit; `why` (if given) says which.
rte_mbuf* udp_frame_to_sender(rte_mempool* pool, const rte_mbuf* req, const Parsed& p,
                              const uint8_t* header, uint32_t header_len, const StaticBlob* blob,
                              size_t off, size_t len, const ReplyParams& rp,
                              FrameFail* why = nullptr);

// A datagram to a peer a handler kept (udp/handler.hpp), from the address
// and port it sent to, over the link header it came by (our MAC as source).
// Returns nullptr if the pool is empty, the frame does not fit, or the
// peer's families disagree; `why` (if given) says which.
rte_mbuf* udp_frame_to_peer(rte_mempool* pool, const Peer& to, const uint8_t* payload, uint32_t len,
                            const ReplyParams& rp, FrameFail* why = nullptr);

// Where the payload of a parsed UDP datagram starts, and how much may be
// written there for a reply (first segment only).
inline uint8_t* udp_payload(rte_mbuf* m, const Parsed& p) {
  return rte_pktmbuf_mtod_offset(m, uint8_t*, p.l4_off + 8u);
}
inline uint32_t udp_room(const rte_mbuf* m, const Parsed& p) {
  return m->buf_len - m->data_off - (p.l4_off + 8u);
}

// DPDK memory for StaticBlobs: copies bytes into DMA-able memory with an
// external-buffer shared info whose reference count tracks the mbufs in flight.
struct DpdkBlob {
  StaticBlob blob;
  rte_iova_t iova = 0;
  // The device reads a chained segment by IOVA, so what it reads must be
  // contiguous there. rte_malloc() promises that only in IOVA-as-VA mode;
  // otherwise (IOVA as PA, huge pages that are not adjacent) create() keeps
  // the IOVA of each 4 KiB page, and a chunk that crosses a break is copied
  // into its frame instead.
  bool iova_contig = false;         // all of it: iova + offset
  rte_iova_t* page_iova = nullptr;  // otherwise: per page, from data's own page
  // The IOVA of `len` bytes at `off`, or RTE_BAD_IOVA when they are not contiguous there.
  rte_iova_t iova_at(size_t off, size_t len) const;
  rte_mbuf_ext_shared_info shinfo;
  static DpdkBlob* create(std::span<const uint8_t> bytes);
  // Frees it if no mbuf still points into it; returns false (and keeps it) otherwise.
  static bool destroy(DpdkBlob* b);
};

}  // namespace bypass
