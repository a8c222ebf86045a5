/// @file
/// WorkerGraph: the modules and sources one worker runs, by name. A program
/// builds its default graph here (its modules get stable instance names: the
/// points a config refers to), user modules are inserted in front of a named
/// point without restating the rest, the whole is checked (every gate
/// connected, nothing unreachable), started, and described (--graph).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bypass/core/status.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/graph/registry.hpp>

namespace bypass {

/// The modules and sources of one worker; see the file's description.
class WorkerGraph {
 public:
  /// An empty graph for `w`, which must outlive it.
  explicit WorkerGraph(Worker& w) : worker_(w) {}
  WorkerGraph(const WorkerGraph&) = delete;
  WorkerGraph& operator=(const WorkerGraph&) = delete;

  /// Takes `m`, named `name` (unique on this worker).
  template <class M>
  M& add(std::string name, std::unique_ptr<M> m) {
    M& ref = *m;
    ref.set_name(std::move(name));
    modules_.push_back(std::move(m));
    return ref;
  }
  /// Makes an M from `args` and adds it, named `name`.
  template <class M, class... Args>
  M& make(std::string name, Args&&... args) {
    return add(std::move(name), std::make_unique<M>(std::forward<Args>(args)...));
  }
  /// A source the worker polls, in the order added.
  Source& add_source(std::unique_ptr<Source> s);

  /// The module named `name`, or nullptr.
  Module* find(const std::string& name) const;
  /// The modules whose name is `point`, or `point` followed by '.' and more
  /// (one per port: "udp_dispatch.veth").
  std::vector<Module*> at_point(const std::string& point) const;

  /// Puts `m` in front of `target`: every gate and source that fed `target`
  /// feeds `m`, and `m`'s gate 0 feeds `target`.
  void insert_before(Module& target, std::unique_ptr<Module> m, std::string name);

  /// Inserts every [[module]] of the config: an instance in front of each
  /// module at its point, named after the spec (plus the point's suffix);
  /// none where this worker has no module at the point.
  Status insert_specs(const ModuleRegistry& reg, const std::vector<ModuleSpec>& specs);

  ///@{
  /// Live reload, in two steps, on a graph built anew for the same worker
  /// from the new config. carry_over() moves into it, for each name in
  /// `keep`, the running module of that name from `old` in place of its own
  /// fresh one (same class: the caller compared their configs), so that its
  /// state and counters go on; the edges are this graph's. swap_in() then
  /// checks this graph and has the worker poll it instead of `old` between
  /// two bursts: removed modules are stopped and fresh ones started on the
  /// worker. `old` must outlive swap_in().
  Status carry_over(WorkerGraph& old, const std::vector<std::string>& keep);
  Status swap_in(WorkerGraph& old);
  ///@}

  /// Removes the modules nothing feeds any more (after a hand-off moved what
  /// fed them to another worker), and then those only they fed; returns how
  /// many went. They never started.
  size_t prune();

  /// Every gate connected and every module fed by something.
  Status check() const;
  /// Runs each module's start() on this worker's behalf, then adds the
  /// sources to the worker.
  Status start();
  /// One line per module: name, class of edges ("ip -> udp_dispatch, tx").
  std::string describe() const;

  Worker& worker() { return worker_; }  ///< the worker it runs on
  /// Its modules.
  const std::vector<std::unique_ptr<Module>>& modules() const { return modules_; }
  /// Its sources, in the order added.
  const std::vector<std::unique_ptr<Source>>& sources() const { return sources_; }

 private:
  Worker& worker_;
  std::vector<std::unique_ptr<Module>> modules_;
  std::vector<const Module*> carried_;  // came from an older graph: already started
  // carry_over()'s kept modules and their gates in this graph: set on the
  // worker at the swap (until then the old graph runs them).
  std::vector<std::pair<Module*, std::vector<Module*>>> rewire_;
  std::vector<std::unique_ptr<Source>> sources_;
};

}  // namespace bypass
