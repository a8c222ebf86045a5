#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include <bypass/core/eal.hpp>
#include <bypass/core/mempool.hpp>

#include "eal_env.hpp"
#include "select_source.hpp"

namespace bypass::test {
namespace {
Config g_config;
PktPool* g_pool = nullptr;
}  // namespace

const Config& eal_config() {
  return g_config;
}
rte_mempool* test_pool() {
  return g_pool->get();
}
bool running_without_huge_pages() {
  return !g_config.eal.huge_pages;
}

}  // namespace bypass::test

int main(int argc, char** argv) {
  using namespace bypass;
  testing::InitGoogleTest(&argc, argv);
  const test::Selection sel = test::select_sources(argc, argv);
  if (!sel.error.empty()) {
    std::fprintf(stderr, "%s\n", sel.error.c_str());
    return 1;
  }
  if (sel.check_only) return 0;  // --every-case: no EAL, no test

  SystemFacts sys = SystemFacts::read();
  Config& c = test::g_config;
  const char* nh = std::getenv("BYPASS_TEST_NO_HUGE");
  c.eal.huge_pages = !(nh && std::string(nh) == "1");
  c.eal.memory_mb = 256;
  c.eal.control_cpu = sys.allowed_cpus.front();
  for (int i = 0; i < 3; ++i) {
    WorkerConfig w;
    w.cpu = sys.allowed_cpus[(i + 1) % sys.allowed_cpus.size()];
    c.workers.push_back(w);
  }
  if (c.eal.huge_pages &&
      (!sys.hugetlbfs_mounted || sys.hugepages_free * sys.hugepage_bytes < (256ull << 20))) {
    std::fprintf(
        stderr,
        "these tests need 256 MB of free huge pages: run scripts/bootstrap as root, or set "
        "BYPASS_TEST_NO_HUGE=1\n");
    return 1;
  }
  auto eal = Eal::start(c, "bypass-test");
  if (!eal) {
    std::fprintf(stderr, "EAL did not start: %s\n", eal.error().c_str());
    return 1;
  }
  MemoryConfig m;
  m.pool_size = 8191;
  auto pool = PktPool::create("test_pool", m);
  if (!pool) {
    std::fprintf(stderr, "%s\n", pool.error().c_str());
    return 1;
  }
  test::g_pool = &pool.value();
  int rc = RUN_ALL_TESTS();
  test::g_pool = nullptr;
  return rc;
}
