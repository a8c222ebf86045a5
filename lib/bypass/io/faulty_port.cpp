#include <bypass/io/faulty_port.hpp>

#include <rte_ip.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include <bypass/core/batch.hpp>
#include <bypass/core/counter.hpp>

namespace bypass {
namespace {

// Packets handled per step; room for a burst of kMaxBurst and a copy of each.
constexpr uint16_t kScratch = 2 * kMaxBurst;
constexpr uint32_t kMaxHold = 1u << 20;
constexpr uint16_t kMaxCorruptBits = 64;

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xorshift64*: small, fast, and the same sequence everywhere for the same seed.
class Rng {
 public:
  void seed(uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    s_ = splitmix64(x);
    if (s_ == 0) s_ = 0x9E3779B97F4A7C15ull;
  }
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  // True with probability p; draws nothing when p is 0 or 1.
  bool chance(double p) {
    if (p <= 0.0) return false;
    if (p >= 1.0) return true;
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
  }
  // Uniform in [0, n), n > 0.
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(((next() >> 32) * n) >> 32); }

 private:
  uint64_t s_ = 1;
};

bool transforms(const DirectionFaults& f) {
  return f.drop_rate > 0 || f.drop_every > 0 || f.duplicate_rate > 0 || f.reorder_rate > 0 ||
         f.corrupt_rate > 0 || f.delay_polls > 0;
}

Status check_rate(const std::string& name, double v) {
  if (v >= 0.0 && v <= 1.0) return Status::ok();
  return Status::error(fmt::format(
      "fault plan: {} is {} but must be a probability between 0 and 1: set it to, e.g., 0.01 "
      "for 1 % of packets.",
      name, v));
}

Status check_direction(const std::string& dir, const DirectionFaults& f) {
  const std::pair<const char*, double> rates[] = {{"drop_rate", f.drop_rate},
                                                  {"duplicate_rate", f.duplicate_rate},
                                                  {"reorder_rate", f.reorder_rate},
                                                  {"corrupt_rate", f.corrupt_rate},
                                                  {"delay_rate", f.delay_rate}};
  for (const auto& [name, v] : rates)
    if (Status s = check_rate(dir + "." + name, v); !s) return s;
  if (f.corrupt_rate > 0 && (f.corrupt_bits < 1 || f.corrupt_bits > kMaxCorruptBits))
    return Status::error(fmt::format(
        "fault plan: {0}.corrupt_bits is {1} but must be between 1 and {2} when "
        "{0}.corrupt_rate is above 0: set it to the number of bits to flip in each packet.",
        dir, f.corrupt_bits, kMaxCorruptBits));
  return Status::ok();
}

}  // namespace

struct alignas(RTE_CACHE_LINE_SIZE) FaultyPort::Queue {
  struct Held {
    rte_mbuf* m;
    uint64_t due;  // the poll from which it may leave
  };
  struct Counters {
#define BYPASS_X(name) Counter name;
    BYPASS_FAULT_COUNTS(BYPASS_X)
#undef BYPASS_X
  };

  Counters c;
  const DirectionFaults* f = nullptr;
  const FaultPlan* plan = nullptr;  // the whole plan this queue follows now
  bool transforms = false;
  Rng rng;
  uint64_t polls = 0;  // rx_burst or tx_burst calls
  uint64_t seen = 0;   // packets, for drop_every
  std::unique_ptr<Held[]> hold;
  uint32_t cap = 0, head = 0, size = 0;
  std::array<rte_mbuf*, kScratch> scratch{};

