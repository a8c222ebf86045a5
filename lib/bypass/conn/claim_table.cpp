#include <bypass/conn/claim_table.hpp>

#include <algorithm>
#include <string>

#include <bypass/conn/keys.hpp>
#include <bypass/core/prefetch.hpp>

namespace bypass::conn {

namespace {

// head: generation (13 bits) | tag (8 bits of the key's hash) | state (3
// bits) | expire (40 bits). The tag lets a lookup skip the keys of most
// other slots without reading them.
constexpr uint64_t kExpireMask = ClaimTable::kNever;
constexpr int kStateShift = 40;
constexpr int kTagShift = 43;
constexpr int kGenShift = 51;
constexpr uint64_t kGenMask = (uint64_t{1} << 13) - 1;

uint64_t make(uint32_t gen, uint8_t tag, ClaimTable::State st, uint64_t expire) {
  return (uint64_t{gen} & kGenMask) << kGenShift | uint64_t{tag} << kTagShift |
         uint64_t{static_cast<uint8_t>(st)} << kStateShift | (expire & kExpireMask);
}
uint8_t tag_of(uint64_t h) {
  return static_cast<uint8_t>(h >> kTagShift);
}
uint32_t gen_of(uint64_t h) {
  return static_cast<uint32_t>(h >> kGenShift);
}
ClaimTable::State state_of(uint64_t h) {
  return static_cast<ClaimTable::State>((h >> kStateShift) & 7);
}
uint64_t expire_of(uint64_t h) {
  return h & kExpireMask;
}
bool claimed(ClaimTable::State s) {
  return s == ClaimTable::State::kHeld || s == ClaimTable::State::kFinal;
}

}  // namespace

Expected<std::unique_ptr<ClaimTable>> ClaimTable::create(uint32_t capacity) {
  if (capacity < 1 || capacity > kMaxCapacity)
    return Status::error("claim table: capacity must be in [1, " + std::to_string(kMaxCapacity) +
                         "], got " + std::to_string(capacity));
  BYPASS_TRY(crypto_init());
  const uint32_t ways = std::min(capacity, kWays);
  return std::unique_ptr<ClaimTable>(new ClaimTable((capacity + ways - 1) / ways, ways));
}

ClaimTable::ClaimTable(uint32_t buckets, uint32_t ways)
    : buckets_(buckets),
      ways_(ways),
      heads_(uint64_t{buckets} * ways),
      bodies_(uint64_t{buckets} * ways) {}

void ClaimTable::clear() {
  latest_.store(0, std::memory_order_relaxed);
  for (auto& head : heads_) {
    const uint64_t h = head.load(std::memory_order_relaxed);
    head.store(make(gen_of(h) + 1, 0, State::kFree, 0), std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

ClaimTable::Place ClaimTable::place_of(const Key& key) const {
  const uint64_t h = hash_.words(key[0], key[1], 0);
  // The bucket from the hash's high bits (multiply-shift), the tag from its low byte.
  const unsigned __int128 m = static_cast<unsigned __int128>(h) * buckets_;
  return {static_cast<uint64_t>(m >> 64) * ways_, static_cast<uint8_t>(h)};
}

void ClaimTable::prefetch(const Key& key) const {
  const uint64_t base = place_of(key).base;
  // A bucket's heads are two cache lines (16 ways of 8 bytes, from a
  // 128-byte boundary: the arrays start page-aligned). A claim takes the
  // first free way: with buckets mostly empty, one of the first four, whose
  // bodies (40 bytes each) are the bucket's first three lines.
  __builtin_prefetch(&heads_[base]);
  __builtin_prefetch(&heads_[base + ways_ - 1]);
  prefetch_lines<kForWrite>(&bodies_[base], std::min<size_t>(ways_, 4) * sizeof(Body));
}

bool ClaimTable::read(uint64_t at, uint64_t h, Key& key, Data* data) const {
  const Body& b = bodies_[at];
  for (size_t i = 0; i < key.size(); ++i) key[i] = b.key[i].load(std::memory_order_relaxed);
  if (data != nullptr)
    for (size_t i = 0; i < data->size(); ++i)
      (*data)[i] = b.data[i].load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  return heads_[at].load(std::memory_order_relaxed) == h;
}

ClaimTable::Result ClaimTable::find(const Key& key, uint64_t now) const {
  return find_at(place_of(key), key, std::max(now, latest_.load(std::memory_order_seq_cst)));
}

ClaimTable::Result ClaimTable::find_at(Place p, const Key& key, uint64_t now, Slot* free) const {
  const uint64_t base = p.base;
  Result r;
  r.outcome = Outcome::kAbsent;
  for (uint32_t w = 0; w < ways_; ++w) {
    const uint64_t at = base + w;
    const uint64_t h = heads_[at].load(std::memory_order_seq_cst);
    // Most ways hold another key (or none, tag 0): the tag rules them out
    // first, and they matter only as the first slot a claim may take.
    const bool mine = tag_of(h) == p.tag;
    if (!mine && (free == nullptr || free->way != ways_)) continue;
    const State st = state_of(h);
    const bool keyed = st == State::kKeyed || (claimed(st) && expire_of(h) > now);
    if (!keyed) {
      // The first slot a claim may take: free, or holding an expired claim.
      if (free != nullptr && free->way == ways_ && st != State::kClaiming) *free = {w, h};
      continue;
    }
    if (!mine) continue;
    Key k;
    Data d;
    if (!read(at, h, k, &d)) {
      r.outcome = Outcome::kBusy;
      continue;
    }
    if (k != key) continue;
    if (st == State::kKeyed) return {Outcome::kBusy, {}, st, {}};
    return {Outcome::kFound, {static_cast<uint32_t>(base + w), gen_of(h)}, st, d};
  }
  return r;  // kAbsent, or kBusy if a slot changed under us
}

ClaimTable::Result ClaimTable::claim(const Key& key, const Data& data, uint64_t expire,
                                     uint64_t now) {
  if (expire > kNever) expire = kNever;
  // The latest time: raised before this claim may reclaim anything.
  uint64_t latest = latest_.load(std::memory_order_seq_cst);
  while (latest < now && !latest_.compare_exchange_weak(latest, now, std::memory_order_seq_cst)) {
  }
  now = std::max(now, latest);
  if (expire <= now) return {Outcome::kExpired, {}, State::kFree, {}};
  const Place p = place_of(key);
  const uint64_t base = p.base;
  for (int attempt = 0; attempt < 4; ++attempt) {
    // 1. An unexpired claim on the key, or a slot to take (one pass).
    Slot free{ways_, 0};
    Result found = find_at(p, key, now, &free);
    if (found.outcome == Outcome::kFound) return found;
    if (found.outcome == Outcome::kBusy) continue;
    if (free.way == ways_) return {Outcome::kFull, {}, State::kFree, {}};
    const uint32_t take = free.way;
    uint64_t take_head = free.head;
    // 2. Take it, write the key, announce.
    std::atomic<uint64_t>& head = heads_[base + take];
    Body& body = bodies_[base + take];
    const uint32_t g = gen_of(take_head) + 1;
    if (!head.compare_exchange_strong(take_head, make(g, p.tag, State::kClaiming, expire),
                                      std::memory_order_acq_rel)) {
      continue;
    }
    std::atomic_thread_fence(std::memory_order_release);
    for (size_t i = 0; i < key.size(); ++i) body.key[i].store(key[i], std::memory_order_relaxed);
    for (size_t i = 0; i < data.size(); ++i) body.data[i].store(data[i], std::memory_order_relaxed);
    head.store(make(g, p.tag, State::kKeyed, expire), std::memory_order_seq_cst);
    // 3. Another announcement of the same key: step back.
    bool other = false;
    for (uint32_t w = 0; w < ways_ && !other; ++w) {
      if (w == take) continue;
      const uint64_t h = heads_[base + w].load(std::memory_order_seq_cst);
      if (tag_of(h) != p.tag) continue;  // another key (the tag is set before kKeyed)
      const State st = state_of(h);
      if (st != State::kKeyed && !(claimed(st) && expire_of(h) > now)) continue;
      Key k;
      other = !read(base + w, h, k, nullptr) || k == key;
    }
    // A worker ahead in time may have reclaimed an expired claim on this key
    // while this one looked: it raised the latest time first, so it shows here.
    const bool expired = expire <= latest_.load(std::memory_order_seq_cst);
    if (other || expired) {
      head.store(make(g + 1, 0, State::kFree, 0), std::memory_order_seq_cst);
      return {expired ? Outcome::kExpired : Outcome::kBusy, {}, State::kFree, {}};
    }
    head.store(make(g, p.tag, State::kHeld, expire), std::memory_order_release);
    return {Outcome::kInserted,
            {static_cast<uint32_t>(base + take), static_cast<uint32_t>(g & kGenMask)},
            State::kHeld,
            data};
  }
  return {Outcome::kBusy, {}, State::kFree, {}};
}

ClaimTable::Step ClaimTable::finalize(Ref ref) {
  if (ref.index >= heads_.size()) return Step::kGone;
  std::atomic<uint64_t>& head = heads_[ref.index];
  uint64_t h = head.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(h) != ref.generation) return Step::kGone;
    if (state_of(h) == State::kFinal) return Step::kAlready;
    if (state_of(h) != State::kHeld) return Step::kGone;
    if (head.compare_exchange_weak(h, make(ref.generation, tag_of(h), State::kFinal, expire_of(h)),
                                   std::memory_order_acq_rel))
      return Step::kDone;
  }
}

bool ClaimTable::release(Ref ref) {
  if (ref.index >= heads_.size()) return false;
  std::atomic<uint64_t>& head = heads_[ref.index];
  uint64_t h = head.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(h) != ref.generation || !claimed(state_of(h))) return false;
    if (head.compare_exchange_weak(h, make(ref.generation + 1, 0, State::kFree, 0),
                                   std::memory_order_acq_rel))
      return true;
  }
}

uint32_t ClaimTable::live(uint64_t now) const {
  now = std::max(now, latest_.load(std::memory_order_seq_cst));
  uint32_t n = 0;
  for (const auto& head : heads_) {
    const uint64_t h = head.load(std::memory_order_acquire);
    n += claimed(state_of(h)) && expire_of(h) > now;
  }
  return n;
}

}  // namespace bypass::conn
