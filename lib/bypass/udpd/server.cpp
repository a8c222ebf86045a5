#include <bypass/udpd/server.hpp>

#include <algorithm>

#include <fmt/format.h>
#include <rte_ethdev.h>
#include <spdlog/spdlog.h>

#include <bypass/control/prometheus.hpp>
#include <bypass/control/stats.hpp>
#include <bypass/core/config_reader.hpp>
#include <bypass/io/kernel_iface.hpp>
#include <bypass/net/frame.hpp>
#include <bypass/net/source_blocklist.hpp>

namespace bypass::udpd {

Expected<UdpdOptions> read_udpd_options(const Config& c, const HandlerRegistry* added) {
  UdpdOptions o;
  auto udpd = ConfigSection(c.app, "").table("udpd");
  if (!udpd) return udpd.status();
  bool bind_given = false;
  if (*udpd) {
    const ConfigSection& r = **udpd;
    BYPASS_TRY(r.only({"backend", "bind", "icmp_errors_per_sec", "service", "socket_buffer_kib"}));
    BYPASS_TRY(r.choice("backend", &o.backend, {"dpdk", "sockets"}, "a backend"));
    std::vector<std::string> bind;
    BYPASS_TRY(r.strings("bind", &bind));
    bind_given = r.has("bind");
    for (const auto& b : bind) {
      auto ip = IpAddr::parse(b);
      if (!ip)
        return Status::error("[udpd].bind has \"" + b +
                             "\", which is not an IP address: write it like \"127.0.0.1\" or "
                             "\"::1\".");
      o.bind.push_back(*ip);
    }
    BYPASS_TRY(r.integer("icmp_errors_per_sec", &o.icmp_errors_per_sec, 0, 1000000));
    BYPASS_TRY(r.integer("socket_buffer_kib", &o.socket_buffer_kib, 64, 1 << 20));
    // A key of the other backend would do nothing: say so rather than ignore it.
    const bool sockets = o.backend == "sockets";
    for (const char* k : {"bind", "socket_buffer_kib"})
      if (!sockets && r.has(k))
        return Status::error(std::string("[udpd].") + k +
                             " is for the sockets backend only: remove it or set [udpd] backend "
                             "= \"sockets\".");
    if (sockets && r.has("icmp_errors_per_sec"))
      return Status::error(
          "[udpd].icmp_errors_per_sec is for the DPDK backend only (the kernel sends the ICMP "
          "errors of the sockets backend): remove it or set [udpd] backend = \"dpdk\".");
  }
  o.added = added;
  auto s = read_services(c.app, added);
  if (!s) return s.status();
  o.services = std::move(*s);
  for (const auto& p : c.ports) {
    for (const auto& a : p.addresses) {
      auto ia = IfAddr::parse(a);
      if (!ia) return Status::error("port '" + p.name + "': " + ia.error());
      if (o.backend == "sockets" &&
          std::find(o.bind.begin(), o.bind.end(), ia->ip) == o.bind.end() && !bind_given)
        o.bind.push_back(ia->ip);
    }
    if (o.backend == "dpdk" && p.addresses.empty())
      return Status::error("port '" + p.name +
                           "' has no addresses: add addresses = [\"198.18.0.2/24\"] (IPv4 and/or "
                           "IPv6) so that hosts can reach it.");
  }
  if (o.backend == "sockets" && o.bind.empty())
    return Status::error(
        "the sockets backend has nothing to bind: set [udpd] bind = [\"127.0.0.1\", \"::1\"].");
  // A netcode service answers as our own addresses and its port, unless the
  // config names what its tokens say.
  for (auto& svc : o.services) {
    if (svc.handler != "netcode" || !svc.netcode.public_addresses.empty()) continue;
    if (o.backend == "sockets") {
      // 0.0.0.0 and :: are no address a token can name.
      for (const IpAddr& ip : o.bind)
        if (!ip.is_unspecified()) svc.netcode.public_addresses.push_back({ip, svc.port});
      if (svc.netcode.public_addresses.empty())
        return Status::error(
            "the netcode service on UDP port " + std::to_string(svc.port) +
            " binds only to every address (" + o.bind.front().str() +
            "), which no connect token can name, so every client would be refused: add "
            "public_addresses = [\"203.0.113.5:" +
            std::to_string(svc.port) +
            "\"] (the addresses your tokens give) to its [[udpd.service]] table.");
    } else {
      for (const auto& p : c.ports)
        for (const auto& a : p.addresses)
          svc.netcode.public_addresses.push_back({IfAddr::parse(a)->ip, svc.port});
    }
  }
  return o;
}

std::string handler_lines(const std::vector<std::pair<std::string, uint64_t>>& counters) {
  // The handlers' own counters ("netcode.connects"), one line per prefix.
  std::string out, prefix;
  for (const auto& [name, n] : counters) {
    const size_t dot = name.find('.');
    const std::string p = name.substr(0, dot);
    if (p == "host" || p == "udp" || dot == std::string::npos) continue;
    if (p != prefix) {
      out += (out.empty() ? "  " : "\n  ") + p + ":";
      prefix = p;
    }
    out += " " + name.substr(dot + 1) + " " + std::to_string(n);
  }
  return out.empty() ? out : out + "\n";
}

ModuleRegistry udpd_modules() {
  ModuleRegistry reg;
  add_graph_modules(reg);
  add_net_modules(reg);
  return reg;
}

Status check_modules(const Config& c, const UdpdOptions& o, const ModuleRegistry& reg) {
  std::vector<uint16_t> svc;
  for (const auto& s : o.services) svc.push_back(s.port);
  BYPASS_TRY(reg.check(c.modules, udp_graph_points(svc)));
  return check_handoffs(c.handoffs, udp_graph_points(svc));
}

Expected<std::unique_ptr<DpdkServer>> DpdkServer::build(const Config& c, const UdpdOptions& o,
                                                        const ModuleRegistry& reg, PortSet& ports,
                                                        rte_mempool* pool) {
  std::unique_ptr<DpdkServer> s(new DpdkServer());
  s->config_ = c;
  s->opts_ = o;
  s->ports_ = &ports;
  s->pool_ = pool;
  uint32_t max_payload = 1500 - 40 - 8;
  s->ctx_ = std::make_unique<DpdkHandlerContext>(max_payload);
  std::vector<bool> veth(ports.size());
  for (size_t pi = 0; pi < ports.size(); ++pi) {
    veth[pi] = on_veth(c.ports[pi]);
    if (veth[pi])
      spdlog::info(
          "port '{}' is on a veth: UDP checksums its Linux peer left to a transmit offload are "
          "accepted (counted as udp checksum left to offload); all others are verified.",
          c.ports[pi].name);
  }
  try {
    for (size_t wi = 0; wi < c.workers.size(); ++wi) {
      PerWorker pw;
      pw.worker = std::make_unique<Worker>(static_cast<unsigned>(wi), c.workers[wi]);
      for (size_t pi = 0; pi < ports.size(); ++pi) {
        EndpointConfig ec;
        ec.mac = to_mac(ports[pi].mac());
        for (const auto& a : c.ports[pi].addresses) ec.addrs.push_back(*IfAddr::parse(a));
        ec.icmp_errors_per_sec = o.icmp_errors_per_sec;
        ec.limits.udp_checksum_partial_ok = veth[pi];
        pw.endpoints.push_back(std::make_unique<Endpoint>(std::move(ec), pw.worker->clock().hz()));
      }
      pw.services = std::make_unique<ServiceTable>();
      for (const auto& svc : o.services) {
        auto h = make_service_handler(svc, o.added);
        if (!h) return h.status();
        pw.handlers.push_back(std::move(*h));
        if (Status st = pw.handlers.back()->start(*s->ctx_); !st) return st;
        pw.services->bind(svc.port, pw.handlers.back().get());
      }
      s->per_worker_.push_back(std::move(pw));
      std::vector<UdpPortPlan> plan = s->plan(c, wi);
      PerWorker& w = s->per_worker_.back();
      w.graph = std::make_unique<WorkerGraph>(*w.worker);
      build_udp_graph(*w.graph, plan, *w.services, pool, ports.size() > 1);
      BYPASS_TRY(w.graph->insert_specs(reg, c.modules));
    }
    std::vector<WorkerGraph*> graphs;
    std::vector<const WorkerGraph*> placed;
    for (auto& pw : s->per_worker_) {
      graphs.push_back(pw.graph.get());
      placed.push_back(pw.graph.get());
    }
    if (!c.handoffs.empty()) {
      auto rings = place_handoffs(graphs, c.handoffs, c.memory.ring_size, "udpd");
      if (!rings) return rings.status();
      s->rings_ = std::move(*rings);
      for (WorkerGraph* g : graphs) assign_service_ticks(*g);
    }
    BYPASS_TRY(check_placement(placed));
    for (WorkerGraph* g : graphs) BYPASS_TRY(g->start());
  } catch (const std::exception& e) {
    return Status::error(e.what());
  }
  return s;
}

std::vector<UdpPortPlan> DpdkServer::plan(const Config& c, size_t wi) {
  // The ports this worker polls; it sends on TX queue `wi` of each.
  std::vector<UdpPortPlan> plan;
  PerWorker& pw = per_worker_[wi];
  for (size_t pi = 0; pi < ports_->size(); ++pi) {
    UdpPortPlan pp;
    pp.port = &(*ports_)[pi];
    pp.index = static_cast<uint8_t>(pi);
    pp.name = c.ports[pi].name;
    pp.endpoint = pw.endpoints[pi].get();
    pp.tx_queue = static_cast<uint16_t>(wi);
    for (const QueueRef& q : c.workers[wi].rx)
      if (q.port == pi) {
        pp.rx_queues.push_back(q.queue);
        pp.announce |= q.queue == 0;  // the first queue's worker announces the addresses
      }
    // With hand-offs every worker gets every port's graph: placement
    // prunes what it does not reach.
    if (!pp.rx_queues.empty() || !c.handoffs.empty()) plan.push_back(std::move(pp));
  }
  return plan;
}

std::vector<Worker*> DpdkServer::workers() {
  std::vector<Worker*> out;
  for (auto& pw : per_worker_) out.push_back(pw.worker.get());
  return out;
}

std::string DpdkServer::describe() const {
  std::string out;
  for (size_t i = 0; i < per_worker_.size(); ++i)
    out += "worker " + std::to_string(i + 1) + ":\n" + per_worker_[i].graph->describe();
  return out;
}

void DpdkServer::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  const auto first = static_cast<std::ptrdiff_t>(out.size());
  uint64_t arp = 0, echo4 = 0, echo6 = 0, na = 0, icmp_err = 0, icmp_sup = 0, icmp_grp = 0,
           neigh = 0, changes = 0, partial = 0, dgrams = 0, replies = 0, consumed = 0, sent = 0,
           send_failed = 0;
  for (const auto& pw : per_worker_) {
    for (const auto& e : pw.endpoints) {
      const EndpointCounters& k = e->counters();
      arp += k.arp_replies.get();
      echo4 += k.echo4.get();
      echo6 += k.echo6.get();
      na += k.na_sent.get();
      icmp_err += k.icmp_errors_sent.get();
      icmp_sup += k.icmp_errors_suppressed.get();
      icmp_grp += k.icmp_errors_to_groups.get();
      neigh += e->neighbors().counters().entries.get();  // the worker's gauge, not its table
      changes += k.neighbor_changes.get();
      partial += k.udp_checksum_partial.get();
    }
    for (const auto& m : pw.graph->modules())
      if (const auto* svc = dynamic_cast<const ServiceModule*>(m.get())) {
        dgrams += svc->counters().datagrams.get();
        replies += svc->counters().replies.get();
        consumed += svc->counters().consumed.get();
        sent += svc->counters().sent.get();
        send_failed += svc->counters().send_failed.get();
      }
  }
  std::vector<std::pair<std::string, uint64_t>> own;
  for (const auto& pw : per_worker_)
    for (const auto& h : pw.handlers) h->counters(own);
  sum_by_name(own, out);
  out.insert(out.end(), {{"host.arp_replies", arp},
                         {"host.ping4", echo4},
                         {"host.ping6", echo6},
                         {"host.neighbour_adverts", na},
                         {"host.icmp_errors", icmp_err},
                         {"host.icmp_errors_suppressed", icmp_sup},
                         {"host.icmp_errors_to_groups", icmp_grp},
                         {"host.neighbours", neigh},
                         {"host.neighbour_changes", changes},
                         {"udp.checksum_left_to_offload", partial},
                         {"udp.datagrams", dgrams},
                         {"udp.replies", replies},
                         {"udp.consumed", consumed},
                         {"udp.further_datagrams", sent},
                         {"udp.send_failed", send_failed}});
  for (const auto& [name, n] : retired_counts_) {  // what live swaps removed
    auto it = std::find_if(out.begin() + first, out.end(),
                           [&](const auto& e) { return e.first == name; });
    if (it == out.end())
      out.emplace_back(name, n);
    else
      it->second += n;
  }
}