  // Makes the hold ring, once, for a plan that holds packets back.
  void make_hold(uint32_t capacity) {
    if (hold) return;
    cap = std::min(capacity, kMaxHold);
    hold.reset(new Held[cap]);
  }
  bool ready(uint64_t now) const {
    return size > 0 && hold[head].due <= now;
  }
  bool push_back(rte_mbuf* m, uint64_t due) {
    if (size == cap) return false;
    hold[(head + size++) % cap] = {m, due};
    return true;
  }
  bool push_front(rte_mbuf* m, uint64_t due) {
    if (size == cap) return false;
    head = (head + cap - 1) % cap;
    hold[head] = {m, due};
    ++size;
    return true;
  }
  rte_mbuf* pop_front() {
    rte_mbuf* m = hold[head].m;
    head = (head + 1) % cap;
    --size;
    return m;
  }
  // Puts back packets the device refused, first in line and in their order.
  void requeue(rte_mbuf** pkts, uint16_t n) {
    for (uint16_t i = n; i-- > 0;) {
      if (!push_front(pkts[i], 0)) {
        rte_pktmbuf_free(pkts[i]);
        c.hold_full.add();
      }
    }
  }

  // Counts the packet and applies drop, corrupt and delay. False: it was freed or held.
  bool admit(rte_mbuf* m) {
    c.packets.add();
    ++seen;
    if ((f->drop_every > 0 && seen % f->drop_every == 0) || rng.chance(f->drop_rate)) {
      rte_pktmbuf_free(m);
      c.dropped.add();
      return false;
    }
    if (rng.chance(f->corrupt_rate) && corrupt(m)) c.corrupted.add();
    if (f->delay_polls > 0 && rng.chance(f->delay_rate)) {
      if (push_back(m, polls + f->delay_polls)) {
        c.delayed.add();
      } else {
        rte_pktmbuf_free(m);
        c.hold_full.add();
      }
      return false;
    }
    return true;
  }

  // Flips corrupt_bits distinct bits of the first segment; only in a packet no
  // one shares. The checksum offload flags go with the damage.
  bool corrupt(rte_mbuf* m) {
    if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) return false;
    const uint32_t bits = uint32_t{rte_pktmbuf_data_len(m)} * 8;
    const uint32_t k = std::min<uint32_t>({f->corrupt_bits, kMaxCorruptBits, bits});
    if (k == 0) return false;
    // Floyd's sampling: k distinct positions in [0, bits) in k draws.
    std::array<uint32_t, kMaxCorruptBits> pos;
    uint32_t n = 0;
    for (uint32_t j = bits - k; j < bits; ++j) {
      const uint32_t t = rng.below(j + 1);
      const bool taken = std::find(pos.begin(), pos.begin() + n, t) != pos.begin() + n;
      pos[n++] = taken ? j : t;
    }
    // As a wire would: the checksums a device was asked to write are written
    // first (TX), the damage after; a device's verdict on them (RX) no
    // longer holds.
    finish_checksums(m);
    auto* p = rte_pktmbuf_mtod(m, uint8_t*);
    for (uint32_t i = 0; i < n; ++i) p[pos[i] >> 3] ^= static_cast<uint8_t>(1u << (pos[i] & 7));
    m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
    return true;
  }

  // Writes the checksums a TX offload request asks the device for, and
  // takes the request back: what leaves is what the wire would carry.
  static void finish_checksums(rte_mbuf* m) {
    const uint64_t f = m->ol_flags;
    const uint64_t l4 = f & RTE_MBUF_F_TX_L4_MASK;
    if (!(f & RTE_MBUF_F_TX_IP_CKSUM) && l4 != RTE_MBUF_F_TX_UDP_CKSUM &&
        l4 != RTE_MBUF_F_TX_TCP_CKSUM)
      return;
    const uint32_t l4_off = m->l2_len + m->l3_len;
    if (m->data_len < l4_off) return;
    uint8_t* l3 = rte_pktmbuf_mtod_offset(m, uint8_t*, m->l2_len);
    // The checksum's offset in the UDP or TCP header.
    const uint32_t at = l4 == RTE_MBUF_F_TX_UDP_CKSUM ? 6 : 16;
    const bool l4_ok =
        l4 != 0 && rte_pktmbuf_pkt_len(m) >= l4_off + at + 2 && m->data_len >= l4_off + at + 2;
    if (f & RTE_MBUF_F_TX_IPV4) {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
      if (f & RTE_MBUF_F_TX_IP_CKSUM) {
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
      }
      if (l4_ok) {
        uint16_t zero = 0, sum;
        std::memcpy(l3 + m->l3_len + at, &zero, 2);
        sum = rte_ipv4_udptcp_cksum_mbuf(m, ip, static_cast<uint16_t>(l4_off));
        std::memcpy(l3 + m->l3_len + at, &sum, 2);
      }
    } else if ((f & RTE_MBUF_F_TX_IPV6) && l4_ok) {
      auto* ip = reinterpret_cast<rte_ipv6_hdr*>(l3);
      uint16_t zero = 0, sum;
      std::memcpy(l3 + m->l3_len + at, &zero, 2);
      sum = rte_ipv6_udptcp_cksum_mbuf(m, ip, static_cast<uint16_t>(l4_off));
      std::memcpy(l3 + m->l3_len + at, &sum, 2);
    }
    m->ol_flags &= ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK);
  }

  // Maybe appends a deep copy of pkts[n - 1] when there is room for it.
  void maybe_copy(rte_mbuf** pkts, uint16_t& n, uint16_t cap_out, rte_mempool* pool) {
    if (!rng.chance(f->duplicate_rate)) return;
    rte_mbuf* copy = (n < cap_out && pool != nullptr)
                         ? rte_pktmbuf_copy(pkts[n - 1], pool, 0, UINT32_MAX)
                         : nullptr;
    if (copy == nullptr) {
      c.copy_failed.add();
      return;
    }
    pkts[n++] = copy;
    c.duplicated.add();
  }

  // Reorders pkts[0, n), n >= 2; returns how many are left in it.
  uint16_t reorder(rte_mbuf** pkts, uint16_t n, uint64_t now) {
    if (f->reorder_mode == ReorderMode::kShuffle) {
      // Sattolo's algorithm: a single cycle, so every packet moves.
      for (uint16_t i = n - 1; i > 0; --i) std::swap(pkts[i], pkts[rng.below(i)]);
      c.reordered.add();
      return n;
    }
    const uint16_t i = static_cast<uint16_t>(rng.below(n));
    if (!push_back(pkts[i], now + 1)) return n;
    std::copy(pkts + i + 1, pkts + n, pkts + i);
    c.reordered.add();
    return n - 1;
  }
};

