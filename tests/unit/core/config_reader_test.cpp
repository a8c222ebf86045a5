// ConfigSection: the one reader of config tables, and the messages it owns.
#include <bypass/core/config_reader.hpp>

#include <gtest/gtest.h>

#include <bypass/core/config.hpp>

namespace bypass {
namespace {

ConfigValue doc(const char* text) {
  auto c = parse_config(text);
  EXPECT_TRUE(c) << c.error();
  return c ? c->app : ConfigValue::table();
}

TEST(ConfigSection, ReadsEachKindAndLeavesAbsentKeysAlone) {
  const ConfigValue d =
      doc("[x]\nn = 7\nf = 0.5\nb = true\ns = \"hi\"\nl = [\"a\", \"b\"]\nc = \"pause\"\n"
          "[x.sub]\nk = 1\n[[x.item]]\nv = 1\n[[x.item]]\nv = 2\n");
  auto x = ConfigSection(d, "").table("x");
  ASSERT_TRUE(x && *x);
  const ConfigSection& r = **x;
  EXPECT_EQ(r.path(), "[x]");
  unsigned n = 0;
  double f = 0;
  bool b = false;
  std::string s, c = "busy", absent = "kept";
  std::vector<std::string> l;
  EXPECT_TRUE(r.integer("n", &n, 0, 10));
  EXPECT_TRUE(r.number("f", &f, 0, 1));
  EXPECT_TRUE(r.number("n", &f, 0, 10)) << "a whole number is a number";
  EXPECT_TRUE(r.boolean("b", &b));
  EXPECT_TRUE(r.string("s", &s));
  EXPECT_TRUE(r.strings("l", &l));
  EXPECT_TRUE(r.choice("c", &c, {"busy", "pause"}, "a policy"));
  EXPECT_TRUE(r.string("nothing", &absent));
  EXPECT_EQ(n, 7u);
  EXPECT_EQ(f, 7.0);
  EXPECT_TRUE(b);
  EXPECT_EQ(s, "hi");
  EXPECT_EQ(l, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c, "pause");
  EXPECT_EQ(absent, "kept");
  auto sub = r.table("sub");
  ASSERT_TRUE(sub && *sub);
  EXPECT_EQ((*sub)->path(), "[x.sub]");
  std::vector<std::string> paths;
  std::vector<int64_t> vs;
  EXPECT_TRUE(r.tables("item", [&](const ConfigSection& t, size_t) {
    int64_t v = 0;
    BYPASS_TRY(t.integer("v", &v, 0, 9));
    paths.push_back(t.path());
    vs.push_back(v);
    return Status::ok();
  }));
  EXPECT_EQ(paths, (std::vector<std::string>{"[[x.item]] 1", "[[x.item]] 2"}));
  EXPECT_EQ(vs, (std::vector<int64_t>{1, 2}));
}

TEST(ConfigSection, EveryMistakeIsOneSentenceWithThePath) {
  const ConfigValue d =
      doc("[x]\nn = \"7\"\nbig = 11\nf = \"half\"\nb = 1\ns = 3\nl = [1]\nc = \"nap\"\nt = 3\n"
          "list = 4\n");
  const ConfigSection r = **ConfigSection(d, "").table("x");
  unsigned n = 0;
  double f = 0;
  bool b = false;
  std::string s = "busy";
  std::vector<std::string> l;
  EXPECT_EQ(r.integer("n", &n, 0, 10).message(), "[x].n must be a whole number, not \"7\".");
  EXPECT_EQ(r.integer("big", &n, 0, 10).message(),
            "[x].big = 11 is out of range: use a value from 0 to 10.");
  EXPECT_EQ(r.number("f", &f, 0, 1).message(), "[x].f must be a number, like 0.01, not \"half\".");
  EXPECT_EQ(r.number("big", &f, 0, 1).message(),
            "[x].big = 11 is out of range: use a value from 0 to 1.");
  EXPECT_EQ(r.boolean("b", &b).message(), "[x].b must be true or false, not 1.");
  EXPECT_EQ(r.string("s", &s).message(), "[x].s must be a string in quotes, not 3.");
  EXPECT_EQ(r.strings("l", &l).message(), "[x].l must be a list of strings, like [\"a\", \"b\"].");
  EXPECT_EQ(r.choice("c", &s, {"busy", "pause"}, "a policy").message(),
            "[x].c = \"nap\" is not a policy: use one of \"busy\", \"pause\".");
  EXPECT_EQ(r.table("t").status().message(), "[x].t must be a table: write it as [x.t].");
  EXPECT_EQ(r.tables("list", [](const ConfigSection&, size_t) { return Status::ok(); }).message(),
            "'x.list' must be written as [[x.list]] tables, one per entry.");
  EXPECT_EQ(r.only({"n", "big"}).message(),
            "unknown key 'b' in [x]: check its spelling (known keys: n, big).");
  EXPECT_EQ(r.require("missing", "add missing = 1").message(),
            "[x] has no missing: add missing = 1.");
  EXPECT_EQ(n, 0u) << "nothing written on a mistake";
  EXPECT_EQ(s, "busy");
}

TEST(ConfigValue, ComparesByContent) {
  ConfigValue a = ConfigValue::table(), b = ConfigValue::table();
  a.set("k", ConfigValue::of(int64_t{1}));
  b.set("k", ConfigValue::of(int64_t{1}));
  EXPECT_TRUE(a == b);
  b.set("k", ConfigValue::of(1.0));
  EXPECT_FALSE(a == b) << "1 and 1.0 are written differently";
  b.erase("k");
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
}  // namespace bypass
