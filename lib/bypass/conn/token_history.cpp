#include <bypass/conn/token_history.hpp>

#include <cstring>
#include <string>

namespace bypass::conn {

namespace {

// The MAC's bytes as two words and the address packed into three, by
// copying: these keys live only in this process's table. (Built a byte at a
// time, GCC vectorized them through the stack into store-forwarding stalls.)
ClaimTable::Key key_of(const Mac& mac) {
  static_assert(sizeof(ClaimTable::Key) == kMacBytes);
  ClaimTable::Key k;
  std::memcpy(k.data(), mac.data(), kMacBytes);
  return k;
}

// Type, port and IPv4 in the first word; the IPv6 groups in the other two.
ClaimTable::Data data_of(const NetcodeAddress& a) {
  ClaimTable::Data d{};
  d[0] = uint64_t{static_cast<uint8_t>(a.type)} | uint64_t{a.port} << 8;
  if (a.type == AddressType::kIpv4) {
    uint32_t v4;
    std::memcpy(&v4, a.ipv4.data(), sizeof v4);
    d[0] |= uint64_t{v4} << 24;
  } else if (a.type == AddressType::kIpv6) {
    static_assert(sizeof a.ipv6 == 2 * sizeof(uint64_t));
    std::memcpy(&d[1], a.ipv6.data(), sizeof a.ipv6);
  }
  return d;
}

}  // namespace

Expected<TokenHistory> TokenHistory::create(uint32_t capacity) {
  if (capacity < 1 || capacity > kMaxCapacity) {
    return Status::error("connect token history: capacity must be in [1, " +
                         std::to_string(kMaxCapacity) + "], got " + std::to_string(capacity) +
                         "; size it for every token the backend issues to this server within one "
                         "token lifetime (the reference uses 8 x max clients)");
  }
  auto t = ClaimTable::create(capacity);
  if (!t) return t.status();
  return TokenHistory(std::move(*t));
}

TokenHistory::Admission TokenHistory::admit(const Mac& token_mac, const NetcodeAddress& from,
                                            uint64_t expire_timestamp, uint64_t now_unix) {
  const ClaimTable::Data addr = data_of(from);
  const ClaimTable::Result r = table_->claim(key_of(token_mac), addr, expire_timestamp, now_unix);
  switch (r.outcome) {
    case ClaimTable::Outcome::kInserted:
      return {r.ref, Verdict::kAdmitted};
    case ClaimTable::Outcome::kFound:
      if (r.state == ClaimTable::State::kHeld && r.data == addr) return {r.ref, Verdict::kAdmitted};
      return {{}, Verdict::kAlreadyUsed};
    case ClaimTable::Outcome::kFull:
      return {{}, Verdict::kFull};
    case ClaimTable::Outcome::kExpired:
      return {{}, Verdict::kExpired};
    default:
      return {{}, Verdict::kBusy};
  }
}

void TokenHistory::prefetch(const Mac& token_mac) const {
  table_->prefetch(key_of(token_mac));
}

TokenHistory::Consumption TokenHistory::consume(HistoryRef ref) {
  switch (table_->finalize(ref)) {
    case ClaimTable::Step::kDone:
      return Consumption::kConsumed;
    case ClaimTable::Step::kAlready:
      return Consumption::kAlreadyConsumed;
    default:
      return Consumption::kGone;
  }
}

TokenHistory::State TokenHistory::state(const Mac& token_mac, uint64_t now_unix) const {
  const ClaimTable::Result r = table_->find(key_of(token_mac), now_unix);
  if (r.outcome != ClaimTable::Outcome::kFound) return State::kFree;
  return r.state == ClaimTable::State::kFinal ? State::kConsumed : State::kPending;
}

}  // namespace bypass::conn
