#include "bypass/net/neighbor.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

namespace bypass {
namespace {

constexpr uint32_t kMaxCapacity = 1u << 24;
constexpr uint32_t kMaxHeldTotal = 1u << 24;
constexpr uint32_t kMaxHeldPerEntry = UINT16_MAX;
constexpr uint32_t kMaxProbes = UINT8_MAX;
constexpr uint32_t kMaxChangeLog = 4096;

// hz * ms / 1000 without overflow (saturates).
uint64_t ms_to_ticks(uint64_t hz, uint64_t ms) {
  const uint64_t q = hz / 1000, r = hz % 1000;
  if (q != 0 && ms > UINT64_MAX / q) return UINT64_MAX;
  const uint64_t a = q * ms, b = r * ms / 1000;
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t mix(uint64_t z) {
  z ^= z >> 33;
  z *= 0xff51afd7ed558ccdull;
  z ^= z >> 33;
  z *= 0xc4ceb9fe1a85ec53ull;
  return z ^ (z >> 33);
}

bool valid_ip(const IpAddr& ip) {
  if (ip.is_v4()) return ip.v4_be() != 0 && !ip.is_v4_multicast_or_broadcast();
  if (ip.is_v6()) {
    if (ip.is_v6_multicast()) return false;
    return std::any_of(ip.b.begin(), ip.b.end(), [](uint8_t x) { return x != 0; });
  }
  return false;
}

bool valid_mac(const MacAddr& mac) {
  return !mac.is_zero() && !mac.is_multicast();
}

// Counter has no subtraction; adding 2^64 - 1 is subtracting one (unsigned wrap).
void decrement(Counter& c) {
  c.add(~uint64_t{0});
}

std::string range_error(const char* field, uint64_t value, uint64_t lo, uint64_t hi,
                        const char* example) {
  return "neighbor cache: " + std::string(field) + " is " + std::to_string(value) +
         " but must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
         ": set it to, e.g., " + example + ".";
}

}  // namespace

Status NeighborCache::check(const NeighborOptions& o) {
  if (o.capacity < 1 || o.capacity > kMaxCapacity)
    return Status::error(range_error("capacity", o.capacity, 1, kMaxCapacity, "1024"));
  if (o.reachable_ms < 1)
    return Status::error(range_error("reachable_ms", 0, 1, UINT32_MAX, "30000"));
  if (o.stale_ms < 1) return Status::error(range_error("stale_ms", 0, 1, UINT32_MAX, "60000"));
  if (o.retry_ms < 1) return Status::error(range_error("retry_ms", 0, 1, UINT32_MAX, "1000"));
  if (o.max_probes < 1 || o.max_probes > kMaxProbes)
    return Status::error(range_error("max_probes", o.max_probes, 1, kMaxProbes, "3"));
  if (o.held_total < 1 || o.held_total > kMaxHeldTotal)
    return Status::error(range_error("held_total", o.held_total, 1, kMaxHeldTotal, "256"));
  const uint32_t per_entry_max = std::min(kMaxHeldPerEntry, o.held_total);
  if (o.held_per_entry < 1 || o.held_per_entry > per_entry_max)
    return Status::error(range_error("held_per_entry", o.held_per_entry, 1, per_entry_max,
                                     "8 (and never more than held_total)"));
  if (o.change_log > kMaxChangeLog)
    return Status::error(range_error("change_log", o.change_log, 0, kMaxChangeLog, "16"));
  return Status::ok();
}

NeighborCache::NeighborCache(const NeighborOptions& o, uint64_t hz)
    : capacity_(std::clamp(o.capacity, 1u, kMaxCapacity)),
      reachable_(ms_to_ticks(hz, std::max(o.reachable_ms, 1u))),
      stale_(ms_to_ticks(hz, std::max(o.stale_ms, 1u))),
      retry_(ms_to_ticks(hz, std::max(o.retry_ms, 1u))),
      failed_(ms_to_ticks(hz, o.failed_ms)),
      max_probes_(std::clamp(o.max_probes, 1u, kMaxProbes)),
      seed_(o.hash_seed) {
  const uint32_t held_total = std::clamp(o.held_total, 1u, kMaxHeldTotal);
  held_per_entry_ = std::clamp(o.held_per_entry, 1u, std::min(kMaxHeldPerEntry, held_total));
  if (seed_ == 0) {
    std::random_device rd;
    seed_ = (uint64_t{rd()} << 32) | rd();
  }
  entries_.resize(capacity_);
  for (uint32_t i = 0; i < capacity_; ++i) entries_[i].next = i + 1 < capacity_ ? i + 1 : kNil;
  free_ = 0;
  used_.reserve(capacity_);
  used_at_.assign(capacity_, kNil);
  uint32_t slots = 2;
  while (slots < 2 * capacity_) slots *= 2;  // load factor at most 1/2
  slots_.assign(slots, kNil);
  mask_ = slots - 1;
  held_mbuf_.assign(held_total, nullptr);
  held_next_.resize(held_total);
  for (uint32_t i = 0; i < held_total; ++i) held_next_[i] = i + 1 < held_total ? i + 1 : kNil;
  held_free_ = 0;
  log_.resize(std::min(o.change_log, kMaxChangeLog));
}

NeighborCache::~NeighborCache() {
  for (uint32_t i = 0; i < capacity_; ++i)
    for (uint32_t c = detach_held(i); c != kNil;) rte_pktmbuf_free(take_held(c));
}

uint32_t NeighborCache::hash(const IpAddr& ip) const {
  uint64_t x, y;
  std::memcpy(&x, ip.b.data(), 8);
  std::memcpy(&y, ip.b.data() + 8, 8);
  uint64_t h = mix(seed_ ^ (static_cast<uint64_t>(ip.family) << 56) ^ x);
  h = mix(h ^ y);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

uint32_t NeighborCache::find(const IpAddr& ip) const {
  const uint32_t h = hash(ip);
  for (uint32_t s = h & mask_;; s = (s + 1) & mask_) {
    const uint32_t i = slots_[s];
    if (i == kNil) return kNil;
    if (entries_[i].hash == h && entries_[i].ip == ip) return i;
  }
}

NeighborCache::List* NeighborCache::list_of(NeighborState s) {
  if (s == NeighborState::kStale) return &stale_list_;
  if (s == NeighborState::kFailed) return &failed_list_;
  return nullptr;
}

void NeighborCache::unlink(uint32_t i, List& l) {
  Entry& e = entries_[i];
  (e.prev == kNil ? l.head : entries_[e.prev].next) = e.next;
  (e.next == kNil ? l.tail : entries_[e.next].prev) = e.prev;
  e.prev = e.next = kNil;
}

void NeighborCache::set_state(uint32_t i, NeighborState s, uint64_t now) {
  Entry& e = entries_[i];
  if (List* l = list_of(e.state)) unlink(i, *l);
  e.state = s;
  e.since = now;
  e.probes = 0;
  if (List* l = list_of(s)) {  // newest at the tail
    e.prev = l->tail;
    e.next = kNil;
    (l->tail == kNil ? l->head : entries_[l->tail].next) = i;
    l->tail = i;
  }
}

uint32_t NeighborCache::allocate(const IpAddr& ip) {
  if (free_ == kNil) {
    // The oldest FAILED entry, else the oldest STALE one; never one holding packets.
    uint32_t victim = kNil;
    for (const List* l : {&failed_list_, &stale_list_}) {
      for (uint32_t i = l->head; i != kNil && victim == kNil; i = entries_[i].next)
        if (entries_[i].held == 0) victim = i;
      if (victim != kNil) break;
    }
    if (victim == kNil) {
      counters_.table_full.add();
      return kNil;
    }
    remove(victim);
    counters_.evictions.add();
  }
  const uint32_t i = free_;
  free_ = entries_[i].next;
  Entry& e = entries_[i];
  e = Entry{};
  e.ip = ip;
  e.hash = hash(ip);
  uint32_t s = e.hash & mask_;
  while (slots_[s] != kNil) s = (s + 1) & mask_;
  slots_[s] = i;
  used_at_[i] = static_cast<uint32_t>(used_.size());
  used_.push_back(i);
  counters_.entries.add();
  return i;
}

void NeighborCache::remove(uint32_t i) {
  Entry& e = entries_[i];
  if (List* l = list_of(e.state)) unlink(i, *l);
  uint32_t s = e.hash & mask_;
  while (slots_[s] != i) s = (s + 1) & mask_;
  // Backward-shift deletion: pull later members of the probe run into the hole,
  // so the table needs no tombstones.
  for (uint32_t j = (s + 1) & mask_; slots_[j] != kNil; j = (j + 1) & mask_) {
    const uint32_t home = entries_[slots_[j]].hash & mask_;
    const bool stays = s <= j ? (home > s && home <= j) : (home > s || home <= j);
    if (!stays) {
      slots_[s] = slots_[j];
      s = j;
    }
  }
  slots_[s] = kNil;
  const uint32_t at = used_at_[i], last = used_.back();
  used_[at] = last;
  used_at_[last] = at;
  used_.pop_back();
  used_at_[i] = kNil;
  e.state = NeighborState::kFree;
  e.next = free_;
  free_ = i;
  decrement(counters_.entries);
}

void NeighborCache::log_change(uint32_t i, const MacAddr& new_mac, uint64_t now) {
  counters_.mac_changes.add();
  ++log_count_;
  if (log_.empty()) return;
  log_[(log_count_ - 1) % log_.size()] = {log_count_, now, entries_[i].ip, entries_[i].mac,
                                          new_mac};
}

void NeighborCache::note(JournalKind k, uint32_t i, const MacAddr* old) {
  if (!journal_) return;
  const Entry& e = entries_[i];
  if (k == JournalKind::kNeighborExpired && !has_mac(e.state)) return;  // never resolved
  JournalEvent ev;
  ev.kind = k;
  ev.port = journal_port_;
  ev.family = e.ip.family == IpAddr::Family::kV6 ? 6 : 4;
  ev.ip = e.ip.b;
  ev.mac = e.mac.b;
  if (old) ev.old_mac = old->b;
  journal_->push(ev);
}

size_t NeighborCache::recent_changes(std::span<MacChange> out) const {
  const uint64_t kept = std::min<uint64_t>(log_count_, log_.size());
  const size_t n = static_cast<size_t>(std::min<uint64_t>(kept, out.size()));
  for (size_t k = 0; k < n; ++k) out[k] = log_[(log_count_ - n + k) % log_.size()];
  return n;
}

const MacAddr* NeighborCache::lookup(const IpAddr& ip, uint64_t now) {
  const uint32_t i = find(ip);
  if (i == kNil) return nullptr;
  Entry& e = entries_[i];
  switch (e.state) {
    case NeighborState::kReachable:
      if (now < e.since || now - e.since < reachable_) return &e.mac;
      [[fallthrough]];
    case NeighborState::kStale:
      set_state(i, NeighborState::kProbe, now);  // the next tick() probes it
      return &e.mac;
    case NeighborState::kProbe:
    case NeighborState::kStatic:
      return &e.mac;
    default:
      return nullptr;
  }
}

LearnResult NeighborCache::learn(const IpAddr& ip, const MacAddr& mac, uint64_t now, LearnKind kind,
                                 bool override) {
  if (!valid_ip(ip) || !valid_mac(mac)) {
    counters_.rejected.add();
    return LearnResult::kIgnored;
  }
  // A reply confirms the path to the peer; anything else only says it exists.
  const NeighborState to =
      kind == LearnKind::kReply ? NeighborState::kReachable : NeighborState::kStale;
  uint32_t i = find(ip);
  if (i == kNil) {
    if (kind != LearnKind::kRequest) return LearnResult::kIgnored;
    if ((i = allocate(ip)) == kNil) return LearnResult::kIgnored;
    entries_[i].mac = mac;
    set_state(i, NeighborState::kStale, now);  // RFC 4861 7.2.3
    counters_.added.add();
    note(JournalKind::kNeighborLearned, i, nullptr);
    return LearnResult::kAdded;
  }
  Entry& e = entries_[i];
  if (e.state == NeighborState::kStatic) {
    if (e.mac != mac) counters_.static_conflicts.add();
    return LearnResult::kIgnored;
  }
  if (!has_mac(e.state)) {  // INCOMPLETE or FAILED
    e.mac = mac;
    set_state(i, to, now);
    counters_.added.add();
    note(JournalKind::kNeighborLearned, i, nullptr);
    return LearnResult::kAdded;
  }
  if (e.mac == mac) {
    if (kind == LearnKind::kReply) set_state(i, NeighborState::kReachable, now);
    return LearnResult::kRefreshed;
  }
  if (!override) {
    if (e.state == NeighborState::kReachable) set_state(i, NeighborState::kStale, now);
    return LearnResult::kIgnored;
  }
  log_change(i, mac, now);
  const MacAddr old = e.mac;
  e.mac = mac;
  set_state(i, to, now);
  note(JournalKind::kNeighborChanged, i, &old);
  return LearnResult::kMacChanged;
}

bool NeighborCache::hold(const IpAddr& ip, rte_mbuf* m, uint64_t now) {
  uint32_t i = kNil;
  if (m != nullptr && valid_ip(ip) && held_free_ != kNil) {
    i = find(ip);
    // A new entry starts INCOMPLETE with no probe sent: the next tick() sends one.
    if (i == kNil && (i = allocate(ip)) != kNil) set_state(i, NeighborState::kIncomplete, now);
  }
  if (i == kNil || entries_[i].state == NeighborState::kFailed ||
      entries_[i].held >= held_per_entry_) {
    counters_.held_dropped.add();
    return false;
  }
  Entry& e = entries_[i];
  const uint32_t c = held_free_;
  held_free_ = held_next_[c];
  held_mbuf_[c] = m;
  held_next_[c] = kNil;
  (e.held_tail == kNil ? e.held_head : held_next_[e.held_tail]) = c;
  e.held_tail = c;
  ++e.held;
  ++held_total_;
  counters_.held.add();
  return true;
}

uint32_t NeighborCache::detach_held(uint32_t i) {
  Entry& e = entries_[i];
  const uint32_t head = e.held_head;
  e.held_head = e.held_tail = kNil;
  e.held = 0;
  return head;
}

rte_mbuf* NeighborCache::take_held(uint32_t& cursor) {
  const uint32_t c = cursor;
  rte_mbuf* m = held_mbuf_[c];
  cursor = held_next_[c];
  held_mbuf_[c] = nullptr;
  held_next_[c] = held_free_;
  held_free_ = c;
  --held_total_;
  return m;
}

bool NeighborCache::add_static(const IpAddr& ip, const MacAddr& mac, uint64_t now) {
  if (!valid_ip(ip) || !valid_mac(mac)) return false;
  uint32_t i = find(ip);
  if (i == kNil) {
    if ((i = allocate(ip)) == kNil) return false;
  } else if (has_mac(entries_[i].state) && entries_[i].mac != mac) {
    log_change(i, mac, now);
  }
  entries_[i].mac = mac;
  set_state(i, NeighborState::kStatic, now);
  return true;
}

NeighborCache::Action NeighborCache::advance(uint32_t i, uint64_t now) {
  Entry& e = entries_[i];
  if (e.state == NeighborState::kFree || e.state == NeighborState::kStatic) return Action::kNone;
  // The clock went back: restart the timers from now rather than wait for it.
  e.since = std::min(e.since, now);
  e.probed = std::min(e.probed, now);
  const uint64_t age = now - e.since;
  switch (e.state) {
    case NeighborState::kReachable:
      if (age >= reachable_) set_state(i, NeighborState::kStale, now);
      return Action::kNone;
    case NeighborState::kStale:
      return age >= stale_ ? Action::kRemove : Action::kNone;
    case NeighborState::kFailed:
      return age >= failed_ ? Action::kRemove : Action::kNone;
    case NeighborState::kIncomplete:
    case NeighborState::kProbe:
      if (e.probes < max_probes_) {
        if (e.probes > 0 && now - e.probed < retry_) return Action::kNone;
        ++e.probes;
        e.probed = now;
        counters_.probes.add();
        return Action::kProbe;
      }
      if (now - e.probed < retry_) return Action::kNone;
      counters_.resolution_failures.add();
      if (e.state == NeighborState::kProbe) return Action::kRemove;  // RFC 4861 7.3.3
      set_state(i, NeighborState::kFailed, now);
      return Action::kFail;
    default:
      return Action::kNone;
  }
}

NeighborInfo NeighborCache::info(uint32_t i) const {
  const Entry& e = entries_[i];
  NeighborInfo n;
  n.ip = e.ip;
  if (has_mac(e.state)) n.mac = e.mac;
  n.state = e.state;
  n.held = e.held;
  n.probes = e.probes;
  return n;
}

std::optional<NeighborInfo> NeighborCache::get(const IpAddr& ip) const {
  const uint32_t i = find(ip);
  if (i == kNil) return std::nullopt;
  return info(i);
}

}  // namespace bypass
