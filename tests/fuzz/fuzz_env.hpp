// Shared by the libFuzzer targets: DPDK's EAL started once per process
// (--no-huge, no PCI, a file prefix of our own), one packet pool, and the
// decoding of fuzz input into mbufs.
//
// Input of one frame (the parser targets; a record of the endpoint target):
//   byte 0  flags: bits 0-1 RX IP checksum flag (unknown, bad, good, none),
//                  bits 2-3 RX L4 checksum flag (same order),
//                  bit 4    fix the IPv4 header and L4 checksums first,
//                  bits 5-6 segments: 1; 2 cut at byte 1; 3 cut at byte 1 and
//                           byte 1 + byte 2; 2 cut byte 1 from the end,
//                  bit 7    tight limits (1 VLAN tag, 2 extension headers)
//   byte 1, 2  cut offsets
//   the rest   the frame
// Segments longer than an mbuf's room are cut again at the room (an even
// size). The parser targets poison every byte of each mbuf buffer outside the
// segment's data with ASan, so a read past data_len (or before the data) is
// reported where it happens.
#pragma once

#include <rte_mbuf.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <bypass/core/worker.hpp>
#include <bypass/net/parse.hpp>

namespace bypass::fuzz {

// Aborts with a message: libFuzzer keeps the input as a crash.
#define FUZZ_CHECK(cond, ...)                                 \
  do {                                                        \
    if (!(cond)) {                                            \
      std::fprintf(stderr, "fuzz check failed: %s: ", #cond); \
      std::fprintf(stderr, __VA_ARGS__);                      \
      std::fprintf(stderr, "\n");                             \
      std::abort();                                           \
    }                                                         \
  } while (0)

// For messages: the reason's name ("pass" for kPass).
inline const char* reason_name(DropReason r) {
  if (r == kPass) return "pass";
  if (!NetDrop::table().names(r) || drop_index(r) < kFirstModuleDrop) return "(not a reason)";
  return NetDrop::kNames[drop_index(r) - kFirstModuleDrop].data();  // string literals
}

// Starts EAL and makes the pool (once; later calls do nothing).
void init();
rte_mempool* pool();
unsigned pool_in_use();

struct FrameInput {
  uint64_t ol_flags = 0;
  bool fix = false;
  bool tight = false;
  std::vector<uint32_t> cuts;
  const uint8_t* bytes = nullptr;
  size_t len = 0;

  ParseLimits limits() const {
    ParseLimits l;
    if (tight) {
      l.max_vlans = 1;
      l.max_ext_headers = 2;
    }
    return l;
  }
};
inline constexpr size_t kFrameHeader = 3;
// Decodes the 3 header bytes before `len` frame bytes.
FrameInput decode_frame(const uint8_t* hdr, const uint8_t* bytes, size_t len);

// The input of the targets that take several frames (endpoint, port_host):
// up to `max` records of [3 frame header bytes][mode][length: 2 bytes,
// big-endian][frame]; the last may be cut short.
struct FrameRecord {
  FrameInput frame;
  uint8_t mode = 0;
};
std::vector<FrameRecord> decode_records(const uint8_t* data, size_t size, size_t max);

// Runs `f` once inside Worker::run, where the worker's time is real.
struct OnePoll final : Poller {
  std::function<void(Worker&)> f;
  std::atomic<bool> stop{false};
  bool poll(Worker& w) override {
    f(w);
    stop = true;
    return true;
  }
};

// Builds the frame into an mbuf chain (checksums fixed first if asked); nullptr
// if it does not fit the pool. `poison`: see above; unpoison() before freeing.
rte_mbuf* build(const FrameInput& in, bool poison);
void unpoison(rte_mbuf* m);
size_t segments(const rte_mbuf* m);  // nb_segs, counted by walking the chain

// True if a segment boundary lies at an odd distance past `l4_off`: the case
// DPDK 22.11's rte_raw_cksum_mbuf gets wrong (see tests/unit/net/parse6_test.cpp).
bool odd_boundary_after(const rte_mbuf* m, uint32_t l4_off);

// Recomputes the IPv4 header checksum and the UDP / ICMP / ICMPv6 checksum of
// a frame in place, where the parsers find those headers.
void fix_checksums(uint8_t* frame, size_t len);

}  // namespace bypass::fuzz