void DpdkServer::drop_left_in_rings() {
  std::vector<WorkerGraph*> graphs;
  for (auto& pw : per_worker_) graphs.push_back(pw.graph.get());
  bypass::drop_left_in_rings(graphs);
}

void DpdkServer::retire(size_t wi, const WorkerGraph& old,
                        const std::vector<std::unique_ptr<DatagramHandler>>& gone) {
  std::vector<std::pair<std::string, uint64_t>> counts;
  for (const auto& m : old.modules()) {
    retired_modules_.push_back(read_module(*m, static_cast<unsigned>(wi)));
    if (const auto* svc = dynamic_cast<const ServiceModule*>(m.get())) {
      const auto& k = svc->counters();
      counts.insert(counts.end(), {{"udp.datagrams", k.datagrams.get()},
                                   {"udp.replies", k.replies.get()},
                                   {"udp.consumed", k.consumed.get()},
                                   {"udp.further_datagrams", k.sent.get()},
                                   {"udp.send_failed", k.send_failed.get()}});
    }
  }
  for (const auto& h : gone)
    if (h) h->counters(counts);
  std::erase_if(counts, [](const auto& e) { return is_level(e.first); });
  counts.insert(counts.end(), retired_counts_.begin(), retired_counts_.end());
  retired_counts_.clear();
  sum_by_name(counts, retired_counts_);
}

