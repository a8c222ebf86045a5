// bypass-client's message mode `load`: N connections to a netcode service
// running a message application (application = "echo"), each keeping a
// number of messages in flight (or sending at a fixed rate), reliable or
// not; one line a second with messages/s, latency p50/p99/p99.9,
// retransmissions and losses, then a summary.
#pragma once

#include <cstdint>
#include <string>

#include "netcode.hpp"

namespace bypass::client {

struct MessageLoadOptions {
  TokenOptions token;
  unsigned clients = 10, in_flight = 32, size = 64;
  double rate = 0;     // messages a second per connection; 0: keep in_flight outstanding
  double seconds = 5;  // from the moment every connection is open
  unsigned connect_timeout_ms = 10000;
  bool unreliable = false;  // channel 1 (the service's second channel) instead of 0
  bool text = false;
  bool gso = false;  // UDP_SEGMENT for runs of one size (BatchSocketSink::segment_runs)
};
int run_message_load(const std::string& host, uint16_t port, const MessageLoadOptions& o);

}  // namespace bypass::client
