#include <bypass/conn/encryption_mappings.hpp>

#include <sodium.h>

#include <algorithm>

#include <bypass/conn/netcode_now.hpp>

namespace bypass::conn {

EncryptionMappings::EncryptionMappings(uint32_t capacity)
    : entries_(std::clamp<uint32_t>(capacity, 1, HashIndex::kMaxEntries)),
      free_(entries_.size()),
      index_(static_cast<uint32_t>(entries_.size())) {
  clear();
}

EncryptionMappings::~EncryptionMappings() {
  sodium_memzero(entries_.data(), entries_.size() * sizeof(Mapping));
}

void EncryptionMappings::clear() {
  sodium_memzero(entries_.data(), entries_.size() * sizeof(Mapping));
  std::fill(entries_.begin(), entries_.end(), Mapping{});
  const auto n = static_cast<uint32_t>(entries_.size());
  for (uint32_t i = 0; i < n; ++i) free_[i] = n - 1 - i;
  free_count_ = n;
  sweep_cursor_ = 0;
  index_.clear();
}

bool EncryptionMappings::expired(const Mapping& m, uint64_t now_ns) const {
  if (m.client_index != kNone) return false;
  if (m.timeout_seconds > 0 &&
      m.last_access_ns + static_cast<uint64_t>(m.timeout_seconds) * kNanosPerSecond < now_ns) {
    return true;
  }
  return m.deadline_ns != kNoDeadline && m.deadline_ns < now_ns;
}

uint32_t EncryptionMappings::find(const NetcodeAddress& a) const {
  return index_.find(hash_.address(a), [&](uint32_t i) { return entries_[i].address == a; });
}

uint32_t EncryptionMappings::find_live(const NetcodeAddress& a, uint64_t now_ns, uint32_t hint) {
  const bool hit = hint < entries_.size() && entries_[hint].used && entries_[hint].address == a;
  const uint32_t m = hit ? hint : find(a);
  if (m == kNone) return kNone;
  Mapping& e = entries_[m];
  if (e.client_index != kNone) return m;
  if (expired(e, now_ns)) {
    remove(m);
    return kNone;
  }
  e.last_access_ns = now_ns;
  return m;
}

uint32_t EncryptionMappings::add(const NetcodeAddress& a, const Key& send_key,
                                 const Key& receive_key, int32_t timeout_seconds,
                                 HistoryRef history, uint64_t now_ns, uint64_t token_deadline_ns) {
  uint32_t m = find(a);
  if (m != kNone && entries_[m].client_index != kNone) return kNone;
  if (m == kNone) {
    if (free_count_ == 0) sweep(now_ns, kReclaimBudget);
    if (free_count_ == 0) return kNone;
    m = free_[--free_count_];
    Mapping& e = entries_[m];
    e.address = a;
    e.hash = hash_.address(a);
    e.used = true;
    index_.insert(e.hash, m);  // cannot fail: room for every mapping
  }
  Mapping& e = entries_[m];
  e.send_key = send_key;
  e.receive_key = receive_key;
  e.timeout_seconds = timeout_seconds;
  e.last_access_ns = now_ns;
  e.deadline_ns = std::min(token_deadline_ns,
                           timeout_seconds >= 0
                               ? now_ns + static_cast<uint64_t>(timeout_seconds) * kNanosPerSecond
                               : kNoDeadline);
  e.client_index = kNone;
  e.history = history;
  return m;
}

void EncryptionMappings::bind(uint32_t m, uint32_t client_index) {
  entries_[m].client_index = client_index;
  entries_[m].deadline_ns = kNoDeadline;
}

void EncryptionMappings::remove(uint32_t m) {
  Mapping& e = entries_[m];
  if (!e.used) return;
  index_.erase(e.hash, m);
  sodium_memzero(&e, sizeof(e));
  e = Mapping{};
  free_[free_count_++] = m;
}

void EncryptionMappings::sweep(uint64_t now_ns, uint32_t budget) {
  const auto n = static_cast<uint32_t>(entries_.size());
  budget = std::min(budget, n);
  for (uint32_t k = 0; k < budget; ++k) {
    const uint32_t m = sweep_cursor_;
    sweep_cursor_ = (sweep_cursor_ + 1 == n) ? 0 : sweep_cursor_ + 1;
    if (entries_[m].used && expired(entries_[m], now_ns)) remove(m);
  }
}

}  // namespace bypass::conn
