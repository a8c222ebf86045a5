// bypass-firewall: forwards between two ports (or back out of one) what the
// [firewall] rules allow (docs/embedding.md shows a config). SIGHUP reads
// the rules again: a new rte_acl table is built and handed to every worker
// between two bursts, and only then is the old one freed.
#include <cstdio>
#include <memory>
#include <vector>

#include <bypass/control/appliance.hpp>

#include "firewall.hpp"

using namespace bypass;

int main(int argc, char** argv) {
  AclConfig rules;
  std::unique_ptr<AclTable> table;
  std::vector<examples::Firewall*> modules;  // one per RX queue
  std::vector<unsigned> module_worker;
  Appliance a;
  a.name = "bypass-firewall";
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
  a.chain = [&](WorkerGraph& g, Module& out, unsigned w) -> Module* {
    auto& fw = g.make<examples::Firewall>("firewall" + std::to_string(modules.size()), table.get(),
                                          rules.default_allow);
    fw.connect(0, &out);
    modules.push_back(&fw);
    module_worker.push_back(w);
    return &fw;
  };
  a.counters = [&](std::vector<std::pair<std::string, uint64_t>>& out) {
    const auto& rs = table->rules();
    for (size_t i = 0; i <= rs.size(); ++i) {
      uint64_t n = 0;
      for (const auto* m : modules) n += m->hits(i);
      out.emplace_back("firewall." + (i ? rs[i - 1].name : std::string("no_rule")), n);
    }
  };
  a.reload = [&](const Config&, const std::vector<Worker*>& workers) -> Status {
    auto next = AclTable::build(rules.rules);
    if (!next) return next.status();
    for (size_t i = 0; i < modules.size(); ++i)
      workers[module_worker[i]]->run_on(
          [&, i](Worker&) { modules[i]->use(next->get(), rules.default_allow); });
    table = std::move(*next);  // no worker reads the old one any more
    std::printf("bypass-firewall: %zu rules in use\n", table->rules().size());
    return Status::ok();
  };
  return appliance_main(argc, argv, a);
}
