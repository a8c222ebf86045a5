// Policer: per-source rate limiting with DPDK's rte_meter (srTCM, RFC 2697,
// colour-blind), a meter per source address (IPv4/IPv6, past up to two VLAN
// tags: 802.1Q, 802.1ad or the older 0x9100) found in an rte_hash. With
// per_vlan, the VLAN ids join the key: each VLAN's address space is its own
// (a sender that may choose its tags then gets a rate per tag). `drop`: red is dropped; `mark`: all
// pass, the colour in the DSCP (AF1x). The meters are per Policer, one per RX queue, and RSS hashes
// ports too: a source whose flows reach N queues gets up to N x cir (one RX queue per port gives
// one rate per source). The clock must tick at the TSC rate. With max_sources held, a new source
// takes the place of one idle long enough for both its buckets to have refilled ((cbs + ebs) /
// cir): such a meter is as good as new, so forgetting it changes no verdict. Without one (a flood
// of fresh sources), the new source is dropped as sources_full; a bounded look (kSweep entries) per
// new source keeps that cheap.
#pragma once

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_meter.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include <bypass/graph/module.hpp>

namespace bypass::examples {

#define POLICER_DROPS(X)                                                     \
  X(kRed, "over_rate")          /* red: over the committed rate */           \
  X(kMalformed, "malformed_ip") /* too short, or a bad IPv4 header length */ \
  X(kFull, "sources_full")      /* a new source, max_sources reached */      \
  X(kTags, "vlan_tags")         /* more than two VLAN tags, or cut short */
BYPASS_DROP_TABLE(PolicerDrop, POLICER_DROPS)

struct PolicerConfig {
  rte_meter_srtcm_params params{1250000, 16384, 16384};  // cir bytes/s, cbs, ebs bytes
  bool mark = false;
  bool per_vlan = false;  // a meter per (VLAN ids, address), not per address
  uint32_t max_sources = 65536;
};

class Policer final : public PacketModule<Policer> {
 public:
  explicit Policer(const PolicerConfig& c) : PacketModule("Policer"), c_(c) {}
  ~Policer() override { rte_hash_free(sources_); }
  DropTable drop_table() const override { return PolicerDrop::table(); }
  uint64_t colour(rte_color c) const { return colours_[c].get(); }  // packets of each
  uint64_t forgotten() const { return forgotten_.get(); }  // idle sources given up for new ones
  static constexpr unsigned kSweep = 16;  // entries looked at per new source, table full
  // Address (16), family (1), two VLAN ids (2 + 2), the number of tags (1).
  static constexpr unsigned kKeyLen = 22, kAddressKeyLen = 17;

  Status start(Worker&) override {
    static std::atomic<unsigned> n{0};
    const std::string name = "policer" + std::to_string(n++);
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = c_.max_sources;
    // The address and its family; per_vlan, the VLAN ids and their count too.
    p.key_len = c_.per_vlan ? kKeyLen : kAddressKeyLen;
    p.socket_id = SOCKET_ID_ANY;
    // Extendable buckets: an add fails only with max_sources held (forget_one).
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    if (rte_meter_srtcm_profile_config(&profile_, &c_.params) != 0)
      return Status::error("[policer] cir, cbs and ebs make no meter: give each more than 0.");
    if (!(sources_ = rte_hash_create(&p)))
      return Status::error("no memory for the policer's table: lower [policer] max_sources.");
    meters_.resize(c_.max_sources);
    // Both buckets refill from empty in (cbs + ebs) / cir; a period more for rounding.
    const uint64_t per = profile_.cir_bytes_per_period ? profile_.cir_bytes_per_period : 1;
    forget_after_ = ((c_.params.cbs + c_.params.ebs + per - 1) / per + 1) * profile_.cir_period;
    return Status::ok();
  }

