// StopSignals: SIGINT and SIGTERM without a global flag. Construct it before
// EAL starts so that every thread inherits the blocked mask; the control
// thread then waits for a signal with a timeout (its per-second tick).
#pragma once

#include <signal.h>

#include <chrono>

namespace bypass {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  // Waits up to `timeout`; returns the signal number received, or 0.
  int wait(std::chrono::milliseconds timeout);

 private:
  sigset_t set_;
  sigset_t old_;
};

}  // namespace bypass
