// Placement: which worker runs which part of a program's graph. By default
// each worker runs the whole graph for the queues it polls (run to
// completion). A [[handoff]] in the config makes it a pipeline: one worker
// runs a named point of the graph and everything after it, and every other
// worker that reaches that point hands its packets over through a ring of
// its own (one producer, one consumer), so no ring ever has two producers.
// What a worker no longer reaches is pruned from its graph.
//
//   [[handoff]]
//   before = "udp_dispatch"   # the point, as --graph names it
//   worker = 2                # the [[worker]] that runs it, from 1
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/graph/registry.hpp>
#include <bypass/graph/ring_modules.hpp>

namespace bypass {

// Before EAL: every [[handoff]] names one of the program's points.
Status check_handoffs(const std::vector<HandoffSpec>& specs, const std::vector<GraphPoint>& points);

// The rings a placement made; they must outlive the graphs that use them.
using HandoffRings = std::vector<std::unique_ptr<HandoffRing>>;

// Once the workers have stopped (before the final report): frees what each
// RingOut of `graphs` still holds, counted as its left_at_stop drops on its
// graph's worker, so that every packet received is sent or dropped by name.
void drop_left_in_rings(const std::vector<WorkerGraph*>& graphs);

// Places every spec on `graphs` (one per worker, by worker index), built in
// full for every port: on each worker other than the spec's, the modules at
// the point get a RingOut in front of them instead, fed to a RingIn on the
// spec's worker in front of its module of the same name; then every graph is
// pruned. Each ring holds `ring_size` packets; `prefix` makes ring names
// unique to the process (DPDK's names are global).
Expected<HandoffRings> place_handoffs(const std::vector<WorkerGraph*>& graphs,
                                      const std::vector<HandoffSpec>& specs, unsigned ring_size,
                                      const std::string& prefix);

// Checks the hand-offs of the graphs of all workers: no ring has two
// producers or two consumers (rings are single-producer, single-consumer).
Status check_placement(const std::vector<const WorkerGraph*>& graphs);

}  // namespace bypass
