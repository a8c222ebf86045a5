#include <bypass/io/fault_config.hpp>

#include <set>

namespace bypass {
namespace {

Status unknown_keys(const toml::table& t, const std::string& where,
                    const std::set<std::string>& known) {
  for (const auto& [k, v] : t) {
    (void)v;
    if (!known.count(std::string(k.str()))) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      return Status::error("unknown key '" + std::string(k.str()) + "' in " + where +
                           ": check its spelling (known keys: " + list + ").");
    }
  }
  return Status::ok();
}

Status number(const toml::table& t, const std::string& where, const char* key, double* out) {
  const toml::node* n = t.get(key);
  if (!n) return Status::ok();
  auto v = n->value<double>();
  if (!v || !(n->is_floating_point() || n->is_integer()))
    return Status::error(where + "." + key + " must be a number, like 0.01.");
  *out = *v;
  return Status::ok();
}

template <typename T>
Status whole(const toml::table& t, const std::string& where, const char* key, T* out, int64_t hi) {
  const toml::node* n = t.get(key);
  if (!n) return Status::ok();
  auto v = n->value<int64_t>();
  if (!n->is_integer() || !v || *v < 0 || *v > hi)
    return Status::error(where + "." + key + " must be a whole number from 0 to " +
                         std::to_string(hi) + ".");
  *out = static_cast<T>(*v);
  return Status::ok();
}

Status direction(const toml::table& t, const std::string& where, DirectionFaults* f) {
  if (Status s =
          unknown_keys(t, where,
                       {"drop_rate", "drop_every", "duplicate_rate", "reorder_rate", "reorder",
                        "corrupt_rate", "corrupt_bits", "delay_polls", "delay_rate"});
      !s)
    return s;
  for (auto [key, out] : {std::pair<const char*, double*>{"drop_rate", &f->drop_rate},
                          {"duplicate_rate", &f->duplicate_rate},
                          {"reorder_rate", &f->reorder_rate},
                          {"corrupt_rate", &f->corrupt_rate},
                          {"delay_rate", &f->delay_rate}})
    if (Status s = number(t, where, key, out); !s) return s;
  if (Status s = whole(t, where, "drop_every", &f->drop_every, UINT32_MAX); !s) return s;
  if (Status s = whole(t, where, "corrupt_bits", &f->corrupt_bits, 64); !s) return s;
  if (Status s = whole(t, where, "delay_polls", &f->delay_polls, 1000000); !s) return s;
  if (const toml::node* n = t.get("reorder")) {
    auto v = n->value<std::string>();
    if (v && *v == "shuffle")
      f->reorder_mode = ReorderMode::kShuffle;
    else if (v && *v == "hold_back")
      f->reorder_mode = ReorderMode::kHoldBack;
    else
      return Status::error(where + ".reorder must be \"shuffle\" or \"hold_back\".");
  }
  return Status::ok();
}

}  // namespace

Expected<FaultPlan> fault_plan_from_toml(const toml::table& t, const std::string& where) {
  FaultPlan p;
  if (Status s = unknown_keys(t, where,
                              {"seed", "short_tx_rate", "stall_every", "stall_polls", "link_up",
                               "hold_capacity", "rx", "tx"});
      !s)
    return s;
  if (Status s = whole(t, where, "seed", &p.seed, INT64_MAX); !s) return s;
  if (Status s = number(t, where, "short_tx_rate", &p.short_tx_rate); !s) return s;
  if (Status s = whole(t, where, "stall_every", &p.stall_every, UINT32_MAX); !s) return s;
  if (Status s = whole(t, where, "stall_polls", &p.stall_polls, UINT32_MAX); !s) return s;
  if (Status s = whole(t, where, "hold_capacity", &p.hold_capacity, UINT32_MAX); !s) return s;
  if (const toml::node* n = t.get("link_up")) {
    if (!n->is_boolean()) return Status::error(where + ".link_up must be true or false.");
    p.link_up = *n->value<bool>();
  }
  for (auto [key, dir] : {std::pair<const char*, DirectionFaults*>{"rx", &p.rx}, {"tx", &p.tx}}) {
    const toml::node* n = t.get(key);
    if (!n) continue;
    if (!n->is_table())
      return Status::error(where + "." + key + " must be a table, like [port.faults." + key + "].");
    if (Status s = direction(*n->as_table(), where + "." + key, dir); !s) return s;
  }
  if (Status s = FaultyPort::validate(p); !s) return Status::error(where + ": " + s.message());
  return p;
}

Status check_port_faults(const Config& c) {
  for (const auto& p : c.ports) {
    if (!p.faults) continue;
    auto plan = fault_plan_from_toml(*p.faults, "port '" + p.name + "' faults");
    if (!plan) return plan.status();
  }
  return Status::ok();
}

}  // namespace bypass
