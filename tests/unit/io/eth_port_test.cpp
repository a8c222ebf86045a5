#include <bypass/io/eth_port.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <rte_eth_ring.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "eal_env.hpp"
#include "packets.hpp"

namespace bypass {
namespace {

unsigned in_use() {
  return rte_mempool_in_use_count(test::test_pool());
}

PortConfig port(const std::string& dev, uint16_t rxq = 1) {
  PortConfig p;
  p.name = "t";
  p.device = dev;
  p.rx_queues = rxq;
  p.rx_desc = 256;
  p.tx_desc = 256;
  return p;
}

TEST(EthPort, NullPortReceivesAndSends) {
  unsigned before = in_use();
  {
    auto p = EthPort::open(port("net_null7"), 1, test::test_pool());
    ASSERT_TRUE(p) << p.error();
    EthPort& e = **p;
    EXPECT_EQ(e.driver(), "net_null");
    EXPECT_EQ(e.rx_queues(), 1);
    EXPECT_TRUE(e.link().up);
    rte_mbuf* pkts[32];
    uint16_t n = e.rx_burst(0, pkts, 32);
    EXPECT_EQ(n, 32) << "net_null makes packets from nothing";
    EXPECT_EQ(e.tx_burst(0, pkts, n), n) << "and swallows what is sent";
    PortStats s = e.stats();
    EXPECT_EQ(s.ipackets, 32u);
    EXPECT_EQ(s.opackets, 32u);
  }
  EXPECT_EQ(in_use(), before) << "closing the port returns every mbuf";
}

TEST(EthPort, SameVdevCanBeOpenedAgainAfterClose) {
  for (int i = 0; i < 3; ++i) {
    auto p = EthPort::open(port("net_null8"), 1, test::test_pool());
    ASSERT_TRUE(p) << "round " << i << ": " << p.error();
  }
}

TEST(EthPort, UnknownDriverIsNamedWithoutDpdkNoise) {
  auto p = EthPort::open(port("net_foo0"), 1, test::test_pool());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("port 't' (net_foo0) did not probe: check the driver name"),
            std::string::npos)
      << p.error();
  EXPECT_EQ(p.error().find("EAL"), std::string::npos);
}

TEST(EthPort, AfPacketOnMissingInterfaceDoesNotProbe) {
  auto p = EthPort::open(port("net_af_packet9,iface=bypass-none0"), 1, test::test_pool());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("did not probe"), std::string::npos) << p.error();
}

TEST(EthPort, MoreQueuesThanTheDeviceHas) {
  rte_ring* rx = rte_ring_create("ethport_rx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx = rte_ring_create("ethport_tx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_GE(rte_eth_from_rings("ring_q1", &rx, 1, &tx, 1, SOCKET_ID_ANY), 0);
  auto p = EthPort::open(port("net_ring_ring_q1", 4), 1, test::test_pool());
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("has at most 1 RX queue(s) but rx_queues = 4: lower rx_queues to 1."),
            std::string::npos)
      << p.error();
  auto q = EthPort::open(port("net_ring_ring_q1", 1), 3, test::test_pool());
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().find("has at most 1 TX queue(s) but 3 are needed"), std::string::npos)
      << q.error();
  rte_ring_free(rx);
  rte_ring_free(tx);
}

// No driver that runs here asks for receive buffers larger than the pool's
// (net_null, net_ring, net_tap, net_af_packet and net_pcap all report a
// minimum of 0), so the check open() makes before setting up RX queues is
// tested on its own: a NIC that needs 2048 bytes against a 1152-byte pool.
TEST(EthPort, SaysHowLargeADriversReceiveBuffersMustBe) {
  EXPECT_TRUE(check_rx_buffers("port 't' (x)", 2176, 2048).is_ok());
  EXPECT_TRUE(check_rx_buffers("port 't' (x)", 384, 0).is_ok());
  const Status s = check_rx_buffers("port 't' (x)", 1152, 2048);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(),
            "port 't' (x) needs receive buffers of at least 2048 bytes after the 128-byte "
            "headroom: raise [memory] data_room from 1152 to at least 2176.");
}