std::string DpdkServer::report() const {
  std::vector<std::pair<std::string, uint64_t>> c;
  counters(c);
  auto v = [&](const char* name) {
    for (const auto& [k, n] : c)
      if (k == name) return n;
    return uint64_t{0};
  };
  return fmt::format(
             "  host: arp replies {} ping4 {} ping6 {} neighbour adverts {} icmp errors {} "
             "(suppressed "
             "{})\n"
             "  neighbours: {} known, {} address changes seen\n"
             "  udp: datagrams {} replies {} consumed {} further datagrams {}\n"
             "  udp checksums left to offload {}\n",
             v("host.arp_replies"), v("host.ping4"), v("host.ping6"), v("host.neighbour_adverts"),
             v("host.icmp_errors"), v("host.icmp_errors_suppressed"), v("host.neighbours"),
             v("host.neighbour_changes"), v("udp.datagrams"), v("udp.replies"), v("udp.consumed"),
             v("udp.further_datagrams"), v("udp.checksum_left_to_offload")) +
         handler_lines(c);
}

std::vector<const WorkerGraph*> DpdkServer::graphs() const {
  std::vector<const WorkerGraph*> out;
  for (const auto& pw : per_worker_) out.push_back(pw.graph.get());
  return out;
}

void DpdkServer::connections(std::vector<ConnectionRow>& out) const {
  for (size_t w = 0; w < per_worker_.size(); ++w)
    for (size_t i = 0; i < per_worker_[w].handlers.size(); ++i) {
      const size_t first = out.size();
      per_worker_[w].handlers[i]->list_connections(out);
      for (size_t k = first; k < out.size(); ++k) {
        out[k].worker = static_cast<unsigned>(w + 1);
        out[k].service = per_worker_[w].services->ports[i];
      }
    }
}

void DpdkServer::set_journal(Journal& j) {
  journal_ = &j;
  for (size_t wi = 0; wi < per_worker_.size(); ++wi)
    for (auto& h : per_worker_[wi].handlers) h->set_journal(j.sink(static_cast<uint32_t>(wi + 1)));
  for (size_t wi = 0; wi < per_worker_.size(); ++wi)
    for (size_t pi = 0; pi < per_worker_[wi].endpoints.size(); ++pi)
      per_worker_[wi].endpoints[pi]->neighbors().set_journal(j.sink(static_cast<uint32_t>(wi + 1)),
                                                             static_cast<uint16_t>(pi));
}

}  // namespace bypass::udpd
