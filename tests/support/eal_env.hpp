// Test support: one EAL per test process, started before any test runs.
// BYPASS_TEST_NO_HUGE=1 runs it with --no-huge; otherwise huge pages are used
// (and must be reserved: scripts/bootstrap does it). Lcore 1..3 are workers.
#pragma once

#include <rte_mempool.h>

#include <bypass/core/config.hpp>

namespace bypass::test {

// The config EAL was started with (no ports; three workers).
const Config& eal_config();
// A packet pool shared by the tests of this process.
rte_mempool* test_pool();
// How many of test_pool()'s mbufs are out (a test's leak check).
inline unsigned pool_in_use() {
  return rte_mempool_in_use_count(test_pool());
}
bool running_without_huge_pages();

}  // namespace bypass::test
