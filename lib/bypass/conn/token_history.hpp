// The connect token history of a netcode server, with the lifecycle of
// advisory GHSA-v29p-3vj4-vg4f (netcode 1.4.5): a token's first accepted
// connection request makes a PENDING entry bound to that source address (a
// retransmitted request from the same address is admitted, any other address
// refused); installing the client makes it CONSUMED (nothing is admitted any
// more, even after the client leaves, until the token expires). So the keys in
// one connect token encrypt exactly one session, and no nonce repeats.
//
// Shared by the workers of one netcode service, without a lock: the history
// is a ClaimTable (claim_table.hpp) keyed by the token's MAC, holding the
// address a PENDING token is bound to. Of two workers admitting one token at
// the same moment at most one wins (the other gets kBusy and the client's next
// request, 100 ms later, finds the winner's entry), and consume() moves PENDING
// to CONSUMED exactly once, so however many workers admitted a token from its
// address, one installs it.
//
// Fixed capacity chosen at construction, rounded up to buckets of 16 entries.
// A bucket whose entries all hold unexpired tokens refuses new tokens rather
// than evict one (evicting is how a flood would reopen a used token); expired
// entries are reused by the next token of their bucket. No allocation after
// create(). The token MAC is public (it travels in clear in every request) and
// cannot be chosen without the private key, and the bucket comes from a keyed
// hash of it, so an attacker cannot aim tokens at one bucket.
#pragma once

#include <cstdint>
#include <memory>

#include <bypass/conn/claim_table.hpp>
#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/core/status.hpp>

namespace bypass::conn {

// Names one history entry as it was when a handshake started: a later
// occupant of the same entry has another generation.
using HistoryRef = ClaimTable::Ref;

class TokenHistory {
 public:
  enum class State : uint8_t { kFree = 0, kPending = 1, kConsumed = 2 };
  enum class Verdict : uint8_t {
    kAdmitted,     // new token (now PENDING), or a PENDING one from the same address
    kAlreadyUsed,  // PENDING for another address, or CONSUMED
    kFull,         // every entry of the token's bucket holds an unexpired token
    kBusy,         // another worker is admitting the same token right now
    kExpired,      // the token expired by another worker's clock (ahead of this one's)
  };
  struct Admission {
    HistoryRef ref;  // when admitted: the entry to consume once the client is installed
    Verdict verdict = Verdict::kFull;
  };
  enum class Consumption : uint8_t {
    kConsumed,         // PENDING -> CONSUMED: install the client
    kAlreadyConsumed,  // another handshake of this token installed a client: refuse
    kGone,             // the entry was reused after its token expired: refuse (expired)
  };

  // Largest capacity accepted.
  static constexpr uint32_t kMaxCapacity = ClaimTable::kMaxCapacity;

  // A history of at least `capacity` entries (1 .. kMaxCapacity). Starts libsodium (random hash
  // key).
  static Expected<TokenHistory> create(uint32_t capacity);

  // Step 5 of a connection request, after the token decrypted. `expire_timestamp`
  // is the token's; an entry is expired once expire_timestamp <= now_unix.
  Admission admit(const Mac& token_mac, const NetcodeAddress& from, uint64_t expire_timestamp,
                  uint64_t now_unix);

  // Brings the entry's bucket into cache: a request's token MAC is on the
  // wire before its token is opened, which takes long enough to hide the miss.
  void prefetch(const Mac& token_mac) const;
  // Marks the entry of an admitted token CONSUMED, once.
  Consumption consume(HistoryRef ref);

  // The state of the entry holding `token_mac` (kFree if none, or if it has expired).
  State state(const Mac& token_mac, uint64_t now_unix) const;

  // Forgets every entry (what a server start does to its own history); not
  // concurrent with anything else.
  void clear() { table_->clear(); }

  uint32_t capacity() const { return table_->capacity(); }
  uint32_t live(uint64_t now_unix) const { return table_->live(now_unix); }

  // Memory per entry.
  static constexpr size_t kBytesPerEntry = ClaimTable::kBytesPerSlot;

 private:
  explicit TokenHistory(std::unique_ptr<ClaimTable> t) : table_(std::move(t)) {}
  std::unique_ptr<ClaimTable> table_;
};

}  // namespace bypass::conn
