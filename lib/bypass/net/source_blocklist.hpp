// SourceBlocklist: drops (as `filtered`) every packet whose IP source lies in
// one of its prefixes, IPv4 or IPv6; passes the rest on gate 0. It reads the
// addresses where the Endpoint's parse said they are (net/parsed_field.hpp),
// so it belongs behind the Endpoint: `before = "udp_dispatch"` in bypass-udpd.
// Config: [[module]] class = "SourceBlocklist", sources = ["198.18.9.0/28", "2001:db8::66"].
#pragma once

#include <rte_ether.h>
#include <rte_ip.h>

#include <array>
#include <cstring>
#include <vector>

#include <bypass/graph/module.hpp>
#include <bypass/graph/registry.hpp>
#include <bypass/net/addr.hpp>
#include <bypass/net/parsed_field.hpp>

namespace bypass {

#define BYPASS_BLOCKLIST_DROPS(X) X(kBlocked, "filtered") /* source on the list */
BYPASS_DROP_TABLE(BlocklistDrop, BYPASS_BLOCKLIST_DROPS)

class SourceBlocklist final : public PacketModule<SourceBlocklist> {
 public:
  struct Prefix6 {
    std::array<uint8_t, 16> net;
    uint8_t len;
  };
  SourceBlocklist(std::vector<std::pair<uint32_t, uint32_t>> v4, std::vector<Prefix6> v6)
      : PacketModule("SourceBlocklist"), v4_(std::move(v4)), v6_(std::move(v6)) {}
  DropTable drop_table() const override { return BlocklistDrop::table(); }

  // From "198.18.9.0/28", "2001:db8::66" (a host without a length); the
  // sentence on error names the entry.
  static Expected<std::unique_ptr<SourceBlocklist>> from(const std::vector<std::string>& sources,
                                                         const std::string& where);

  Verdict handle(Worker&, rte_mbuf* m) {
    const Parsed& p = parsed(m);
    if (p.ethertype == RTE_ETHER_TYPE_IPV4) {
      const uint32_t src =
          rte_be_to_cpu_32(rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, p.l3_off)->src_addr);
      for (const auto& [net, mask] : v4_)
        if ((src & mask) == net) return Verdict::drop(BlocklistDrop::kBlocked);
    } else if (!v6_.empty()) {
      const uint8_t* src = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, p.l3_off)->src_addr;
      for (const auto& pre : v6_)
        if (in6(src, pre)) return Verdict::drop(BlocklistDrop::kBlocked);
    }
    return Verdict::to(0);
  }

 private:
  static bool in6(const uint8_t* a, const Prefix6& p) {
    const unsigned whole = p.len / 8, bits = p.len % 8;
    if (std::memcmp(a, p.net.data(), whole) != 0) return false;
    if (bits == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
    return (a[whole] & mask) == (p.net[whole] & mask);
  }
  std::vector<std::pair<uint32_t, uint32_t>> v4_;  // (network, mask), host order
  std::vector<Prefix6> v6_;
};

// The net area's module classes: SourceBlocklist.
void add_net_modules(ModuleRegistry& r);

}  // namespace bypass
