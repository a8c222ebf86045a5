// The connect token history (GHSA-v29p-3vj4-vg4f rules): pending admits the
// same address only, consumed admits nothing until expiry, a full history
// refuses instead of evicting, expired entries make room, stale references do
// not consume a later occupant, a token is consumed once; a randomized run
// against a plain model of the reference's one-pass history; and the hash
// index and encryption mappings underneath the server.
#include <bypass/conn/token_history.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <unordered_map>

#include <bypass/conn/claim_table.hpp>
#include <bypass/conn/encryption_mappings.hpp>
#include <bypass/conn/hash_index.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_now.hpp>

namespace bypass::conn {
namespace {

using Verdict = TokenHistory::Verdict;
using State = TokenHistory::State;
using Consumption = TokenHistory::Consumption;

constexpr uint64_t kNow = 1'800'000'000;

Mac mac(uint32_t n) {
  Mac m{};
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>((n >> (8 * (i % 4))) + i);
  return m;
}
NetcodeAddress from(uint8_t host) {
  return NetcodeAddress::v4(192, 168, 0, host, 5000);
}

TokenHistory make(uint32_t capacity) {
  auto h = TokenHistory::create(capacity);
  EXPECT_TRUE(h.has_value());
  return std::move(*h);
}

TEST(TokenHistory, PendingAdmitsSameAddressOnly) {
  TokenHistory h = make(4);
  const auto a = h.admit(mac(1), from(1), kNow + 30, kNow);
  ASSERT_EQ(a.verdict, Verdict::kAdmitted);
  EXPECT_EQ(h.state(mac(1), kNow), State::kPending);
  // A retransmitted request, a few seconds later: same entry.
  const auto again = h.admit(mac(1), from(1), kNow + 30, kNow + 3);
  EXPECT_EQ(again.verdict, Verdict::kAdmitted);
  EXPECT_EQ(again.ref.index, a.ref.index);
  EXPECT_EQ(again.ref.generation, a.ref.generation);
  // Another address: another port, another host, the other family.
  EXPECT_EQ(h.admit(mac(1), from(2), kNow + 30, kNow).verdict, Verdict::kAlreadyUsed);
  EXPECT_EQ(h.admit(mac(1), NetcodeAddress::v4(192, 168, 0, 1, 5001), kNow + 30, kNow).verdict,
            Verdict::kAlreadyUsed);
  EXPECT_EQ(
      h.admit(mac(1), NetcodeAddress::v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1}, 5000), kNow + 30, kNow)
          .verdict,
      Verdict::kAlreadyUsed);
  EXPECT_EQ(h.live(kNow), 1u);
  // An IPv6 address is kept whole: a pending IPv6 token admits its address only.
  const NetcodeAddress v6a = NetcodeAddress::v6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 6}, 7000);
  NetcodeAddress v6b = v6a;
  v6b.ipv6[7] = 7;
  ASSERT_EQ(h.admit(mac(2), v6a, kNow + 30, kNow).verdict, Verdict::kAdmitted);
  EXPECT_EQ(h.admit(mac(2), v6a, kNow + 30, kNow).verdict, Verdict::kAdmitted);
  EXPECT_EQ(h.admit(mac(2), v6b, kNow + 30, kNow).verdict, Verdict::kAlreadyUsed);
}

TEST(TokenHistory, ConsumedAdmitsNothingUntilExpiry) {
  TokenHistory h = make(4);
  const auto a = h.admit(mac(1), from(1), kNow + 30, kNow);
  ASSERT_EQ(h.consume(a.ref), Consumption::kConsumed);
  EXPECT_EQ(h.consume(a.ref), Consumption::kAlreadyConsumed);
  EXPECT_EQ(h.state(mac(1), kNow), State::kConsumed);
  EXPECT_EQ(h.admit(mac(1), from(1), kNow + 30, kNow + 1).verdict, Verdict::kAlreadyUsed);
  EXPECT_EQ(h.admit(mac(1), from(2), kNow + 30, kNow + 1).verdict, Verdict::kAlreadyUsed);
  EXPECT_EQ(h.admit(mac(1), from(1), kNow + 30, kNow + 29).verdict, Verdict::kAlreadyUsed);
  // At the expire timestamp the token is dead (the wire layer refuses it from then on).
  EXPECT_EQ(h.state(mac(1), kNow + 30), State::kFree);
  EXPECT_EQ(h.admit(mac(1), from(1), kNow + 60, kNow + 30).verdict, Verdict::kAdmitted);
}

