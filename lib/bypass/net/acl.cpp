#include <bypass/net/acl.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_acl.h>
#include <rte_byteorder.h>

#include <atomic>
#include <cstddef>
#include <cstring>

namespace bypass {

namespace {

// One input word per field group: rte_acl wants the first field one byte
// wide and every later group four bytes (the two ports share one).
constexpr rte_acl_field_def field(uint8_t type, uint8_t size, uint8_t idx, uint8_t input,
                                  uint32_t offset) {
  return rte_acl_field_def{type, size, idx, input, offset};
}

enum : uint8_t { kProto = 0 };

rte_acl_field_def defs4[] = {
    field(RTE_ACL_FIELD_TYPE_BITMASK, 1, 0, 0, 9),  // protocol
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 1, 1, 12),    // source
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 2, 2, 16),    // destination
    field(RTE_ACL_FIELD_TYPE_RANGE, 2, 3, 3, 20),   // source port
    field(RTE_ACL_FIELD_TYPE_RANGE, 2, 4, 3, 22),   // destination port
};
rte_acl_field_def defs6[] = {
    field(RTE_ACL_FIELD_TYPE_BITMASK, 1, 0, 0, 6),  // next header
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 1, 1, 8),     // source, in four words
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 2, 2, 12),
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 3, 3, 16),
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 4, 4, 20),
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 5, 5, 24),  // destination, in four words
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 6, 6, 28),
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 7, 7, 32),
    field(RTE_ACL_FIELD_TYPE_MASK, 4, 8, 8, 36),
    field(RTE_ACL_FIELD_TYPE_RANGE, 2, 9, 9, 40),   // source port
    field(RTE_ACL_FIELD_TYPE_RANGE, 2, 10, 9, 42),  // destination port
};
constexpr size_t kFields4 = std::size(defs4), kFields6 = std::size(defs6);
RTE_ACL_RULE_DEF(Acl4Rule, kFields4);
RTE_ACL_RULE_DEF(Acl6Rule, kFields6);

Status parse_prefix(const ConfigSection& t, const char* key, uint8_t* addr, uint8_t* len,
                    int* family) {
  std::string s = "any";
  BYPASS_TRY(t.string(key, &s));
  if (s == "any") return Status::ok();
  const size_t slash = s.find('/');
  const std::string host = s.substr(0, slash);
  int fam = host.find(':') != std::string::npos ? 6 : 4;
  if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, host.c_str(), addr) != 1)
    return t.error(
        key, "is not an address or prefix: write \"any\", \"198.18.0.0/15\" or \"2001:db8::/32\".");
  const int max = fam == 6 ? 128 : 32;
  int bits = max;
  if (slash != std::string::npos) {
    char* end = nullptr;
    bits = static_cast<int>(std::strtol(s.c_str() + slash + 1, &end, 10));
    if (*end || slash + 1 == s.size() || bits < 0 || bits > max)
      return t.error(key, "has a prefix length out of 0-" + std::to_string(max) + ".");
  }
  if (*family && *family != fam)
    return t.error(
        key, "is of another family than the rule's other address: make both IPv4 or both IPv6.");
  *family = fam;
  *len = static_cast<uint8_t>(bits);
  return Status::ok();
}

Status parse_ports(const ConfigSection& t, const char* key, uint16_t* lo, uint16_t* hi) {
  if (const ConfigValue* v = t.get(key); v && v->as_int()) {
    if (*v->as_int() < 0 || *v->as_int() > 65535) return t.error(key, "is not a port (0-65535).");
    *lo = *hi = static_cast<uint16_t>(*v->as_int());
    return Status::ok();
  }
  std::string s = "any";
  BYPASS_TRY(t.string(key, &s));
  if (s == "any") return Status::ok();
  unsigned a = 0, b = 0;
  char dash = 0, extra = 0;
  const int n = std::sscanf(s.c_str(), "%u%c%u%c", &a, &dash, &b, &extra);
  if (n == 1) b = a;
  if (!((n == 1) || (n == 3 && dash == '-')) || a > b || b > 65535)
    return t.error(key, "is not a port or range: write \"any\", 53 or \"1024-65535\".");
  *lo = static_cast<uint16_t>(a);
  *hi = static_cast<uint16_t>(b);
  return Status::ok();
}

