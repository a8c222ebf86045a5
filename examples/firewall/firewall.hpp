// Firewall: allow/deny by 5-tuple rules (AclTable: DPDK's rte_acl), IPv4 and
// IPv6, a hit counter per rule; no match: the default action; not IP (ARP):
// passes. New tables are handed over on the worker (Worker::run_on).
#pragma once

#include <rte_ether.h>

#include <cstring>
#include <memory>

#include <bypass/graph/module.hpp>
#include <bypass/net/acl.hpp>

namespace bypass::examples {

#define FIREWALL_DROPS(X)                                         \
  X(kDenied, "denied")          /* a deny rule, or the default */ \
  X(kTruncated, "truncated_l4") /* too short for the ports */
BYPASS_DROP_TABLE(FirewallDrop, FIREWALL_DROPS)

class Firewall final : public Module {
 public:
  Firewall(const AclTable* t, bool default_allow) : Module("Firewall") { use(t, default_allow); }
  DropTable drop_table() const override { return FirewallDrop::table(); }
  // On the worker: new rules, their counters from zero. hits()[0]: no rule.
  void use(const AclTable* t, bool default_allow) {
    table_ = t;
    allow_ = default_allow;
    hits_ = std::make_unique<Counter[]>(t->rules().size() + 1);
  }
  const AclTable& table() const { return *table_; }
  uint64_t hits(size_t i) const { return hits_[i].get(); }

  void process(Worker& w, Batch& in) override {
    const uint8_t* v4[kMaxBurst];
    const uint8_t* v6[kMaxBurst];
    rte_mbuf *m4[kMaxBurst], *m6[kMaxBurst];
    uint32_t n4 = 0, n6 = 0, r[kMaxBurst];
    for (rte_mbuf* m : in) {
      const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
      const uint16_t type = m->data_len >= 14 ? static_cast<uint16_t>(p[12] << 8 | p[13]) : 0;
      if (type == RTE_ETHER_TYPE_IPV4 && m->data_len >= 14 + 24) {
        const unsigned ihl = (p[14] & 0x0f) * 4u;
        if (ihl > 20) {  // options: the ports follow the first 20 bytes in a copy
          if (m->data_len < 14 + ihl + 4) {
            drop(w, m, FirewallDrop::kTruncated);
            continue;
          }
          uint8_t* s = scratch_[n4];
          std::memcpy(s, p + 14, 20);
          std::memcpy(s + 20, p + 14 + ihl, 4);
          v4[n4] = s;
        } else {
          v4[n4] = p + 14;
        }
        m4[n4++] = m;
      } else if (type == RTE_ETHER_TYPE_IPV6 && m->data_len >= 14 + 44) {
        v6[n6] = p + 14;
        m6[n6++] = m;
      } else if (type == RTE_ETHER_TYPE_IPV4 || type == RTE_ETHER_TYPE_IPV6) {
        drop(w, m, FirewallDrop::kTruncated);
      } else {
        out_.push(m);  // not IP: not ours to judge
      }
    }
    in.clear();
    table_->classify4(v4, r, n4);
    judge(w, m4, r, n4);
    table_->classify6(v6, r, n6);
    judge(w, m6, r, n6);
    drops_.free_all();
    emit(w, 0, out_);
  }

 private:
  void judge(Worker& w, rte_mbuf** m, const uint32_t* r, uint32_t n) {
    const std::vector<AclRule>& rules = table_->rules();
    for (uint32_t i = 0; i < n; ++i) {
      hits_[r[i]].add();
      if (r[i] ? rules[r[i] - 1].allow : allow_)
        out_.push(m[i]);
      else
        drop(w, m[i], FirewallDrop::kDenied);
    }
  }
  void drop(Worker& w, rte_mbuf* m, DropReason why) {
    w.drop(why);
    drops_.push(m);
  }

  const AclTable* table_ = nullptr;
  bool allow_ = false;
  std::unique_ptr<Counter[]> hits_;
  Batch out_, drops_;
  uint8_t scratch_[kMaxBurst][24];
};

}  // namespace bypass::examples
