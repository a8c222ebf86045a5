// Test support: building packets into mbufs from the test pool.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <vector>

namespace bypass::test {

// An Ethernet/IPv4/UDP frame of `frame_len` bytes (headers valid, checksums
// computed) with the sequence number `seq` in the first payload bytes.
rte_mbuf* make_udp4(rte_mempool* mp, uint32_t seq, uint16_t frame_len = 64, uint16_t sport = 1000,
                    uint16_t dport = 2000);
// The sequence number written by make_udp4.
uint32_t seq_of(const rte_mbuf* m);
// Frees a vector of mbufs.
void free_all(std::vector<rte_mbuf*>& v);

}  // namespace bypass::test
