#include <bypass/conn/token_history.hpp>

#include <string>

#include <bypass/conn/keys.hpp>

namespace bypass::conn {

Expected<TokenHistory> TokenHistory::create(uint32_t capacity) {
  if (capacity < 1 || capacity > kMaxCapacity) {
    return Status::error("connect token history: capacity must be in [1, " +
                         std::to_string(kMaxCapacity) + "], got " + std::to_string(capacity) +
                         "; size it for every token the backend issues to this server within one "
                         "token lifetime (the reference uses 8 x max clients)");
  }
  BYPASS_TRY(crypto_init());
  return TokenHistory(capacity);
}

TokenHistory::TokenHistory(uint32_t capacity)
    : entries_(capacity), free_(capacity), index_(capacity) {
  clear();
}

void TokenHistory::clear() {
  for (auto& e : entries_) {
    const uint32_t g = e.generation + 1;
    e = Entry{};
    e.generation = g;
  }
  // Lowest index on top, so entries fill from the front (nothing depends on it).
  const auto n = static_cast<uint32_t>(entries_.size());
  for (uint32_t i = 0; i < n; ++i) free_[i] = n - 1 - i;
  free_count_ = n;
  index_.clear();
  swept_ = false;
}

uint32_t TokenHistory::find(const Mac& mac, uint64_t hash) const {
  return index_.find(hash, [&](uint32_t i) { return entries_[i].mac == mac; });
}

void TokenHistory::release(uint32_t i) {
  Entry& e = entries_[i];
  index_.erase(e.hash, i);
  const uint32_t g = e.generation + 1;
  e = Entry{};
  e.generation = g;
  free_[free_count_++] = i;
}

void TokenHistory::sweep(uint64_t now_unix) {
  swept_ = true;
  swept_at_ = now_unix;
  const auto n = static_cast<uint32_t>(entries_.size());
  for (uint32_t i = 0; i < n; ++i) {
    const Entry& e = entries_[i];
    if (e.state != State::kFree && e.expire_timestamp <= now_unix) release(i);
  }
}

TokenHistory::Admission TokenHistory::admit(const Mac& token_mac, const NetcodeAddress& from,
                                            uint64_t expire_timestamp, uint64_t now_unix) {
  const uint64_t h = hash_.bytes(token_mac);
  if (const uint32_t i = find(token_mac, h); i != HashIndex::kNone) {
    const Entry& e = entries_[i];
    if (e.expire_timestamp > now_unix) {
      if (e.state == State::kPending && e.address == from) {
        return {Verdict::kAdmitted, {i, e.generation}};
      }
      return {Verdict::kAlreadyUsed, {}};
    }
    release(i);  // expired: its token cannot pass the expiry check any more anyway
  }
  if (free_count_ == 0) {
    if (swept_ && swept_at_ == now_unix) return {Verdict::kFull, {}};
    sweep(now_unix);
    if (free_count_ == 0) return {Verdict::kFull, {}};
  }
  const uint32_t i = free_[--free_count_];
  Entry& e = entries_[i];
  e.mac = token_mac;
  e.address = from;
  e.expire_timestamp = expire_timestamp;
  e.created_timestamp = now_unix;
  e.hash = h;
  e.state = State::kPending;
  index_.insert(h, i);  // cannot fail: the index has room for every entry
  return {Verdict::kAdmitted, {i, e.generation}};
}

const TokenHistory::Entry* TokenHistory::entry(HistoryRef ref) const {
  if (ref.index >= entries_.size()) return nullptr;
  const Entry& e = entries_[ref.index];
  if (e.generation != ref.generation || e.state == State::kFree) return nullptr;
  return &e;
}

bool TokenHistory::consume(HistoryRef ref) {
  if (entry(ref) == nullptr) return false;
  entries_[ref.index].state = State::kConsumed;
  return true;
}

TokenHistory::State TokenHistory::state(const Mac& token_mac, uint64_t now_unix) const {
  const uint32_t i = find(token_mac, hash_.bytes(token_mac));
  if (i == HashIndex::kNone || entries_[i].expire_timestamp <= now_unix) return State::kFree;
  return entries_[i].state;
}

}  // namespace bypass::conn
