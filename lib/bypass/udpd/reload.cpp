// bypass-udpd's live reload: a new config's services and [[module]]s go in
// while the workers run. Everything new is built first (handlers started,
// graphs built and checked), so that a mistake changes nothing; then each
// worker swaps its graph between two bursts, keeping the modules whose
// configuration did not change (their state and counters go on).
#include <algorithm>

#include <bypass/udpd/server.hpp>

#include <bypass/io/fault_config.hpp>

namespace bypass::udpd {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i)
    out += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + v[i];
  return out;
}

std::string ports_list(const std::vector<uint16_t>& ports) {
  std::vector<std::string> s;
  for (uint16_t p : ports) s.push_back(std::to_string(p));
  return join(s);
}

// The module's point: its name without the ".<port name>" suffix.
bool at_point(const std::string& name, const std::string& point) {
  return name == point || name.rfind(point + ".", 0) == 0;
}

// The backend's context, saying that the handlers it starts replace running ones.
class Replacing final : public HandlerContext {
 public:
  explicit Replacing(HandlerContext& c) : c_(c) {}
  Expected<const StaticBlob*> make_static(std::span<const uint8_t> bytes) override {
    return c_.make_static(bytes);
  }
  void release_static(const StaticBlob* b) override { c_.release_static(b); }
  uint32_t max_payload() const override { return c_.max_payload(); }
  bool replacing() const override { return true; }

 private:
  HandlerContext& c_;
};

}  // namespace

