// The replacement operator new of tests/support/counting_new.hpp.
#include "counting_new.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<uint64_t> g_news{0};
std::atomic<size_t> g_fail_from{0};  // 0: allocations do not fail
}  // namespace

namespace bypass::test {
uint64_t allocations() {
  return g_news.load(std::memory_order_relaxed);
}
void fail_allocations_from(size_t bytes) {
  g_fail_from.store(bytes, std::memory_order_relaxed);
}
}  // namespace bypass::test

void* operator new(size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  const size_t from = g_fail_from.load(std::memory_order_relaxed);
  if (from != 0 && n >= from) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The replacement pair is malloc / free, which GCC cannot see through.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}
