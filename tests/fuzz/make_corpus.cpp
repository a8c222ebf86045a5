// Writes the seed corpus of every fuzz target into <root>/<target>/: valid and
// malformed frames of every protocol the parsers know (built with
// tests/support/frames.hpp), in the input formats of fuzz_env.hpp and
// fuzz_endpoint.cpp. Only its own file names are written; crash regression
// files kept next to them are left alone. Run by scripts/fuzz when a corpus
// directory is missing; the output is committed.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <bypass/net/wire.hpp>

#include "frames.hpp"

namespace {

using namespace bypass;
using namespace bypass::test;

using Named = std::pair<std::string, Bytes>;

std::vector<Named> frames() {
  std::vector<Named> v;
  auto add = [&](const std::string& name, const Packet& p) { v.emplace_back(name, p.build()); };
  auto edit = [&](const std::string& name, Packet p, auto change) {
    change(p);
    add(name, p);
  };
  add("udp4", udp4());
  add("udp6", udp6());
  edit("udp4_vlan", udp4(), [](Packet& p) { p.eth.tags = {100}; });
  edit("udp6_qinq", udp6(), [](Packet& p) {
    p.eth.tags = {1, 2};
    p.eth.outer_tpid = 0x88a8;
  });
  edit("udp4_options", udp4(), [](Packet& p) { p.ip4().options = {1, 0x94, 4, 0, 0, 0, 0, 0}; });
  edit("udp4_padded", udp4({1}), [](Packet& p) { p.min_frame = 60; });
  edit("udp4_no_cksum", udp4(), [](Packet& p) { p.udp().checksum = 0; });
  edit("udp6_ext", udp6(), [](Packet& p) {
    p.ip6().ext = {ext_options(kIp6HopByHop), ext_options(kIp6DestOpts, 14), ext_routing(4, 1)};
  });
  edit("udp6_ah", udp6(), [](Packet& p) { p.ip6().ext = {Ip6ExtSpec{kIp6Ah, Bytes(22, 0)}}; });
  add("echo4", echo4());
  add("echo6", echo6());
  add("arp_request", arp_request());
  edit("arp_reply", arp_request(), [](Packet& p) { p.arp().op = 2; });
  add("garp", arp_request(kPeerIp4));
  add("ns", ns());
  add("ns_dad", ns(kOurIp6, kUnspecified));
  add("na", na(kPeerIp6, kNaOverride));
  // Malformed.
  v.emplace_back("runt_10", Bytes(10, 0xff));
  edit("vlan3", udp4(), [](Packet& p) { p.eth.tags = {1, 2, 3}; });
  edit("ipv4_version6", udp4(), [](Packet& p) { p.ip4().version = 6; });
  edit("ipv4_ihl4", udp4(), [](Packet& p) { p.ip4().ihl = 4; });
  edit("ipv4_ihl15", udp4(), [](Packet& p) { p.ip4().ihl = 15; });
  edit("ipv4_total0", udp4(), [](Packet& p) { p.ip4().total_length = 0; });
  edit("ipv4_total_big", udp4(), [](Packet& p) { p.ip4().total_length = 1500; });
  edit("ipv4_bad_cksum", udp4(), [](Packet& p) { p.ip4().checksum_xor = 1; });
  edit("ipv4_opt_len0", udp4(), [](Packet& p) { p.ip4().options = {7, 0, 0, 0}; });
  edit("ipv4_opt_past", udp4(), [](Packet& p) { p.ip4().options = {7, 40, 4, 0}; });
  edit("ipv4_ttl0", udp4(), [](Packet& p) { p.ip4().ttl = 0; });
  edit("ipv4_frag_first", udp4(), [](Packet& p) { p.ip4().frag = 0x2000; });
  edit("ipv4_frag_middle", udp4(), [](Packet& p) { p.ip4().frag = 0x2000 | 100; });
  edit("ipv4_frag_last", udp4(), [](Packet& p) { p.ip4().frag = 100; });
  edit("ipv4_martian", udp4(), [](Packet& p) { p.ip4().src = RTE_IPV4(127, 0, 0, 1); });
  edit("tcp4", udp4(), [](Packet& p) { p.ip4().proto = 6; });
  edit("udp_len7", udp4(), [](Packet& p) { p.udp().length = 7; });
  edit("udp_len_past", udp6(), [](Packet& p) { p.udp().length = 200; });
  edit("udp_bad_cksum", udp4(), [](Packet& p) { p.udp().checksum_xor = 1; });
  edit("udp6_zero_cksum", udp6(), [](Packet& p) { p.udp().checksum = 0; });
  edit("icmp_short", echo4({}), [](Packet& p) {
    p.l4 = std::monostate{};
    p.ip4().proto = 1;
    p.payload = {8, 0, 0, 0};
  });
  edit("icmp_bad_cksum", echo4(), [](Packet& p) { p.icmp().checksum_xor = 1; });
  edit("icmp_type3_code4", echo4(), [](Packet& p) {
    p.icmp().type = 3;
    p.icmp().code = 4;
  });
  edit("icmp_type18", echo4(), [](Packet& p) { p.icmp().type = 18; });
  edit("ipv6_version4", udp6(), [](Packet& p) { p.ip6().version = 4; });
  edit("ipv6_plen0", udp6(), [](Packet& p) { p.ip6().payload_length = 0; });
  edit("ipv6_plen_big", udp6(), [](Packet& p) { p.ip6().payload_length = 1000; });
  edit("ipv6_ext_len255", udp6(), [](Packet& p) {
    Ip6ExtSpec e = ext_options(kIp6DestOpts);
    e.len = 255;
    p.ip6().ext = {e};
  });
  edit("ipv6_rh0", udp6(), [](Packet& p) { p.ip6().ext = {ext_routing(0, 1)}; });
  edit("ipv6_chain9", udp6(), [](Packet& p) { p.ip6().ext.assign(9, ext_options(60)); });
  edit("ipv6_frag", udp6(), [](Packet& p) { p.ip6().ext = {ext_fragment(0, true)}; });
  edit("ipv6_hbh_second", udp6(), [](Packet& p) {
    p.ip6().ext = {ext_options(kIp6DestOpts), ext_options(kIp6HopByHop)};
  });
  edit("ipv6_nonext", udp6(), [](Packet& p) { p.ip6().next = kIp6NoNext; });
  edit("ipv6_src_multicast", udp6(), [](Packet& p) { p.ip6().src = ip6("ff02::1"); });
  edit("arp_hlen8", arp_request(), [](Packet& p) { p.arp().hlen = 8; });
  edit("arp_op3", arp_request(), [](Packet& p) { p.arp().op = 3; });
  edit("ns_hop254", ns(), [](Packet& p) { p.ip6().hop_limit = 254; });
  edit("not_ip", Packet{}, [](Packet& p) { p.payload = Bytes(46, 0); });
  return v;
}

bool write(const std::string& path, const Bytes& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
  return std::fclose(f) == 0 && ok;
}

Bytes with_header(uint8_t flags, uint8_t c1, uint8_t c2, const Bytes& f) {
  return cat(Bytes{flags, c1, c2}, f);
}

Bytes record(uint8_t flags, uint8_t c1, uint8_t c2, uint8_t mode, const Bytes& f) {
  return cat(Bytes{flags, c1, c2, mode, static_cast<uint8_t>(f.size() >> 8),
                   static_cast<uint8_t>(f.size())},
             f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus root: tests/data/corpus>\n");
    return 2;
  }
  const std::string root = argv[1];
  mkdir(root.c_str(), 0755);
  const std::vector<Named> all = frames();
  auto by = [&](const std::string& name) -> const Bytes& {
    for (const auto& n : all)
      if (n.first == name) return n.second;
    std::fprintf(stderr, "make_corpus: no frame %s\n", name.c_str());
    std::exit(2);
  };
  int failed = 0;
  auto put = [&](const std::string& target, const std::string& name, const Bytes& b) {
    mkdir((root + "/" + target).c_str(), 0755);
    if (!write(root + "/" + target + "/" + name, b)) {
      std::fprintf(stderr, "make_corpus: cannot write %s/%s/%s\n", root.c_str(), target.c_str(),
                   name.c_str());
      ++failed;
    }
  };
  for (const char* t :
       {"ethernet", "arp", "ipv4", "ipv6", "udp", "icmp", "icmp6", "frame", "gen_header"}) {
    for (const auto& [name, f] : all) put(t, name, with_header(0, 0, 0, f));
    // Segments, RX checksum flags, checksum fixing, tight limits.
    put(t, "seg2_udp4", with_header(0x20, 38, 0, by("udp4")));
    put(t, "seg3_udp6_ext", with_header(0x40, 60, 9, by("udp6_ext")));
    put(t, "seg_tail_echo6", with_header(0x60, 5, 0, by("echo6")));
    put(t, "flags_ip_good_bad_sum", with_header(0x02, 0, 0, by("ipv4_bad_cksum")));
    put(t, "flags_l4_bad", with_header(0x04, 0, 0, by("udp4")));
    put(t, "fix_udp_bad_cksum", with_header(0x10, 0, 0, by("udp_bad_cksum")));
    put(t, "tight_udp6_qinq", with_header(0x80, 0, 0, by("udp6_qinq")));
  }
  // The endpoint: single frames with each way of serving a datagram, then mixes.
  for (const auto& [name, f] : all) put("endpoint", name, record(0, 0, 0, 0, f));
  for (uint8_t mode = 0; mode < 8; ++mode) {
    put("endpoint", "udp4_mode" + std::to_string(mode),
        record(0, 0, 0, static_cast<uint8_t>(mode * 5), by("udp4")));
    put("endpoint", "udp6_ext_mode" + std::to_string(mode),
        record(0, 0, 0, static_cast<uint8_t>(mode * 9 + 1), by("udp6_ext")));
  }
  Bytes mix = cat(cat(record(0, 0, 0, 1, by("udp4")), record(0, 0, 0, 0, by("udp6"))),
                  cat(record(0x20, 40, 0, 2, by("echo4")), record(0, 0, 0, 3, by("ns"))));
  put("endpoint", "mix_udp_echo_ns", mix);
  Bytes mix2 = cat(cat(record(0, 0, 0, 0, by("arp_request")), record(0, 0, 0, 0, by("ns_dad"))),
                   cat(record(0, 0, 0, 7, by("udp4_vlan")), record(0x40, 20, 20, 6, by("echo6"))));
  put("endpoint", "mix_arp_dad_vlan_echo6", mix2);
  // The host stage takes the endpoint's records: as a reflector (mode bit 0
  // clear) and as a receiver.
  for (const auto& [name, f] : all) {
    put("port_host", name, record(0, 0, 0, 0, f));
    put("port_host", name + "_receiver", record(0, 0, 0, 1, f));
  }
  put("port_host", "mix_udp_echo_ns", mix);
  put("port_host", "mix_arp_dad_vlan_echo6", mix2);
  return failed ? 1 : 0;
}
