// Every message about a config key is written here.
#include <bypass/core/config_reader.hpp>

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace bypass {

std::string_view ConfigValue::kind_name() const {
  switch (kind_) {
    case Kind::kNone:
      return "nothing";
    case Kind::kBool:
      return "true or false";
    case Kind::kInt:
      return "a whole number";
    case Kind::kFloat:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kArray:
      return "a list";
    case Kind::kTable:
      return "a table";
  }
  return "a value";
}

std::string ConfigValue::shown() const {
  switch (kind_) {
    case Kind::kBool:
      return b_ ? "true" : "false";
    case Kind::kInt:
      return std::to_string(i_);
    case Kind::kFloat:
      return fmt::format("{}", d_);
    case Kind::kString:
      return "\"" + s_ + "\"";
    case Kind::kArray:
      return "a list";
    case Kind::kTable:
      return "a table";
    case Kind::kNone:
      break;
  }
  return "nothing";
}

namespace {

template <typename List>
std::string joined(const List& l) {
  std::string out;
  for (const auto& k : l) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

template <typename List>
Status only_keys(const ConfigValue& t, const std::string& path, const List& known) {
  for (const auto& k : t.keys()) {
    bool ok = false;
    for (const auto& n : known) ok = ok || k == n;
    if (!ok && known.size() == 0)
      return Status::error("unknown key '" + k + "' in " + (path.empty() ? "the config" : path) +
                           ": it takes none, so remove it.");
    if (!ok)
      return Status::error("unknown key '" + k + "' in " + (path.empty() ? "the config" : path) +
                           ": check its spelling (known keys: " + joined(known) + ").");
  }
  return Status::ok();
}

}  // namespace

std::string ConfigSection::where(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string ConfigSection::dotted(std::string_view key) const {
  return dotted_.empty() ? std::string(key) : dotted_ + "." + std::string(key);
}

Status ConfigSection::error(std::string_view key, std::string_view what) const {
  return Status::error(where(key) + " " + std::string(what));
}

Status ConfigSection::only(std::initializer_list<std::string_view> known) const {
  return only_keys(t_, path_, known);
}

Status ConfigSection::only_list(const std::vector<std::string>& known) const {
  return only_keys(t_, path_, known);
}

Status ConfigSection::require(std::string_view key, std::string_view fix) const {
  if (has(key)) return Status::ok();
  return Status::error((path_.empty() ? std::string("the config") : path_) + " has no " +
                       std::string(key) + ": " + std::string(fix) + ".");
}

Status ConfigSection::integer(std::string_view key, int64_t* out, int64_t lo, int64_t hi) const {
  const ConfigValue* v = get(key);
  if (!v) return Status::ok();
  auto i = v->as_int();
  if (!i) return error(key, "must be a whole number, not " + v->shown() + ".");
  if (*i < lo || *i > hi)
    return Status::error(where(key) + " = " + std::to_string(*i) +
                         " is out of range: use a value from " + std::to_string(lo) + " to " +
                         std::to_string(hi) + ".");
  *out = *i;
  return Status::ok();
}

Status ConfigSection::number(std::string_view key, double* out, double lo, double hi) const {
  const ConfigValue* v = get(key);
  if (!v) return Status::ok();
  auto d = v->as_number();
  if (!d) return error(key, "must be a number, like 0.01, not " + v->shown() + ".");
  if (!(*d >= lo && *d <= hi))
    return Status::error(
        fmt::format("{} = {} is out of range: use a value from {} to {}.", where(key), *d, lo, hi));
  *out = *d;
  return Status::ok();
}

Status ConfigSection::boolean(std::string_view key, bool* out) const {
  const ConfigValue* v = get(key);
  if (!v) return Status::ok();
  auto b = v->as_bool();
  if (!b) return error(key, "must be true or false, not " + v->shown() + ".");
  *out = *b;
  return Status::ok();
}

Status ConfigSection::string(std::string_view key, std::string* out) const {
  const ConfigValue* v = get(key);
  if (!v) return Status::ok();
  const std::string* s = v->as_string();
  if (!s) return error(key, "must be a string in quotes, not " + v->shown() + ".");
  *out = *s;
  return Status::ok();
}

Status ConfigSection::strings(std::string_view key, std::vector<std::string>* out) const {
  const ConfigValue* v = get(key);
  if (!v) return Status::ok();
  const Status bad = error(key, "must be a list of strings, like [\"a\", \"b\"].");
  if (!v->is_array()) return bad;
  std::vector<std::string> list;
  for (const auto& e : v->items()) {
    const std::string* s = e.as_string();
    if (!s) return bad;
    list.push_back(*s);
  }
  *out = std::move(list);
  return Status::ok();
}

Status ConfigSection::ipv4(std::string_view key, uint32_t* be) const {
  if (!has(key)) return Status::ok();
  std::vector<uint32_t> one;
  BYPASS_TRY(ipv4s(key, &one));
  *be = one[0];
  return Status::ok();
}

Status ConfigSection::ipv4s(std::string_view key, std::vector<uint32_t>* be) const {
  const ConfigValue* v = get(key);
  if (!v) return Status::ok();
  const bool list = v->is_array();
  const Status bad = error(key, list ? "must list IPv4 addresses, like [\"198.18.0.1\"]."
                                     : "must be an IPv4 address, like \"198.18.0.1\".");
  std::vector<uint32_t> out;
  for (const ConfigValue& e : list ? v->items() : std::vector<ConfigValue>{*v}) {
    const std::string* s = e.as_string();
    if (!s || inet_pton(AF_INET, s->c_str(), &out.emplace_back()) != 1) return bad;
  }
  *be = std::move(out);
  return Status::ok();
}

Status ConfigSection::mac(std::string_view key, uint8_t* out) const {
  if (!has(key)) return Status::ok();
  std::string s;
  BYPASS_TRY(string(key, &s));
  unsigned b[6];
  char extra;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                  &extra) != 6)
    return error(key, "must be a MAC address, like \"02:00:00:00:00:01\".");
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
  return Status::ok();
}

Status ConfigSection::choice(std::string_view key, std::string* out,
                             std::initializer_list<std::string_view> allowed,
                             std::string_view noun) const {
  const std::vector<std::string> names(allowed.begin(), allowed.end());
  return choice(key, out, names, noun);
}

Status ConfigSection::choice(std::string_view key, std::string* out,
                             std::span<const std::string> allowed, std::string_view noun) const {
  std::string s = *out;
  BYPASS_TRY(string(key, &s));
  for (auto a : allowed)
    if (s == a) {
      *out = std::move(s);
      return Status::ok();
    }
  std::vector<std::string> quoted;
  for (auto a : allowed) quoted.push_back("\"" + std::string(a) + "\"");
  return Status::error(where(key) + " = \"" + s + "\" is not " + std::string(noun) +
                       ": use one of " + joined(quoted) + ".");
}

Expected<std::optional<ConfigSection>> ConfigSection::table(std::string_view key) const {
  const ConfigValue* v = get(key);
  if (!v) return std::optional<ConfigSection>();
  if (!v->is_table()) return error(key, "must be a table: write it as [" + dotted(key) + "].");
  return std::optional<ConfigSection>(ConfigSection(*v, "[" + dotted(key) + "]", dotted(key)));
}

Status ConfigSection::tables(std::string_view key,
                             const std::function<Status(const ConfigSection&, size_t)>& f) const {
  const ConfigValue* v = get(key);
  if (!v) return Status::ok();
  const Status bad = Status::error("'" + dotted(key) + "' must be written as [[" + dotted(key) +
                                   "]] tables, one per entry.");
  if (!v->is_array()) return bad;
  for (const auto& e : v->items())
    if (!e.is_table()) return bad;
  for (size_t i = 0; i < v->size(); ++i)
    BYPASS_TRY(f(ConfigSection(v->items()[i], "[[" + dotted(key) + "]] " + std::to_string(i + 1),
                               dotted(key)),
                 i));
  return Status::ok();
}

}  // namespace bypass
