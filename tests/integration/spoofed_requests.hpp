// Spoofed netcode connection requests for the flood tests: raw IPv4 (root),
// each from an address no reply may go to, with a token no key opens.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace bypass::it {

struct Flood {
  uint8_t to[4];      // the server's address
  uint16_t port = 0;  // and port
  uint64_t protocol_id = 0;
  uint8_t from[2];                 // sources are from[0].from[1].x.y
  uint32_t sources = 500;          // that many of them, after the burst
  uint32_t rate = 40000;           // requests a second in all, after the burst
  std::string netns;               // sends from this network namespace when set
  std::atomic<uint64_t> sent{0};   // so far, for a test to wait on
  std::atomic<bool> ended{false};  // flood_requests returned (sent no more)
};

// Waits until `f` has sent `n` requests (true), or it ended, or 60 s passed
// without them (false).
bool wait_for_flood(const Flood& f, uint64_t n);

// Sends 1078-byte requests with the right prefix, version, protocol id and a
// future expiry: first 100 at once from one source, then from `sources`
// sources in turn at `rate` a second until `stop`. Returns how many went.
uint64_t flood_requests(Flood& f, const std::atomic<bool>& stop);

// The first number after "key": in the last whole line of a --stats-json
// file, or UINT64_MAX.
uint64_t last_stat(const std::string& path, const std::string& key);

// Waits until two lines in a row of a --stats-json file (a second apart)
// show the same "key", that is until the server has taken in everything
// that was on its way (true), or 30 s passed (false). A flood test calls it
// before stopping the server, so no request is still queued, counted nowhere.
[[nodiscard]] bool wait_for_quiet(const std::string& path, const std::string& key);

}  // namespace bypass::it
