#include <bypass/core/sandbox.hpp>

#include <errno.h>
#include <malloc.h>
#include <seccomp.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace bypass {
namespace {

thread_local bool g_confined = false;

// What a worker thread may call, by name (resolved for this architecture).
constexpr const char* kAllowed[] = {
    // drivers: AF_XDP and AF_PACKET kick TX and wake RX with these
    "sendto", "recvfrom", "sendmsg", "recvmsg", "poll", "ppoll", "getsockopt",
    // EAL's lcore loop (pipes), memif's eventfds, logging
    "read", "write", "readv", "writev",
    // locks and time (the vDSO covers most clock reads)
    "futex", "nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday", "sched_yield",
    "getpid", "gettid",
    // memory, for the rare allocation off the fast path (reload, logging)
    "brk", "munmap", "madvise", "mremap",  // mmap: below, never executable
    // randomness, signals returning, thread and process exit
    "getrandom", "rt_sigreturn", "rt_sigprocmask", "restart_syscall", "exit", "exit_group"};

// And what a worker of the sockets backend calls besides: it waits on its
// sockets with epoll and reads and writes them a batch at a time.
constexpr const char* kSocketsAllowed[] = {"epoll_wait", "epoll_pwait", "epoll_pwait2", "recvmmsg",
                                           "sendmmsg"};

}  // namespace

bool worker_thread_confined() {
  return g_confined;
}

void prepare_allocator_for_workers() {
  mallopt(M_ARENA_MAX, 1);
}

// AddressSanitizer makes calls of its own on every thread (it probes memory
// through a pipe, for one): under it the filter would kill a correct
// program, so sanitizer builds run workers without it and say so once.
#if defined(__SANITIZE_ADDRESS__)
#define BYPASS_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BYPASS_SANITIZER_BUILD 1
#endif
#endif

Status confine_worker_thread(WorkerKind kind) {
  if (g_confined) return Status::ok();
#ifdef BYPASS_SANITIZER_BUILD
  static std::once_flag said;
  std::call_once(said, [] {
    std::fprintf(stderr,
                 "bypass: this is a sanitizer build: workers run without their seccomp filter\n");
  });
  return Status::ok();
#endif
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr)
    return Status::error(
        "the seccomp filter for worker threads could not be made: set [eal] worker_seccomp = "
        "false to run workers without it.");
  std::vector<const char*> names(std::begin(kAllowed), std::end(kAllowed));
  if (kind == WorkerKind::kSockets)
    names.insert(names.end(), std::begin(kSocketsAllowed), std::end(kSocketsAllowed));
  for (const char* name : names) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0); rc != 0) {
      seccomp_release(ctx);
      return Status::error(std::string("the seccomp filter for worker threads refused '") + name +
                           "' (" + std::strerror(-rc) +
                           "): set [eal] worker_seccomp = false to run workers without it.");
    }
  }
  // A thread's malloc arena grows by mprotect and mmap (read and write):
  // allowed, but never to make memory executable.
  for (const auto& [name, nr] :
       {std::pair<const char*, int>{"mprotect", SCMP_SYS(mprotect)}, {"mmap", SCMP_SYS(mmap)}}) {
    if (int rc =
            seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        rc != 0) {
      seccomp_release(ctx);
      return Status::error(std::string("the seccomp filter for worker threads refused '") + name +
                           "' (" + std::strerror(-rc) +
                           "): set [eal] worker_seccomp = false to run workers without it.");
    }
  }
  const int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0)
    return Status::error(std::string("the kernel refused the seccomp filter for worker threads (") +
                         std::strerror(-rc) +
                         "): set [eal] worker_seccomp = false to run workers without it.");
  g_confined = true;
  return Status::ok();
}

Status check_worker_filter(WorkerKind kind) {
  Status result = Status::ok();
  try {
    std::thread probe([&] { result = confine_worker_thread(kind); });
    probe.join();
  } catch (const std::system_error& e) {
    return Status::error(std::string("cannot start a thread to try the workers' seccomp filter: ") +
                         e.what() + ".");
  }
  return result;
}

}  // namespace bypass
