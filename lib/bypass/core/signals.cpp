#include <bypass/core/signals.hpp>

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace bypass {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGHUP);  // a reload where the program handles it, else a stop
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
}

StopSignals::~StopSignals() {
  if (fd_ >= 0) close(fd_);
  // A second SIGTERM during shutdown (timeout(1) signals the child and then
  // its process group) would kill the process once unblocked, before the
  // objects made earlier are destroyed: we are stopping anyway, so take it.
  timespec zero{0, 0};
  while (sigtimedwait(&set_, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

int StopSignals::wait(std::chrono::milliseconds timeout) {
  auto ms = timeout.count();
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000};
  int sig = sigtimedwait(&set_, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

int StopSignals::fd() {
  if (fd_ < 0) fd_ = signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
  return fd_;
}

}  // namespace bypass
