// Streams: parsing (TOML and command line), validation messages, and the
// expansion into flow templates. Frames built from them: frame_test.cpp.
#include <bypass/core/config.hpp>
#include <bypass/gen/stream.hpp>

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace bypass::gen {
namespace {

Stream parsed(std::string_view arg) {
  auto s = parse_stream_arg(arg);
  EXPECT_TRUE(s) << s.error();
  return s ? *s : Stream{};
}

StreamTable expanded(std::string_view arg) {
  auto t = StreamTable::expand(parsed(arg));
  EXPECT_TRUE(t) << t.error();
  return std::move(*t);
}

// A config document's tables, as parse_config reads them.
ConfigValue doc_of(const char* text) {
  auto c = parse_config(text);
  EXPECT_TRUE(c) << c.error();
  return c ? c->app : ConfigValue::table();
}

TEST(StreamParse, CommandLineExample) {
  Stream s = parsed("dst=198.18.0.2 dport=7 size=64 sport=1000-1999");
  EXPECT_EQ(s.dst.first, *IpAddr::parse("198.18.0.2"));
  EXPECT_EQ(s.dst.last, s.dst.first);
  EXPECT_EQ(s.src.first, *IpAddr::parse("198.18.0.1"));  // default
  EXPECT_EQ(s.dport.first, 7);
  EXPECT_EQ(s.sport.first, 1000);
  EXPECT_EQ(s.sport.last, 1999);
  EXPECT_EQ(s.size.mode, SizeMode::kFixed);
  EXPECT_EQ(s.size.min, 64);
  EXPECT_TRUE(s.stamp);
  EXPECT_EQ(s.name, "stream0");
  Stream v6 = parsed("dst=2001:2::2");
  EXPECT_EQ(v6.src.first, *IpAddr::parse("2001:2::1"));
  EXPECT_EQ(v6.size.min, 82);  // the smallest with a GenHeader
  EXPECT_EQ(parsed("dst=2001:2::2 vlan=1").size.min, 86);
  EXPECT_EQ(parsed("dst=2001:2::2 stamp=false").size.min, 66);
}

TEST(StreamParse, EveryTomlKey) {
  auto doc = doc_of(R"(
[[gen.stream]]
name = "web"
id = 7
dst = "2001:2::10-2001:2::1f"
src = "2001:2::1"
sport = "1000-1003"
dport = 443
dst_order = "random"
sport_order = "increment"
size = "86-1500"
size_order = "random"
payload = "increment"
stamp = true
src_mac = "02:00:00:00:00:01"
dst_mac = "02:00:00:00:00:02"
vlan = 100
vlan_pcp = 5
ttl = 9
tos = 0x2e
seed = 42
percent = 12.5
table = 4096

[[gen.stream]]
dst = "198.18.0.2"
imix = [[64, 7], [594, 4], [1518, 1]]
payload = 0xab
stamp = false
pps = 1000
)");
  auto v = parse_streams(doc);
  ASSERT_TRUE(v) << v.error();
  ASSERT_EQ(v->size(), 2u);
  const Stream& a = (*v)[0];
  EXPECT_EQ(a.name, "web");
  EXPECT_EQ(a.id, 7);
  EXPECT_TRUE(a.is_v6());
  EXPECT_EQ(a.dst.count(), 16u);
  EXPECT_EQ(a.dst.order, Order::kRandom);
  EXPECT_EQ(a.sport.count(), 4u);
  EXPECT_EQ(a.dport.first, 443);
  EXPECT_EQ(a.size.mode, SizeMode::kRange);
  EXPECT_EQ(a.size.min, 86);
  EXPECT_EQ(a.size.max, 1500);
  EXPECT_EQ(a.size.order, Order::kRandom);
  EXPECT_EQ(a.payload, PayloadKind::kIncrement);
  EXPECT_EQ(a.src_mac.str(), "02:00:00:00:00:01");
  EXPECT_EQ(a.dst_mac.str(), "02:00:00:00:00:02");
  EXPECT_EQ(a.vlan, 100);
  EXPECT_EQ(a.vlan_pcp, 5);
  EXPECT_EQ(a.ttl, 9);
  EXPECT_EQ(a.tos, 0x2e);
  EXPECT_EQ(a.seed, 42u);
  EXPECT_DOUBLE_EQ(a.percent, 12.5);
  EXPECT_EQ(a.table, 4096u);
  const Stream& b = (*v)[1];
  EXPECT_EQ(b.id, 1);  // its position
  EXPECT_EQ(b.size.mode, SizeMode::kMix);
  EXPECT_EQ(b.size.mix, std::vector<SizeWeight>(std::begin(kSimpleImix), std::end(kSimpleImix)));
  EXPECT_EQ(b.payload, PayloadKind::kFixed);
  EXPECT_EQ(b.fill, 0xab);
  EXPECT_FALSE(b.stamp);
  EXPECT_DOUBLE_EQ(b.pps, 1000);

  auto none = parse_streams(doc_of("[other]\nname = \"x\"\n"));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(StreamParse, CommandLineFormsOfEachKind) {
  Stream s = parsed(
      "dst=198.18.0.2-198.18.0.9 dst_order=random size=imix payload=0x5a stamp=no vlan=3 "
      "pps=2.5e6 seed=9 src_mac=02:00:00:00:00:0a");
  EXPECT_EQ(s.dst.count(), 8u);
  EXPECT_EQ(s.size.mode, SizeMode::kMix);
  EXPECT_EQ(s.fill, 0x5a);
  EXPECT_FALSE(s.stamp);
  EXPECT_EQ(s.vlan, 3);
  EXPECT_DOUBLE_EQ(s.pps, 2.5e6);
  Stream m = parsed("dst=198.18.0.2 imix=64:1,1518:3");
  EXPECT_EQ(m.size.mix, (std::vector<SizeWeight>{{64, 1}, {1518, 3}}));
}

TEST(StreamParse, EachMistakeIsOneSentenceSayingWhatToChange) {
  struct Case {
    const char* arg;
    const char* says;
  } cases[] = {
      {"dport=7", "dst is required"},
      {"dst=198.18.0.2 colour=red", "unknown key 'colour'"},
      {"dst=198.18.0.300", "dst must be an IPv4 or IPv6 address"},
      {"dst=198.18.0.9-198.18.0.2", "goes backwards: put the lower address first"},
      {"dst=198.18.0.2 src=2001:2::1", "different IP families"},
      {"dst=198.18.0.2 sport=2000-1000", "goes backwards: put the lower port first"},
      {"dst=198.18.0.2 sport=70000", "sport must be a port from 0 to 65535"},
      {"dst=198.18.0.2 size=60", "frame size 60 is below the 64 bytes"},
      {"dst=2001:2::2 size=64", "below the 82 bytes this stream's headers need (IPv6"},
      {"dst=2001:2::2 size=70", "(IPv6, the 16-byte GenHeader and the FCS): raise it or set stamp"},
      {"dst=2001:2::2 size=64 stamp=0", "below the 66 bytes"},
      {"dst=2001:2::2 size=imix", "frame size 64 is below the 82 bytes"},
      {"dst=198.18.0.2 vlan=1 size=64", "below the 66 bytes"},
      {"dst=198.18.0.2 size=10000", "above the largest, 9216 bytes"},
      {"dst=198.18.0.2 size=1518-64", "goes backwards: put the smaller size first"},
      {"dst=198.18.0.2 size=big", "size must be a frame size like 64"},
      {"dst=198.18.0.2 imix=64:0,1518:1", "weight of size 64 is 0"},
      {"dst=198.18.0.2 imix=64", "imix must be a list like"},
      {"dst=198.18.0.2 size=64 imix=64:1,128:1", "size and imix both set the frame sizes"},
      {"dst=198.18.0.2 vlan=5000", "vlan must be a whole number from 0 to 4095"},
      {"dst=198.18.0.2 pps=10 percent=5", "pps and percent both set a rate"},
      {"dst=198.18.0.2 percent=150", "percent must be a share of the line rate"},
      {"dst=198.18.0.2 pps=-1", "pps must be packets per second from 1e-6 to 1e12"},
      {"dst=198.18.0.2 pps=1e-300", "pps must be packets per second from 1e-6 to 1e12"},
      {"dst=198.18.0.2 payload=300", "payload must be a byte from 0 to 255"},
      {"dst=198.18.0.2 payload=ones", "payload must be \"zeros\", \"increment\""},
      {"dst=198.18.0.2 sport_order=up", "sport_order must be \"increment\" or \"random\""},
      {"dst=198.18.0.2 ttl=0", "ttl must be a whole number from 1 to 255"},
      {"dst=198.18.0.2 table=0", "table must be a whole number from 1 to 1048576"},
      {"dst=198.18.0.2 stamp=maybe", "stamp must be true or false"},
      {"dst=198.18.0.2 dst_mac=02:00", "dst_mac must be a MAC address"},
      {"dst=198.18.0.2 dst=198.18.0.3", "dst is given twice"},
      {"dst=198.18.0.2 size", "'size' is not key=value"},
      {"dst=10.0.0.0-10.1.0.0", "has 65537 addresses, more than the 65536 flow templates"},
      {"dst=198.18.0.2 sport=1-1000 table=100", "raise table or set sport_order = \"random\""},
  };
  for (const auto& c : cases) {
    auto s = parse_stream_arg(c.arg);
    ASSERT_FALSE(s) << c.arg;
    const std::string& m = s.error();
    EXPECT_NE(m.find(c.says), std::string::npos) << c.arg << "\n  said: " << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.back(), '.') << m;
    EXPECT_EQ(m.rfind("stream \"", 0), 0u) << m;  // names the stream
  }
  // A random order lifts the table limit on a range's size.
  EXPECT_TRUE(parse_stream_arg("dst=10.0.0.0-10.255.255.255 dst_order=random"));
}

TEST(StreamParse, TomlMistakesNameTheStream) {
  auto wrong_type = parse_streams(doc_of("[[gen.stream]]\nname = \"a\"\ndst = 5\n"));
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error(),
            "[[gen.stream]] #1 ('a'): dst must be an IPv4 or IPv6 address or a range like "
            "\"198.18.0.1-198.18.0.254\", not 5.");
  auto dup =
      parse_streams(doc_of("[[gen.stream]]\nname = \"a\"\ndst = \"198.18.0.2\"\nid = 3\n"
                           "[[gen.stream]]\nname = \"b\"\ndst = \"198.18.0.3\"\nid = 3\n"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(), "streams 'a' and 'b' both have id 3: give each stream its own id.");
  auto not_list = parse_streams(doc_of("[gen]\nstream = 3\n"));
  ASSERT_FALSE(not_list);
  EXPECT_NE(not_list.error().find("must be written as [[gen.stream]] tables"), std::string::npos)
      << not_list.error();
  auto bad_mix = parse_streams(doc_of("[[gen.stream]]\ndst = \"198.18.0.2\"\nimix = [64]\n"));
  ASSERT_FALSE(bad_mix);
  EXPECT_NE(bad_mix.error().find("imix must be a list like"), std::string::npos);
}

TEST(StreamTable, FixedStreamIsOneTemplate) {
  StreamTable t = expanded("dst=198.18.0.2 sport=5 dport=6 size=128");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.complete());
  EXPECT_EQ(t[0].sport, 5);
  EXPECT_EQ(t[0].dport, 6);
  EXPECT_EQ(t[0].frame, 128);
  EXPECT_EQ(t.dst_ip(t[0]).str(), "198.18.0.2");
}

TEST(StreamTable, RangeCountsAndWrap) {
  StreamTable t = expanded("dst=198.18.0.2 sport=1000-1999");
  ASSERT_EQ(t.size(), 1000u);
  for (uint32_t i = 0; i < t.size(); ++i) ASSERT_EQ(t[i].sport, 1000 + i);
  TemplateCursor c(t.size(), 998);
  EXPECT_EQ(t[c.next()].sport, 1998);
  EXPECT_EQ(t[c.next()].sport, 1999);
  EXPECT_EQ(t[c.next()].sport, 1000);  // wraps
  EXPECT_EQ(c.position(), 1u);

  // Coprime counts: every combination exactly once per cycle.
  StreamTable both = expanded("dst=198.18.0.250-198.18.1.2 sport=1-10");  // 9 x 10
  ASSERT_EQ(both.size(), 90u);
  EXPECT_EQ(both.cycle(), 90u);
  std::set<std::pair<std::string, uint16_t>> seen;
  for (const auto& e : both.entries()) seen.insert({both.dst_ip(e).str(), e.sport});
  EXPECT_EQ(seen.size(), 90u);
  EXPECT_EQ(both.dst_ip(both[5]).str(), "198.18.0.255");
  EXPECT_EQ(both.dst_ip(both[6]).str(), "198.18.1.0");  // carries into the next octet
  EXPECT_EQ(both.dst_ip(both[9]).str(), "198.18.0.250");

  // Counts sharing a factor: the cycle is their lcm, not their product.
  EXPECT_EQ(expanded("dst=198.18.0.2 sport=1-4 dport=1-6").size(), 12u);
}

TEST(StreamTable, CycleLongerThanTheTableIsCutAtWholeSizeCycles) {
  StreamTable t = expanded("dst=198.18.0.1-198.18.0.254 sport=1000-1999 size=imix");
  EXPECT_EQ(t.cycle(), 381000u);  // lcm(254, 1000, 12)
  EXPECT_FALSE(t.complete());
  EXPECT_EQ(t.size(), 65532u);  // 5461 whole IMIX cycles
  for (uint32_t i = 0; i < t.size(); ++i) ASSERT_EQ(t[i].sport, 1000 + i % 1000);
}

TEST(StreamTable, Ipv6RangeCarriesAcrossBytes) {
  StreamTable t = expanded("dst=2001:2::1-2001:2::100 src=2001:2::ffff:fffe-2001:2::1:0:1");
  EXPECT_EQ(t.size(), 256u);  // lcm(256, 4)
  EXPECT_EQ(t.dst_ip(t[254]).str(), "2001:2::ff");
  EXPECT_EQ(t.dst_ip(t[255]).str(), "2001:2::100");
  EXPECT_EQ(t.src_ip(t[1]).str(), "2001:2::ffff:ffff");
  EXPECT_EQ(t.src_ip(t[2]).str(), "2001:2::1:0:0");
  EXPECT_EQ(t.src_ip(t[3]).str(), "2001:2::1:0:1");
}

TEST(StreamTable, RandomRangesAreDeterministicBySeed) {
  const char* arg =
      "dst=198.18.0.0-198.19.255.255 dst_order=random sport=1-60000 sport_order=random table=5000";
  StreamTable a = expanded(arg);
  StreamTable b = expanded(arg);
  StreamTable c = expanded(std::string(arg) + " seed=2");
  ASSERT_EQ(a.size(), 5000u);
  size_t same = 0;
  std::set<uint32_t> dsts;
  for (uint32_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].dst, b[i].dst);
    ASSERT_EQ(a[i].sport, b[i].sport);
    same += a[i].dst == c[i].dst;
    ASSERT_LT(a[i].dst, 131072u);
    ASSERT_GE(a[i].sport, 1);
    ASSERT_LE(a[i].sport, 60000);
    dsts.insert(a[i].dst);
  }
  EXPECT_LT(same, 10u);
  EXPECT_GT(dsts.size(), 4800u);  // few repeats in 131072 choices
  // A random field beside an incrementing one: whole cycles of the latter.
  StreamTable mixed = expanded("dst=198.18.0.2 sport=1-7 dport=1-100 dport_order=random");
  EXPECT_EQ(mixed.size() % 7, 0u);
  EXPECT_EQ(mixed.size(), 65534u);
}

