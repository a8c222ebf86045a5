// The time a netcode state machine is told, never reads: unix seconds for
// connect token expiry (the backend's clock), and a monotonic nanosecond count
// for send pacing, keep-alives and timeouts. The caller reads its clocks once
// per batch and passes the same Now to every call of that batch.
#pragma once

#include <cstdint>

namespace bypass::conn {

struct Now {
  uint64_t unix_seconds = 0;  // wall clock: compared with connect token timestamps
  uint64_t mono_ns = 0;       // monotonic: only differences matter
};

inline constexpr uint64_t kNanosPerSecond = 1'000'000'000ULL;

}  // namespace bypass::conn
