#include "select_source.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace bypass::test {
namespace {

// '*' any run of characters, '?' any one.
bool glob(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || pat[p] == s[i])) {
      ++p, ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++, mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1, i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool any_of(std::string_view patterns, std::string_view name) {
  while (true) {
    size_t colon = patterns.find(':');
    if (glob(patterns.substr(0, colon), name)) return true;
    if (colon == std::string_view::npos) return false;
    patterns.remove_prefix(colon + 1);
  }
}

// Is `file` (as __FILE__ gave it) the source `want` names, a path ending in it?
bool same_source(std::string_view file, std::string_view want) {
  if (file.size() < want.size() || file.substr(file.size() - want.size()) != want) return false;
  return file.size() == want.size() || file[file.size() - want.size() - 1] == '/';
}

}  // namespace

bool matches_filter(const std::string& filter, const std::string& name) {
  std::string_view f = filter;
  size_t dash = f.find('-');
  std::string_view pos = f.substr(0, dash);
  if (pos.empty()) pos = "*";
  if (!any_of(pos, name)) return false;
  return dash == std::string_view::npos || !any_of(f.substr(dash + 1), name);
}

std::string select_sources(int& argc, char** argv) {
  static constexpr std::string_view kFlag = "--source=";
  std::vector<std::string_view> sources;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.substr(0, kFlag.size()) == kFlag) {
      sources.push_back(a.substr(kFlag.size()));
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  argv[argc] = nullptr;
  if (sources.empty()) return "";

  const std::string given = GTEST_FLAG_GET(filter);
  std::string filter;
  const testing::UnitTest& all = *testing::UnitTest::GetInstance();
  for (std::string_view want : sources) {
    bool found = false;
    for (int s = 0; s < all.total_test_suite_count(); ++s) {
      const testing::TestSuite& suite = *all.GetTestSuite(s);
      for (int t = 0; t < suite.total_test_count(); ++t) {
        const testing::TestInfo& test = *suite.GetTestInfo(t);
        if (!same_source(test.file(), want)) continue;
        found = true;
        std::string name = std::string(suite.name()) + "." + test.name();
        if (!matches_filter(given, name)) continue;
        if (!filter.empty()) filter += ':';
        filter += name;
      }
    }
    if (!found) {
      return "no test in this program comes from " + std::string(want) +
             ": name a source file it was built from (tests/meson.build)";
    }
  }
  // Nothing left after the given filter: a filter no test matches runs none.
  GTEST_FLAG_SET(filter, filter.empty() ? "-*" : filter);
  return "";
}

}  // namespace bypass::test
