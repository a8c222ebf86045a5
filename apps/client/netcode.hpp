// bypass-client's netcode.io modes: `token` mints a connect token the way an
// application's web backend would (private key, protocol id, the server's
// address, client id, lifetime, timeout); `netcode` connects with one over an
// ordinary UDP socket, sends payloads, checks that each comes back (an echo
// application behind the server), and disconnects.
#pragma once

#include <cstdint>
#include <string>

namespace bypass::client {

struct TokenOptions {
  std::string key_file, out;
  std::string protocol_id = "0";
  uint64_t client_id = 1;
  unsigned lifetime_seconds = 30;
  int timeout_seconds = 5;
};
// Writes a 2048-byte connect token naming host:port; returns the exit code.
int mint_token(const std::string& host, uint16_t port, const TokenOptions& o);

struct NetcodeOptions {
  std::string token_file;
  unsigned count = 10, size = 100;
  int timeout_ms = 5000;
};
int run_netcode(const NetcodeOptions& o);

}  // namespace bypass::client