std::map<uint16_t, uint32_t> size_counts(const StreamTable& t, uint32_t from, uint32_t n) {
  std::map<uint16_t, uint32_t> m;
  for (uint32_t i = from; i < from + n; ++i) ++m[t[i].frame];
  return m;
}

TEST(StreamTable, ImixProportionsAreExactOverACycle) {
  StreamTable t = expanded("dst=198.18.0.2 size=imix");
  ASSERT_EQ(t.size(), 12u);
  EXPECT_EQ(size_counts(t, 0, 12), (std::map<uint16_t, uint32_t>{{64, 7}, {594, 4}, {1518, 1}}));
  EXPECT_EQ(t.table_bytes(), 4342u);
  // Interleaved, not seven 64-byte frames in a row.
  int run = 0, longest = 0;
  for (uint32_t i = 0; i < 24; ++i) {
    run = t[i % 12].frame == 64 ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  EXPECT_LE(longest, 3);

  StreamTable with_ports = expanded("dst=198.18.0.2 size=imix sport=1000-1009");
  ASSERT_EQ(with_ports.size(), 60u);
  EXPECT_EQ(size_counts(with_ports, 0, 60),
            (std::map<uint16_t, uint32_t>{{64, 35}, {594, 20}, {1518, 5}}));

  StreamTable shuffled = expanded("dst=198.18.0.2 size=imix size_order=random");
  ASSERT_EQ(shuffled.size(), 65532u);
  bool differs = false;
  for (uint32_t c = 0; c < shuffled.size(); c += 12) {
    ASSERT_EQ(size_counts(shuffled, c, 12),
              (std::map<uint16_t, uint32_t>{{64, 7}, {594, 4}, {1518, 1}}))
        << "cycle at " << c;
    for (uint32_t k = 0; k < 12; ++k) differs |= shuffled[c + k].frame != t[k].frame;
  }
  EXPECT_TRUE(differs);

  StreamTable custom = expanded("dst=198.18.0.2 imix=100:20,200:30,300:50");  // reduces to 2:3:5
  ASSERT_EQ(custom.size(), 10u);
  EXPECT_EQ(size_counts(custom, 0, 10),
            (std::map<uint16_t, uint32_t>{{100, 2}, {200, 3}, {300, 5}}));
}

TEST(StreamTable, SizeRanges) {
  StreamTable inc = expanded("dst=198.18.0.2 size=64-1518");
  ASSERT_EQ(inc.size(), 1455u);
  for (uint32_t i = 0; i < inc.size(); ++i) ASSERT_EQ(inc[i].frame, 64 + i);
  StreamTable rnd = expanded("dst=198.18.0.2 size=64-1518 size_order=random table=20000");
  std::set<uint16_t> seen;
  for (const auto& e : rnd.entries()) {
    ASSERT_GE(e.frame, 64);
    ASSERT_LE(e.frame, 1518);
    seen.insert(e.frame);
  }
  EXPECT_GT(seen.size(), 1400u);
}

TEST(StreamRate, FromPpsOrPercent) {
  EXPECT_TRUE(stream_rate(parsed("dst=198.18.0.2"), 10000).is_max());
  EXPECT_EQ(stream_rate(parsed("dst=198.18.0.2 pps=1000"), 10000), Rate::pps(1000));
  EXPECT_NEAR(stream_rate(parsed("dst=198.18.0.2 percent=100"), 10000).per_second(), 14880952.38,
              0.01);
  EXPECT_NEAR(stream_rate(parsed("dst=198.18.0.2 percent=50 size=imix"), 10000).per_second(),
              0.5 * 1.2e11 / ((4342 + 240) * 8.0), 0.01);
  EXPECT_NEAR(stream_rate(parsed("dst=198.18.0.2 percent=100 size=64-1518"), 40000).per_second(),
              40e9 / ((791 + 20) * 8.0), 0.01);
}

}  // namespace
}  // namespace bypass::gen
