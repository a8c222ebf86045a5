#include <bypass/graph/graph.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <utility>

namespace bypass {

Source& WorkerGraph::add_source(std::unique_ptr<Source> s) {
  sources_.push_back(std::move(s));
  return *sources_.back();
}

Module* WorkerGraph::find(const std::string& name) const {
  for (const auto& m : modules_)
    if (m->name() == name) return m.get();
  return nullptr;
}

std::vector<Module*> WorkerGraph::at_point(const std::string& point) const {
  std::vector<Module*> out;
  for (const auto& m : modules_) {
    const std::string& n = m->name();
    if (n == point || (n.size() > point.size() && n.compare(0, point.size(), point) == 0 &&
                       n[point.size()] == '.'))
      out.push_back(m.get());
  }
  return out;
}

void WorkerGraph::insert_before(Module& target, std::unique_ptr<Module> m, std::string name) {
  Module* fresh = m.get();
  for (const auto& other : modules_)
    for (unsigned g = 0; g < other->gates(); ++g)
      if (other->next(g) == &target) other->connect(g, fresh);
  for (const auto& s : sources_)
    if (s->next() == &target) s->set_next(fresh);
  if (fresh->gates() > 0) fresh->connect(0, &target);
  add(std::move(name), std::move(m));
}

Status WorkerGraph::insert_specs(const ModuleRegistry& reg, const std::vector<ModuleSpec>& specs) {
  for (const auto& spec : specs) {
    // A worker without the point (it polls no queue of that kind) gets none;
    // ModuleRegistry::check refused unknown points before EAL.
    for (Module* t : at_point(spec.before)) {
      auto m = reg.make(spec);
      if (!m) return m.status();
      insert_before(*t, std::move(*m), spec.name + t->name().substr(spec.before.size()));
    }
  }
  return Status::ok();
}

Status WorkerGraph::carry_over(WorkerGraph& old, const std::vector<std::string>& keep) {
  if (&old.worker_ != &worker_)
    return Status::error("a graph can only take modules over from a graph of the same worker.");
  // The graph as it will run (each kept module in its fresh twin's place),
  // and every name, checked before anything moves: a failure changes nothing.
  BYPASS_TRY(check());
  struct Pair {
    std::unique_ptr<Module>* mine;
    std::unique_ptr<Module>* theirs;
  };
  std::vector<Pair> pairs;
  for (size_t k = 0; k < keep.size(); ++k) {
    const std::string& name = keep[k];
    if (std::find(keep.begin(), keep.begin() + static_cast<std::ptrdiff_t>(k), name) !=
        keep.begin() + static_cast<std::ptrdiff_t>(k))
      return Status::error("module '" + name + "' is named twice among those to keep.");
    auto mine = std::find_if(modules_.begin(), modules_.end(),
                             [&](const auto& m) { return m && m->name() == name; });
    auto theirs = std::find_if(old.modules_.begin(), old.modules_.end(),
                               [&](const auto& m) { return m && m->name() == name; });
    if (mine == modules_.end() || theirs == old.modules_.end())
      return Status::error("module '" + name + "' is not in both graphs: it cannot be kept.");
    if ((*mine)->gates() != (*theirs)->gates())
      return Status::error("module '" + name +
                           "' has another number of gates in the new graph: it cannot be kept.");
    pairs.push_back({&*mine, &*theirs});
  }
  auto kept_for = [&](Module* m) {
    for (const Pair& p : pairs)
      if (p.mine->get() == m) return p.theirs->get();
    return m;
  };
  // The kept modules run in the old graph until the swap: their gates are
  // rewired there, on the worker (swap_in). This graph's own modules and
  // sources run nowhere yet: rewired now.
  for (const Pair& p : pairs) {
    std::vector<Module*> next;
    for (unsigned g = 0; g < (*p.mine)->gates(); ++g) next.push_back(kept_for((*p.mine)->next(g)));
    rewire_.emplace_back(p.theirs->get(), std::move(next));
  }
  for (const auto& m : modules_)
    for (unsigned g = 0; g < m->gates(); ++g) m->connect(g, kept_for(m->next(g)));
  for (const auto& s : sources_) s->set_next(kept_for(s->next()));
  for (const Pair& p : pairs) {
    carried_.push_back(p.theirs->get());
    *p.mine = std::move(*p.theirs);  // the fresh one, never started, goes
  }
  // What `old` still holds is what the swap removes.
  old.modules_.erase(std::remove(old.modules_.begin(), old.modules_.end(), nullptr),
                     old.modules_.end());
  return Status::ok();
}

Status WorkerGraph::swap_in(WorkerGraph& old) {
  // Checked by carry_over() as it will run; the kept modules' gates still
  // lead into the old graph until the rewiring below.
  if (rewire_.empty()) BYPASS_TRY(check());
  std::vector<Poller*> pollers;
  for (const auto& s : sources_) pollers.push_back(s.get());
  std::vector<std::pair<const Module*, Status>> failed;  // reported here, off the worker
  worker_.swap_pollers(std::move(pollers), [&](Worker& w) {
    for (const auto& m : old.modules_) m->stop(w);
    for (auto& [kept, next] : rewire_)
      for (unsigned g = 0; g < next.size(); ++g) kept->connect(g, next[g]);
    for (const auto& m : modules_)
      if (std::find(carried_.begin(), carried_.end(), m.get()) == carried_.end())
        if (Status s = m->start(w); !s) failed.emplace_back(m.get(), std::move(s));
  });
  // The swap has happened: a module whose start() failed runs without what
  // it would have set up (its timers), and says so.
  for (const auto& [m, s] : failed)
    spdlog::error(
        "worker {}: module {} did not start in the new graph ({}): it runs without "
        "what start() sets up",
        worker_.index() + 1, m->name(), s.message());
  carried_.clear();
  rewire_.clear();
  return Status::ok();
}

size_t WorkerGraph::prune() {
  size_t removed = 0;
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < modules_.size(); ++i) {
      const Module* m = modules_[i].get();
      bool fed = std::any_of(sources_.begin(), sources_.end(),
                             [&](const auto& s) { return s->next() == m; });
      for (const auto& o : modules_)
        for (unsigned g = 0; g < o->gates() && !fed; ++g) fed = o.get() != m && o->next(g) == m;
      if (fed) continue;
      modules_.erase(modules_.begin() + static_cast<std::ptrdiff_t>(i));
      ++removed;
      again = true;
      break;
    }
  }
  return removed;
}

