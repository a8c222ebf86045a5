// The composed ChaCha20-Poly1305 against libsodium's one-call AEAD: the same
// ciphertext and tag at every length up to past the fused limit (so both the
// single stream call and the fallback), with and without associated data, in
// place and into another buffer, both nonce sizes; a tag or byte changed
// anywhere is refused and decrypts nothing (the fused path leaves the output
// untouched; libsodium's, past the limit, zeroes it).
#include <bypass/conn/aead.hpp>

#include <sodium.h>

#include <gtest/gtest.h>

#include <algorithm>

#include <vector>

#include "netcode_vectors.hpp"

namespace bypass::conn {
namespace {

using namespace test;

class Aead_ : public ConnTest {
 protected:
  void SetUp() override {
    randombytes_buf(key, sizeof key);
    randombytes_buf(xnonce, sizeof xnonce);
    randombytes_buf(ad, sizeof ad);
    msg.resize(aead::kMaxFusedBytes + 300);
    randombytes_buf(msg.data(), msg.size());
  }
  uint8_t key[aead::kKeyBytes];
  uint8_t xnonce[aead::kXNonceBytes];  // its first 12 bytes serve as the IETF nonce
  uint8_t ad[22];
  std::vector<uint8_t> msg;
};

// libsodium's answer: ciphertext then tag.
std::vector<uint8_t> reference(bool x, const uint8_t* m, size_t len, std::span<const uint8_t> ad,
                               const uint8_t* nonce, const uint8_t* key) {
  std::vector<uint8_t> c(len + aead::kTagBytes);
  unsigned long long clen = 0;
  const int rc = x ? crypto_aead_xchacha20poly1305_ietf_encrypt(c.data(), &clen, m, len, ad.data(),
                                                                ad.size(), nullptr, nonce, key)
                   : crypto_aead_chacha20poly1305_ietf_encrypt(c.data(), &clen, m, len, ad.data(),
                                                               ad.size(), nullptr, nonce, key);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(clen, c.size());
  return c;
}

TEST_F(Aead_, SameBytesAsLibsodiumAtEveryLength) {
  for (bool x : {false, true}) {
    for (size_t adlen : {size_t{0}, size_t{22}}) {
      const std::span<const uint8_t> a(ad, adlen);
      for (size_t len = 0; len <= msg.size(); len += (len < 1300 ? 1 : 37)) {
        SCOPED_TRACE(testing::Message() << "x " << x << " ad " << adlen << " len " << len);
        const auto want = reference(x, msg.data(), len, a, xnonce, key);
        std::vector<uint8_t> c(len), tag(aead::kTagBytes);
        ASSERT_TRUE(x ? aead::xseal(msg.data(), c.data(), len, tag.data(), a, xnonce, key)
                      : aead::seal(msg.data(), c.data(), len, tag.data(), a, xnonce, key));
        ASSERT_TRUE(std::equal(c.begin(), c.end(), want.begin()));
        ASSERT_TRUE(std::equal(tag.begin(), tag.end(), want.begin() + len));
        // In place, both ways.
        std::vector<uint8_t> b(msg.begin(), msg.begin() + len);
        ASSERT_TRUE(x ? aead::xseal(b.data(), b.data(), len, tag.data(), a, xnonce, key)
                      : aead::seal(b.data(), b.data(), len, tag.data(), a, xnonce, key));
        ASSERT_EQ(b, c);
        ASSERT_TRUE(x ? aead::xopen(b.data(), b.data(), len, tag.data(), a, xnonce, key)
                      : aead::open(b.data(), b.data(), len, tag.data(), a, xnonce, key));
        ASSERT_TRUE(std::equal(b.begin(), b.end(), msg.begin()));
      }
    }
  }
}

TEST_F(Aead_, RefusesAnyChangeAndLeavesTheOutputAlone) {
  const std::span<const uint8_t> a(ad, sizeof ad);
  for (size_t len : {size_t{0}, size_t{1}, size_t{100}, size_t{1200}, aead::kMaxFusedBytes + 1}) {
    SCOPED_TRACE(len);
    std::vector<uint8_t> c(len), tag(aead::kTagBytes);
    ASSERT_TRUE(aead::seal(msg.data(), c.data(), len, tag.data(), a, xnonce, key));
    const std::vector<uint8_t> untouched(len, 0xee);
    std::vector<uint8_t> out = untouched;
    // A flipped bit in the tag, the ciphertext, the associated data, the key.
    tag[3] ^= 1;
    EXPECT_FALSE(aead::open(c.data(), out.data(), len, tag.data(), a, xnonce, key));
    tag[3] ^= 1;
    if (len > 0) {
      c[len / 2] ^= 0x80;
      EXPECT_FALSE(aead::open(c.data(), out.data(), len, tag.data(), a, xnonce, key));
      c[len / 2] ^= 0x80;
    }
    ad[0] ^= 1;
    EXPECT_FALSE(aead::open(c.data(), out.data(), len, tag.data(), a, xnonce, key));
    ad[0] ^= 1;
    key[31] ^= 1;
    EXPECT_FALSE(aead::open(c.data(), out.data(), len, tag.data(), a, xnonce, key));
    key[31] ^= 1;
    const bool fused = len <= aead::kMaxFusedBytes;
    EXPECT_EQ(out, fused ? untouched : std::vector<uint8_t>(len, 0));
    // In place: a refused packet keeps its bytes.
    std::vector<uint8_t> in_place = c;
    tag[0] ^= 0x40;
    EXPECT_FALSE(aead::open(in_place.data(), in_place.data(), len, tag.data(), a, xnonce, key));
    EXPECT_EQ(in_place, fused ? c : std::vector<uint8_t>(len, 0));
    tag[0] ^= 0x40;
    EXPECT_TRUE(aead::open(c.data(), out.data(), len, tag.data(), a, xnonce, key));
    EXPECT_TRUE(std::equal(out.begin(), out.end(), msg.begin()));
  }
}

// xopen_head() checks the tag over every byte but decrypts only the head:
// the head is the plaintext, the rest of the output is left alone, and a
// change past the head is still refused.
TEST_F(Aead_, OpenHeadDecryptsTheHeadAndChecksEverything) {
  const std::span<const uint8_t> a(ad, sizeof ad);
  for (size_t len : {size_t{0}, size_t{100}, size_t{1008}, aead::kMaxFusedBytes + 1}) {
    for (size_t head : {size_t{0}, size_t{1}, size_t{64}, size_t{448}, len}) {
      if (head > len) continue;
      SCOPED_TRACE(testing::Message() << "len " << len << " head " << head);
      std::vector<uint8_t> c(len), tag(aead::kTagBytes);
      ASSERT_TRUE(aead::xseal(msg.data(), c.data(), len, tag.data(), a, xnonce, key));
      std::vector<uint8_t> out(len, 0xee);
      ASSERT_TRUE(aead::xopen_head(c.data(), out.data(), len, head, tag.data(), a, xnonce, key));
      EXPECT_TRUE(std::equal(out.begin(), out.begin() + head, msg.begin()));
      if (len <= aead::kMaxFusedBytes) {  // past it, libsodium's call decrypts everything
        EXPECT_TRUE(
            std::all_of(out.begin() + head, out.end(), [](uint8_t b) { return b == 0xee; }));
      }
      if (len > head) {
        c[len - 1] ^= 0x01;
        EXPECT_FALSE(aead::xopen_head(c.data(), out.data(), len, head, tag.data(), a, xnonce, key));
      }
    }
  }
}

}  // namespace
}  // namespace bypass::conn
