// A stand-in worker thread for the seccomp test: it confines itself as a
// bypass worker does, then makes the calls named on the command line:
//   allowed   what the fast path and logging call (must survive)
//   twice     confines a second time (a no-op), then as allowed
//   twice_X   confines a second time, then as X (twice_socket must still die)
//   socket    opens a socket (forbidden: the process must die of SIGSYS)
//   open      opens a file (forbidden)
//   exec      makes memory executable with mprotect (forbidden)
//   exec_map  maps executable memory (forbidden)
// Core dumps are switched off first so that a killed probe leaves none.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <bypass/core/sandbox.hpp>

int main(int argc, char** argv) {
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  std::string what = argc > 1 ? argv[1] : "allowed";
  bypass::prepare_allocator_for_workers();  // as Eal::start does
  int rc = 1;
  std::thread t([&] {
    if (!bypass::confine_worker_thread()) return;
    if (what.rfind("twice", 0) == 0) {
      if (!bypass::confine_worker_thread()) return;
      what = what == "twice" ? "allowed" : what.substr(6);
    }
    if (what == "allowed") {
      char buf[8];
      timespec ts{0, 1000};
      nanosleep(&ts, nullptr);
      if (getrandom(buf, sizeof(buf), 0) != static_cast<ssize_t>(sizeof(buf))) return;
      if (write(1, "worker ok\n", 10) != 10) return;
      void* p = std::malloc(1 << 20);  // mmap: an allocation off the fast path
      std::free(p);
      // Many small ones: the thread's arena grows (mprotect, read and write).
      std::vector<void*> small;
      for (int i = 0; i < 20000; ++i) small.push_back(std::malloc(512));
      for (void* q : small) std::free(q);
      rc = bypass::worker_thread_confined() ? 0 : 1;
    } else if (what == "socket") {
      int fd = socket(AF_INET, SOCK_DGRAM, 0);
      std::printf("socket returned %d\n", fd);
      rc = 0;
    } else if (what == "exec") {
      void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const int r = mprotect(page, 4096, PROT_READ | PROT_EXEC);
      std::printf("mprotect returned %d\n", r);
      rc = 0;
    } else if (what == "exec_map") {
      void* page = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      std::printf("mmap returned %p\n", page);
      rc = 0;
    } else if (what == "open") {
      int fd = open("/etc/hostname", O_RDONLY);
      std::printf("open returned %d\n", fd);
      rc = 0;
    }
  });
  t.join();
  // The main thread is not confined: this works whatever the worker did.
  int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0) close(fd);
  return rc;
}
