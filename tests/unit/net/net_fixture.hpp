// Shared by the network-layer tests: a fixture that owns the mbufs a test
// builds and checks the pool is back where it started (nothing leaked, nothing
// freed twice), and readable drop reasons in GoogleTest messages.
#pragma once

#include <rte_mbuf.h>

#include <gtest/gtest.h>

#include <ostream>
#include <vector>

#include <bypass/core/drop_reasons.hpp>
#include <bypass/net/parse.hpp>

#include "eal_env.hpp"
#include "frames.hpp"

namespace bypass {

inline void PrintTo(DropReason r, std::ostream* os) {
  if (r == kPass)
    *os << "pass";
  else if (r == kConsumed)
    *os << "consumed";
  else
    *os << NetDrop::table().name(r);
}

namespace test {

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override { before_ = pool_in_use(); }
  void TearDown() override {
    for (rte_mbuf* m : owned_) rte_pktmbuf_free(m);
    owned_.clear();
    EXPECT_EQ(pool_in_use(), before_) << "every mbuf went back to the pool exactly once";
  }

  // An mbuf (chain, cut at `cuts`) holding `f`; freed by the fixture.
  rte_mbuf* own(const Bytes& f, const std::vector<uint32_t>& cuts = {}, uint64_t flags = 0) {
    rte_mbuf* m = to_mbuf(test_pool(), f, cuts);
    EXPECT_NE(m, nullptr);
    if (m) {
      m->ol_flags = flags;
      owned_.push_back(m);
    }
    return m;
  }
  // parse_frame's verdict on `f`, with the offsets it found in `p`.
  DropReason parse(const Bytes& f, Parsed& p, const std::vector<uint32_t>& cuts = {},
                   uint64_t flags = 0, const ParseLimits& lim = {}) {
    rte_mbuf* m = own(f, cuts, flags);
    p = Parsed{};
    return m ? parse_frame(m, p, lim) : NetDrop::kTooBig;
  }
  DropReason parse(const Bytes& f, const std::vector<uint32_t>& cuts = {}, uint64_t flags = 0,
                   const ParseLimits& lim = {}) {
    Parsed p;
    return parse(f, p, cuts, flags, lim);
  }

  std::vector<rte_mbuf*> owned_;
  unsigned before_ = 0;
};

}  // namespace test
}  // namespace bypass
