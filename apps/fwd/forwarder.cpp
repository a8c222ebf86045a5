#include "forwarder.hpp"

#include <bypass/io/kernel_iface.hpp>

#include <spdlog/spdlog.h>

#include <bypass/core/config_reader.hpp>
#include <bypass/graph/placement.hpp>
#include <bypass/graph/swap_modules.hpp>
#include <bypass/net/frame.hpp>

namespace bypass::fwd {

Expected<Mode> parse_mode(const std::string& s) {
  if (s == "io") return Mode::kIo;
  if (s == "macswap") return Mode::kMacSwap;
  if (s == "5tswap") return Mode::kFiveTupleSwap;
  return Status::error("forwarding mode \"" + s +
                       "\" is not known: use \"io\", \"macswap\" or \"5tswap\".");
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kIo:
      return "io";
    case Mode::kMacSwap:
      return "macswap";
    case Mode::kFiveTupleSwap:
      return "5tswap";
  }
  return "?";
}

Expected<FwdOptions> read_fwd_options(const Config& c) {
  FwdOptions o;
  if (!c.handoffs.empty())
    return Status::error(
        "[[handoff]] is not for bypass-fwd: set [fwd] pipeline = true to hand each worker's "
        "packets to the next, and remove the [[handoff]] tables.");
  auto fwd = ConfigSection(c.app, "").table("fwd");
  if (!fwd) return fwd.status();
  if (!*fwd) return o;
  const ConfigSection& r = **fwd;
  BYPASS_TRY(r.only({"mode", "topology", "pipeline", "tx_retries"}));
  if (r.has("mode")) {
    std::string mode;
    BYPASS_TRY(r.string("mode", &mode));
    auto m = parse_mode(mode);
    if (!m) return m.status();
    o.mode = *m;
  }
  std::string topology = o.paired ? "paired" : "loop";
  BYPASS_TRY(r.choice("topology", &topology, {"paired", "loop"}, "a topology"));
  o.paired = topology == "paired";
  BYPASS_TRY(r.boolean("pipeline", &o.pipeline));
  BYPASS_TRY(r.integer("tx_retries", &o.tx_retries, 0, 1000));
  return o;
}

Status check_port_addresses(const Config& c, Mode m) {
  for (const auto& p : c.ports) {
    if (p.addresses.empty()) continue;
    if (m == Mode::kIo)
      return Status::error("port '" + p.name +
                           "' has addresses, which bypass-fwd answers ARP and neighbour "
                           "solicitations for only as a reflector: remove them, or set [fwd] "
                           "mode = \"5tswap\" or \"macswap\".");
    for (const auto& a : p.addresses)
      if (auto ia = IfAddr::parse(a); !ia)
        return Status::error("port '" + p.name + "': " + ia.error());
  }
  return Status::ok();
}

namespace {

// `on_veth`: the chain's packets come from a port on a veth (checksums its
// peer left unfinished are finished in 5tswap).
std::unique_ptr<Module> make_swap(Mode m, bool on_veth) {
  switch (m) {
    case Mode::kIo:
      return std::make_unique<Io>();
    case Mode::kMacSwap:
      return std::make_unique<MacSwap>();
    case Mode::kFiveTupleSwap:
      break;
  }
  return std::make_unique<FiveTupleSwap>(on_veth);
}

}  // namespace

std::vector<GraphPoint> fwd_points() {
  return {{"swap", false}, {"tx", false}};
}

