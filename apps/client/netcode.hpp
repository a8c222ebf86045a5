// bypass-client's netcode.io modes: `token` mints a connect token the way an
// application's web backend would (private key, protocol id, the server's
// address, client id, lifetime, timeout); `netcode` connects with one over an
// ordinary UDP socket, sends payloads, checks that each comes back (an echo
// application behind the server), and disconnects; with --clients, many
// clients at once, for load.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>

namespace bypass::client {

struct TokenOptions {
  std::string key_file, out;
  std::string protocol_id = "0";
  uint64_t client_id = 1;
  unsigned lifetime_seconds = 30;
  int timeout_seconds = 5;  // -1: the connection never times out
  std::vector<std::string>
      servers;            // more servers after host:port, "198.18.0.2:40000" or "[::1]:40000"
  std::string user_data;  // up to 256 bytes as hex digits, for the server's application
};
// Writes a 2048-byte connect token naming host:port (then o.servers, the
// client tries them in turn); returns the exit code.
int mint_token(const std::string& host, uint16_t port, const TokenOptions& o);

// What each token of a run is made of, checked once: the key, protocol id,
// server addresses, timeout, user data and lifetime. The client id and the
// session keys are each token's own.
struct TokenRecipe {
  conn::Key key{};
  uint64_t protocol_id = 0;
  conn::PrivateConnectToken priv;  // client id and session keys unset
  unsigned lifetime_seconds = 0;
  bool v6 = false;
};
// Fills *r from the options; returns what to change, or "".
std::string make_recipe(const std::string& host, uint16_t port, const TokenOptions& o,
                        TokenRecipe* r);

// Mints connect tokens for one server address with a key and protocol id,
// as the load modes need one per client.
class TokenMinter {
 public:
  // Checks the options as the token mode does; on a bad one, says what to
  // change in *err. --server is refused: every client's socket is
  // connected to host:port.
  bool init(const std::string& host, uint16_t port, const TokenOptions& o, std::string* err);
  std::array<uint8_t, conn::kConnectTokenBytes> mint(uint64_t client_id, uint64_t unix_now,
                                                     std::string* err) const;
  bool v6() const { return r_.v6; }
  const conn::NetcodeAddress& server() const { return server_; }  // host:port, as given

 private:
  TokenRecipe r_;
  conn::NetcodeAddress server_{};
};

struct NetcodeOptions {
  std::string token_file;
  unsigned count = 10, size = 100;
  int timeout_ms = 5000;
};
int run_netcode(const NetcodeOptions& o);

// Load: `clients` clients, each on its own socket (its own source port) with
// a token minted here, connect to host:port, then each sends `rate` payloads
// a second for `seconds`, or, with `in_flight`, keeps that many payloads out
// (a new one for each echo: the most the path carries). Prints how many
// connected, were denied or timed out, connect times, payloads/s and
// round-trip percentiles.
struct LoadOptions {
  TokenOptions token;  // key, protocol id, lifetime, timeout
  unsigned clients = 100, size = 100;
  double rate = 10, seconds = 5;
  unsigned in_flight = 0;  // 0: at `rate`
  bool gso = false;        // UDP_SEGMENT for runs of one size (BatchSocketSink::segment_runs)
};
int run_netcode_load(const std::string& host, uint16_t port, const LoadOptions& o);

}  // namespace bypass::client
