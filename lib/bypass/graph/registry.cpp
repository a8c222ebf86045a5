#include <bypass/graph/registry.hpp>

#include <algorithm>

#include <bypass/graph/swap_modules.hpp>

namespace bypass {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

void ModuleRegistry::add(std::string cls, std::string help, ModuleFactory make, bool needs_parse) {
  for (auto& e : entries_)
    if (e.cls == cls) {
      e.help = std::move(help);
      e.make = std::move(make);
      e.needs_parse = needs_parse;
      return;
    }
  entries_.push_back({std::move(cls), std::move(help), std::move(make), needs_parse});
}

bool ModuleRegistry::has(const std::string& cls) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.cls == cls; });
}

std::vector<std::string> ModuleRegistry::classes() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.cls);
  std::sort(out.begin(), out.end());
  return out;
}

Expected<std::unique_ptr<Module>> ModuleRegistry::make(const ModuleSpec& spec) const {
  for (const auto& e : entries_)
    if (e.cls == spec.cls) return e.make(ModuleParams(spec));
  return Status::error("[[module]] '" + spec.name + "' has class '" + spec.cls +
                       "', which is not a module class: use one of " + join(classes()) + ".");
}

Status ModuleRegistry::check(const std::vector<ModuleSpec>& specs,
                             const std::vector<GraphPoint>& points) const {
  std::vector<std::string> names;
  for (const auto& p : points) names.push_back(p.name);
  for (const auto& s : specs) {
    auto m = make(s);
    if (!m) return m.status();
    auto at = std::find_if(points.begin(), points.end(),
                           [&](const GraphPoint& p) { return p.name == s.before; });
    if (at == points.end())
      return Status::error("[[module]] '" + s.name + "' goes before '" + s.before +
                           "', which is not a point of this program's graph: use one of " +
                           join(names) + ".");
    const bool needs_parse = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
      return e.cls == s.cls && e.needs_parse;
    });
    if (needs_parse && !at->parsed)
      return Status::error("[[module]] '" + s.name + "' (" + s.cls +
                           ") reads what the Endpoint parsed, and packets reach '" + s.before +
                           "' unparsed in this program: use it in bypass-udpd, before "
                           "udp_dispatch.");
    if ((*m)->gates() != 1)
      return Status::error("[[module]] '" + s.name + "' (" + s.cls + ") has " +
                           std::to_string((*m)->gates()) +
                           " output gates: only modules with one can be inserted in front of a "
                           "point.");
    for (const auto& o : specs)
      if (&o != &s && o.name == s.name)
        return Status::error("two [[module]] tables are named '" + s.name +
                             "': give each its own name.");
  }
  return Status::ok();
}

void add_graph_modules(ModuleRegistry& r) {
  auto none = [](auto make) {
    return [make](const ModuleParams& p) -> Expected<std::unique_ptr<Module>> {
      BYPASS_TRY(p.only({}));
      return std::unique_ptr<Module>(make());
    };
  };
  r.add("Io", "passes every packet on", none([] { return new Io(); }));
  r.add("MacSwap", "swaps the Ethernet addresses", none([] { return new MacSwap(); }));
  r.add("FiveTupleSwap", "swaps MAC and IP addresses and UDP/TCP ports",
        none([] { return new FiveTupleSwap(); }));
}

}  // namespace bypass
