#include <bypass/graph/placement.hpp>

#include <map>

namespace bypass {

Status check_handoffs(const std::vector<HandoffSpec>& specs,
                      const std::vector<GraphPoint>& points) {
  for (const auto& h : specs) {
    bool known = false;
    std::string names;
    for (const auto& p : points) {
      known = known || p.name == h.before;
      names += (names.empty() ? "" : ", ") + p.name;
    }
    if (!known)
      return Status::error("[[handoff]] before = \"" + h.before +
                           "\" is not a point of this program's graph: use one of " + names + ".");
  }
  return Status::ok();
}

void drop_left_in_rings(const std::vector<WorkerGraph*>& graphs) {
  for (WorkerGraph* g : graphs)
    for (const auto& m : g->modules())
      if (auto* out = dynamic_cast<RingOut*>(m.get())) out->drop_left(g->worker());
}

Expected<HandoffRings> place_handoffs(const std::vector<WorkerGraph*>& graphs,
                                      const std::vector<HandoffSpec>& specs, unsigned ring_size,
                                      const std::string& prefix) {
  HandoffRings rings;
  for (const auto& h : specs) {
    if (h.worker >= graphs.size())
      return Status::error("[[handoff]] before \"" + h.before + "\" names worker " +
                           std::to_string(h.worker + 1) + ", but there are " +
                           std::to_string(graphs.size()) + ": use one of them.");
    WorkerGraph& to = *graphs[h.worker];
    for (size_t wi = 0; wi < graphs.size(); ++wi) {
      if (wi == h.worker) continue;
      for (Module* m : graphs[wi]->at_point(h.before)) {
        Module* target = to.find(m->name());
        if (!target)
          return Status::error("worker " + std::to_string(h.worker + 1) + " has no '" + m->name() +
                               "' to hand worker " + std::to_string(wi + 1) +
                               "'s packets to: give it the same ports as the others.");
        const std::string name = prefix + "-h" + std::to_string(rings.size());
        auto ring = HandoffRing::create(name, ring_size);
        if (!ring) return ring.status();
        rings.push_back(std::make_unique<HandoffRing>(std::move(*ring)));
        HandoffRing& r = *rings.back();
        graphs[wi]->insert_before(*m, std::make_unique<RingOut>(r),
                                  "handoff." + m->name() + ".to" + std::to_string(h.worker + 1));
        // RingOut has no gates: what m fed is not reached from here any more.
        to.add_source(std::make_unique<RingIn>(r, target));
      }
    }
  }
  for (WorkerGraph* g : graphs) g->prune();
  return rings;
}

Status check_placement(const std::vector<const WorkerGraph*>& graphs) {
  struct Ends {
    std::vector<size_t> producers, consumers;  // worker indexes
  };
  std::map<const HandoffRing*, Ends> ends;
  for (size_t wi = 0; wi < graphs.size(); ++wi) {
    for (const auto& m : graphs[wi]->modules())
      if (const auto* out = dynamic_cast<const RingOut*>(m.get()))
        ends[&out->ring()].producers.push_back(wi);
    for (const auto& s : graphs[wi]->sources())
      if (const auto* in = dynamic_cast<const RingIn*>(s.get()))
        ends[&in->ring()].consumers.push_back(wi);
  }
  for (const auto& [ring, e] : ends) {
    if (e.producers.size() > 1)
      return Status::error("ring '" + ring->name() + "' has " + std::to_string(e.producers.size()) +
                           " producers (workers " + std::to_string(e.producers[0] + 1) + " and " +
                           std::to_string(e.producers[1] + 1) +
                           "), but it takes one: give each producer a ring of its own.");
    if (e.consumers.size() > 1)
      return Status::error("ring '" + ring->name() + "' has " + std::to_string(e.consumers.size()) +
                           " consumers (workers " + std::to_string(e.consumers[0] + 1) + " and " +
                           std::to_string(e.consumers[1] + 1) +
                           "), but it takes one: give each consumer a ring of its own.");
    if (e.consumers.empty())
      return Status::error("ring '" + ring->name() + "' is filled by worker " +
                           std::to_string(e.producers[0] + 1) +
                           " but no worker takes from it: add a RingIn on the worker meant to.");
  }
  return Status::ok();
}

}  // namespace bypass
