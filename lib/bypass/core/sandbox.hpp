// Seccomp on worker threads. After start-up, each worker thread installs a
// filter of its own (seccomp applies per thread; threads that EAL, libsodium,
// telemetry or logging start elsewhere are not touched) that lets through
// only what the fast path calls: the drivers' socket kicks and polls
// (AF_XDP, AF_PACKET), pipe and eventfd reads and writes (EAL's lcore loop,
// memif), futexes and writes for logging, the idle policy's sleep, memory
// for the rare allocation off the fast path, getrandom, and thread exit.
// Anything else kills the whole process (SECCOMP_RET_KILL_PROCESS): a worker
// that was subverted cannot open a file, exec or connect. On by default,
// for DPDK workers and for the sockets backend's; `[eal] worker_seccomp =
// false` turns it off.
#pragma once

#include <cstdint>

#include <bypass/core/status.hpp>

namespace bypass {

// Which workers a filter is for: DPDK's, or those of bypass-udpd's sockets
// backend, which also wait with epoll and read and write batches of
// datagrams (recvmmsg, sendmmsg).
enum class WorkerKind : uint8_t { kDpdk, kSockets };

// Installs the worker filter on the calling thread, once (a second call on
// the same thread does nothing: installing again would itself be refused).
Status confine_worker_thread(WorkerKind kind = WorkerKind::kDpdk);

// Installs the filter on a thread started for the purpose, which then ends:
// whether the workers' filter can be made and loaded here, asked before any
// worker starts, so that a refusal stops the start with its sentence rather
// than leave a worker running without it.
Status check_worker_filter(WorkerKind kind = WorkerKind::kDpdk);

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