uint32_t word(const uint8_t* a, int i) {
  uint32_t v;
  std::memcpy(&v, a + 4 * i, 4);
  return rte_be_to_cpu_32(v);
}
uint32_t bits_in_word(uint8_t len, int i) {
  const int b = static_cast<int>(len) - 32 * i;
  return static_cast<uint32_t>(b < 0 ? 0 : b > 32 ? 32 : b);
}

template <class R>
void fill_common(R& r, const AclRule& a, size_t index, size_t port_field) {
  r.data.category_mask = 1;
  r.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - index);
  r.data.userdata = static_cast<uint32_t>(index + 1);
  r.field[kProto].value.u8 = a.proto;
  r.field[kProto].mask_range.u8 = a.proto ? 0xff : 0;
  r.field[port_field].value.u16 = a.sport_lo;
  r.field[port_field].mask_range.u16 = a.sport_hi;
  r.field[port_field + 1].value.u16 = a.dport_lo;
  r.field[port_field + 1].mask_range.u16 = a.dport_hi;
}

std::atomic<unsigned> g_tables{0};

Expected<rte_acl_ctx*> make_ctx(const char* fam, size_t fields, const rte_acl_field_def* defs,
                                const void* rules, size_t n, size_t rule_size) {
  if (n == 0) return nullptr;  // nothing to match: classify says "no rule"
  // rte_acl_create() hands back an existing context of the same name.
  const std::string name = std::string("bypass_acl") + fam + "_" + std::to_string(g_tables++);
  rte_acl_param p{};
  p.name = name.c_str();
  p.socket_id = SOCKET_ID_ANY;
  p.rule_size = static_cast<uint32_t>(rule_size);
  p.max_rule_num = static_cast<uint32_t>(n);
  rte_acl_ctx* ctx = rte_acl_create(&p);
  if (!ctx) return Status::error("cannot make an ACL context: is EAL running with enough memory?");
  rte_acl_config cfg{};
  cfg.num_categories = 1;
  cfg.num_fields = static_cast<uint32_t>(fields);
  std::memcpy(cfg.defs, defs, fields * sizeof(rte_acl_field_def));
  if ((rte_acl_add_rules(ctx, static_cast<const rte_acl_rule*>(rules), static_cast<uint32_t>(n)) !=
       0) ||
      rte_acl_build(ctx, &cfg) != 0) {
    rte_acl_free(ctx);
    return Status::error("the ACL rules do not fit in memory: use fewer or wider rules.");
  }
  return ctx;
}

}  // namespace

Expected<AclRule> read_acl_rule(const ConfigSection& t, size_t index) {
  AclRule r;
  r.name = "rule_" + std::to_string(index + 1);
  BYPASS_TRY(t.only({"name", "action", "proto", "src", "dst", "sport", "dport"}));
  BYPASS_TRY(t.string("name", &r.name));
  BYPASS_TRY(t.require("action", "write action = \"allow\" or \"deny\""));
  std::string action, proto = "any";
  BYPASS_TRY(t.choice("action", &action, {"allow", "deny"}, "an action"));
  r.allow = action == "allow";
  if (const ConfigValue* v = t.get("proto"); v && v->as_int()) {
    if (*v->as_int() < 0 || *v->as_int() > 255)
      return t.error("proto", "is not a protocol (0-255).");
    r.proto = static_cast<uint8_t>(*v->as_int());
  } else {
    BYPASS_TRY(t.choice("proto", &proto, {"any", "udp", "tcp", "icmp", "icmpv6"}, "a protocol"));
    r.proto = proto == "udp"      ? IPPROTO_UDP
              : proto == "tcp"    ? IPPROTO_TCP
              : proto == "icmp"   ? IPPROTO_ICMP
              : proto == "icmpv6" ? IPPROTO_ICMPV6
                                  : 0;
  }
  BYPASS_TRY(parse_prefix(t, "src", r.src, &r.src_len, &r.family));
  BYPASS_TRY(parse_prefix(t, "dst", r.dst, &r.dst_len, &r.family));
  BYPASS_TRY(parse_ports(t, "sport", &r.sport_lo, &r.sport_hi));
  BYPASS_TRY(parse_ports(t, "dport", &r.dport_lo, &r.dport_hi));
  // Ports exist in TCP, UDP, UDP-Lite and SCTP only: for any other protocol
  // the bytes where they would be are something else (GRE's type, an inner
  // header's length), and a port rule would match them by chance.
  const bool ports = t.has("sport") || t.has("dport");
  const bool has_ports = r.proto == IPPROTO_TCP || r.proto == IPPROTO_UDP ||
                         r.proto == IPPROTO_UDPLITE || r.proto == IPPROTO_SCTP;
  if (ports && !has_ports)
    return t.error(t.has("dport") ? "dport" : "sport",
                   "needs a protocol with ports: add proto = \"tcp\" or \"udp\" (or 132, 136).");
  return r;
}

