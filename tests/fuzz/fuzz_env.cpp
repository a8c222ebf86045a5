#include "fuzz_env.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <sanitizer/asan_interface.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "frames.hpp"

namespace bypass::fuzz {
namespace {

rte_mempool* g_pool = nullptr;

uint64_t rx_flag(unsigned v, uint64_t bad, uint64_t good, uint64_t none) {
  switch (v & 3) {
    case 1:
      return bad;
    case 2:
      return good;
    case 3:
      return none;
    default:
      return 0;
  }
}

uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
void set16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint32_t pseudo(const uint8_t* l3, bool v6, uint32_t len, uint8_t proto) {
  if (!v6) return test::ones_sum(l3 + 12, 8) + proto + len;
  return test::ones_sum(l3 + 8, 32) + (len >> 16) + (len & 0xffff) + proto;
}

}  // namespace

void init() {
  if (g_pool) return;
  cpu_set_t set;
  int cpu = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &set)) ++cpu;
  std::string lcores = std::to_string(cpu);
  std::string prefix = "--file-prefix=fuzz-" + std::to_string(getpid());
  const char* args[] = {"fuzz",         "-l",       lcores.c_str(), "--no-huge",   "-m",
                        "256",          "--no-pci", prefix.c_str(), "--no-shconf", "--no-telemetry",
                        "--log-level=4"};
  std::vector<char*> argv;
  for (const char* a : args) argv.push_back(const_cast<char*>(a));
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "fuzz: EAL did not start: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
  rte_log_set_global_level(RTE_LOG_ERR);
  g_pool = rte_pktmbuf_pool_create("fuzz_pool", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   static_cast<int>(rte_socket_id()));
  if (!g_pool) {
    std::fprintf(stderr, "fuzz: no packet pool: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
}

rte_mempool* pool() {
  return g_pool;
}

unsigned pool_in_use() {
  return rte_mempool_in_use_count(g_pool);
}

FrameInput decode_frame(const uint8_t* hdr, const uint8_t* bytes, size_t len) {
  FrameInput in;
  const uint8_t f = hdr[0];
  in.ol_flags = rx_flag(f, RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                        RTE_MBUF_F_RX_IP_CKSUM_NONE) |
                rx_flag(f >> 2, RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
                        RTE_MBUF_F_RX_L4_CKSUM_NONE);
  in.fix = f & 0x10;
  in.tight = f & 0x80;
  const uint32_t c1 = hdr[1], c2 = hdr[2];
  switch ((f >> 5) & 3) {
    case 1:
      in.cuts = {c1};
      break;
    case 2:
      in.cuts = {c1, c1 + c2};
      break;
    case 3:
      in.cuts = {len > c1 ? static_cast<uint32_t>(len - c1) : 0};
      break;
    default:
      break;
  }
  in.bytes = bytes;
  in.len = len;
  return in;
}

rte_mbuf* build(const FrameInput& in, bool poison) {
  std::vector<uint8_t> f(in.bytes, in.bytes + in.len);
  if (in.fix) fix_checksums(f.data(), f.size());
  std::vector<uint32_t> ends = in.cuts;
  ends.push_back(static_cast<uint32_t>(f.size()));
  rte_mbuf* head = nullptr;
  uint32_t from = 0;
  for (uint32_t end : ends) {
    end = std::min<uint32_t>(std::max(end, from), static_cast<uint32_t>(f.size()));
    do {
      rte_mbuf* seg = rte_pktmbuf_alloc(g_pool);
      if (!seg) {
        rte_pktmbuf_free(head);
        return nullptr;
      }
      const uint32_t n = std::min<uint32_t>(end - from, rte_pktmbuf_tailroom(seg));
      char* dst = rte_pktmbuf_append(seg, static_cast<uint16_t>(n));
      if (n) std::memcpy(dst, f.data() + from, n);
      from += n;
      if (!head) {
        head = seg;
      } else if (rte_pktmbuf_chain(head, seg) != 0) {
        rte_pktmbuf_free(seg);
        rte_pktmbuf_free(head);
        return nullptr;
      }
    } while (from < end);
  }
  head->ol_flags = in.ol_flags;
  if (poison) {
    for (rte_mbuf* s = head; s; s = s->next) {
      auto* buf = static_cast<uint8_t*>(s->buf_addr);
      ASAN_POISON_MEMORY_REGION(buf, s->data_off);
      const size_t used = s->data_off + s->data_len;
      ASAN_POISON_MEMORY_REGION(buf + used, s->buf_len - used);
    }
  }
  return head;
}

void unpoison(rte_mbuf* m) {
  for (rte_mbuf* s = m; s; s = s->next) ASAN_UNPOISON_MEMORY_REGION(s->buf_addr, s->buf_len);
}

size_t segments(const rte_mbuf* m) {
  size_t n = 0;
  for (; m; m = m->next) ++n;
  return n;
}

bool odd_boundary_after(const rte_mbuf* m, uint32_t l4_off) {
  uint32_t pos = 0;
  for (const rte_mbuf* s = m; s && s->next; s = s->next) {
    pos += s->data_len;
    if (pos > l4_off && (pos - l4_off) % 2) return true;
  }
  return false;
}

void fix_checksums(uint8_t* frame, size_t len) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
  if (!m) return;
  char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(std::min<size_t>(len, 0xffff)));
  if (!d || len > 0xffff) {
    rte_pktmbuf_free(m);
    return;
  }
  if (len) std::memcpy(d, frame, len);
  auto* b = reinterpret_cast<uint8_t*>(d);
  Parsed p;
  if (parse_ethernet(m, p) == kPass) {
    const bool v6 = p.ethertype == RTE_ETHER_TYPE_IPV6;
    uint8_t* l3 = b + p.l3_off;
    DropReason r = NetDrop::kNotIp;
    if (p.ethertype == RTE_ETHER_TYPE_IPV4) {
      r = parse_ipv4(m, p);
      if (r == NetDrop::kIpChecksum) {
        const uint32_t hlen = (l3[0] & 0x0f) * 4u;
        set16(l3 + 10, 0);
        set16(l3 + 10, static_cast<uint16_t>(~test::ones_sum(l3, hlen)));
        r = parse_ipv4(m, p);
      }
    } else if (v6) {
      r = parse_ipv6(m, p);
    }
    uint8_t* l4 = b + p.l4_off;
    if (r == kPass && p.proto == 17 && p.l4_len >= 8) {
      const uint32_t ulen = get16(l4 + 4);
      if (ulen >= 8 && ulen <= p.l4_len) {
        set16(l4 + 6, 0);
        uint16_t c = static_cast<uint16_t>(~test::ones_sum(l4, ulen, pseudo(l3, v6, ulen, 17)));
        set16(l4 + 6, c ? c : 0xffff);
      }
    } else if (r == kPass && (p.proto == 1 || p.proto == 58) && p.l4_len >= 8) {
      set16(l4 + 2, 0);
      const uint32_t start = v6 ? pseudo(l3, true, p.l4_len, 58) : 0;
      set16(l4 + 2, static_cast<uint16_t>(~test::ones_sum(l4, p.l4_len, start)));
    }
  }
  if (len) std::memcpy(frame, b, len);
  rte_pktmbuf_free(m);
}

std::vector<FrameRecord> decode_records(const uint8_t* data, size_t size, size_t max) {
  std::vector<FrameRecord> out;
  size_t pos = 0;
  while (out.size() < max && pos + 6 <= size) {
    const size_t want = static_cast<size_t>(data[pos + 4]) << 8 | data[pos + 5];
    const size_t len = std::min(want, size - pos - 6);
    out.push_back({decode_frame(data + pos, data + pos + 6, len), data[pos + 3]});
    pos += 6 + len;
  }
  return out;
}

}  // namespace bypass::fuzz
