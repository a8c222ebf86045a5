// Parsing a Stream from a [[gen.stream]] TOML table or a command-line string.
// Both go through the same key handlers; an Arg is one key's value from
// either source.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <bypass/core/config_reader.hpp>
#include <bypass/gen/stream.hpp>

namespace bypass::gen {
namespace {

struct Arg {
  const ConfigValue* node = nullptr;  // from the config
  std::string_view text;              // command line, when node is null

  std::optional<std::string> str() const {
    if (!node) return std::string(text);
    if (const std::string* v = node->as_string()) return *v;
    return std::nullopt;
  }
  std::optional<int64_t> integer() const {
    if (node) return node->as_int();
    return parse_int(text);
  }
  std::optional<double> number() const {
    if (node) return node->as_number();
    double d = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return d;
  }
  std::optional<bool> boolean() const {
    if (node) return node->as_bool();
    if (text == "true" || text == "yes" || text == "1") return true;
    if (text == "false" || text == "no" || text == "0") return false;
    return std::nullopt;
  }
  // Shown in messages: the value as written.
  std::string shown() const {
    if (!node) return "\"" + std::string(text) + "\"";
    return node->shown();
  }

  static std::optional<int64_t> parse_int(std::string_view t) {
    int base = 10;
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
      t.remove_prefix(2);
      base = 16;
    }
    int64_t v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, base);
    if (t.empty() || ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
    return v;
  }
};

Status bad(const std::string& key, const Arg& a, const std::string& want) {
  return Status::error(key + " must be " + want + ", not " + a.shown() + ".");
}

// "a-b" or "a" into two halves (b = a for a single value).
std::pair<std::string, std::string> halves(const std::string& s) {
  auto dash = s.find('-');
  if (dash == std::string::npos) return {s, s};
  return {s.substr(0, dash), s.substr(dash + 1)};
}

Status whole(const std::string& key, const Arg& a, int64_t lo, int64_t hi, int64_t* out) {
  auto v = a.integer();
  if (!v || *v < lo || *v > hi)
    return bad(key, a, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  *out = *v;
  return Status::ok();
}

template <typename T>
Status whole_into(const std::string& key, const Arg& a, int64_t lo, int64_t hi, T* out) {
  int64_t v = 0;
  if (Status s = whole(key, a, lo, hi, &v); !s) return s;
  *out = static_cast<T>(v);
  return Status::ok();
}

Status ip_range(const std::string& key, const Arg& a, IpRange* r) {
  const std::string want = "an IPv4 or IPv6 address or a range like \"198.18.0.1-198.18.0.254\"";
  auto s = a.str();
  if (!s) return bad(key, a, want);
  auto [f, l] = halves(*s);
  auto first = IpAddr::parse(f), last = IpAddr::parse(l);
  if (!first || !last) return bad(key, a, want);
  r->first = *first;
  r->last = *last;
  return Status::ok();
}

Status port_range(const std::string& key, const Arg& a, PortRange* r) {
  const std::string want = "a port from 0 to 65535 or a range like \"1000-1999\"";
  if (auto i = a.integer()) {
    if (*i < 0 || *i > 65535) return bad(key, a, want);
    r->first = r->last = static_cast<uint16_t>(*i);
    return Status::ok();
  }
  auto s = a.str();
  if (!s) return bad(key, a, want);
  auto [f, l] = halves(*s);
  auto first = Arg::parse_int(f), last = Arg::parse_int(l);
  if (!first || !last || *first < 0 || *first > 65535 || *last < 0 || *last > 65535)
    return bad(key, a, want);
  r->first = static_cast<uint16_t>(*first);
  r->last = static_cast<uint16_t>(*last);
  return Status::ok();
}

Status order(const std::string& key, const Arg& a, Order* o) {
  auto s = a.str();
  if (s && *s == "increment")
    *o = Order::kIncrement;
  else if (s && *s == "random")
    *o = Order::kRandom;
  else
    return bad(key, a, "\"increment\" or \"random\"");
  return Status::ok();
}

Status size(const Arg& a, FrameSizes* z) {
  const std::string want = "a frame size like 64, a range like \"64-1518\" or \"imix\"";
  if (auto i = a.integer()) {
    if (*i < 0 || *i > 65535) return bad("size", a, want);
    z->mode = SizeMode::kFixed;
    z->min = z->max = static_cast<uint16_t>(*i);
    return Status::ok();
  }
  auto s = a.str();
  if (!s) return bad("size", a, want);
  if (*s == "imix") {
    z->mode = SizeMode::kMix;
    z->mix.assign(std::begin(kSimpleImix), std::end(kSimpleImix));
    return Status::ok();
  }
  auto [f, l] = halves(*s);
  auto lo = Arg::parse_int(f), hi = Arg::parse_int(l);
  if (!lo || !hi || *lo < 0 || *lo > 65535 || *hi < 0 || *hi > 65535) return bad("size", a, want);
  z->mode = *lo == *hi ? SizeMode::kFixed : SizeMode::kRange;
  z->min = static_cast<uint16_t>(*lo);
  z->max = static_cast<uint16_t>(*hi);
  return Status::ok();
}

Status mix_pair(const Arg& a, int64_t size, int64_t weight, std::vector<SizeWeight>* out) {
  if (size < 0 || size > 65535 || weight < 0 || weight > UINT32_MAX)
    return bad("imix", a, "[size, weight] pairs with sizes up to 65535 and weights up to 2^32-1");
  out->push_back({static_cast<uint16_t>(size), static_cast<uint32_t>(weight)});
  return Status::ok();
}

Status imix(const Arg& a, FrameSizes* z) {
  const std::string want = "a list like [[64, 7], [594, 4], [1518, 1]] or \"64:7,594:4,1518:1\"";
  std::vector<SizeWeight> mix;
  if (a.node && a.node->is_array()) {
    for (const ConfigValue& pair : a.node->items()) {
      const auto& p = pair.items();
      if (!pair.is_array() || p.size() != 2 || !p[0].is_integer() || !p[1].is_integer())
        return bad("imix", a, want);
      if (Status s = mix_pair(a, *p[0].as_int(), *p[1].as_int(), &mix); !s) return s;
    }
  } else {
    auto s = a.str();
    if (!s || s->empty()) return bad("imix", a, want);
    size_t at = 0;
    while (at <= s->size()) {
      size_t comma = std::min(s->find(',', at), s->size());
      std::string item = s->substr(at, comma - at);
      size_t colon = item.find(':');
      auto sz = Arg::parse_int(item.substr(0, colon));
      auto w = colon == std::string::npos ? std::nullopt : Arg::parse_int(item.substr(colon + 1));
      if (!sz || !w) return bad("imix", a, want);
      if (Status st = mix_pair(a, *sz, *w, &mix); !st) return st;
      at = comma + 1;
    }
  }
  z->mode = SizeMode::kMix;
  z->mix = std::move(mix);
  return Status::ok();
}

Status payload(const Arg& a, Stream* s) {
  if (auto i = a.integer()) {
    if (*i < 0 || *i > 255) return bad("payload", a, "a byte from 0 to 255");
    s->payload = PayloadKind::kFixed;
    s->fill = static_cast<uint8_t>(*i);
    return Status::ok();
  }
  auto t = a.str();
  if (t && *t == "zeros")
    s->payload = PayloadKind::kZeros;
  else if (t && *t == "increment")
    s->payload = PayloadKind::kIncrement;
  else if (t && *t == "random")
    s->payload = PayloadKind::kRandom;
  else
    return bad("payload", a, "\"zeros\", \"increment\", \"random\" or a byte from 0 to 255");
  return Status::ok();
}

Status mac(const std::string& key, const Arg& a, MacAddr* m) {
  auto t = a.str();
  auto v = t ? MacAddr::parse(*t) : std::nullopt;
  if (!v) return bad(key, a, "a MAC address like \"02:00:00:00:00:01\"");
  *m = *v;
  return Status::ok();
}

Status rate(const std::string& key, const Arg& a, double hi, double* out) {
  auto v = a.number();
  // A pps below one frame a million seconds rounds to none.
  const double lo = key == "pps" ? 1e-6 : 0;
  if (!v || !(*v > 0) || *v < lo || *v > hi)
    return bad(key, a,
               key == "pps" ? "packets per second from 1e-6 to 1e12"
                            : "a share of the line rate above 0 and up to 100");
  *out = *v;
  return Status::ok();
}

using Handler = std::function<Status(const Arg&, Stream*)>;

const std::map<std::string, Handler>& handlers() {
  static const std::map<std::string, Handler> h = {
      {"name",
       [](const Arg& a, Stream* s) {
         auto t = a.str();
         if (!t || t->empty()) return bad("name", a, "a non-empty text");
         s->name = *t;
         return Status::ok();
       }},
      {"id", [](const Arg& a, Stream* s) { return whole_into("id", a, 0, 65535, &s->id); }},
      {"dst", [](const Arg& a, Stream* s) { return ip_range("dst", a, &s->dst); }},
      {"src", [](const Arg& a, Stream* s) { return ip_range("src", a, &s->src); }},
      {"sport", [](const Arg& a, Stream* s) { return port_range("sport", a, &s->sport); }},
      {"dport", [](const Arg& a, Stream* s) { return port_range("dport", a, &s->dport); }},
      {"src_order", [](const Arg& a, Stream* s) { return order("src_order", a, &s->src.order); }},
      {"dst_order", [](const Arg& a, Stream* s) { return order("dst_order", a, &s->dst.order); }},
      {"sport_order",
       [](const Arg& a, Stream* s) { return order("sport_order", a, &s->sport.order); }},
      {"dport_order",
       [](const Arg& a, Stream* s) { return order("dport_order", a, &s->dport.order); }},
      {"size_order",
       [](const Arg& a, Stream* s) { return order("size_order", a, &s->size.order); }},
      {"size", [](const Arg& a, Stream* s) { return size(a, &s->size); }},
      {"imix", [](const Arg& a, Stream* s) { return imix(a, &s->size); }},
      {"payload", [](const Arg& a, Stream* s) { return payload(a, s); }},
      {"stamp",
       [](const Arg& a, Stream* s) {
         auto b = a.boolean();
         if (!b) return bad("stamp", a, "true or false");
         s->stamp = *b;
         return Status::ok();
       }},
      {"src_mac", [](const Arg& a, Stream* s) { return mac("src_mac", a, &s->src_mac); }},
      {"dst_mac", [](const Arg& a, Stream* s) { return mac("dst_mac", a, &s->dst_mac); }},
      {"vlan",
       [](const Arg& a, Stream* s) {
         uint16_t v = 0;
         Status st = whole_into("vlan", a, 0, 4095, &v);
         if (st) s->vlan = v;
         return st;
       }},
      {"vlan_pcp",
       [](const Arg& a, Stream* s) { return whole_into("vlan_pcp", a, 0, 7, &s->vlan_pcp); }},
      {"ttl", [](const Arg& a, Stream* s) { return whole_into("ttl", a, 1, 255, &s->ttl); }},
      {"tos", [](const Arg& a, Stream* s) { return whole_into("tos", a, 0, 255, &s->tos); }},
      {"seed",
       [](const Arg& a, Stream* s) { return whole_into("seed", a, 0, INT64_MAX, &s->seed); }},
      {"table", [](const Arg& a,
                   Stream* s) { return whole_into("table", a, 1, kMaxTableEntries, &s->table); }},
      {"pps", [](const Arg& a, Stream* s) { return rate("pps", a, 1e12, &s->pps); }},
      {"percent", [](const Arg& a, Stream* s) { return rate("percent", a, 100, &s->percent); }},
  };
  return h;
}

std::string known_keys() {
  std::string list;
  for (const auto& [k, h] : handlers()) list += (list.empty() ? "" : ", ") + k;
  return list;
}

// Applies (key, value) pairs; then fills defaults and validates.
Expected<Stream> finish(Stream s, const std::set<std::string>& seen, const std::string& where) {
  if (seen.count("size") && seen.count("imix"))
    return Status::error(where + ": size and imix both set the frame sizes: keep one of them.");
  if (seen.count("dst") && !seen.count("src")) {
    s.src.first = s.src.last =
        *IpAddr::parse(s.dst.first.is_v6() ? "2001:2::1" : "198.18.0.1");  // benchmark ranges
  }
  if (!seen.count("size") && !seen.count("imix") && s.dst.first.family != IpAddr::Family::kNone)
    s.size.min = s.size.max = s.min_frame();  // 64 for IPv4, 82 for IPv6 with a GenHeader
  if (s.name.empty()) s.name = "stream" + std::to_string(s.id);
  if (Status st = validate(s); !st) return Status::error(where + ": " + st.message());
  return s;
}

Status apply(Stream* s, std::set<std::string>* seen, const std::string& key, const Arg& a,
             const std::string& where) {
  auto it = handlers().find(key);
  if (it == handlers().end())
    return Status::error(where + ": unknown key '" + key +
                         "': check its spelling (known keys: " + known_keys() + ").");
  if (!seen->insert(key).second)
    return Status::error(where + ": " + key + " is given twice: keep one.");
  if (Status st = it->second(a, s); !st) return Status::error(where + ": " + st.message());
  return Status::ok();
}

}  // namespace

Expected<Stream> parse_stream(const ConfigValue& t, const std::string& where, uint16_t default_id) {
  Stream s;
  s.id = default_id;
  std::set<std::string> seen;
  for (size_t i = 0; i < t.size(); ++i) {
    Arg a;
    a.node = &t.items()[i];
    if (Status st = apply(&s, &seen, t.keys()[i], a, where); !st) return st;
  }
  return finish(std::move(s), seen, where);
}

Expected<std::vector<Stream>> parse_streams(const ConfigValue& doc) {
  std::vector<Stream> out;
  auto gen = ConfigSection(doc, "").table("gen");
  if (!gen) return gen.status();
  if (!*gen) return out;
  std::map<uint16_t, std::string> ids;
  BYPASS_TRY((*gen)->tables("stream", [&](const ConfigSection& t, size_t i) {
    std::string where = "[[gen.stream]] #" + std::to_string(i + 1);
    if (const ConfigValue* n = t.get("name"); n && n->as_string())
      where += " ('" + *n->as_string() + "')";
    auto s = parse_stream(t.value(), where, static_cast<uint16_t>(i));
    if (!s) return s.status();
    auto [it, fresh] = ids.emplace(s->id, s->name);
    if (!fresh)
      return Status::error("streams '" + it->second + "' and '" + s->name + "' both have id " +
                           std::to_string(s->id) + ": give each stream its own id.");
    out.push_back(std::move(*s));
    return Status::ok();
  }));
  return out;
}

Expected<Stream> parse_stream_arg(std::string_view text, uint16_t default_id) {
  Stream s;
  s.id = default_id;
  std::set<std::string> seen;
  const std::string where = "stream \"" + std::string(text) + "\"";
  size_t at = 0;
  while (at < text.size()) {
    if (text[at] == ' ' || text[at] == '\t') {
      ++at;
      continue;
    }
    size_t end = std::min(text.find_first_of(" \t", at), text.size());
    std::string_view item = text.substr(at, end - at);
    at = end;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size())
      return Status::error(where + ": '" + std::string(item) +
                           "' is not key=value: write it like dst=198.18.0.2.");
    Arg a;
    a.text = item.substr(eq + 1);
    if (Status st = apply(&s, &seen, std::string(item.substr(0, eq)), a, where); !st) return st;
  }
  if (!seen.count("dst"))
    return Status::error(where + ": dst is required: add one like dst=198.18.0.2.");
  return finish(std::move(s), seen, where);
}

}  // namespace bypass::gen
