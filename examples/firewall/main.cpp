// bypass-firewall: forwards what the [firewall] rules allow (docs/embedding.md).
// SIGHUP re-reads them: a new rte_acl table goes to every worker between two
// bursts, and only then is the old one freed.
#include <memory>
#include <vector>

#include <bypass/control/appliance.hpp>

#include "firewall.hpp"

using namespace bypass;

int main(int argc, char** argv) {
  AclConfig rules;
  std::unique_ptr<AclTable> table;
  ModuleSet<examples::Firewall> modules;  // one per RX queue
  Appliance a;
  a.name = "bypass-firewall";
  a.tables = {"firewall"};
  a.about = "allow or deny by 5-tuple rules (rte_acl), IPv4 and IPv6";
  a.configure = [&](const Config& c) -> Status {
    auto r = read_acl_config(c, "firewall");
    if (!r) return r.status();
    rules = std::move(*r);
    return Status::ok();
  };
  a.start = [&]() -> Status {
    auto t = AclTable::build(rules.rules);
    if (!t) return t.status();
    table = std::move(*t);
    return Status::ok();
  };
  a.stop = [&] { table.reset(); };  // rte_acl's memory goes with EAL
  a.chain = [&](WorkerGraph& g, Module& out) -> Module* {
    auto& fw = modules.add(g.make<examples::Firewall>("firewall" + std::to_string(modules.size()),
                                                      table.get(), rules.default_allow),
                           g);
    fw.connect(0, &out);
    return &fw;
  };
  a.counters = [&](std::vector<std::pair<std::string, uint64_t>>& out) {
    const auto& rs = table->rules();
    for (size_t i = 0; i <= rs.size(); ++i)
      out.emplace_back("firewall." + (i ? rs[i - 1].name : std::string("no_rule")),
                       modules.sum([i](const auto& m) { return m.hits(i); }));
  };
  a.reload = [&]() -> Status {
    auto next = AclTable::build(rules.rules);
    if (!next) return next.status();
    // Counters made here, swapped in on each worker; the old ones are freed
    // here when `hits` goes.
    std::vector<std::unique_ptr<Counter[]>> hits;
    for (size_t i = 0; i < modules.size(); ++i)
      hits.push_back(examples::Firewall::counters_for(**next));
    size_t i = 0;
    modules.run_on_each(
        [&](examples::Firewall& m) { m.use(next->get(), rules.default_allow, hits[i++]); });
    table = std::move(*next);  // no worker reads the old one any more
    return Status::ok();
  };
  return appliance_main(argc, argv, a);
}