TEST(TokenHistory, FullRefusesInsteadOfEvicting) {
  TokenHistory h = make(3);
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_EQ(h.admit(mac(i), from(1), kNow + 10 + i, kNow).verdict, Verdict::kAdmitted);
  }
  ASSERT_EQ(h.consume(h.admit(mac(0), from(1), kNow + 10, kNow).ref), Consumption::kConsumed);
  for (uint32_t i = 3; i < 50; ++i) {
    EXPECT_EQ(h.admit(mac(i), from(2), kNow + 100, kNow + 5).verdict, Verdict::kFull);
  }
  // The live entries are all still there, with their states.
  EXPECT_EQ(h.state(mac(0), kNow + 5), State::kConsumed);
  EXPECT_EQ(h.state(mac(1), kNow + 5), State::kPending);
  EXPECT_EQ(h.state(mac(2), kNow + 5), State::kPending);
  EXPECT_EQ(h.admit(mac(0), from(1), kNow + 10, kNow + 5).verdict, Verdict::kAlreadyUsed);
  // Known tokens are still answered while full.
  EXPECT_EQ(h.admit(mac(1), from(1), kNow + 11, kNow + 5).verdict, Verdict::kAdmitted);
  // The first expiry (kNow + 10) frees exactly one entry.
  EXPECT_EQ(h.admit(mac(7), from(2), kNow + 100, kNow + 10).verdict, Verdict::kAdmitted);
  EXPECT_EQ(h.admit(mac(8), from(2), kNow + 100, kNow + 10).verdict, Verdict::kFull);
  EXPECT_EQ(h.admit(mac(8), from(2), kNow + 100, kNow + 11).verdict, Verdict::kAdmitted);
  EXPECT_EQ(h.live(kNow + 11), 3u);
}

TEST(TokenHistory, StaleReferenceDoesNotConsumeTheNextOccupant) {
  TokenHistory h = make(1);
  const auto a = h.admit(mac(1), from(1), kNow + 5, kNow);
  ASSERT_EQ(a.verdict, Verdict::kAdmitted);
  const auto b = h.admit(mac(2), from(2), kNow + 50, kNow + 5);  // mac(1) expired: reused
  ASSERT_EQ(b.verdict, Verdict::kAdmitted);
  EXPECT_EQ(a.ref.index, b.ref.index);
  EXPECT_EQ(h.consume(a.ref), Consumption::kGone);
  EXPECT_EQ(h.state(mac(2), kNow + 5), State::kPending);
  EXPECT_EQ(h.consume(b.ref), Consumption::kConsumed);
  EXPECT_EQ(h.state(mac(2), kNow + 5), State::kConsumed);
}

TEST(TokenHistory, ClearForgetsAndOldReferencesDie) {
  TokenHistory h = make(2);
  const auto a = h.admit(mac(1), from(1), kNow + 30, kNow);
  h.clear();
  EXPECT_EQ(h.live(kNow), 0u);
  EXPECT_EQ(h.consume(a.ref), Consumption::kGone);
  EXPECT_EQ(h.admit(mac(1), from(2), kNow + 30, kNow).verdict, Verdict::kAdmitted);
}

TEST(TokenHistory, CapacityChecked) {
  EXPECT_FALSE(TokenHistory::create(0).has_value());
  EXPECT_FALSE(TokenHistory::create(TokenHistory::kMaxCapacity + 1).has_value());
  auto h = TokenHistory::create(1);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->capacity(), 1u);
  // Past one bucket, whole buckets of 16.
  EXPECT_EQ(TokenHistory::create(17)->capacity(), 32u);
}

// The reference's one-pass history as amended (the notes' description), for comparison.
class ModelHistory {
 public:
  explicit ModelHistory(size_t n) : e_(n) {}
  Verdict admit(const Mac& m, const NetcodeAddress& a, uint64_t expire, uint64_t now) {
    int match = -1, room = -1;
    for (size_t i = 0; i < e_.size(); ++i) {
      const bool live = e_[i].state != State::kFree && e_[i].expire > now;
      if (live && e_[i].mac == m) match = static_cast<int>(i);
      if (!live && room < 0) room = static_cast<int>(i);
    }
    if (match >= 0) {
      const E& x = e_[match];
      return x.state == State::kPending && x.address == a ? Verdict::kAdmitted
                                                          : Verdict::kAlreadyUsed;
    }
    if (room < 0) return Verdict::kFull;
    e_[room] = E{m, a, expire, State::kPending};
    return Verdict::kAdmitted;
  }
  void consume(const Mac& m, uint64_t now) {
    for (auto& x : e_) {
      if (x.state != State::kFree && x.expire > now && x.mac == m) x.state = State::kConsumed;
    }
  }

