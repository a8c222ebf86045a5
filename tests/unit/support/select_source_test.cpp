// The test programs' --source selection (tests/support/select_source.hpp): a
// mistake there would run no test, or another file's, and pass.
#include "select_source.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace bypass::test {
namespace {

TEST(SelectSource, FilterSyntaxAsGoogleTestReadsIt) {
  EXPECT_TRUE(matches_filter("*", "A.b"));
  EXPECT_TRUE(matches_filter("A.*", "A.b"));
  EXPECT_FALSE(matches_filter("A.*", "AB.b"));
  EXPECT_TRUE(matches_filter("A.*:B.c", "B.c"));
  EXPECT_FALSE(matches_filter("A.*:B.c", "B.cd"));
  EXPECT_TRUE(matches_filter("?.b", "A.b"));
  EXPECT_FALSE(matches_filter("?.b", "AA.b"));
  EXPECT_FALSE(matches_filter("-A.*", "A.b"));
  EXPECT_TRUE(matches_filter("-A.*", "B.b"));
  EXPECT_FALSE(matches_filter("*-*Slow*:B.*", "A.Slowly"));
  EXPECT_FALSE(matches_filter("*-*Slow*:B.*", "B.c"));
  EXPECT_TRUE(matches_filter("*-*Slow*:B.*", "A.c"));
  EXPECT_TRUE(matches_filter("*a*b*", "xaybz"));
  EXPECT_FALSE(matches_filter("*a*b", "xaybz"));
  EXPECT_FALSE(matches_filter("", "A.b")) << "GoogleTest's empty filter matches nothing";
  EXPECT_TRUE(matches_filter("-B.*", "A.b"));
}

// Runs select_sources on these arguments and gives back the filter it set,
// leaving GoogleTest's own as it was.
struct Selected {
  std::string error;
  bool check_only = false;
  std::string filter;
  std::vector<std::string> rest;
};
Selected select(std::vector<std::string> args, const std::string& given = "*") {
  const std::string saved = GTEST_FLAG_GET(filter);
  GTEST_FLAG_SET(filter, given);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  Selected s;
  const Selection sel = select_sources(argc, argv.data());
  s.error = sel.error;
  s.check_only = sel.check_only;
  s.filter = GTEST_FLAG_GET(filter);
  for (int i = 0; i < argc; ++i) s.rest.push_back(argv[i]);
  GTEST_FLAG_SET(filter, saved);
  return s;
}

// The names a filter of whole names lists, in any order (GoogleTest's order
// of cases is its registration's, or shuffled).
std::set<std::string> names(const std::string& filter) {
  std::set<std::string> out;
  size_t at = 0;
  while (at <= filter.size()) {
    size_t colon = filter.find(':', at);
    if (colon == std::string::npos) colon = filter.size();
    out.insert(filter.substr(at, colon - at));
    at = colon + 1;
  }
  return out;
}
const std::set<std::string> kThisFile = {"SelectSource.FilterSyntaxAsGoogleTestReadsIt",
                                         "SelectSource.NarrowsToTheNamedFileAndTakesOutItsFlag",
                                         "SelectSource.KeepsTheGivenFilterWithin",
                                         "SelectSource.AFileWithNoTestsIsAnError",
                                         "SelectSource.CasesByNameAndEveryCase",
                                         "SelectSource/CasesOfASuiteFromAHeader/0.Runs"};

TEST(SelectSource, NarrowsToTheNamedFileAndTakesOutItsFlag) {
  Selected s = select({"prog", "--source=unit/support/select_source_test.cpp", "keep"});
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(s.rest, (std::vector<std::string>{"prog", "keep"}));
  EXPECT_EQ(names(s.filter), kThisFile);
  // A case both flags select is listed once.
  s = select({"prog", "--source=unit/support/select_source_test.cpp", "--cases=SelectSource*"});
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(names(s.filter), kThisFile);
  EXPECT_EQ(names(s.filter).size(), 1 + std::count(s.filter.begin(), s.filter.end(), ':'));
}

TEST(SelectSource, KeepsTheGivenFilterWithin) {
  Selected s = select({"prog", "--source=unit/support/select_source_test.cpp"}, "*Keeps*");
  EXPECT_EQ(s.filter, "SelectSource.KeepsTheGivenFilterWithin");
  s = select({"prog", "--source=unit/support/select_source_test.cpp"}, "Nothing.*");
  EXPECT_EQ(s.filter, "-*") << "a filter that matches nothing here runs nothing";
  s = select({"prog"}, "A.*");
  EXPECT_EQ(s.filter, "A.*") << "without --source the filter is not touched";
}

TEST(SelectSource, AFileWithNoTestsIsAnError) {
  Selected s = select({"prog", "--source=unit/support/missing_test.cpp"});
  EXPECT_EQ(s.error,
            "no test in this program comes from unit/support/missing_test.cpp: name a source "
            "file it was built from (see the meson.build that builds it)");
  // A suffix of a real file's name that is not a whole path part is not it.
  s = select({"prog", "--source=source_test.cpp"});
  EXPECT_NE(s.error, "");
}

TEST(SelectSource, CasesByNameAndEveryCase) {
  Selected s = select({"prog", "--cases=SelectSource.Keeps*", "--cases=SelectSource.AFile*"});
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(names(s.filter), (std::set<std::string>{"SelectSource.KeepsTheGivenFilterWithin",
                                                    "SelectSource.AFileWithNoTestsIsAnError"}));
  s = select({"prog", "--cases=Nothing.*"});
  EXPECT_EQ(s.error,
            "no test in this program is named like Nothing.*: fix the --cases pattern in the "
            "meson.build that builds this program");
  // Every case of the program is selected by this: it runs none.
  s = select({"prog", "--cases=*", "--every-case"});
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(s.filter, "-*");
  EXPECT_TRUE(s.check_only);
  EXPECT_FALSE(select({"prog", "--cases=*"}).check_only);
  // This file alone leaves the program's other cases out, and says which.
  s = select({"prog", "--source=unit/support/select_source_test.cpp", "--every-case"});
  EXPECT_EQ(s.error.rfind("no meson test runs ", 0), 0u) << s.error;
  EXPECT_EQ(s.error.find("SelectSource"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("give its file to a test with --source"), std::string::npos);
  EXPECT_NE(s.error.find(" more: "), std::string::npos) << "five named, the rest counted";
  s = select({"prog", "--source", "unit/support/select_source_test.cpp"});
  EXPECT_EQ(s.error, "write --source=FILE, with '='");
  s = select({"prog", "--case=SelectSource.*"});
  EXPECT_EQ(s.error,
            "unknown flag --case=SelectSource.*: this program takes --source=FILE, "
            "--cases=PATTERN, --every-case and GoogleTest's --gtest_* flags");
}

// A typed suite, as the shared ones written in a header are: its cases are
// this file's, and a --cases pattern names them as well.
template <typename T>
class CasesOfASuiteFromAHeader : public ::testing::Test {};
TYPED_TEST_SUITE_P(CasesOfASuiteFromAHeader);
TYPED_TEST_P(CasesOfASuiteFromAHeader, Runs) {
  Selected s = select({"prog", "--cases=SelectSource/CasesOfASuiteFromAHeader/*"});
  EXPECT_EQ(s.filter, "SelectSource/CasesOfASuiteFromAHeader/0.Runs");
}
REGISTER_TYPED_TEST_SUITE_P(CasesOfASuiteFromAHeader, Runs);
INSTANTIATE_TYPED_TEST_SUITE_P(SelectSource, CasesOfASuiteFromAHeader, int);

}  // namespace
}  // namespace bypass::test
