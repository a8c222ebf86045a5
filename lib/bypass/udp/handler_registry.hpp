/// @file
/// HandlerRegistry: datagram handlers that a program adds by name, so that a
/// config's `[[udpd.service]] handler = "NAME"` runs them beside bypass-udpd's
/// built-in ones (echo, discard, static, fanout, netcode). A factory reads the
/// service's own keys (each mistake one sentence) and makes one handler: once
/// when the config is checked, before EAL, and then once per worker, so it
/// must not need EAL. There is no global registry: the program makes one and
/// hands it to udpd_main (bypass/udpd/udpd_main.hpp).
///
/// It also holds message applications by name (bypass/msg/message_app.hpp),
/// which the netcode service runs with `application = "NAME"` beside its
/// built-in ones (echo, rooms): their factories are called the same way.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <bypass/core/config_reader.hpp>
#include <bypass/core/status.hpp>
#include <bypass/msg/message_app.hpp>
#include <bypass/udp/handler.hpp>

namespace bypass {

/// Handlers by name, each with the service keys it reads.
class HandlerRegistry {
 public:
  /// Makes a handler from its service's table (port, handler and its own keys).
  using Factory =
      std::function<Expected<std::unique_ptr<DatagramHandler>>(const ConfigSection& service)>;

  /// Adds `name` (a second add of a name replaces the first); `keys`: the
  /// service keys it reads besides port and handler.
  void add(std::string name, std::vector<std::string> keys, Factory make);
  /// Its keys, or null when no handler of that name was added.
  const std::vector<std::string>* keys(const std::string& name) const;
  /// A handler of the added `name` for `service`, or the sentence that says what to change.
  Expected<std::unique_ptr<DatagramHandler>> make(const std::string& name,
                                                  const ConfigSection& service) const;
  /// The added names, in the order added.
  std::vector<std::string> names() const;

  /// Makes a message application for one worker from its netcode service's
  /// table (the service's keys, and the application's own).
  using AppFactory = std::function<Expected<std::unique_ptr<msg::MessageApplication>>(
      const ConfigSection& service)>;
  /// Adds the message application `name` (a second add replaces the first);
  /// `keys`: the service keys it reads besides the netcode service's.
  void add_application(std::string name, std::vector<std::string> keys, AppFactory make);
  /// Its keys, or null when no application of that name was added.
  const std::vector<std::string>* application_keys(const std::string& name) const;
  /// An application of the added `name` for `service`, or the sentence that says what to change.
  Expected<std::unique_ptr<msg::MessageApplication>> make_application(
      const std::string& name, const ConfigSection& service) const;
  /// The added applications' names, in the order added.
  std::vector<std::string> application_names() const;

 private:
  template <typename F>
  struct Entry {
    std::string name;
    std::vector<std::string> keys;
    F make;
  };
  std::vector<Entry<Factory>> entries_;
  std::vector<Entry<AppFactory>> apps_;
};

}  // namespace bypass