Expected<std::string> DpdkServer::reload(const Config& nc, const UdpdOptions& no,
                                         const ModuleRegistry& reg) {
  if (capturing_)
    return Status::error(
        "a capture is running: stop it (bypassctl capture stop) and reload again; nothing "
        "changed.");
  std::vector<std::string> restart;
  if (!(nc.eal == config_.eal)) restart.push_back("[eal]");
  if (!(nc.memory == config_.memory)) restart.push_back("[memory]");
  // A port's fault plan may change live; the rest of [[port]] may not.
  std::vector<PortConfig> was = config_.ports, now = nc.ports;
  for (auto& p : was) p.faults.reset();
  for (auto& p : now) p.faults.reset();
  if (!(was == now)) restart.push_back("[[port]]");
  if (!(nc.workers == config_.workers)) restart.push_back("[[worker]]");
  if (!(nc.control == config_.control)) restart.push_back("[control]");
  if (no.backend != opts_.backend || no.bind != opts_.bind ||
      no.icmp_errors_per_sec != opts_.icmp_errors_per_sec)
    restart.push_back("[udpd] backend, bind or icmp_errors_per_sec");
  if (!restart.empty())
    return Status::error("the new config changes " + join(restart) +
                         ", which apply only at a restart: nothing changed.");
  if (!nc.handoffs.empty() || !config_.handoffs.empty())
    return Status::error(
        "live reload does not move [[handoff]]s yet: restart bypass-udpd to apply this config; "
        "nothing changed.");
  BYPASS_TRY(check_modules(nc, no, reg));
  std::vector<std::pair<size_t, FaultPlan>> plans;  // ports whose fault plan changes
  for (size_t i = 0; i < nc.ports.size(); ++i) {
    if (nc.ports[i].faults == config_.ports[i].faults) continue;
    const std::string& name = nc.ports[i].name;
    FaultyPort* fp = ports_->faults(i);
    if (!fp)
      return Status::error("port '" + name +
                           "' started without [port.faults]: a fault plan on it applies only at a "
                           "restart; nothing changed.");
    FaultPlan plan;  // none: a plan that does nothing
    if (nc.ports[i].faults) {
      auto p = fault_plan_from(*nc.ports[i].faults, "port '" + name + "' faults");
      if (!p) return Status::error(p.error() + " (nothing changed)");
      plan = *p;
    }
    if ((plan.rx.duplicate_rate > 0 || plan.tx.duplicate_rate > 0) && !fp->can_copy())
      return Status::error("port '" + name +
                           "' started without duplication in its fault plan: duplicate_rate "
                           "applies only at a restart; nothing changed.");
    plans.emplace_back(i, plan);
  }

  // Which services stay as they are (same port, same settings).
  std::vector<int> same(no.services.size(), -1);
  std::vector<uint16_t> added, changed, removed;
  for (size_t i = 0; i < no.services.size(); ++i) {
    bool known = false;
    for (size_t j = 0; j < opts_.services.size(); ++j)
      if (opts_.services[j].port == no.services[i].port) {
        known = true;
        if (opts_.services[j] == no.services[i]) same[i] = static_cast<int>(j);
      }
    if (!known)
      added.push_back(no.services[i].port);
    else if (same[i] < 0)
      changed.push_back(no.services[i].port);
  }
  for (const auto& old : opts_.services)
    if (std::none_of(no.services.begin(), no.services.end(),
                     [&](const ServiceConfig& s) { return s.port == old.port; }))
      removed.push_back(old.port);
  std::vector<std::string> modules_changed;
  for (const auto& m : nc.modules)
    if (std::find(config_.modules.begin(), config_.modules.end(), m) == config_.modules.end())
      modules_changed.push_back(m.name);
  for (const auto& m : config_.modules)
    if (std::none_of(nc.modules.begin(), nc.modules.end(),
                     [&](const ModuleSpec& s) { return s.name == m.name; }))
      modules_changed.push_back(m.name);

  // Build every worker's new graph; nothing runs it yet.
  struct Next {
    std::vector<std::unique_ptr<DatagramHandler>> fresh;  // by service, null where kept
    std::unique_ptr<ServiceTable> services;
    std::unique_ptr<WorkerGraph> graph;
    std::vector<std::string> keep;
  };
  std::vector<Next> next(per_worker_.size());
  // Fresh handlers that a failed reload leaves unused give back what their
  // start() took (static content in DPDK memory).
  struct RetireUnused {
    std::vector<Next>& next;
    HandlerContext& ctx;
    ~RetireUnused() {
      for (Next& n : next)
        for (auto& h : n.fresh)
          if (h) h->retire(ctx);
    }
  } retire_unused{next, *ctx_};
  try {
    for (size_t wi = 0; wi < per_worker_.size(); ++wi) {
      PerWorker& pw = per_worker_[wi];
      Next& n = next[wi];
      n.services = std::make_unique<ServiceTable>();
      for (size_t i = 0; i < no.services.size(); ++i) {
        if (same[i] >= 0) {
          n.fresh.emplace_back();
          n.services->bind(no.services[i].port, pw.handlers[static_cast<size_t>(same[i])].get());
          continue;
        }
        auto h = make_service_handler(no.services[i], no.added);
        if (!h) return h.status();
        n.fresh.push_back(std::move(*h));
        Replacing replacing(*ctx_);
        BYPASS_TRY(n.fresh.back()->start(replacing));
        if (journal_) n.fresh.back()->set_journal(journal_->sink(static_cast<uint32_t>(wi + 1)));
        n.services->bind(no.services[i].port, n.fresh.back().get());
      }
      n.graph = std::make_unique<WorkerGraph>(*pw.worker);
      build_udp_graph(*n.graph, plan(nc, wi), *n.services, pool_, ports_->size() > 1);
      BYPASS_TRY(n.graph->insert_specs(reg, nc.modules));
      BYPASS_TRY(n.graph->check());
      // What keeps running: the host (ip), the ports' tx, the services that
      // did not change and the [[module]]s whose spec did not; the
      // dispatch is built anew (it names the new table's services).
      for (const auto& m : n.graph->modules()) {
        const std::string& name = m->name();
        const Module* old = pw.graph->find(name);
        if (!old || old->gates() != m->gates() || at_point(name, "udp_dispatch")) continue;
        bool keep = at_point(name, "ip") || at_point(name, "tx");
        for (size_t i = 0; i < no.services.size() && !keep; ++i)
          keep = same[i] >= 0 && at_point(name, "service." + std::to_string(no.services[i].port));
        for (const auto& spec : nc.modules)
          keep = keep || (at_point(name, spec.name) &&
                          std::find(config_.modules.begin(), config_.modules.end(), spec) !=
                              config_.modules.end());
        if (keep) n.keep.push_back(name);
      }
    }
  } catch (const std::exception& e) {
    return Status::error("the new config could not be applied (" + std::string(e.what()) +
                         "): nothing changed.");
  }

  // Swap, worker by worker, between two bursts.
  for (size_t wi = 0; wi < per_worker_.size(); ++wi) {
    PerWorker& pw = per_worker_[wi];
    Next& n = next[wi];
    Status s = n.graph->carry_over(*pw.graph, n.keep);
    if (s) s = n.graph->swap_in(*pw.graph);
    if (!s) {
      if (on_swap_) on_swap_();  // the workers before this one did swap
      return s;
    }
    std::vector<std::unique_ptr<DatagramHandler>> handlers;
    for (size_t i = 0; i < no.services.size(); ++i)
      handlers.push_back(same[i] >= 0 ? std::move(pw.handlers[static_cast<size_t>(same[i])])
                                      : std::move(n.fresh[i]));
    retire(wi, *pw.graph, pw.handlers);  // what the old graph alone held: its counts stay
    pw.graph = std::move(n.graph);       // the old graph and what it alone held go
    pw.services = std::move(n.services);
    for (auto& h : pw.handlers)  // the services removed or changed: no worker calls them now
      if (h) h->retire(*ctx_);
    pw.handlers = std::move(handlers);
  }
  // New fault plans: each worker has its own queues follow them between two
  // of its bursts.
  std::vector<std::string> faults_changed;
  for (const auto& [pi, plan] : plans) {
    FaultyPort* fp = ports_->faults(pi);
    const FaultPlan* kept = fp->keep_plan(plan);
    for (size_t wi = 0; wi < per_worker_.size(); ++wi) {
      std::vector<uint16_t> rxq;
      for (const QueueRef& q : nc.workers[wi].rx)
        if (q.port == pi) rxq.push_back(q.queue);
      std::vector<Poller*> pollers;
      for (const auto& s : per_worker_[wi].graph->sources()) pollers.push_back(s.get());
      const uint16_t txq = static_cast<uint16_t>(wi);
      per_worker_[wi].worker->swap_pollers(
          std::move(pollers), [fp, kept, rxq, txq](Worker&) { fp->use_plan(kept, rxq, txq); });
    }
    faults_changed.push_back(nc.ports[pi].name);
  }
  config_ = nc;
  opts_ = no;
  if (on_swap_) on_swap_();
  std::vector<std::string> what;
  if (!added.empty()) what.push_back("services added on " + ports_list(added));
  if (!changed.empty()) what.push_back("services changed on " + ports_list(changed));
  if (!removed.empty()) what.push_back("services removed from " + ports_list(removed));
  if (!modules_changed.empty()) what.push_back("[[module]] " + join(modules_changed) + " changed");
  if (!faults_changed.empty())
    what.push_back("the fault plan of port " + join(faults_changed) + " changed");
  return what.empty() ? std::string("nothing to change") : join(what);
}

}  // namespace bypass::udpd