Status FaultyPort::validate(const FaultPlan& plan) {
  if (Status s = check_direction("rx", plan.rx); !s) return s;
  if (Status s = check_direction("tx", plan.tx); !s) return s;
  if (Status s = check_rate("short_tx_rate", plan.short_tx_rate); !s) return s;
  if (plan.stall_polls > 0 && plan.stall_polls >= plan.stall_every)
    return Status::error(fmt::format(
        "fault plan: stall_polls ({}) must be smaller than stall_every ({}), or the port never "
        "delivers: lower stall_polls or raise stall_every.",
        plan.stall_polls, plan.stall_every));
  if (plan.hold_capacity < 1 || plan.hold_capacity > kMaxHold)
    return Status::error(fmt::format(
        "fault plan: hold_capacity is {} but must be between 1 and {}: set it to the number of "
        "packets a queue may hold back (256 is the default).",
        plan.hold_capacity, kMaxHold));
  return Status::ok();
}

Expected<std::unique_ptr<FaultyPort>> FaultyPort::create(Port& inner, const FaultPlan& plan,
                                                         rte_mempool* copy_pool) {
  if (Status s = validate(plan); !s) return s;
  if (copy_pool == nullptr && (plan.rx.duplicate_rate > 0 || plan.tx.duplicate_rate > 0))
    return Status::error(
        "fault plan: duplicate_rate is above 0 but no copy pool was given: pass the mempool the "
        "copies come from to FaultyPort::create().");
  return std::make_unique<FaultyPort>(inner, plan, copy_pool);
}

