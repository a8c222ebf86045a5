/// @file
/// udpd_main: all of bypass-udpd (the UDP server on DPDK ports or Linux
/// sockets, its control socket, reports, reload and capture) as a function,
/// for a program that serves datagram handlers and modules of its own by
/// name: a config's `[[udpd.service]] handler = "NAME"` and `[[module]]
/// class = "NAME"` then find them beside the built-in ones. It takes the
/// same command line as bypass-udpd and returns its exit status.
#pragma once

#include <functional>

#include <bypass/graph/registry.hpp>
#include <bypass/udp/handler_registry.hpp>

namespace bypass {

/// What a program adds to bypass-udpd.
struct UdpdPlugins {
  HandlerRegistry handlers;                      ///< handlers a service may name
  std::function<void(ModuleRegistry&)> modules;  ///< adds classes a [[module]] may name
};

/// Runs bypass-udpd with `plugins`; the exit status of bypass-udpd.
int udpd_main(int argc, char** argv, const UdpdPlugins& plugins = {});

}  // namespace bypass