  Verdict handle(Worker& w, rte_mbuf* m) {
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    uint32_t l3 = 14;  // past the VLAN tags
    uint16_t type = m->data_len >= 14 ? static_cast<uint16_t>(p[12] << 8 | p[13]) : 0;
    uint8_t key[kKeyLen] = {};
    for (;
         type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ || type == RTE_ETHER_TYPE_QINQ1;
         l3 += 4) {
      if (l3 == 22 || m->data_len < l3 + 4) return Verdict::drop(PolicerDrop::kTags);
      if (c_.per_vlan) {  // the 12-bit VLAN id of each tag, outer first
        key[17 + (l3 - 14) / 2] = p[l3] & 0x0f;
        key[18 + (l3 - 14) / 2] = p[l3 + 1];
      }
      type = static_cast<uint16_t>(p[l3 + 2] << 8 | p[l3 + 3]);
    }
    if (c_.per_vlan) key[21] = static_cast<uint8_t>((l3 - 14) / 4);  // tags: 0, 1 or 2
    const unsigned ihl = m->data_len > l3 ? (p[l3] & 0x0f) * 4u : 0;
    if (type == RTE_ETHER_TYPE_IPV4 && ihl >= 20 && m->data_len >= l3 + ihl)
      std::memcpy(key, p + l3 + 12, 4), key[16] = 4;
    else if (type == RTE_ETHER_TYPE_IPV6 && m->data_len >= l3 + 40)
      std::memcpy(key, p + l3 + 8, 16), key[16] = 6;
    else if (type == RTE_ETHER_TYPE_IPV4 || type == RTE_ETHER_TYPE_IPV6)
      return Verdict::drop(PolicerDrop::kMalformed);
    else
      return Verdict::to(0);  // not IP: not policed
    int32_t i = rte_hash_lookup(sources_, key);
    if (i < 0) {
      if ((i = rte_hash_add_key(sources_, key)) < 0 &&
          (!forget_one(w.now()) || (i = rte_hash_add_key(sources_, key)) < 0))
        return Verdict::drop(PolicerDrop::kFull);
      rte_meter_srtcm_config(&meters_[i], &profile_);
      meters_[i].time = w.now();  // config stamps the live TSC; the worker's clock rules
    }
    const rte_color c =
        rte_meter_srtcm_color_blind_check(&meters_[i], &profile_, w.now(), m->pkt_len);
    colours_[c].add();
    if (!c_.mark) return c == RTE_COLOR_RED ? Verdict::drop(PolicerDrop::kRed) : Verdict::to(0);
    const uint8_t dscp = static_cast<uint8_t>(10 + 2 * c);  // AF11, AF12, AF13
    if (type == RTE_ETHER_TYPE_IPV4) {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l3);
      ip->type_of_service = static_cast<uint8_t>(dscp << 2 | (ip->type_of_service & 3));
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {  // the traffic class straddles bytes 0 and 1; its ECN bits stay
      const uint8_t tc = static_cast<uint8_t>(dscp << 2 | (p[l3 + 1] >> 4 & 3));
      p[l3] = static_cast<uint8_t>(0x60 | tc >> 4);
      p[l3 + 1] = static_cast<uint8_t>((tc & 0x0f) << 4 | (p[l3 + 1] & 0x0f));
    }
    return Verdict::to(0);
  }

 private:
  // Gives up one source idle for forget_after_, looking at up to kSweep
  // entries from where the last look stopped; false if none was.
  bool forget_one(uint64_t now) {
    for (unsigned looked = 0, wrapped = 0; looked < kSweep;) {
      const void* k;
      void* data;
      const int32_t pos = rte_hash_iterate(sources_, &k, &data, &cursor_);
      if (pos < 0) {  // the end: from the start again, once
        cursor_ = 0;
        if (wrapped++) return false;
        continue;
      }
      ++looked;
      const uint64_t last = meters_[pos].time;  // its latest refill, at most a period behind
      if (now < last || now - last < forget_after_) continue;
      uint8_t copy[kKeyLen] = {};
      std::memcpy(copy, k, c_.per_vlan ? kKeyLen : kAddressKeyLen);
      if (rte_hash_del_key(sources_, copy) < 0) return false;
      forgotten_.add();
      return true;
    }
    return false;
  }

  PolicerConfig c_;
  rte_hash* sources_ = nullptr;
  rte_meter_srtcm_profile profile_{};
  std::vector<rte_meter_srtcm> meters_;
  uint64_t forget_after_ = 0;  // TSC cycles
  uint32_t cursor_ = 0;        // where the next look for an idle source starts
  Counter colours_[3], forgotten_;
};

}  // namespace bypass::examples
