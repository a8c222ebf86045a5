// Test support: a module that keeps every packet that reaches it, so that a
// test can look at what a module under test emitted (and free it after).
#pragma once

#include <rte_mbuf.h>

#include <vector>

#include <bypass/graph/module.hpp>

namespace bypass::test {

class Collect final : public Module {
 public:
  Collect() : Module("collect") {}
  void process(Worker&, Batch& b) override {
    for (rte_mbuf* m : b) got.push_back(m);
    b.clear();
  }
  // Frees what it kept.
  void free() {
    rte_pktmbuf_free_bulk(got.data(), static_cast<unsigned>(got.size()));
    got.clear();
  }
  std::vector<rte_mbuf*> got;
};

}  // namespace bypass::test
