#include "select_source.hpp"

#include <fnmatch.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string_view>
#include <vector>

namespace bypass::test {
namespace {

// '*' any run of characters ('/' too), '?' any one: GoogleTest's patterns.
bool glob(std::string_view pat, std::string_view s) {
  return fnmatch(std::string(pat).c_str(), std::string(s).c_str(), 0) == 0;
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
  // As GoogleTest: an empty filter matches nothing, an empty positive part
  // before a '-' everything.
  if (pos.empty() && dash != std::string_view::npos) pos = "*";
  if (!any_of(pos, name)) return false;
  return dash == std::string_view::npos || !any_of(f.substr(dash + 1), name);
}

Selection select_sources(int& argc, char** argv) {
  static constexpr std::string_view kSource = "--source=", kCases = "--cases=",
                                    kEvery = "--every-case";
  std::vector<std::string_view> sources, patterns;
  bool every = false;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with(kSource)) {
      sources.push_back(a.substr(kSource.size()));
    } else if (a.starts_with(kCases)) {
      patterns.push_back(a.substr(kCases.size()));
    } else if (a == kEvery) {
      every = true;
    } else if (a == "--source" || a == "--cases") {
      return {"write " + std::string(a) + (a == "--source" ? "=FILE" : "=PATTERN") + ", with '='"};
    } else if (a.starts_with("--")) {
      // GoogleTest has taken its own flags by now: this one is misspelt.
      return {"unknown flag " + std::string(a) +
              ": this program takes --source=FILE, --cases=PATTERN, --every-case and "
              "GoogleTest's --gtest_* flags"};
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  argv[argc] = nullptr;
  if (sources.empty() && patterns.empty() && !every) return {};

  const std::string given = GTEST_FLAG_GET(filter);
  std::vector<bool> source_found(sources.size()), pattern_found(patterns.size());
  std::string filter, missed;
  size_t n_missed = 0;
  const testing::UnitTest& all = *testing::UnitTest::GetInstance();
  for (int s = 0; s < all.total_test_suite_count(); ++s) {
    const testing::TestSuite& suite = *all.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const testing::TestInfo& test = *suite.GetTestInfo(t);
      const std::string name = std::string(suite.name()) + "." + test.name();
      bool selected = false;
      for (size_t i = 0; i < sources.size(); ++i)
        if (same_source(test.file(), sources[i])) selected = source_found[i] = true;
      for (size_t i = 0; i < patterns.size(); ++i)
        if (glob(patterns[i], name)) selected = pattern_found[i] = true;
      if (!selected) {
        if (every && ++n_missed <= 5)
          missed += (missed.empty() ? "" : ", ") + name + " (" + test.file() + ")";
        continue;
      }
      if (!matches_filter(given, name)) continue;
      if (!filter.empty()) filter += ':';
      filter += name;
    }
  }
  for (size_t i = 0; i < sources.size(); ++i)
    if (!source_found[i])
      return {"no test in this program comes from " + std::string(sources[i]) +
              ": name a source file it was built from (see the meson.build that builds it)"};
  for (size_t i = 0; i < patterns.size(); ++i)
    if (!pattern_found[i])
      return {"no test in this program is named like " + std::string(patterns[i]) +
              ": fix the --cases pattern in the meson.build that builds this program"};
  if (n_missed > 5) missed += " and " + std::to_string(n_missed - 5) + " more";
  if (n_missed > 0)
    return {"no meson test runs " + missed +
            ": give its file to a test with --source, or its suite with --cases, in the "
            "meson.build that builds this program"};
  // --every-case runs nothing; so does a given filter that left nothing.
  GTEST_FLAG_SET(filter, every || filter.empty() ? "-*" : filter);
  return {"", every};
}

}  // namespace bypass::test
