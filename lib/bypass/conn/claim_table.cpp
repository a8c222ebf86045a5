#include <bypass/conn/claim_table.hpp>

#include <algorithm>
#include <string>

#include <bypass/conn/keys.hpp>

namespace bypass::conn {

namespace {

// head: generation (21 bits) | state (3 bits) | expire (40 bits).
constexpr uint64_t kExpireMask = ClaimTable::kNever;
constexpr int kStateShift = 40;
constexpr int kGenShift = 43;
constexpr uint64_t kGenMask = (uint64_t{1} << 21) - 1;

uint64_t make(uint32_t gen, ClaimTable::State st, uint64_t expire) {
  return (uint64_t{gen} & kGenMask) << kGenShift |
         uint64_t{static_cast<uint8_t>(st)} << kStateShift | (expire & kExpireMask);
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
    : buckets_(buckets), ways_(ways), slots_(uint64_t{buckets} * ways) {}

void ClaimTable::clear() {
  latest_.store(0, std::memory_order_relaxed);
  for (Slot& s : slots_) {
    const uint64_t h = s.head.load(std::memory_order_relaxed);
    s.head.store(make(gen_of(h) + 1, State::kFree, 0), std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

uint32_t ClaimTable::bucket_of(const Key& key) const {
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>(key[i / 8] >> (8 * (i % 8)));
  const unsigned __int128 m = static_cast<unsigned __int128>(hash_.bytes(b)) * buckets_;
  return static_cast<uint32_t>(m >> 64);
}

bool ClaimTable::read(const Slot& s, uint64_t h, Key& key, Data* data) const {
  for (size_t i = 0; i < key.size(); ++i) key[i] = s.key[i].load(std::memory_order_relaxed);
  if (data != nullptr)
    for (size_t i = 0; i < data->size(); ++i)
      (*data)[i] = s.data[i].load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  return s.head.load(std::memory_order_relaxed) == h;
}

ClaimTable::Result ClaimTable::find(const Key& key, uint64_t now) const {
  now = std::max(now, latest_.load(std::memory_order_seq_cst));
  const uint64_t base = uint64_t{bucket_of(key)} * ways_;
  Result r;
  r.outcome = Outcome::kAbsent;
  for (uint32_t w = 0; w < ways_; ++w) {
    const Slot& s = slots_[base + w];
    const uint64_t h = s.head.load(std::memory_order_seq_cst);
    const State st = state_of(h);
    const bool keyed = st == State::kKeyed || (claimed(st) && expire_of(h) > now);
    if (!keyed) continue;
    Key k;
    Data d;
    if (!read(s, h, k, &d)) {
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
  const uint64_t base = uint64_t{bucket_of(key)} * ways_;
  for (int attempt = 0; attempt < 4; ++attempt) {
    // 1. An unexpired claim on the key, or a slot to take.
    Result found = find(key, now);
    if (found.outcome == Outcome::kFound) return found;
    if (found.outcome == Outcome::kBusy) continue;
    uint32_t take = ways_;
    uint64_t take_head = 0;
    for (uint32_t w = 0; w < ways_ && take == ways_; ++w) {
      const uint64_t h = slots_[base + w].head.load(std::memory_order_acquire);
      const State st = state_of(h);
      if (st == State::kFree || (claimed(st) && expire_of(h) <= now)) {
        take = w;
        take_head = h;
      }
    }
    if (take == ways_) return {Outcome::kFull, {}, State::kFree, {}};
    // 2. Take it, write the key, announce.
    Slot& s = slots_[base + take];
    const uint32_t g = gen_of(take_head) + 1;
    if (!s.head.compare_exchange_strong(take_head, make(g, State::kClaiming, expire),
                                        std::memory_order_acq_rel)) {
      continue;
    }
    std::atomic_thread_fence(std::memory_order_release);
    for (size_t i = 0; i < key.size(); ++i) s.key[i].store(key[i], std::memory_order_relaxed);
    for (size_t i = 0; i < data.size(); ++i) s.data[i].store(data[i], std::memory_order_relaxed);
    s.head.store(make(g, State::kKeyed, expire), std::memory_order_seq_cst);
    // 3. Another announcement of the same key: step back.
    bool other = false;
    for (uint32_t w = 0; w < ways_ && !other; ++w) {
      if (w == take) continue;
      const Slot& t = slots_[base + w];
      const uint64_t h = t.head.load(std::memory_order_seq_cst);
      const State st = state_of(h);
      if (st != State::kKeyed && !(claimed(st) && expire_of(h) > now)) continue;
      Key k;
      other = !read(t, h, k, nullptr) || k == key;
    }
    // A worker ahead in time may have reclaimed an expired claim on this key
    // while this one looked: it raised the latest time first, so it shows here.
    const bool expired = expire <= latest_.load(std::memory_order_seq_cst);
    if (other || expired) {
      s.head.store(make(g + 1, State::kFree, 0), std::memory_order_seq_cst);
      return {expired ? Outcome::kExpired : Outcome::kBusy, {}, State::kFree, {}};
    }
    s.head.store(make(g, State::kHeld, expire), std::memory_order_release);
    return {Outcome::kInserted,
            {static_cast<uint32_t>(base + take), static_cast<uint32_t>(g & kGenMask)},
            State::kHeld,
            data};
  }
  return {Outcome::kBusy, {}, State::kFree, {}};
}

ClaimTable::Step ClaimTable::finalize(Ref ref) {
  if (ref.index >= slots_.size()) return Step::kGone;
  Slot& s = slots_[ref.index];
  uint64_t h = s.head.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(h) != ref.generation) return Step::kGone;
    if (state_of(h) == State::kFinal) return Step::kAlready;
    if (state_of(h) != State::kHeld) return Step::kGone;
    if (s.head.compare_exchange_weak(h, make(ref.generation, State::kFinal, expire_of(h)),
                                     std::memory_order_acq_rel))
      return Step::kDone;
  }
}

bool ClaimTable::release(Ref ref) {
  if (ref.index >= slots_.size()) return false;
  Slot& s = slots_[ref.index];
  uint64_t h = s.head.load(std::memory_order_acquire);
  for (;;) {
    if (gen_of(h) != ref.generation || !claimed(state_of(h))) return false;
    if (s.head.compare_exchange_weak(h, make(ref.generation + 1, State::kFree, 0),
                                     std::memory_order_acq_rel))
      return true;
  }
}

uint32_t ClaimTable::live(uint64_t now) const {
  now = std::max(now, latest_.load(std::memory_order_seq_cst));
  uint32_t n = 0;
  for (const Slot& s : slots_) {
    const uint64_t h = s.head.load(std::memory_order_acquire);
    n += claimed(state_of(h)) && expire_of(h) > now;
  }
  return n;
}

}  // namespace bypass::conn
