#include <bypass/core/mempool.hpp>

#include <rte_errno.h>
#include <rte_mempool.h>

#include <string>

namespace bypass {

Expected<PktPool> PktPool::create(const std::string& name, const MemoryConfig& m, int socket) {
  rte_mempool* mp =
      rte_pktmbuf_pool_create(name.c_str(), m.pool_size, m.pool_cache, 0, m.data_room, socket);
  if (mp == nullptr) {
    if (rte_errno == EEXIST)
      return Status::error("a packet pool named '" + name +
                           "' already exists: give each pool its own name.");
    if (rte_errno == ENAMETOOLONG || name.size() >= RTE_MEMPOOL_NAMESIZE)
      return Status::error("the packet pool's name '" + name + "' is longer than DPDK's " +
                           std::to_string(RTE_MEMPOOL_NAMESIZE - 1) +
                           " characters: give the program a shorter name.");
    uint64_t mb = (uint64_t(m.pool_size) * (m.data_room + sizeof(rte_mbuf) + 64)) >> 20;
    return Status::error("the packet pool of " + std::to_string(m.pool_size) + " mbufs (about " +
                         std::to_string(mb) +
                         " MB) did not fit in DPDK's memory: lower [memory] pool_size "
                         "or give DPDK more memory ([eal] memory_mb, or more huge pages).");
  }
  return PktPool(mp);
}

}  // namespace bypass
