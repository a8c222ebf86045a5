/// @file
/// MessageApplication: an application of a program's own on bypass's message
/// protocol, which bypass-udpd's netcode service runs by name
/// (`application = "NAME"`, added with HandlerRegistry::add_application).
/// Each worker gets its own instance: its callbacks run on that worker's
/// thread only, so it needs no lock. attach() hands it the worker's
/// MessageServer, to reach connections on any worker (send_to) or every
/// other worker (broadcast, whose records arrive at on_linked).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <bypass/core/status.hpp>
#include <bypass/msg/message_server.hpp>
#include <bypass/msg/session.hpp>

namespace bypass::msg {

/// A message application for one worker of a netcode service.
class MessageApplication : public MessageHandler, public LinkedApp {
 public:
  /// Before traffic, on the control thread, once the worker is linked to the
  /// others (worker(), subscribe() and broadcast() work): this worker's
  /// message server, valid until the service stops (the server goes before
  /// the application, and open sessions get no on_close() then). An error
  /// stops the service's start.
  virtual Status attach(MessageServer* server) {
    (void)server;
    return Status::ok();
  }
  /// A record another worker's instance sent with MessageServer::broadcast;
  /// false: not now (it comes again at a later poll). By default, taken and ignored.
  bool on_linked(std::span<const uint8_t> record, uint32_t from, uint64_t now_ns) override {
    (void)record, (void)from, (void)now_ns;
    return true;
  }
  /// Its own counters, added to the service's (read on the control thread:
  /// keep them in Counters). Names are best prefixed with the application's.
  virtual void counters(std::vector<std::pair<std::string, uint64_t>>& out) const { (void)out; }
};

}  // namespace bypass::msg
