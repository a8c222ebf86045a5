// Seccomp on worker threads. After start-up, each worker thread installs a
// filter of its own (seccomp applies per thread; threads that EAL, libsodium,
// telemetry or logging start elsewhere are not touched) that lets through
// only what the fast path calls: the drivers' socket kicks and polls
// (AF_XDP, AF_PACKET), pipe and eventfd reads and writes (EAL's lcore loop,
// memif), futexes and writes for logging, the idle policy's sleep, memory
// for the rare allocation off the fast path, getrandom, and thread exit.
// Anything else kills the whole process (SECCOMP_RET_KILL_PROCESS): a worker
// that was subverted cannot open a file, exec or connect. On by default;
// `[eal] worker_seccomp = false` turns it off.
#pragma once

#include <bypass/core/status.hpp>

namespace bypass {

// Installs the worker filter on the calling thread, once (a second call on
// the same thread does nothing: installing again would itself be refused).
Status confine_worker_thread();

// Whether the calling thread runs under the worker filter.
bool worker_thread_confined();

// Makes every thread allocate from the process's main malloc arena, before
// any worker thread exists. A thread arena of glibc's grows with mprotect
// and, when it shrinks, first reads /proc/sys/vm/overcommit_memory: an
// open that the worker filter kills. The main arena grows and shrinks with
// brk alone. Workers allocate only off the fast path, so sharing the arena
// costs them nothing that matters.
void prepare_allocator_for_workers();

}  // namespace bypass