 private:
  struct E {
    Mac mac{};
    NetcodeAddress address{};
    uint64_t expire = 0;
    State state = State::kFree;
  };
  std::vector<E> e_;
};

TEST(TokenHistory, MatchesTheOnePassModel) {
  std::mt19937_64 rng(7);
  // Up to 16 entries the history is one bucket, so "full" is the model's.
  for (uint32_t capacity : {1u, 2u, 5u, 16u}) {
    TokenHistory h = make(capacity);
    ModelHistory model(capacity);
    std::unordered_map<uint32_t, uint64_t> expire_of;  // a MAC always comes with one expiry
    std::unordered_map<uint32_t, HistoryRef> ref_of;
    uint64_t now = kNow;
    for (int step = 0; step < 20000; ++step) {
      if (rng() % 8 == 0) now += rng() % 3;
      const auto m = static_cast<uint32_t>(rng() % (3 * capacity + 3));
      if (!expire_of.count(m) || expire_of[m] <= now) expire_of[m] = now + 1 + rng() % 20;
      const uint64_t expire = expire_of[m];
      const NetcodeAddress a = from(static_cast<uint8_t>(rng() % 3));
      if (rng() % 4 == 0) {
        if (ref_of.count(m)) {
          h.consume(ref_of[m]);
          model.consume(mac(m), now);
        }
        continue;
      }
      const auto got = h.admit(mac(m), a, expire, now);
      const Verdict want = model.admit(mac(m), a, expire, now);
      ASSERT_EQ(got.verdict, want) << "capacity " << capacity << " step " << step;
      if (got.verdict == Verdict::kAdmitted) ref_of[m] = got.ref;
    }
  }
}

// Workers racing for the same tokens, each from its own address (a stolen
// token), with a small table so buckets are shared and slots reused: of all
// the workers' admissions of one token, at most one address is admitted and
// its token consumed once; the others are refused, told to retry, or find it
// expired. Each worker's clock is its own and lags the others' (a worker
// that falls behind reaches old tokens after another reclaimed their
// entries): the table judges expiry by the latest time any worker gave.
TEST(TokenHistory, WorkersRacingForOneTokenConsumeItOnce) {
  TokenHistory h = make(64);
  constexpr int kThreads = 4;
  constexpr uint32_t kTokens = 20000;
  std::vector<std::atomic<int>> consumed(kTokens);
  std::vector<std::atomic<int>> admitted_by(kTokens);
  for (auto& a : admitted_by) a.store(-1);
  std::atomic<bool> go{false};
  std::atomic<uint64_t> busy{0}, full{0}, expired{0};
  auto run = [&](int t) {
    while (!go.load()) {
    }
    for (uint32_t k = 0; k < kTokens; ++k) {
      // Each token lives 2 "seconds"; the clock moves every 8 tokens, so
      // entries expire and their slots are taken again.
      const uint64_t now = kNow + k / 8;
      const auto a = h.admit(mac(k), from(static_cast<uint8_t>(t)), now + 2, now);
      if (a.verdict == Verdict::kBusy) busy.fetch_add(1);
      if (a.verdict == Verdict::kFull) full.fetch_add(1);
      if (a.verdict == Verdict::kExpired) expired.fetch_add(1);
      if (a.verdict != Verdict::kAdmitted) continue;
      int none = -1;
      if (!admitted_by[k].compare_exchange_strong(none, t)) {
        ADD_FAILURE() << "token " << k << " admitted for two addresses: " << none << " and " << t;
      }
      if (h.consume(a.ref) == Consumption::kConsumed) consumed[k].fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(run, t);
  go.store(true);
  for (auto& th : threads) th.join();
  uint32_t once = 0;
  for (uint32_t k = 0; k < kTokens; ++k) {
    ASSERT_LE(consumed[k].load(), 1) << "token " << k;
    once += consumed[k].load() == 1;
  }
  EXPECT_GT(once, kTokens / 2) << "busy " << busy << " full " << full << " expired " << expired;
  // A token that expired by the latest time is refused, whatever the caller's clock says.
  EXPECT_EQ(h.admit(mac(kTokens + 1), from(9), kNow + 3, kNow).verdict, Verdict::kExpired);
}

// The same for client ids: claims on one id from racing workers, released
// and claimed again; never two holders at once.
TEST(ClaimTable, RacingClaimsNeverHoldOneKeyTwice) {
  auto t = ClaimTable::create(32);
  ASSERT_TRUE(t.has_value());
  ClaimTable& table = **t;
  constexpr uint64_t kIds = 8;
  std::vector<std::atomic<int>> holders(kIds);
  std::atomic<bool> go{false}, bad{false};
  std::atomic<uint64_t> claims{0};
  auto run = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!go.load()) {
    }
    for (int i = 0; i < 100000; ++i) {
      const uint64_t id = rng() % kIds;
      const auto r = table.claim({id, 0}, {}, ClaimTable::kNever, 0);
      if (r.outcome != ClaimTable::Outcome::kInserted) continue;
      if (holders[id].fetch_add(1) != 0) bad.store(true);
      claims.fetch_add(1);
      holders[id].fetch_sub(1);
      if (!table.release(r.ref)) bad.store(true);
    }
  };
  std::vector<std::thread> threads;
  for (uint64_t s = 1; s <= 4; ++s) threads.emplace_back(run, s);
  go.store(true);
  for (auto& th : threads) th.join();
  EXPECT_FALSE(bad.load());
  EXPECT_GT(claims.load(), 1000u);
  EXPECT_EQ(table.live(0), 0u);
  // Not concurrent: claimed once, found, refused a second time, released.
  const auto a = table.claim({5, 0}, {1, 2, 3}, ClaimTable::kNever, 0);
  ASSERT_EQ(a.outcome, ClaimTable::Outcome::kInserted);
  const auto b = table.claim({5, 0}, {}, ClaimTable::kNever, 0);
  EXPECT_EQ(b.outcome, ClaimTable::Outcome::kFound);
  EXPECT_EQ(b.data, (ClaimTable::Data{1, 2, 3}));
  EXPECT_TRUE(table.release(a.ref));
  EXPECT_FALSE(table.release(a.ref));
  EXPECT_EQ(table.find({5, 0}, 0).outcome, ClaimTable::Outcome::kAbsent);
}

