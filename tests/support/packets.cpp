#include "packets.hpp"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

namespace bypass::test {

rte_mbuf* make_udp4(rte_mempool* mp, uint32_t seq, uint16_t frame_len, uint16_t sport,
                    uint16_t dport) {
  rte_mbuf* m = rte_pktmbuf_alloc(mp);
  if (!m) return nullptr;
  const uint16_t hdrs = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
  if (frame_len < hdrs + 4) frame_len = hdrs + 4;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, frame_len));
  std::memset(p, 0, frame_len);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->src_addr = {{0x02, 0, 0, 0, 0, 0x01}};
  eth->dst_addr = {{0x02, 0, 0, 0, 0, 0x02}};
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(frame_len - sizeof(rte_ether_hdr));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1));
  ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 2));
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(sport);
  udp->dst_port = rte_cpu_to_be_16(dport);
  udp->dgram_len = rte_cpu_to_be_16(frame_len - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr));
  std::memcpy(udp + 1, &seq, sizeof(seq));
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  return m;
}

uint32_t seq_of(const rte_mbuf* m) {
  uint32_t seq;
  std::memcpy(&seq, rte_pktmbuf_mtod_offset(m, const uint8_t*, 42), sizeof(seq));
  return seq;
}

void free_all(std::vector<rte_mbuf*>& v) {
  for (auto* m : v) rte_pktmbuf_free(m);
  v.clear();
}

}  // namespace bypass::test
