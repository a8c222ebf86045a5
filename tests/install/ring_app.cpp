// A program outside the tree, built against the installed library: it
// starts bypass on one net_ring port (no huge pages), sends 32 frames and
// receives them back through the ring.
#include <rte_mbuf.h>

#include <cstdio>

#include <bypass/bypass.hpp>

int main() {
  auto c = bypass::parse_config(
      "[eal]\nhuge_pages = false\nmemory_mb = 256\nworker_seccomp = false\n"
      "[control]\nsocket = \"off\"\ntelemetry = false\n"
      "[[port]]\nname = \"r0\"\ndevice = \"net_ring0\"\n"
      "[[worker]]\ncpu = 0\n",
      "embedded");
  if (!c) {
    std::fprintf(stderr, "%s\n", c.error().c_str());
    return 1;
  }
  c->eal.control_cpu = 0;
  auto rt = bypass::Runtime::start(*c, "ring_app");
  if (!rt) {
    std::fprintf(stderr, "%s\n", rt.error().c_str());
    return 1;
  }
  bypass::Port* p = (*rt)->ports().ports()[0];
  rte_mbuf* out[32];
  if (rte_pktmbuf_alloc_bulk((*rt)->pool(), out, 32) != 0) return 1;
  for (rte_mbuf* m : out) rte_pktmbuf_append(m, 64);
  const uint16_t sent = p->tx_burst(0, out, 32);
  rte_mbuf* in[32];
  const uint16_t got = p->rx_burst(0, in, 32);
  rte_pktmbuf_free_bulk(in, got);
  std::printf("bypass %s: sent %u received %u\n", bypass::kVersion, sent, got);
  return (*rt)->finish() == 0 && sent == 32 && got == 32 ? 0 : 1;
}
