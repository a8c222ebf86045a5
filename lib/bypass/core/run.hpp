/// @file
/// run_until_stopped: the control thread's part of running workers. Launches
/// the group, calls `tick` about once a second with the seconds elapsed, and
/// returns when SIGINT/SIGTERM arrives or `duration` seconds have passed, with
/// the workers stopped. SIGHUP calls `on_hangup` and goes on (without one,
/// it stops like the others). `serve`, if set, is how the thread waits instead
/// of sleeping: it must return once the descriptor it is given (pending
/// signals) is readable or the time is up. Programs embedding bypass use this as their main loop.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <bypass/core/signals.hpp>
#include <bypass/core/status.hpp>
#include <bypass/core/worker.hpp>

namespace bypass {

/// How a run ended.
struct RunResult {
  double seconds = 0;   ///< from launch to stop
  int signal = 0;       ///< the signal that stopped it, StopSignals::kRequested, or 0
  std::string stopped;  ///< why `stop_check` stopped it, or empty
};

/// Runs `group` until stopped; see the file's description.
/// `stop_check`, if set, is asked about once a second: a non-empty answer
/// stops the run (the answer is kept in RunResult::stopped).
Expected<RunResult> run_until_stopped(
    WorkerGroup& group, StopSignals& signals, double duration,
    const std::function<void(double seconds)>& tick,
    const std::function<std::string()>& stop_check = nullptr,
    const std::function<void(int, std::chrono::milliseconds)>& serve = nullptr,
    const std::function<void()>& on_hangup = nullptr);

}  // namespace bypass