TEST(HashIndex, MatchesAMapUnderCollisions) {
  std::mt19937_64 rng(11);
  for (uint32_t max : {1u, 3u, 8u, 100u}) {
    HashIndex idx(max);
    std::unordered_map<uint32_t, uint64_t> model;  // value -> hash
    for (int step = 0; step < 50000; ++step) {
      const auto v = static_cast<uint32_t>(rng() % (2 * max + 2));
      // Few distinct hashes, so probe runs are long and wrap around the end.
      const uint64_t h = (rng() % 4) * 0x9E3779B97F4A7C15ULL + (v % 3) * (idx.slot_count() - 1);
      const bool present = model.count(v) != 0;
      if (present && rng() % 2 == 0) {
        ASSERT_TRUE(idx.erase(model[v], v));
        model.erase(v);
      } else if (!present) {
        const bool ok = idx.insert(h, v);
        ASSERT_EQ(ok, model.size() < max);
        if (ok) model[v] = h;
      }
      ASSERT_EQ(idx.size(), model.size());
      for (const auto& [val, hash] : model) {
        const uint32_t want = val;
        ASSERT_EQ(idx.find(hash, [&](uint32_t x) { return x == want; }), want);
      }
      ASSERT_EQ(idx.find(h, [&](uint32_t x) { return x == 0xFFFFFFF0u; }), HashIndex::kNone);
    }
  }
}

