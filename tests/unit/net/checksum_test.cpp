// ones_sum() against DPDK's rte_raw_cksum over every length and alignment that
// matters, and the pseudo-header sums against DPDK's own.
#include <rte_ip.h>

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include <bypass/net/checksum.hpp>

namespace bypass {
namespace {

TEST(Checksum, OnesSumEqualsRteRawCksumForEveryLengthAndAlignment) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> buf(4096 + 16);
  for (int round = 0; round < 4; ++round) {
    for (auto& b : buf) b = static_cast<uint8_t>(round == 0 ? 0xff : round == 1 ? 0 : rng());
    for (size_t align = 0; align < 8; ++align)
      for (size_t len = 0; len <= 300; ++len)
        ASSERT_EQ(fold(ones_sum(buf.data() + align, len)),
                  fold(rte_raw_cksum(buf.data() + align, len)))
            << "round " << round << " align " << align << " len " << len;
    for (size_t len : {1499u, 1500u, 2047u, 4096u})
      ASSERT_EQ(fold(ones_sum(buf.data() + 3, len)), fold(rte_raw_cksum(buf.data() + 3, len)));
  }
}

TEST(Checksum, OnesSumNeverLosesACarry) {
  // All-ones words: every addition carries.
  std::vector<uint8_t> ones(1 << 16, 0xff);
  EXPECT_EQ(ones_sum(ones.data(), ones.size()), 0xffff);
  EXPECT_EQ(ones_sum(ones.data(), 3), fold(0xffff + 0x00ff));
}

TEST(Checksum, PseudoHeadersMatchDpdk) {
  rte_ipv4_hdr ip4{};
  ip4.src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1));
  ip4.dst_addr = rte_cpu_to_be_32(RTE_IPV4(255, 255, 0, 2));
  ip4.next_proto_id = IPPROTO_UDP;
  ip4.total_length = rte_cpu_to_be_16(20 + 1480);
  ip4.version_ihl = RTE_IPV4_VHL_DEF;
  EXPECT_EQ(fold(pseudo_sum_v4(&ip4, 1480, IPPROTO_UDP)), rte_ipv4_phdr_cksum(&ip4, 0));
  rte_ipv6_hdr ip6{};
  for (int i = 0; i < 16; ++i) {
    ip6.src_addr[i] = static_cast<uint8_t>(0xf0 + i);
    ip6.dst_addr[i] = static_cast<uint8_t>(0x20 + 7 * i);
  }
  ip6.proto = IPPROTO_UDP;
  ip6.payload_len = rte_cpu_to_be_16(1200);
  EXPECT_EQ(fold(pseudo_sum_v6(&ip6, 1200, IPPROTO_UDP)), rte_ipv6_phdr_cksum(&ip6, 0));
}

}  // namespace
}  // namespace bypass
