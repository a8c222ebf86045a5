#include <bypass/core/run.hpp>

#include <algorithm>
#include <csignal>

#include <bypass/core/clock.hpp>

namespace bypass {

Expected<RunResult> run_until_stopped(
    WorkerGroup& group, StopSignals& signals, double duration,
    const std::function<void(double seconds)>& tick, const std::function<std::string()>& stop_check,
    const std::function<void(int, std::chrono::milliseconds)>& serve,
    const std::function<void()>& on_hangup) {
  TscClock clock;
  const double hz = static_cast<double>(clock.hz());
  const uint64_t start = clock.now();
  if (Status s = group.launch(); !s) return s;
  RunResult r;
  double next_tick = 1.0;
  while (true) {
    double elapsed = static_cast<double>(clock.now() - start) / hz;
    if (duration > 0 && elapsed >= duration) break;
    double until = std::min(next_tick, duration > 0 ? duration : next_tick) - elapsed;
    auto wait = std::chrono::milliseconds(static_cast<long>(std::max(0.0, until) * 1000) + 1);
    if (serve) {
      serve(signals.fd(), wait);
      wait = std::chrono::milliseconds(0);
    }
    if ((r.signal = signals.wait(wait)) != 0) {
      if (r.signal != SIGHUP || !on_hangup) break;
      r.signal = 0;
      on_hangup();
      continue;
    }
    elapsed = static_cast<double>(clock.now() - start) / hz;
    if (elapsed >= next_tick) {
      if (tick) tick(elapsed);
      next_tick = static_cast<double>(static_cast<long>(elapsed)) + 1.0;
      if (stop_check) {
        r.stopped = stop_check();
        if (!r.stopped.empty()) break;
      }
    }
  }
  group.stop();
  r.seconds = static_cast<double>(clock.now() - start) / hz;
  return r;
}

}  // namespace bypass
