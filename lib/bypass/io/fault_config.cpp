#include <bypass/io/fault_config.hpp>

#include <limits>
#include <utility>

#include <bypass/core/config_reader.hpp>

namespace bypass {
namespace {

constexpr double kAny = std::numeric_limits<double>::max();  // FaultyPort::validate says more

Status direction(const ConfigSection& r, DirectionFaults* f) {
  BYPASS_TRY(r.only({"drop_rate", "drop_every", "duplicate_rate", "reorder_rate", "reorder",
                     "corrupt_rate", "corrupt_bits", "delay_polls", "delay_rate"}));
  for (auto [key, out] : {std::pair<const char*, double*>{"drop_rate", &f->drop_rate},
                          {"duplicate_rate", &f->duplicate_rate},
                          {"reorder_rate", &f->reorder_rate},
                          {"corrupt_rate", &f->corrupt_rate},
                          {"delay_rate", &f->delay_rate}})
    BYPASS_TRY(r.number(key, out, -kAny, kAny));
  BYPASS_TRY(r.integer("drop_every", &f->drop_every, 0, UINT32_MAX));
  BYPASS_TRY(r.integer("corrupt_bits", &f->corrupt_bits, 0, 64));
  BYPASS_TRY(r.integer("delay_polls", &f->delay_polls, 0, 4000000000));
  std::string mode = "shuffle";
  BYPASS_TRY(r.choice("reorder", &mode, {"shuffle", "hold_back"}, "a reorder mode"));
  if (r.has("reorder"))
    f->reorder_mode = mode == "shuffle" ? ReorderMode::kShuffle : ReorderMode::kHoldBack;
  return Status::ok();
}

}  // namespace

Expected<FaultPlan> fault_plan_from(const ConfigValue& t, const std::string& where) {
  const ConfigSection r(t, where, "port.faults");
  FaultPlan p;
  BYPASS_TRY(r.only({"seed", "short_tx_rate", "stall_every", "stall_polls", "link_up",
                     "hold_capacity", "reset_after_polls", "rx", "tx"}));
  BYPASS_TRY(r.integer("seed", &p.seed, 0, INT64_MAX));
  BYPASS_TRY(r.number("short_tx_rate", &p.short_tx_rate, -kAny, kAny));
  BYPASS_TRY(r.integer("stall_every", &p.stall_every, 0, UINT32_MAX));
  BYPASS_TRY(r.integer("stall_polls", &p.stall_polls, 0, UINT32_MAX));
  BYPASS_TRY(r.integer("hold_capacity", &p.hold_capacity, 0, UINT32_MAX));
  BYPASS_TRY(r.boolean("link_up", &p.link_up));
  BYPASS_TRY(r.integer("reset_after_polls", &p.reset_after_polls, 0, INT64_MAX));
  for (auto [key, dir] : {std::pair<const char*, DirectionFaults*>{"rx", &p.rx}, {"tx", &p.tx}}) {
    auto sub = r.table(key);
    if (!sub) return sub.status();
    if (*sub) BYPASS_TRY(direction((*sub)->renamed(where + "." + key), dir));
  }
  if (Status s = FaultyPort::validate(p); !s) return Status::error(where + ": " + s.message());
  return p;
}

Status check_port_faults(const Config& c) {
  for (const auto& p : c.ports) {
    if (!p.faults) continue;
    auto plan = fault_plan_from(*p.faults, "port '" + p.name + "' faults");
    if (!plan) return plan.status();
  }
  return Status::ok();
}

}  // namespace bypass
