#include <bypass/core/signals.hpp>

#include <pthread.h>

#include <cerrno>

namespace bypass {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
}

StopSignals::~StopSignals() {
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

int StopSignals::wait(std::chrono::milliseconds timeout) {
  auto ms = timeout.count();
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
  int sig = sigtimedwait(&set_, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

}  // namespace bypass
