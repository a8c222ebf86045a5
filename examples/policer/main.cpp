// bypass-policer: per-source rate limiting (rte_meter srTCM) between two
// ports, or back out of one. The [policer] table:
//   cir = 1250000     # committed rate, bytes a second, per source and RX queue
//   cbs = 16384       # committed burst, bytes
//   ebs = 16384       # excess burst, bytes
//   action = "drop"   # or "mark" (DSCP AF11/AF12/AF13 by colour)
//   max_sources = 65536
//   per_vlan = false  # true: a meter per (VLAN ids, address), for VLANs whose
//                     # address spaces overlap (a sender that sets its own tags
//                     # then gets a rate per tag: leave it off on trunks you do
//                     # not control)
#include <bypass/control/appliance.hpp>

#include "policer.hpp"

using namespace bypass;

int main(int argc, char** argv) {
  examples::PolicerConfig pc;
  ModuleSet<examples::Policer> modules;
  Appliance a;
  a.name = "bypass-policer";
  a.tables = {"policer"};
  a.about = "per-source rate limiting with rte_meter (srTCM): drop red or mark by colour";
  a.configure = [&](const Config& c) -> Status {
    const ConfigValue* t = c.app.get("policer");
    if (!t || !t->is_table()) return Status::error("the config has no [policer] table: add one.");
    ConfigSection s(*t, "[policer]", "policer");
    BYPASS_TRY(s.only({"cir", "cbs", "ebs", "action", "max_sources", "per_vlan"}));
    BYPASS_TRY(s.integer("cir", &pc.params.cir, 1, int64_t{1} << 40));
    BYPASS_TRY(s.integer("cbs", &pc.params.cbs, 64, int64_t{1} << 32));
    BYPASS_TRY(s.integer("ebs", &pc.params.ebs, 0, int64_t{1} << 32));
    BYPASS_TRY(s.integer("max_sources", &pc.max_sources, 8, 1 << 24));
    BYPASS_TRY(s.boolean("per_vlan", &pc.per_vlan));
    std::string action = "drop";
    BYPASS_TRY(s.choice("action", &action, {"drop", "mark"}, "an action"));
    pc.mark = action == "mark";
    return Status::ok();
  };
  a.chain = [&](WorkerGraph& g, Module& out) -> Module* {
    auto& p =
        modules.add(g.make<examples::Policer>("policer" + std::to_string(modules.size()), pc), g);
    p.connect(0, &out);
    return &p;
  };
  a.counters = [&](std::vector<std::pair<std::string, uint64_t>>& out) {
    const char* names[] = {"policer.green", "policer.yellow", "policer.red"};
    for (int c = 0; c < 3; ++c)
      out.emplace_back(names[c],
                       modules.sum([c](const auto& m) { return m.colour(rte_color(c)); }));
    out.emplace_back("policer.forgotten", modules.sum([](const auto& m) { return m.forgotten(); }));
  };
  return appliance_main(argc, argv, a);
}
