/// @file
/// bypass for an appliance, in one include: the config, the runtime (EAL,
/// packet pool, ports), workers and their graphs, the module registry, the
/// stats and the control socket. Narrower headers are under bypass/.
#pragma once

#include <bypass/control/control_server.hpp>
#include <bypass/control/runtime.hpp>
#include <bypass/control/stats.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/run.hpp>
#include <bypass/core/worker.hpp>
#include <bypass/graph/graph.hpp>
#include <bypass/graph/module.hpp>
#include <bypass/graph/registry.hpp>
#include <bypass/io/port.hpp>
#include <bypass/version.hpp>
