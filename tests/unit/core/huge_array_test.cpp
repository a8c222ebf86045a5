// HugeArray: elements value-initialized and destroyed once, a table of 2 MB
// or more starts on a 2 MB boundary (where a huge page can back it), moves
// hand the memory over.
#include <bypass/core/huge_array.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace bypass {
namespace {

int g_live = 0;

struct Entry {
  Entry() { ++g_live; }
  ~Entry() { --g_live; }
  uint64_t key = 7;
  uint32_t value = 9;
};

TEST(HugeArray, LargeTableIsInitializedAndHugePageAligned) {
  const size_t n = (size_t{3} << 20) / sizeof(Entry);
  {
    HugeArray<Entry> a(n);
    ASSERT_EQ(a.size(), n);
    EXPECT_EQ(g_live, static_cast<int>(n));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % HugeArray<Entry>::kHugePage, 0u);
    size_t bad = 0;
    for (const Entry& e : a) bad += e.key != 7 || e.value != 9;
    EXPECT_EQ(bad, 0u);
    a[n - 1].value = 42;
    EXPECT_EQ(a[n - 1].value, 42u);
  }
  EXPECT_EQ(g_live, 0);
}

// The mapping that holds `p` (/proc/self/smaps): where it ends, and whether
// it is marked for huge pages (VmFlags "hg", from MADV_HUGEPAGE).
struct Vma {
  uintptr_t end = 0;
  bool huge = false;
};
Vma vma_of(const void* p) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  Vma found;
  bool in = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t start = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> start >> dash >> end && dash == '-') {
      in = start <= at && at < end;
      if (in) found.end = end;
      continue;
    }
    if (in && line.rfind("VmFlags:", 0) == 0) {
      found.huge = (line + " ").find(" hg ") != std::string::npos;
      return found;
    }
  }
  return found;
}

// A table of 3 MB spans two huge pages: both are marked, the second too,
// though the table fills only half of it (a mapping that ended with the
// table would leave its tail on 4 KB pages).
TEST(HugeArray, WholeHugePagesAreMarkedTailIncluded) {
  const size_t n = (size_t{3} << 20) / sizeof(Entry);
  HugeArray<Entry> a(n);
  const Vma v = vma_of(a.data());
  EXPECT_TRUE(v.huge) << "the table is marked for huge pages";
  EXPECT_GE(v.end, reinterpret_cast<uintptr_t>(a.data()) + (size_t{4} << 20))
      << "the marked mapping covers the table's last huge page whole";
}

TEST(HugeArray, SmallAndEmptyTables) {
  HugeArray<Entry> empty;
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.begin(), empty.end());
  HugeArray<Entry> small(10);
  EXPECT_EQ(small.size(), 10u);
  EXPECT_EQ(small[9].key, 7u);
}

TEST(HugeArray, MoveHandsTheMemoryOver) {
  HugeArray<Entry> a(100);
  a[5].value = 55;
  const Entry* p = a.data();
  HugeArray<Entry> b(std::move(a));
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b[5].value, 55u);
  HugeArray<Entry> c(3);
  c = std::move(b);
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(c[5].value, 55u);
  EXPECT_EQ(g_live, 100);
}

// An element whose construction throws: the ones built are destroyed once,
// the memory unmapped, and the exception reaches the caller.
int g_built = 0;
struct Fragile {
  Fragile() {
    if (g_built == 5) throw std::runtime_error("sixth");
    ++g_built;
  }
  ~Fragile() { --g_built; }
};

TEST(HugeArray, AThrowingElementLeavesNothingBehind) {
  EXPECT_THROW(HugeArray<Fragile>(10), std::runtime_error);
  EXPECT_EQ(g_built, 0);
}

}  // namespace
}  // namespace bypass
