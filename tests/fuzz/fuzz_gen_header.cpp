// libFuzzer target for bypass-gen's receive side: where a received frame's
// stamp starts (gen_header_offset, after Ethernet, up to two VLAN tags, IPv4
// or IPv6 and UDP) and the stamp itself (read_gen_header). Every frame a
// reflector or a device returns reaches them. Input: one frame as the parser
// targets take it (fuzz_env.hpp), on an mbuf whose bytes outside the segment
// data are poisoned. Checked: no read outside the data (ASan), an offset whose
// 16-byte stamp lies inside the first segment, nothing leaked.
#include <bypass/gen/gen_header.hpp>
#include <bypass/gen/traffic.hpp>

#include "fuzz_env.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  bypass::fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bypass;
  using namespace bypass::fuzz;
  if (size < kFrameHeader) return 0;
  const unsigned before = pool_in_use();
  const FrameInput in = decode_frame(data, data + kFrameHeader, size - kFrameHeader);
  rte_mbuf* m = build(in, true);
  if (m == nullptr) return 0;
  const uint16_t off = gen::gen_header_offset(m);
  if (off != 0) {
    FUZZ_CHECK(off + gen::kGenHeaderSize <= m->data_len, "stamp at %u, data_len %u", off,
               m->data_len);
    gen::GenHeader h;
    (void)gen::read_gen_header(rte_pktmbuf_mtod_offset(m, const uint8_t*, off), &h);
  }
  unpoison(m);
  rte_pktmbuf_free(m);
  FUZZ_CHECK(pool_in_use() == before, "mbufs in use %u, were %u", pool_in_use(), before);
  return 0;
}
