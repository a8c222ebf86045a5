// PortFilter in a real graph over a ring-backed ethdev: blocked ports are
// dropped under `filtered`, the rest pass untouched, every mbuf comes back.
#include <rte_eth_ring.h>

#include <gtest/gtest.h>

#include <bypass/graph/port_modules.hpp>
#include <bypass/io/eth_port.hpp>

#include "eal_env.hpp"
#include "packets.hpp"
#include "port_filter.hpp"

namespace bypass::examples {
namespace {

TEST(PortFilter, DropsBlockedPortsAndPassesTheRest) {
  const unsigned before = rte_mempool_in_use_count(test::test_pool());
  rte_ring* rx = rte_ring_create("pf_rx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx = rte_ring_create("pf_tx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_GE(rte_eth_from_rings("pf", &rx, 1, &tx, 1, SOCKET_ID_ANY), 0);
  {
    PortConfig pc;
    pc.name = "pf";
    pc.device = "net_ring_pf";
    auto port = EthPort::open(pc, 1, test::test_pool());
    ASSERT_TRUE(port) << port.error();
    PortFilter filter;
    filter.block(53);
    filter.block(123);
    PortTx out(**port, 0);
    filter.connect(0, &out);
    PortRx in(**port, 0, &filter);
    Worker w(0, WorkerConfig{});
    const uint16_t dports[] = {53, 80, 123, 443, 53, 8080};
    for (uint32_t i = 0; i < 6; ++i)
      ASSERT_EQ(rte_ring_enqueue(rx, test::make_udp4(test::test_pool(), i, 64, 1000, dports[i])),
                0);
    ASSERT_TRUE(in.poll(w));
    rte_mbuf* got[8];
    const unsigned n = rte_ring_dequeue_burst(tx, reinterpret_cast<void**>(got), 8, nullptr);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(test::seq_of(got[0]), 1u);  // 80
    EXPECT_EQ(test::seq_of(got[1]), 3u);  // 443
    EXPECT_EQ(test::seq_of(got[2]), 5u);  // 8080
    rte_pktmbuf_free_bulk(got, n);
    EXPECT_EQ(filter.tally().drops[drop_index(PortFilterDrop::kBlocked)].get(), 3u);
    EXPECT_EQ(filter.drop_table().name(PortFilterDrop::kBlocked), "port_blocked");
    EXPECT_EQ(w.counters().tx_packets.get(), 3u);
  }
  rte_ring_free(rx);
  rte_ring_free(tx);
  EXPECT_EQ(rte_mempool_in_use_count(test::test_pool()), before);
}

}  // namespace
}  // namespace bypass::examples
