// For the test binaries that compile tests/support/counting_new.cpp in: the
// global operator new there counts every allocation, and can be made to fail
// from a size up, so a test can show that code allocates nothing, or how it
// behaves without memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bypass::test {

// Allocations made through operator new so far, by every thread.
uint64_t allocations();
// From now on every allocation of at least `bytes` throws std::bad_alloc;
// 0 stops it.
void fail_allocations_from(size_t bytes);

}  // namespace bypass::test
