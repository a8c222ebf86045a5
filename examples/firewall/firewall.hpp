// Firewall: allow/deny by 5-tuple rules (AclTable: DPDK's rte_acl), IPv4 and
// IPv6, a hit counter per rule; no match: the default action; ARP passes.
// New tables are handed over on the worker (Worker::run_on).
#pragma once

#include <rte_ether.h>

#include <cstring>
#include <memory>

#include <bypass/graph/module.hpp>
#include <bypass/net/acl.hpp>

namespace bypass::examples {

#define FIREWALL_DROPS(X)                                                   \
  X(kDenied, "denied")     /* a deny rule, or the default */                \
  X(kUnjudged, "unjudged") /* IP without a readable 5-tuple: short, a bad   \
                              header length, a later fragment, IPv6 with an \
                              extension header in front of the ports */     \
  X(kNotIp, "not_ip")      /* neither IP nor ARP (VLAN-tagged frames too) */
BYPASS_DROP_TABLE(FirewallDrop, FIREWALL_DROPS)

class Firewall final : public Module {
 public:
  Firewall(const AclTable* t, bool default_allow) : Module("Firewall") {
    auto hits = counters_for(*t);
    use(t, default_allow, hits);
  }
  DropTable drop_table() const override { return FirewallDrop::table(); }
  // Counters for `t`'s rules, from zero (hits(0): no rule). Made off the
  // worker: use() only swaps them in.
  static std::unique_ptr<Counter[]> counters_for(const AclTable& t) {
    return std::make_unique<Counter[]>(t.rules().size() + 1);
  }
  // On the worker: new rules and `hits` (counters_for them); the old
  // counters come back in `hits`, so nothing is allocated or freed here.
  void use(const AclTable* t, bool default_allow, std::unique_ptr<Counter[]>& hits) {
    table_ = t;
    allow_ = default_allow;
    hits_.swap(hits);
  }
  const AclTable& table() const { return *table_; }
  uint64_t hits(size_t i) const { return hits_[i].get(); }

  void process(Worker& w, Batch& in) override {
    const uint8_t *v4[kMaxBurst], *v6[kMaxBurst];
    rte_mbuf *m4[kMaxBurst], *m6[kMaxBurst];
    uint32_t n4 = 0, n6 = 0, r[kMaxBurst];
    for (rte_mbuf* m : in) {
      const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*) + 14;  // the IP header
      const uint32_t len = m->data_len > 14 ? m->data_len - 14u : 0;
      const uint16_t type = len ? static_cast<uint16_t>(p[-2] << 8 | p[-1]) : 0;
      const unsigned ihl = len ? (p[0] & 0x0f) * 4u : 0;
      if (type == RTE_ETHER_TYPE_ARP) {
        out_.push(m);  // hosts must still find each other
      } else if (type == RTE_ETHER_TYPE_IPV4 && ihl >= 20 && len >= ihl + 4 &&
                 (p[2] << 8 | p[3]) >= static_cast<int>(ihl + 4) &&  // not Ethernet padding
                 !((p[6] & 0x1f) | p[7])) {                          // not a later fragment
        uint8_t* s = scratch_[n4];  // with options: the ports copied after 20 bytes
        if (ihl > 20) std::memcpy(s, p, 20), std::memcpy(s + 20, p + ihl, 4);
        v4[n4] = ihl > 20 ? s : p;
        m4[n4++] = m;
      } else if (type == RTE_ETHER_TYPE_IPV6 && len >= 44 && (p[4] << 8 | p[5]) >= 4 &&
                 !extension(p[6])) {
        v6[n6] = p;
        m6[n6++] = m;
      } else {
        const bool ip = type == RTE_ETHER_TYPE_IPV4 || type == RTE_ETHER_TYPE_IPV6;
        drop(w, m, ip ? FirewallDrop::kUnjudged : FirewallDrop::kNotIp);
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
  static bool extension(uint8_t nh) {  // IPv6 headers that may come before the ports
    return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135 || nh >= 139;
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