Expected<std::unique_ptr<Forwarder>> Forwarder::build(const Config& c, const FwdOptions& o,
                                                      const ModuleRegistry& reg,
                                                      const std::vector<Port*>& ports) {
  if (o.pipeline && c.workers.size() < 2)
    return Status::error(
        "[fwd].pipeline = true needs at least two [[worker]]s: add one or set pipeline = false.");
  std::unique_ptr<Forwarder> f(new Forwarder());
  for (size_t i = 0; i < c.workers.size(); ++i) {
    f->workers_.push_back(std::make_unique<Worker>(static_cast<unsigned>(i), c.workers[i]));
    f->graphs_.push_back(std::make_unique<WorkerGraph>(*f->workers_.back()));
  }
  auto peer = [&](size_t p) -> size_t {
    if (!o.paired) return p;
    size_t q = p ^ 1;
    return q < ports.size() ? q : p;
  };
  // Chains a worker handles (its own queues, or with pipeline those of the
  // worker before it): names get a suffix when there are several.
  auto chains_on = [&](size_t wi) {
    const size_t from = o.pipeline ? (wi + c.workers.size() - 1) % c.workers.size() : wi;
    return c.workers[from].rx.size();
  };
  std::vector<bool> veth(ports.size());
  for (size_t p = 0; p < ports.size() && p < c.ports.size(); ++p) {
    veth[p] = on_veth(c.ports[p]);
    if (veth[p] && o.mode == Mode::kFiveTupleSwap)
      spdlog::info(
          "port '{}' is on a veth: UDP and TCP checksums its Linux peer left to a transmit "
          "offload are finished before they are sent on (5tswap).",
          c.ports[p].name);
  }
  for (size_t wi = 0; wi < c.workers.size(); ++wi) {
    const size_t handler = o.pipeline ? (wi + 1) % c.workers.size() : wi;
    WorkerGraph& hg = *f->graphs_[handler];
    for (const QueueRef& q : c.workers[wi].rx) {
      const std::string sfx = chains_on(handler) > 1 || c.workers[wi].rx.size() > 1
                                  ? ".p" + std::to_string(q.port) + "q" + std::to_string(q.queue)
                                  : "";
      // The TX side runs on the handler worker and uses that worker's TX queue.
      auto& tx = hg.make<PortTx>("tx" + sfx, *ports[peer(q.port)], static_cast<uint16_t>(handler),
                                 o.tx_retries);
      Module& swap = hg.add("swap" + sfx, make_swap(o.mode, veth[q.port]));
      swap.connect(0, &tx);
      Module* first = &swap;
      if (o.mode != Mode::kIo) {
        EndpointConfig ec;
        ec.mac = to_mac(ports[q.port]->mac());
        for (const auto& a : c.ports[q.port].addresses) ec.addrs.push_back(*IfAddr::parse(a));
        Host h{q.port, nullptr, nullptr};
        try {
          h.endpoint = std::make_unique<Endpoint>(std::move(ec), hg.worker().clock().hz());
        } catch (const std::exception& e) {
          return Status::error(e.what());
        }
        auto& host = hg.make<PortHost>("host" + sfx, *h.endpoint, PortHost::Role::kReflector);
        host.connect(PortHost::kOn, &swap);
        // Answers leave by the port they answer for, on this worker's TX queue.
        Module* answer_tx = &tx;
        if (peer(q.port) != q.port)
          answer_tx = &hg.make<PortTx>("answer" + sfx, *ports[q.port],
                                       static_cast<uint16_t>(handler), o.tx_retries);
        host.connect(PortHost::kAnswer, answer_tx);
        h.module = &host;
        f->hosts_.push_back(std::move(h));
        first = &host;
      }
      if (o.pipeline) {
        std::string name = "fwd_w" + std::to_string(wi) + "_p" + std::to_string(q.port) + "q" +
                           std::to_string(q.queue);
        auto ring = HandoffRing::create(name, c.memory.ring_size);
        if (!ring) return ring.status();
        f->rings_.push_back(std::make_unique<HandoffRing>(std::move(ring.value())));
        HandoffRing& r = *f->rings_.back();
        hg.add_source(std::make_unique<RingIn>(r, first));
        first = &f->graphs_[wi]->make<RingOut>("ring" + sfx, r);
      }
      f->graphs_[wi]->add_source(std::make_unique<PortRx>(*ports[q.port], q.queue, first));
    }
  }
  for (size_t p = 0; p < ports.size() && p < c.ports.size(); ++p) {
    f->port_names_.push_back(c.ports[p].name);
    f->port_macs_.push_back(to_mac(ports[p]->mac()));
  }
  f->advised_.assign(ports.size(), false);
  for (auto& g : f->graphs_) BYPASS_TRY(g->insert_specs(reg, c.modules));
  BYPASS_TRY(check_placement(f->graphs()));
  for (auto& g : f->graphs_) BYPASS_TRY(g->start());
  return f;
}

void Forwarder::drop_left_in_rings() {
  std::vector<WorkerGraph*> graphs;
  for (auto& g : graphs_) graphs.push_back(g.get());
  bypass::drop_left_in_rings(graphs);
}

void Forwarder::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  uint64_t arp = 0, na = 0, unanswered = 0;
  for (const Host& h : hosts_) {
    const EndpointCounters& k = h.endpoint->counters();
    arp += k.arp_replies.get();
    na += k.na_sent.get();
    unanswered += h.module->unanswered();
  }
  out.insert(out.end(), {{"host.arp_replies", arp},
                         {"host.neighbour_adverts", na},
                         {"host.arp_unanswered", unanswered}});
}

std::vector<std::string> Forwarder::arp_advice() {
  std::vector<std::string> out;
  for (const Host& h : hosts_) {
    if (h.port >= advised_.size() || advised_[h.port] || h.module->unanswered() == 0) continue;
    const uint32_t tip = h.module->first_unanswered_target();
    if (tip == 0) continue;  // counted, target not yet visible
    advised_[h.port] = true;
    out.push_back(unanswered_arp_advice(port_names_[h.port], tip, port_macs_[h.port]));
  }
  return out;
}

std::vector<Worker*> Forwarder::workers() {
  std::vector<Worker*> out;
  for (auto& w : workers_) out.push_back(w.get());
  return out;
}

std::vector<const WorkerGraph*> Forwarder::graphs() const {
  std::vector<const WorkerGraph*> out;
  for (const auto& g : graphs_) out.push_back(g.get());
  return out;
}

std::string Forwarder::describe() const {
  std::string out;
  for (size_t i = 0; i < graphs_.size(); ++i)
    out += "worker " + std::to_string(i + 1) + ":\n" + graphs_[i]->describe();
  return out;
}

}  // namespace bypass::fwd
