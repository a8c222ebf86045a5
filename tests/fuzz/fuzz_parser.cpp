// libFuzzer target for one parser, chosen at build time (BYPASS_FUZZ_ETHERNET,
// _ARP, _IPV4, _IPV6, _UDP, _ICMP, _ICMP6 or _FRAME): the layers below it are
// parsed first, as the Endpoint does, and the layer under test runs whatever
// the ethertype says, so it sees every input that reaches it. Input format:
// fuzz_env.hpp. Checked: no read outside the segment data (ASan poison), a
// verdict that is a real reason, offsets inside the packet, nothing leaked;
// for the whole frame, that cutting it into segments changes nothing but
// split_headers (and the known DPDK odd-boundary checksum case).
#include <rte_ether.h>

#include <cstring>

#include "fuzz_env.hpp"

namespace bypass::fuzz {
namespace {

void check_verdict(DropReason r) {
  FUZZ_CHECK(r == kPass || (drop_index(r) >= kFirstModuleDrop && drop_index(r) < NetDrop::kEnd),
             "verdict %d", static_cast<int>(r));
}

// Offsets a passing layer leaves must lie inside the packet: the headers in
// the first segment, the transport bytes within pkt_len.
[[maybe_unused]] void check_l4(const rte_mbuf* m, const Parsed& p, uint32_t min_header) {
  FUZZ_CHECK(p.l4_off >= p.l3_off + min_header, "l4_off %u l3_off %u", p.l4_off, p.l3_off);
  FUZZ_CHECK(p.l4_off <= m->data_len, "l4_off %u data_len %u", p.l4_off, m->data_len);
  FUZZ_CHECK(p.l4_off + p.l4_len <= m->pkt_len, "l4 %u+%u pkt_len %u", p.l4_off, p.l4_len,
             m->pkt_len);
}

DropReason run(const rte_mbuf* m, Parsed& p, const ParseLimits& lim) {
  DropReason r = parse_ethernet(m, p, lim);
  check_verdict(r);
  if (r != kPass) return r;
  FUZZ_CHECK(p.vlans <= lim.max_vlans, "vlans %u", p.vlans);
  FUZZ_CHECK(p.l3_off == 14u + 4u * p.vlans && p.l3_off <= m->data_len, "l3_off %u", p.l3_off);
#if defined(BYPASS_FUZZ_ETHERNET)
  return r;
#elif defined(BYPASS_FUZZ_ARP)
  return parse_arp(m, p);
#elif defined(BYPASS_FUZZ_IPV4) || defined(BYPASS_FUZZ_ICMP)
  r = parse_ipv4(m, p);
  if (r != kPass) return r;
  check_l4(m, p, 20);
#if defined(BYPASS_FUZZ_ICMP)
  r = parse_icmp(m, p);
#endif
  return r;
#elif defined(BYPASS_FUZZ_IPV6) || defined(BYPASS_FUZZ_ICMP6)
  r = parse_ipv6(m, p, lim);
  if (r != kPass) return r;
  check_l4(m, p, 40);
#if defined(BYPASS_FUZZ_ICMP6)
  r = parse_icmp6(m, p);
#endif
  return r;
#elif defined(BYPASS_FUZZ_UDP)
  const bool v6 = p.ethertype == RTE_ETHER_TYPE_IPV6;
  r = v6 ? parse_ipv6(m, p, lim) : parse_ipv4(m, p);
  if (r != kPass) return r;
  check_l4(m, p, v6 ? 40 : 20);
  const uint32_t ip_l4_len = p.l4_len;
  r = parse_udp(m, p, v6);
  if (r == kPass) {
    FUZZ_CHECK(p.l4_len >= 8 && p.l4_len <= ip_l4_len, "udp len %u of %u", p.l4_len, ip_l4_len);
    FUZZ_CHECK(p.l4_off + 8u <= m->data_len, "udp header past data_len");
  }
  return r;
#elif defined(BYPASS_FUZZ_FRAME)
  Parsed q;
  r = parse_frame(m, q, lim);
  p = q;
  return r;
#else
#error "define the parser to fuzz"
#endif
}

// The same bytes in one segment (no poison) must get the same verdict, unless
// the cut version stopped at split_headers, or hit the known odd-boundary case.
void check_against_one_segment(const FrameInput& in, const rte_mbuf* m, DropReason cut,
                               const Parsed& pc) {
  FrameInput flat = in;
  flat.cuts.clear();
  flat.fix = false;                            // `m` has the fixed bytes already: copy them
  std::vector<uint8_t> bytes(m->pkt_len + 1);  // never empty: data() is not null
  const void* src = rte_pktmbuf_read(m, 0, m->pkt_len, bytes.data());
  if (src != bytes.data()) std::memcpy(bytes.data(), src, m->pkt_len);
  bytes.pop_back();
  flat.bytes = bytes.data();
  flat.len = bytes.size();
  rte_mbuf* one = build(flat, false);
  if (!one) return;
  if (one->next) {  // too long for one segment: nothing to compare
    rte_pktmbuf_free(one);
    return;
  }
  Parsed p1;
  DropReason r1 = run(one, p1, in.limits());
  rte_pktmbuf_free(one);
  if (r1 == cut) {
    if (r1 == kPass)
      FUZZ_CHECK(p1.l3_off == pc.l3_off && p1.l4_off == pc.l4_off && p1.l4_len == pc.l4_len,
                 "offsets differ across segments");
    return;
  }
  if (cut == NetDrop::kSplitHeaders) return;
  const bool sum_verdicts =
      (cut == kPass || cut == NetDrop::kUdpChecksum || cut == NetDrop::kIcmpBad) &&
      (r1 == kPass || r1 == NetDrop::kUdpChecksum || r1 == NetDrop::kIcmpBad);
  if (sum_verdicts && odd_boundary_after(m, p1.l4_off ? p1.l4_off : pc.l4_off)) return;
  FUZZ_CHECK(false, "one segment: %s, %zu segments: %s", reason_name(r1), segments(m),
             reason_name(cut));
}

}  // namespace
}  // namespace bypass::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bypass::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bypass;
  using namespace bypass::fuzz;
  if (size < kFrameHeader) return 0;
  const unsigned before = pool_in_use();
  FrameInput in = decode_frame(data, data + kFrameHeader, size - kFrameHeader);
  rte_mbuf* m = build(in, true);
  if (!m) return 0;
  Parsed p;
  const DropReason r = run(m, p, in.limits());
  check_verdict(r);
  unpoison(m);
  if (m->next) check_against_one_segment(in, m, r, p);
  rte_pktmbuf_free(m);
  FUZZ_CHECK(pool_in_use() == before, "mbufs in use %u, were %u", pool_in_use(), before);
  return 0;
}
