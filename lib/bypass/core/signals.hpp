/// @file
/// StopSignals: how the control thread learns that it should stop, without a
/// global flag. By default it takes SIGINT, SIGTERM and SIGHUP: construct it
/// before EAL starts so that every thread inherits the blocked mask. A
/// program that embeds bypass and keeps its own signal handling makes it with
/// Handling::kManual: no signal is touched, and request_stop() (from any
/// thread, or a signal handler) is the only way to stop. Either way the
/// control thread waits with a timeout (its per-second tick), or in poll() on
/// fd() together with other descriptors.
#pragma once

#include <signal.h>

#include <chrono>

namespace bypass {

/// How the control thread learns that it should stop; see the file's description.
class StopSignals {
 public:
  /// Whether it takes the process's signals.
  enum class Handling {
    kSignals,  ///< blocks SIGINT, SIGTERM and SIGHUP and takes them
    kManual    ///< touches no signal: request_stop() is the only way to stop
  };
  /// What wait() returns after request_stop().
  static constexpr int kRequested = -1;

  /// With Handling::kSignals, blocks SIGINT, SIGTERM and SIGHUP in the calling
  /// thread; the threads it starts afterwards inherit the mask.
  explicit StopSignals(Handling h = Handling::kSignals);
  /// Closes its descriptors; with Handling::kSignals, takes any of the signals
  /// still pending and restores the signal mask it found.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  /// Waits up to `timeout`; returns the signal number received, kRequested
  /// after request_stop(), or 0.
  int wait(std::chrono::milliseconds timeout);
  /// Makes the next wait() return kRequested. Async-signal-safe.
  void request_stop();
  /// A descriptor that is readable while a signal or a stop request is
  /// pending: for a thread that waits in poll() on other things too. The
  /// event is then taken with wait(0ms).
  int fd() const { return epoll_; }
  /// Whether it was made with Handling::kSignals.
  bool handles_signals() const { return handling_ == Handling::kSignals; }
  /// The first signal (or kRequested) a wait() has returned, else 0: whether
  /// the user has already asked the program to stop.
  int taken() const { return taken_; }

 private:
  Handling handling_;
  sigset_t set_;
  sigset_t old_;
  int signal_fd_ = -1;
  int event_fd_ = -1;
  int epoll_ = -1;
  int taken_ = 0;
};

}  // namespace bypass
