// The journal without a program: a full sink counts what it refuses, the
// same neighbour from two workers is one entry, an address expires once,
// --since reads durations and Unix times, and the file rotates at its size.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <bypass/control/control_server.hpp>
#include <bypass/control/journal.hpp>

namespace bypass {
namespace {

JournalEvent neighbour(JournalKind k, uint8_t last, uint8_t mac_last) {
  JournalEvent e;
  e.kind = k;
  e.family = 4;
  e.ip = {198, 18, 0, last};
  e.mac = {2, 0, 0, 0, 0, mac_last};
  return e;
}

TEST(JournalSink, AFullRingCountsWhatItRefuses) {
  JournalSink s(3, 16);
  for (int i = 0; i < 20; ++i) s.push(neighbour(JournalKind::kNeighborLearned, 1, 1));
  EXPECT_EQ(s.dropped(), 4u);
  JournalEvent e;
  int n = 0;
  while (s.pop(&e)) {
    EXPECT_EQ(e.worker, 3u);
    EXPECT_GT(e.unix_ns, 0);
    ++n;
  }
  EXPECT_EQ(n, 16);
}

TEST(Journal, OneEntryPerNeighbourChangeWhateverTheWorkers) {
  auto j = Journal::open({});
  ASSERT_TRUE(j);
  JournalSink* w1 = (*j)->sink(1);
  JournalSink* w2 = (*j)->sink(2);
  w1->push(neighbour(JournalKind::kNeighborLearned, 7, 1));
  w2->push(neighbour(JournalKind::kNeighborLearned, 7, 1));  // the same: not again
  w2->push(neighbour(JournalKind::kNeighborChanged, 7, 9));
  w1->push(neighbour(JournalKind::kNeighborChanged, 7, 9));  // already said
  w1->push(neighbour(JournalKind::kNeighborExpired, 7, 9));
  w2->push(neighbour(JournalKind::kNeighborExpired, 7, 9));  // gone already
  (*j)->drain();
  std::string all = (*j)->query(0, 0, 100);
  EXPECT_EQ((*j)->written(), 3u) << all;
  EXPECT_NE(
      all.find("\"worker\":1,\"event\":\"neighbour_learned\",\"port\":0,\"ip\":\"198.18.0.7\","
               "\"mac\":\"02:00:00:00:00:01\"}"),
      std::string::npos)
      << all;
  EXPECT_NE(all.find("\"event\":\"neighbour_changed\""), std::string::npos);
  EXPECT_NE(all.find("\"old_mac\":"), std::string::npos);
  const std::string second = (*j)->query(0, 1, 1);  // paged: the second entry alone
  EXPECT_NE(second.find("neighbour_changed"), std::string::npos) << second;
  EXPECT_EQ(std::count(second.begin(), second.end(), '\n'), 1);
  EXPECT_EQ((*j)->query(4e9, 0, 100), "");
}

// A page is the newest entries (what an operator asks the journal for is
// what just happened): of 150, the default 100 are the 100 newest, and
// --offset 100 pages back to the 50 oldest; each page oldest first.
TEST(Journal, APageIsTheNewestEntries) {
  auto j = Journal::open({});
  ASSERT_TRUE(j);
  for (int i = 0; i < 150; ++i)
    (*j)->record(neighbour(JournalKind::kNeighborLearned, static_cast<uint8_t>(i), 1));
  const CommandRequest defaults;
  const std::string page = (*j)->query(0, 0, defaults.limit);
  EXPECT_EQ(std::count(page.begin(), page.end(), '\n'), 100);
  EXPECT_EQ(page.find("\"198.18.0.49\""), std::string::npos) << "one of the 50 oldest";
  EXPECT_LT(page.find("\"198.18.0.50\""), page.find("\"198.18.0.149\""));
  const std::string back = (*j)->query(0, 100, 100);
  EXPECT_EQ(std::count(back.begin(), back.end(), '\n'), 50);
  EXPECT_LT(back.find("\"198.18.0.0\""), back.find("\"198.18.0.49\""));
  EXPECT_EQ(back.find("\"198.18.0.50\""), std::string::npos);
}

TEST(Journal, SinceTakesDurationsAndUnixTimes) {
  EXPECT_DOUBLE_EQ(parse_since("90", 1000.0), 910.0);
  EXPECT_DOUBLE_EQ(parse_since("90s", 1000.0), 910.0);
  EXPECT_DOUBLE_EQ(parse_since("5m", 1000.0), 700.0);
  EXPECT_DOUBLE_EQ(parse_since("1h", 10000.0), 6400.0);
  EXPECT_DOUBLE_EQ(parse_since("1795888194", 1.0), 1795888194.0);
  EXPECT_LT(parse_since("yesterday", 1000.0), 0);
  EXPECT_LT(parse_since("", 1000.0), 0);
}

TEST(Journal, TheFileRotatesAtItsSize) {
  const std::string dir = "/tmp/bypass-journal-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  auto j = Journal::open({dir + "/j.jsonl", 1000, 5});
  ASSERT_TRUE(j) << j.error();
  for (int i = 0; i < 20; ++i)
    (*j)->record(neighbour(JournalKind::kNeighborLearned, static_cast<uint8_t>(i), 1));
  EXPECT_TRUE(std::filesystem::exists(dir + "/j.jsonl.1"));
  EXPECT_LE(std::filesystem::file_size(dir + "/j.jsonl"), 1000u);
  // Peers' addresses: not for every local user, rotated or not.
  for (const char* f : {"/j.jsonl", "/j.jsonl.1"})
    EXPECT_EQ(std::filesystem::status(dir + f).permissions() & std::filesystem::perms::others_all,
              std::filesystem::perms::none)
        << f;
  std::ifstream f(dir + "/j.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(f, line));
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  // Memory keeps the last 5.
  std::string kept = (*j)->query(0, 0, 100);
  EXPECT_EQ(std::count(kept.begin(), kept.end(), '\n'), 5);
  EXPECT_NE(kept.find("198.18.0.19"), std::string::npos);
  EXPECT_EQ(Journal::open({dir + "/missing/j.jsonl"}).error(),
            "cannot write the journal '" + dir +
                "/missing/j.jsonl' (No such file or directory): set [control] journal to a file "
                "in a writable directory.");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bypass
