// Private keys: 32 raw bytes, 64 hex digits in either case with a trailing
// newline, refusal of other sizes, non-hex digits and an all-zero key, loading
// from a file, and error messages that never contain key material.
#include <bypass/conn/keys.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <string>

#include "netcode_vectors.hpp"

namespace bypass::conn {
namespace {

using namespace test;

class Keys : public ConnTest {};

std::span<const uint8_t> as_bytes(const std::string& s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

const std::string kHex = "01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da";

TEST_F(Keys, RawBytes) {
  const Key k = private_key();
  auto r = parse_private_key(k);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(*r, k);
}

TEST_F(Keys, HexDigitsEitherCaseWithTrailingWhitespace) {
  ASSERT_EQ(hex(private_key()), kHex);
  for (std::string s : {kHex, kHex + "\n", kHex + "\r\n", kHex + "  \n"}) {
    auto r = parse_private_key(as_bytes(s));
    ASSERT_TRUE(r.has_value()) << r.error();
    EXPECT_EQ(*r, private_key());
  }
  std::string upper = kHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  auto r = parse_private_key(as_bytes(upper));
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(*r, private_key());
}

TEST_F(Keys, Refusals) {
  // Wrong sizes: 31 and 33 raw bytes, 63 hex digits, leading whitespace.
  const Key k = private_key();
  EXPECT_FALSE(parse_private_key(std::span(k).first(31)).has_value());
  std::array<uint8_t, 33> b33{};
  b33[0] = 1;
  EXPECT_FALSE(parse_private_key(b33).has_value());
  EXPECT_FALSE(parse_private_key(as_bytes(kHex.substr(1))).has_value());
  EXPECT_FALSE(parse_private_key(as_bytes(" " + kHex)).has_value());
  // Not hex.
  std::string bad = kHex;
  bad[10] = 'g';
  auto r = parse_private_key(as_bytes(bad));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("hex"), std::string::npos);
  // All zeros, raw or hex.
  const Key zero{};
  r = parse_private_key(zero);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("all zeros"), std::string::npos);
  EXPECT_FALSE(parse_private_key(as_bytes(std::string(64, '0'))).has_value());
  // 63 hex digits and a newline: counted as digits, not as 64 bytes.
  r = parse_private_key(as_bytes(kHex.substr(1) + "\n"));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("63 hex digits"), std::string::npos) << r.error();
  // 32 hex characters: a 16-byte key written as hex, not 32 raw bytes.
  r = parse_private_key(as_bytes(kHex.substr(0, 32)));
  ASSERT_FALSE(r.has_value()) << "taken as a raw key";
  EXPECT_NE(r.error().find("32 hex digits, too few"), std::string::npos) << r.error();
  // 31 hex digits and a newline (32 bytes): digits too, not a raw key.
  r = parse_private_key(as_bytes(kHex.substr(0, 31) + "\n"));
  ASSERT_FALSE(r.has_value()) << "taken as a raw key";
  EXPECT_NE(r.error().find("31 hex digits, too few"), std::string::npos) << r.error();
}

TEST_F(Keys, MessagesNeverContainKeyMaterial) {
  std::string bad = kHex;
  bad[63] = 'z';
  for (const std::string& s : {bad, kHex + "00", kHex.substr(0, 40)}) {
    auto r = parse_private_key(as_bytes(s));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().find(kHex.substr(0, 8)), std::string::npos) << r.error();
    EXPECT_EQ(r.error().find(kHex.substr(30, 8)), std::string::npos) << r.error();
  }
}

TEST_F(Keys, LoadFromFile) {
  char path[] = "/tmp/bypass-conn-key-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = kHex + "\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto r = load_private_key_file(path);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(*r, private_key());

  // A file of the wrong size names the file, not the bytes.
  FILE* f = std::fopen(path, "wb");
  ASSERT_NE(f, nullptr);
  std::fputs(kHex.substr(0, 50).c_str(), f);
  std::fclose(f);
  r = load_private_key_file(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find(path), std::string::npos);
  EXPECT_EQ(r.error().find(kHex.substr(0, 8)), std::string::npos);

  // Too large to be a key.
  f = std::fopen(path, "wb");
  ASSERT_NE(f, nullptr);
  for (int i = 0; i < 10; ++i) std::fputs(kHex.c_str(), f);
  std::fclose(f);
  EXPECT_FALSE(load_private_key_file(path).has_value());
  unlink(path);

  r = load_private_key_file("/nonexistent/bypass.key");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("does not exist"), std::string::npos) << r.error();
  // A directory and a device are refused by what they are, not read.
  r = load_private_key_file("/tmp");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("is a directory"), std::string::npos) << r.error();
  r = load_private_key_file("/dev/zero");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("not a regular file"), std::string::npos) << r.error();
}

TEST_F(Keys, RandomKeysAndNoncesDiffer) {
  EXPECT_NE(random_key(), random_key());
  EXPECT_NE(random_connect_token_nonce(), random_connect_token_nonce());
}

}  // namespace
}  // namespace bypass::conn
