#include <bypass/core/signals.hpp>

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdint>

namespace bypass {

StopSignals::StopSignals(Handling h) : handling_(h) {
  sigemptyset(&set_);
  if (h == Handling::kSignals) {
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);  // a reload where the program handles it, else a stop
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    signal_fd_ = signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
  }
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  for (int fd : {signal_fd_, event_fd_}) {
    if (fd < 0 || epoll_ < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }
}

StopSignals::~StopSignals() {
  for (int fd : {epoll_, signal_fd_, event_fd_})
    if (fd >= 0) close(fd);
  if (handling_ != Handling::kSignals) return;
  // A second SIGTERM during shutdown (timeout(1) signals the child and then
  // its process group) would kill the process once unblocked, before the
  // objects made earlier are destroyed: we are stopping anyway, so take it.
  timespec zero{0, 0};
  while (sigtimedwait(&set_, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

void StopSignals::request_stop() {
  const uint64_t one = 1;
  if (event_fd_ >= 0) (void)!write(event_fd_, &one, sizeof one);
}

int StopSignals::wait(std::chrono::milliseconds timeout) {
  pollfd p{epoll_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return 0;
  int got = 0;
  if (signal_fd_ >= 0) {
    signalfd_siginfo info;
    if (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      got = static_cast<int>(info.ssi_signo);
  }
  uint64_t n = 0;
  if (got == 0 && read(event_fd_, &n, sizeof n) == static_cast<ssize_t>(sizeof n) && n > 0)
    got = kRequested;
  if (taken_ == 0) taken_ = got;
  return got;
}

}  // namespace bypass