TEST(EncryptionMappings, AddFindExpireBindRemove) {
  ASSERT_TRUE(crypto_init().is_ok());
  EncryptionMappings m(2);
  const Key k1 = random_key(), k2 = random_key();
  const uint64_t t = 10 * kNanosPerSecond;
  const uint32_t a = m.add(from(1), k1, k2, 5, {}, t);
  ASSERT_NE(a, EncryptionMappings::kNone);
  EXPECT_EQ(m.find_live(from(1), t + 1), a);
  EXPECT_EQ(m.at(a).send_key, k1);
  EXPECT_EQ(m.at(a).receive_key, k2);
  // Same address again: same mapping, new keys.
  EXPECT_EQ(m.add(from(1), k2, k1, 5, {}, t), a);
  EXPECT_EQ(m.at(a).send_key, k2);
  ASSERT_NE(m.add(from(2), k1, k2, 5, {}, t), EncryptionMappings::kNone);
  EXPECT_EQ(m.add(from(3), k1, k2, 5, {}, t), EncryptionMappings::kNone);  // full
  // The absolute deadline (5 s after the request) ends an unbound mapping even if used.
  EXPECT_EQ(m.find_live(from(1), t + 4 * kNanosPerSecond), a);
  EXPECT_EQ(m.find_live(from(1), t + 5 * kNanosPerSecond + 1), EncryptionMappings::kNone);
  EXPECT_EQ(m.size(), 1u);
  // A bound mapping does not expire.
  const uint32_t b = m.find(from(2));
  m.bind(b, 7);
  EXPECT_EQ(m.find_live(from(2), t + 100 * kNanosPerSecond), b);
  EXPECT_EQ(m.add(from(2), k1, k2, 5, {}, t), EncryptionMappings::kNone);  // bound: refused
  m.remove(b);
  EXPECT_EQ(m.find(from(2)), EncryptionMappings::kNone);
  EXPECT_EQ(m.size(), 0u);
  // Idle timeout, and reclaiming by add() when full.
  ASSERT_NE(m.add(from(4), k1, k2, 1, {}, t), EncryptionMappings::kNone);
  ASSERT_NE(m.add(from(5), k1, k2, -1, {}, t), EncryptionMappings::kNone);  // never expires
  EXPECT_EQ(m.add(from(6), k1, k2, 1, {}, t + kNanosPerSecond), EncryptionMappings::kNone);
  EXPECT_NE(m.add(from(6), k1, k2, 1, {}, t + 2 * kNanosPerSecond), EncryptionMappings::kNone);
  EXPECT_EQ(m.find(from(4)), EncryptionMappings::kNone);
  EXPECT_NE(m.find_live(from(5), t + 1000 * kNanosPerSecond), EncryptionMappings::kNone);
  m.sweep(t + 10 * kNanosPerSecond, 100);
  EXPECT_EQ(m.size(), 1u);  // only the one without a timeout is left
}

// A pending mapping ends when its token expires, whatever the token's
// timeout: one without a timeout (negative) held its entry for good, so a
// holder of such tokens could take every mapping.
TEST(EncryptionMappings, APendingMappingEndsWithItsToken) {
  ASSERT_TRUE(crypto_init().is_ok());
  EncryptionMappings m(2);
  const Key k1 = random_key(), k2 = random_key();
  const uint64_t t = 10 * kNanosPerSecond, token_end = t + 30 * kNanosPerSecond;
  const uint32_t none = m.add(from(1), k1, k2, -1, {}, t, token_end);
  const uint32_t long_timeout = m.add(from(2), k1, k2, 60, {}, t, token_end);
  ASSERT_NE(none, EncryptionMappings::kNone);
  ASSERT_NE(long_timeout, EncryptionMappings::kNone);
  EXPECT_EQ(m.find_live(from(1), token_end), none);
  EXPECT_EQ(m.find_live(from(2), token_end), long_timeout);
  EXPECT_EQ(m.find_live(from(1), token_end + 1), EncryptionMappings::kNone);
  EXPECT_EQ(m.find_live(from(2), token_end + 1), EncryptionMappings::kNone);
  EXPECT_EQ(m.size(), 0u);
  // Bound, a mapping outlives its token: the connection has its own timeout.
  const uint32_t b = m.add(from(3), k1, k2, -1, {}, t, token_end);
  m.bind(b, 1);
  EXPECT_EQ(m.find_live(from(3), token_end + 100 * kNanosPerSecond), b);
}

// receive() passes the mapping a batch's prefetch found; by then a packet
// earlier in the batch may have removed or replaced it.
TEST(EncryptionMappings, AStaleHintIsCheckedNotTrusted) {
  ASSERT_TRUE(crypto_init().is_ok());
  EncryptionMappings m(4);
  const Key k = random_key();
  const uint64_t t = 10 * kNanosPerSecond;
  const uint32_t a = m.add(from(1), k, k, -1, {}, t);
  const uint32_t b = m.add(from(2), k, k, -1, {}, t);
  ASSERT_NE(a, EncryptionMappings::kNone);
  ASSERT_NE(b, EncryptionMappings::kNone);
  EXPECT_EQ(m.find_live(from(1), t, a), a);     // right
  EXPECT_EQ(m.find_live(from(1), t, b), a);     // another address's
  EXPECT_EQ(m.find_live(from(1), t, 1000), a);  // out of range
  m.remove(a);
  EXPECT_EQ(m.find_live(from(1), t, a), EncryptionMappings::kNone);  // removed
  const uint32_t c = m.add(from(3), k, k, -1, {}, t);                // may reuse a's entry
  EXPECT_EQ(m.find_live(from(1), t, c), EncryptionMappings::kNone);
  EXPECT_EQ(m.find_live(from(3), t, a), c);
}

}  // namespace
}  // namespace bypass::conn