Status WorkerGraph::check() const {
  // Names find modules (reports, a reload keeping modules): one module each.
  for (size_t i = 0; i < modules_.size(); ++i)
    for (size_t j = i + 1; j < modules_.size(); ++j)
      if (modules_[i]->name() == modules_[j]->name())
        return Status::error("two modules of worker " + std::to_string(worker_.index() + 1) +
                             " are named '" + modules_[i]->name() +
                             "': give the [[module]] a name of its own.");
  for (const auto& m : modules_)
    for (unsigned g = 0; g < m->gates(); ++g)
      if (m->next(g) == nullptr)
        return Status::error("module '" + m->name() + "' has nothing on its gate " +
                             std::to_string(g) + ": connect it or remove the module.");
  // No loops: a batch handed on along a loop would never end.
  std::vector<int> state(modules_.size(), 0);  // 0 new, 1 on the path, 2 done
  auto index_of = [&](const Module* m) {
    for (size_t i = 0; i < modules_.size(); ++i)
      if (modules_[i].get() == m) return i;
    return modules_.size();
  };
  std::function<const Module*(size_t)> visit = [&](size_t i) -> const Module* {
    state[i] = 1;
    for (unsigned g = 0; g < modules_[i]->gates(); ++g) {
      const size_t j = index_of(modules_[i]->next(g));
      if (j == modules_.size()) continue;  // a module of another graph
      if (state[j] == 1) return modules_[j].get();
      if (state[j] == 0)
        if (const Module* loop = visit(j)) return loop;
    }
    state[i] = 2;
    return nullptr;
  };
  for (size_t i = 0; i < modules_.size(); ++i)
    if (state[i] == 0)
      if (const Module* loop = visit(i))
        return Status::error("module '" + loop->name() +
                             "' is on a loop of gates that leads back to it: break the loop.");
  for (const auto& m : modules_) {
    bool fed = std::any_of(sources_.begin(), sources_.end(),
                           [&](const auto& s) { return s->next() == m.get(); });
    for (const auto& o : modules_)
      for (unsigned g = 0; g < o->gates() && !fed; ++g) fed = o->next(g) == m.get();
    if (!fed)
      return Status::error("module '" + m->name() +
                           "' is fed by no source or module: connect it or remove it.");
  }
  return Status::ok();
}

Status WorkerGraph::start() {
  BYPASS_TRY(check());
  for (const auto& m : modules_) BYPASS_TRY(m->start(worker_));
  for (const auto& s : sources_) worker_.add(s.get());
  return Status::ok();
}

std::string WorkerGraph::describe() const {
  std::string out;
  auto name_of = [](const Module* m) { return m ? m->name() : std::string("(nothing)"); };
  for (const auto& s : sources_) out += "  source -> " + name_of(s->next()) + "\n";
  for (const auto& m : modules_) {
    out += "  " + m->name();
    for (unsigned g = 0; g < m->gates(); ++g)
      out += std::string(g == 0 ? " -> " : ", ") + name_of(m->next(g));
    out += "\n";
  }
  return out;
}

}  // namespace bypass