Expected<AclConfig> read_acl_config(const Config& c, const std::string& name) {
  AclConfig r;
  const ConfigValue* t = c.app.get(name);
  if (!t || !t->is_table())
    return Status::error("the config has no [" + name + "] table: add one with its rules.");
  ConfigSection s(*t, "[" + name + "]", name);
  BYPASS_TRY(s.only({"default", "rule"}));
  std::string def = "deny";
  BYPASS_TRY(s.choice("default", &def, {"allow", "deny"}, "an action"));
  r.default_allow = def == "allow";
  BYPASS_TRY(s.tables("rule", [&](const ConfigSection& rt, size_t i) -> Status {
    auto rule = read_acl_rule(rt, i);
    if (!rule) return rule.status();
    // Each rule's hits are counted under its name: two rules of one name
    // (or one named like the count of packets no rule matched) would add up.
    for (const AclRule& before : r.rules)
      if (before.name == rule->name)
        return Status::error("[[" + name + ".rule]] " + std::to_string(i + 1) + " is named '" +
                             rule->name + "' as an earlier rule: give each rule its own name.");
    if (rule->name == "no_rule")
      return Status::error("[[" + name + ".rule]] " + std::to_string(i + 1) +
                           " is named 'no_rule', the count of packets no rule matched: name it "
                           "otherwise.");
    r.rules.push_back(std::move(*rule));
    return Status::ok();
  }));
  return r;
}

Expected<std::unique_ptr<AclTable>> AclTable::build(std::vector<AclRule> rules) {
  std::unique_ptr<AclTable> t(new AclTable());
  std::vector<Acl4Rule> r4;
  std::vector<Acl6Rule> r6;
  for (size_t i = 0; i < rules.size(); ++i) {
    const AclRule& a = rules[i];
    if (a.family != 6) {
      Acl4Rule r{};
      fill_common(r, a, i, 3);
      r.field[1].value.u32 = word(a.src, 0);
      r.field[1].mask_range.u32 = a.src_len;
      r.field[2].value.u32 = word(a.dst, 0);
      r.field[2].mask_range.u32 = a.dst_len;
      r4.push_back(r);
    }
    if (a.family != 4) {
      Acl6Rule r{};
      fill_common(r, a, i, 9);
      for (int w = 0; w < 4; ++w) {
        r.field[1 + w].value.u32 = word(a.src, w);
        r.field[1 + w].mask_range.u32 = bits_in_word(a.src_len, w);
        r.field[5 + w].value.u32 = word(a.dst, w);
        r.field[5 + w].mask_range.u32 = bits_in_word(a.dst_len, w);
      }
      r6.push_back(r);
    }
  }
  auto v4 = make_ctx("4", kFields4, defs4, r4.data(), r4.size(), RTE_ACL_RULE_SZ(kFields4));
  if (!v4) return v4.status();
  t->v4_ = *v4;
  auto v6 = make_ctx("6", kFields6, defs6, r6.data(), r6.size(), RTE_ACL_RULE_SZ(kFields6));
  if (!v6) return v6.status();
  t->v6_ = *v6;
  t->rules_ = std::move(rules);
  return t;
}

AclTable::~AclTable() {
  if (v4_) rte_acl_free(v4_);
  if (v6_) rte_acl_free(v6_);
}

void AclTable::classify4(const uint8_t** l3, uint32_t* results, uint32_t n) const {
  if (v4_)
    rte_acl_classify(v4_, l3, results, n, 1);
  else
    std::memset(results, 0, n * sizeof *results);
}

void AclTable::classify6(const uint8_t** l3, uint32_t* results, uint32_t n) const {
  if (v6_)
    rte_acl_classify(v6_, l3, results, n, 1);
  else
    std::memset(results, 0, n * sizeof *results);
}

}  // namespace bypass