FaultyPort::FaultyPort(Port& inner, const FaultPlan& plan, rte_mempool* copy_pool)
    : inner_(inner),
      plan_(plan),
      copy_pool_(copy_pool),
      link_up_(plan.link_up),
      nrx_(inner.rx_queues()),
      ntx_(inner.tx_queues()) {
  rxq_.reset(new Queue[nrx_]);
  txq_.reset(new Queue[ntx_]);
  auto init = [&](Queue& s, const DirectionFaults& f, uint64_t stream) {
    s.f = &f;
    s.plan = &plan_;
    s.transforms = transforms(f);
    s.rng.seed(plan_.seed, stream);
    if (s.transforms) s.make_hold(plan_.hold_capacity);
  };
  for (uint16_t q = 0; q < nrx_; ++q) init(rxq_[q], plan_.rx, q);
  for (uint16_t q = 0; q < ntx_; ++q) init(txq_[q], plan_.tx, (1ull << 32) | q);
}

const FaultPlan* FaultyPort::keep_plan(const FaultPlan& plan) {
  kept_.push_back(plan);
  // A plan that holds packets back needs each queue's hold ring: made here,
  // on the control thread, so use_plan() allocates nothing on the worker. A
  // queue without one reads neither field until use_plan() has run.
  auto ready = [&](Queue* qs, uint16_t n, const DirectionFaults& f) {
    if (!transforms(f)) return;
    for (uint16_t q = 0; q < n; ++q) qs[q].make_hold(plan.hold_capacity);
  };
  ready(rxq_.get(), nrx_, plan.rx);
  ready(txq_.get(), ntx_, plan.tx);
  return &kept_.back();
}

void FaultyPort::use_plan(const FaultPlan* plan, std::span<const uint16_t> rx_queues,
                          std::optional<uint16_t> tx_queue) {
  auto follow = [&](Queue& s, const DirectionFaults& f) {
    s.plan = plan;
    s.f = &f;
    // A queue that holds packets keeps the path that releases them.
    s.transforms = transforms(f) || s.hold != nullptr;
    // Only a plan keep_plan() did not make ready allocates here.
    if (s.transforms) s.make_hold(plan->hold_capacity);
  };
  for (uint16_t q : rx_queues)
    if (q < nrx_) follow(rxq_[q], plan->rx);
  if (tx_queue && *tx_queue < ntx_) follow(txq_[*tx_queue], plan->tx);
}

FaultyPort::~FaultyPort() {
  drain();
}

uint16_t FaultyPort::rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  Queue& s = rxq_[queue];
  const uint64_t now = ++s.polls;
  // A reset device is dead until set up again: it is not polled at all.
  if (s.plan->reset_after_polls != 0 && now >= s.plan->reset_after_polls)
    resetting_.store(true, std::memory_order_relaxed);
  if (resetting_.load(std::memory_order_relaxed)) [[unlikely]] {
    s.c.reset.add();
    return 0;
  }
  if (!link_up_.load(std::memory_order_relaxed)) {
    // Whatever arrives while the link is down is lost; held packets wait.
    const uint16_t got = inner_.rx_burst(queue, s.scratch.data(), kScratch);
    if (got > 0) rte_pktmbuf_free_bulk(s.scratch.data(), got);
    s.c.link_down.add(got);
    return 0;
  }
  const FaultPlan& p = *s.plan;
  if (p.stall_polls > 0 && p.stall_polls < p.stall_every &&
      (now - 1) % p.stall_every >= p.stall_every - p.stall_polls) {
    s.c.stalled_polls.add();
    return 0;
  }
  if (!s.transforms) {
    const uint16_t got = inner_.rx_burst(queue, pkts, n);
    s.c.packets.add(got);
    return got;
  }
  uint16_t out = 0;
  while (out < n && s.ready(now)) pkts[out++] = s.pop_front();
  const uint16_t room = static_cast<uint16_t>(std::min<int>(n - out, kScratch));
  const uint16_t got = room > 0 ? inner_.rx_burst(queue, s.scratch.data(), room) : 0;
  for (uint16_t i = 0; i < got; ++i) {
    if (!s.admit(s.scratch[i])) continue;
    pkts[out++] = s.scratch[i];
    // A copy only takes room the packets still to come do not need.
    s.maybe_copy(pkts, out, static_cast<uint16_t>(n - (got - 1 - i)), copy_pool_);
  }
  if (out >= 2 && s.rng.chance(s.f->reorder_rate)) out = s.reorder(pkts, out, now);
  return out;
}

