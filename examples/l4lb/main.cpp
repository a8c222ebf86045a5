// bypass-l4lb: a layer-4 load balancer, direct server return (IP-in-IP to
// the backends). [l4lb]: vip = "198.18.0.100", port = 80 (UDP and TCP),
// self = "198.18.0.1" (outer source), gateway_mac = "02:00:00:00:00:fe",
// backends = ["198.18.1.1", ...], mtu = 1500 (the largest IP packet the way
// to the backends carries; a client's packet that would pass it once wrapped
// gets an ICMP "fragmentation needed" back). SIGHUP re-reads it: removing a
// backend moves only the flows it had.
#include <memory>

#include <bypass/control/appliance.hpp>

#include "l4lb.hpp"

using namespace bypass;

namespace {

Expected<examples::L4lbConfig> read(const Config& c) {
  examples::L4lbConfig r;
  const ConfigValue* t = c.app.get("l4lb");
  if (!t || !t->is_table()) return Status::error("the config has no [l4lb] table: add one.");
  ConfigSection s(*t, "[l4lb]", "l4lb");
  BYPASS_TRY(s.only({"vip", "port", "self", "gateway_mac", "backends", "mtu"}));
  for (const char* k : {"vip", "port", "self", "gateway_mac"}) BYPASS_TRY(s.require(k, "add it"));
  uint16_t port = 0;
  BYPASS_TRY(s.integer("port", &port, 1, 65535));
  r.port = rte_cpu_to_be_16(port);
  BYPASS_TRY(s.ipv4("vip", &r.vip));
  BYPASS_TRY(s.ipv4("self", &r.self));
  BYPASS_TRY(s.ipv4s("backends", &r.backends));
  BYPASS_TRY(s.mac("gateway_mac", r.gateway.addr_bytes));
  BYPASS_TRY(s.integer("mtu", &r.mtu, 576, 9216));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  examples::L4lbConfig cfg;
  std::unique_ptr<RendezvousTable> table;
  ModuleSet<examples::L4lb> modules;
  Appliance a;
  a.name = "bypass-l4lb";
  a.tables = {"l4lb"};
  a.about = "layer-4 load balancer: rendezvous hashing, IP-in-IP to the backends (DSR)";
  a.configure = [&](const Config& c) -> Status {
    auto r = read(c);
    if (!r) return r.status();
    cfg = std::move(*r);
    return Status::ok();
  };
  a.chain = [&](WorkerGraph& g, Module& out) -> Module* {
    if (!table) table = std::make_unique<RendezvousTable>(cfg.backends);
    auto& lb = modules.add(
        g.make<examples::L4lb>("l4lb" + std::to_string(modules.size()), cfg, table.get()), g);
    lb.connect(0, &out);
    return &lb;
  };
  a.counters = [&](std::vector<std::pair<std::string, uint64_t>>& out) {
    out.emplace_back("l4lb.told_too_big",
                     modules.sum([](const auto& m) { return m.told_too_big(); }));
  };
  a.reload = [&]() -> Status {
    auto next = std::make_unique<RendezvousTable>(cfg.backends);
    modules.run_on_each([&](examples::L4lb& m) { m.use(cfg, next.get()); });
    table = std::move(next);  // no worker reads the old one any more
    return Status::ok();
  };
  return appliance_main(argc, argv, a);
}