// How RX queues share traffic, as the port says (and warns when a flow may
// reach several workers): net_null takes an RSS configuration, a ring port
// has none, and rss = false is the operator's own choice.
TEST(EthPort, SaysHowItsRxQueuesShareTheTraffic) {
  auto one = EthPort::open(port("net_null8"), 1, test::test_pool());
  ASSERT_TRUE(one) << one.error();
  EXPECT_EQ((*one)->rx_spread(), "one queue");
  one->reset();
  auto hashed = EthPort::open(port("net_null9", 2), 1, test::test_pool());
  ASSERT_TRUE(hashed) << hashed.error();
  EXPECT_EQ((*hashed)->rx_spread(), "rss");
  hashed->reset();
  PortConfig off = port("net_null10", 2);
  off.rss = false;
  auto chosen = EthPort::open(off, 1, test::test_pool());
  ASSERT_TRUE(chosen) << chosen.error();
  EXPECT_EQ((*chosen)->rx_spread(), "off");
  chosen->reset();
  rte_ring* rx[2] = {
      rte_ring_create("spread_rx0", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ),
      rte_ring_create("spread_rx1", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ)};
  rte_ring* tx = rte_ring_create("spread_tx", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_GE(rte_eth_from_rings("ring_spread", rx, 2, &tx, 1, SOCKET_ID_ANY), 0);
  {
    auto ring = EthPort::open(port("net_ring_ring_spread", 2), 1, test::test_pool());
    ASSERT_TRUE(ring) << ring.error();
    EXPECT_EQ((*ring)->rx_spread(), "none") << "a ring port hashes nothing";
  }
  for (rte_ring* r : rx) rte_ring_free(r);
  rte_ring_free(tx);
}

TEST(EthPort, RingPortCarriesPacketsBothWays) {
  unsigned before = in_use();
  rte_ring* rx = rte_ring_create("ethport_rx2", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx = rte_ring_create("ethport_tx2", 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  ASSERT_GE(rte_eth_from_rings("ring_both", &rx, 1, &tx, 1, SOCKET_ID_ANY), 0);
  {
    auto p = EthPort::open(port("net_ring_ring_both"), 1, test::test_pool());
    ASSERT_TRUE(p) << p.error();
    rte_mbuf* in[8];
    for (uint32_t i = 0; i < 8; ++i) in[i] = test::make_udp4(test::test_pool(), i);
    ASSERT_EQ(rte_ring_enqueue_burst(rx, reinterpret_cast<void**>(in), 8, nullptr), 8u);
    rte_mbuf* got[32];
    ASSERT_EQ((*p)->rx_burst(0, got, 32), 8);
    EXPECT_EQ(test::seq_of(got[3]), 3u);
    ASSERT_EQ((*p)->tx_burst(0, got, 8), 8);
    rte_mbuf* out[32];
    ASSERT_EQ(rte_ring_dequeue_burst(tx, reinterpret_cast<void**>(out), 32, nullptr), 8u);
    rte_pktmbuf_free_bulk(out, 8);
  }
  rte_ring_free(rx);
  rte_ring_free(tx);
  EXPECT_EQ(in_use(), before);
}

// What the kernel drops at the socket under a net_af_packet or net_af_xdp
// port (its ring full: the worker behind) is in the port's imissed; DPDK
// 22.11's drivers count none of it (af_packet) or only part (af_xdp). In a
// network namespace of the test's own, on one end of a veth: 3,000 frames go
// in at the other end while nothing polls, then the port is read empty; what
// was read and what was missed add up to what was sent.
class KernelSocketPort : public ::testing::TestWithParam<const char*> {};

TEST_P(KernelSocketPort, CountsWhatTheKernelDropsAtItsSocket) {
  ASSERT_EQ(geteuid(), 0u) << "a port on a veth and a network namespace need root (CI has it)";
  const int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(home, 0);
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "this thread gets a network namespace of its own";
  // The shell inherits this thread's namespace. No IPv6: nothing of the
  // kernel's own (router solicitations) crosses the veth.
  ASSERT_EQ(std::system("PATH=$PATH:/usr/sbin:/sbin; sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                        "net.ipv6.conf.default.disable_ipv6=1 && ip link add bpdrop0 type veth "
                        "peer name bpdrop1 && ip link set bpdrop0 up && ip link set bpdrop1 up"),
            0);
  {
    auto p = EthPort::open(port(std::string(GetParam()) + "5,iface=bpdrop0"), 1, test::test_pool());
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ((*p)->stats().imissed, 0u);
    const int raw = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    ASSERT_GE(raw, 0);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(if_nametoindex("bpdrop1"));
    to.sll_halen = 6;
    uint8_t frame[200] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5};
    constexpr int kSent = 3000;
    for (int i = 0; i < kSent; ++i)
      ASSERT_EQ(sendto(raw, frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                static_cast<ssize_t>(sizeof frame));
    close(raw);
    // Read until every frame is either read or counted as missed: a loaded
    // machine may hand the veth's frames over late (60 s at most: a failure).
    uint64_t read = 0;
    rte_mbuf* got[32];
    PortStats st = (*p)->stats();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (read + st.imissed < static_cast<uint64_t>(kSent) &&
           std::chrono::steady_clock::now() < deadline) {
      const uint16_t n = (*p)->rx_burst(0, got, 32);
      rte_pktmbuf_free_bulk(got, n);
      read += n;
      if (n == 0) st = (*p)->stats();
    }
    st = (*p)->stats();
    EXPECT_GT(st.imissed, 0u) << "read " << read;
    EXPECT_EQ(read + st.imissed, static_cast<uint64_t>(kSent))
        << "read " << read << " missed " << st.imissed;
    (*p)->reset_stats();
    EXPECT_EQ((*p)->stats().imissed, 0u);
    // The interface deleted under the port: its link is down, not the "up"
    // the driver goes on saying.
    EXPECT_TRUE((*p)->link().up);
    ASSERT_EQ(std::system("PATH=$PATH:/usr/sbin:/sbin; ip link del bpdrop0"), 0);
    EXPECT_FALSE((*p)->link().up);
  }
  ASSERT_EQ(setns(home, CLONE_NEWNET), 0);  // the namespace goes, and the veth with it
  close(home);
}

INSTANTIATE_TEST_SUITE_P(Drivers, KernelSocketPort,
                         ::testing::Values("net_af_packet", "net_af_xdp"),
                         [](const auto& info) { return std::string(info.param).substr(4); });

}  // namespace
}  // namespace bypass