bool FaultyPort::flush_tx(Queue& s, uint16_t queue, uint64_t now) {
  while (s.ready(now)) {
    uint16_t cnt = 0;
    while (cnt < kScratch && s.ready(now)) s.scratch[cnt++] = s.pop_front();
    const uint16_t sent = inner_.tx_burst(queue, s.scratch.data(), cnt);
    if (sent < cnt) {
      s.requeue(s.scratch.data() + sent, cnt - sent);  // room: they were just taken out
      return true;
    }
  }
  return false;
}

uint16_t FaultyPort::tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  Queue& s = txq_[queue];
  const uint64_t now = ++s.polls;
  if (resetting_.load(std::memory_order_relaxed)) [[unlikely]] {
    s.c.reset.add(n);
    return 0;
  }
  if (!link_up_.load(std::memory_order_relaxed)) {
    s.c.link_down.add(n);
    return 0;
  }
  // Held packets go first; while the device refuses them, nothing new is taken.
  if (s.transforms && flush_tx(s, queue, now)) return 0;
  uint16_t k = n;
  if (n > 0 && s.rng.chance(s.plan->short_tx_rate)) {
    k = static_cast<uint16_t>(s.rng.below(n));
    s.c.short_tx.add(n - k);
  }
  if (!s.transforms) {
    const uint16_t sent = inner_.tx_burst(queue, pkts, k);
    s.c.packets.add(sent);
    return sent;
  }
  uint16_t i = 0;
  while (i < k) {
    uint16_t cnt = 0;
    while (i < k && cnt + 2 <= kScratch) {
      rte_mbuf* m = pkts[i++];
      if (!s.admit(m)) continue;
      s.scratch[cnt++] = m;
      s.maybe_copy(s.scratch.data(), cnt, kScratch, copy_pool_);
    }
    if (cnt >= 2 && s.rng.chance(s.f->reorder_rate)) cnt = s.reorder(s.scratch.data(), cnt, now);
    const uint16_t sent = cnt > 0 ? inner_.tx_burst(queue, s.scratch.data(), cnt) : 0;
    if (sent < cnt) {
      // Taken from the caller already: keep the rest, send it first next time.
      s.requeue(s.scratch.data() + sent, cnt - sent);
      break;
    }
  }
  return i;
}

LinkStatus FaultyPort::link() const {
  LinkStatus l = inner_.link();
  if (!link_up_.load(std::memory_order_relaxed)) l.up = false;
  return l;
}

FaultCounters FaultyPort::counters() const {
  FaultCounters out;
  auto sum = [](FaultCounts& to, const Queue* qs, uint16_t n) {
    for (uint16_t q = 0; q < n; ++q) {
#define BYPASS_X(name) to.name += qs[q].c.name.get();
      BYPASS_FAULT_COUNTS(BYPASS_X)
#undef BYPASS_X
    }
  };
  sum(out.rx, rxq_.get(), nrx_);
  sum(out.tx, txq_.get(), ntx_);
  return out;
}

uint32_t FaultyPort::drain() {
  uint32_t freed = 0;
  auto drain_queues = [&](Queue* qs, uint16_t n) {
    for (uint16_t q = 0; q < n; ++q) {
      Queue& s = qs[q];
      const uint32_t held = s.size;
      while (s.size > 0) rte_pktmbuf_free(s.pop_front());
      s.c.drained.add(held);
      freed += held;
    }
  };
  drain_queues(rxq_.get(), nrx_);
  drain_queues(txq_.get(), ntx_);
  return freed;
}

}  // namespace bypass
