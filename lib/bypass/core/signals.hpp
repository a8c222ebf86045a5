// StopSignals: SIGINT, SIGTERM and SIGHUP without a global flag. Construct it before
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
  // A descriptor that becomes readable when a signal is pending (made on
  // first use): for a thread that waits in poll() on other things too. The
  // signal is then taken with wait(0ms).
  int fd();

 private:
  sigset_t set_;
  sigset_t old_;
  int fd_ = -1;
};

}  // namespace bypass
