// What one worker core serves of netcode payload echo through bypass-udpd's
// whole data path: Ethernet frames from a ring-backed ethdev, the Endpoint
// (parse, checks, UDP checksum in software as on AF_XDP or AF_PACKET), the
// netcode service (open, replay check, seal), the reply frame built and sent
// with a TX burst. Clients connect through the real handshake first (in
// memory, bench/netcode_fixture.hpp); then bursts of 32 pre-built frames from
// connected clients, round robin, are polled through, TSC around each poll.
// Prints cycles per packet, echoes per second of one core, the in-process
// service alone on the same packets (same run), the difference (the data
// path's own cost), and the ratio against the reference server's rate that
// issue 10 measured on this kind of machine (97-115k echoes/s at 100 B,
// 60-66k at 1200 B, one core, its own sockets).
// Starts EAL (huge pages when 256 MB are free); run as root:
//   build/bench/netcode_path_bench [clients, default 100000]
#include <cstdio>
#include <string>

#include "netcode_fixture.hpp"
#include "ring_path.hpp"

namespace {

using namespace netcode_fixture;

const MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x01}};

// Client `c`'s payload packet of `payload` bytes in a UDP/IPv4 frame to the server.
uint16_t frame(Client& c, const SockAddr& server, size_t payload, uint8_t* f) {
  std::vector<uint8_t> body(payload, 0x5a);
  uint8_t packet[1400];
  const Written w = write_payload(packet, kProtocol, c.c2s, c.sequence++, body);
  return ring_path::udp4_frame(f, kPeerMac, kOurMac, c.addr.ip.v4_be(), c.addr.port,
                               server.ip.v4_be(), server.port, {packet, w.size});
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t max_clients = argc > 1 ? static_cast<uint32_t>(std::atoi(argv[1])) : 100000;
  if (!crypto_init()) return 1;
  auto dpdk = ring_path::start_dpdk("netcode_path_bench");
  if (!dpdk) return 1;
  rte_mempool* pool = dpdk->pool.get();
  std::printf(
      "netcode_path_bench: netcode payload echo through bypass-udpd's data path on one core "
      "(ring ethdev, Endpoint, UDP checksum in software, netcode service, reply, TX burst), "
      "bursts of %u, %u clients connected\n",
      kBatch, max_clients);

  Bench b(max_clients);
  std::vector<Client> clients(max_clients);
  for (uint32_t i = 0; i < max_clients; i += kBatch)
    b.connect_batch(i, std::min(kBatch, max_clients - i), &clients[i]);

  EndpointConfig ec;
  ec.mac = kOurMac;
  ec.addrs.push_back(*IfAddr::parse("198.18.0.2/24"));
  ServiceTable services;
  services.bind(kPort, &b.service());
  auto path = ring_path::RingPath::open("ncp", pool, ec, services);
  if (!path) return 1;

  const double hz = static_cast<double>(rte_get_tsc_hz());
  for (size_t payload : {size_t{100}, size_t{1200}}) {
    static uint8_t frames[kBatch][1600];
    uint16_t lens[kBatch];
    size_t next = 0;
    std::vector<double> per;
    for (int r = 0; r < 3000; ++r) {
      rte_mbuf* m[kBatch];
      if (rte_pktmbuf_alloc_bulk(pool, m, kBatch) != 0) {
        std::fprintf(stderr, "netcode_path_bench: packet pool empty\n");
        return 1;
      }
      for (unsigned j = 0; j < kBatch; ++j) {
        lens[j] = frame(clients[next++ % clients.size()], b.server(), payload, frames[j]);
        std::memcpy(rte_pktmbuf_append(m[j], lens[j]), frames[j], lens[j]);
      }
      path->put(m, kBatch);
      const uint64_t t0 = rte_rdtsc();
      path->poll();
      per.push_back(static_cast<double>(rte_rdtsc() - t0) / kBatch);
      const unsigned got = path->take(m, kBatch);
      if (got != kBatch) {
        std::fprintf(stderr, "netcode_path_bench: %u echoes for %u payloads\n", got, kBatch);
        return 1;
      }
      rte_pktmbuf_free_bulk(m, got);
    }
    // The service alone on the same clients, same run.
    std::vector<double> alone;
    for (int r = 0; r < 3000; ++r)
      alone.push_back(static_cast<double>(b.echo_batch(clients, next, payload)) / kBatch);
    const double through = median(per), svc = median(alone);
    const double rate = hz / through;
    const double ref_lo = payload == 100 ? 97e3 : 60e3, ref_hi = payload == 100 ? 115e3 : 66e3;
    std::printf(
        "echo %4zu B: %.0f cycles/packet median through the data path, %.0fk echoes/s per core; "
        "the service alone %.0f, the data path's own cost %.0f; against the reference server's "
        "%.0f-%.0fk/s: %.1f-%.1fx\n",
        payload, through, rate / 1e3, svc, through - svc, ref_lo / 1e3, ref_hi / 1e3, rate / ref_hi,
        rate / ref_lo);
  }
  return 0;
}
