// read_user_file: a regular file is read whole; a missing path, a directory,
// a device, a FIFO and a file over the limit are each refused with a sentence
// that names the path, without blocking or reading without end.
#include <bypass/core/file_read.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace bypass {
namespace {

class FileRead : public ::testing::Test {
 protected:
  void SetUp() override {
    char d[] = "/tmp/bypass-file-read-XXXXXX";
    ASSERT_NE(mkdtemp(d), nullptr);
    dir_ = d;
  }
  void TearDown() override {
    for (const char* f : {"/f", "/fifo", "/empty"}) unlink((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }
  std::string write(const char* name, const std::string& text) {
    const std::string p = dir_ + name;
    FILE* f = std::fopen(p.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return p;
  }
  std::string dir_;
};

TEST_F(FileRead, AFileWithinTheLimitIsReadWhole) {
  const std::string p = write("/f", "hello");
  auto r = read_user_file(p, 5, "test file");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(std::string(r->begin(), r->end()), "hello");
  auto e = read_user_file(write("/empty", ""), 5, "test file");
  ASSERT_TRUE(e) << e.error();
  EXPECT_TRUE(e->empty());
}

TEST_F(FileRead, EachRefusalNamesThePathAndWhatItIs) {
  const std::string p = write("/f", "hello!");
  struct Case {
    std::string path;
    size_t max;
    const char* says;
  } cases[] = {
      {p, 5, "is over 5 bytes"},     {dir_ + "/missing", 100, "does not exist"},
      {dir_, 100, "is a directory"}, {"/dev/zero", 100, "not a regular file"},
      {"", 100, "has no path"},
  };
  for (const Case& c : cases) {
    auto r = read_user_file(c.path, c.max, "test file");
    ASSERT_FALSE(r) << c.path;
    EXPECT_NE(r.error().find(c.says), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("test file"), std::string::npos) << r.error();
    if (!c.path.empty()) {
      EXPECT_NE(r.error().find(c.path), std::string::npos) << r.error();
    }
  }
}

TEST_F(FileRead, AFifoIsRefusedWithoutWaitingForAWriter) {
  const std::string f = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(f.c_str(), 0600), 0);
  auto r = read_user_file(f, 100, "test file");  // would block here if it waited
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not a regular file"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace bypass
