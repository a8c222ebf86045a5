// The connect token history of a netcode server, with the lifecycle of
// advisory GHSA-v29p-3vj4-vg4f (netcode 1.4.5): a token's first accepted
// connection request makes a PENDING entry bound to that source address (a
// retransmitted request from the same address is admitted, any other address
// refused); installing the client makes it CONSUMED (nothing is admitted any
// more, even after the client leaves, until the token expires). So the keys in
// one connect token encrypt exactly one session, and no nonce repeats.
//
// Fixed capacity chosen at construction; a history whose entries all hold
// unexpired tokens refuses new tokens rather than evict one (evicting is how a
// flood would reopen a used token). No allocation after create().
//
// Lookup. The reference scans every entry on each request (2048 entries
// there). Sized for 100,000 clients (8 x max clients = 800,000 entries of 72
// bytes) a scan per request would walk 58 MB, so entries are found through a
// MAC-keyed open-addressing index instead: O(1) per request. Only when no
// entry is free does admit() sweep the table for expired tokens, at most once
// per unix second (timestamps are whole seconds, so a second sweep within the
// same second could not find more); "full" is therefore exact, never a guess.
// The token MAC is public (it travels in clear in every request) and cannot
// be chosen without the private key, so neither the hashing nor the timing
// gives an attacker a lever the refusal rules do not already give.
//
// Threading: not synchronised. Servers sharing one history must call it from
// one thread at a time.
#pragma once

#include <cstdint>
#include <vector>

#include <bypass/conn/hash_index.hpp>
#include <bypass/conn/keyed_hash.hpp>
#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/core/status.hpp>

namespace bypass::conn {

// Names one history entry as it was when a handshake started: a later
// occupant of the same entry has another generation.
struct HistoryRef {
  uint32_t index = UINT32_MAX;
  uint32_t generation = 0;
};

class TokenHistory {
 public:
  enum class State : uint8_t { kFree = 0, kPending = 1, kConsumed = 2 };
  enum class Verdict : uint8_t {
    kAdmitted,     // new token (now PENDING), or a PENDING one from the same address
    kAlreadyUsed,  // PENDING for another address, or CONSUMED
    kFull,         // every entry holds an unexpired token
  };
  struct Admission {
    Verdict verdict = Verdict::kFull;
    HistoryRef ref;  // when admitted: the entry to consume once the client is installed
  };

  // Largest capacity accepted.
  static constexpr uint32_t kMaxCapacity = 1u << 26;

  // A history of `capacity` entries (1 .. kMaxCapacity). Starts libsodium (random hash key).
  static Expected<TokenHistory> create(uint32_t capacity);

  // Step 5 of a connection request, after the token decrypted. `expire_timestamp`
  // is the token's; an entry is expired once expire_timestamp <= now_unix.
  Admission admit(const Mac& token_mac, const NetcodeAddress& from, uint64_t expire_timestamp,
                  uint64_t now_unix);

  // Marks the entry of an admitted token CONSUMED. False if that entry was
  // reclaimed meanwhile (its token expired, so it can never be admitted again).
  bool consume(HistoryRef ref);

  // The state of the entry holding `token_mac` (kFree if none, or if it has expired).
  State state(const Mac& token_mac, uint64_t now_unix) const;

  // Forgets every entry (what a server start does to its own history).
  void clear();

  uint32_t capacity() const { return static_cast<uint32_t>(entries_.size()); }
  uint32_t live() const { return capacity() - free_count_; }  // entries not yet reclaimed

  struct Entry {
    Mac mac{};
    NetcodeAddress address{};
    uint64_t expire_timestamp = 0;   // the token's, unix seconds
    uint64_t created_timestamp = 0;  // unix seconds; set once, never refreshed
    uint64_t hash = 0;
    uint32_t generation = 0;
    State state = State::kFree;
  };
  // The entry behind `ref`, or nullptr if it no longer holds that token.
  const Entry* entry(HistoryRef ref) const;

  // Memory, at most: one entry plus its share of the index (under four 8-byte slots).
  static constexpr size_t kBytesPerEntry = sizeof(Entry) + 4 * HashIndex::kBytesPerSlot;

 private:
  explicit TokenHistory(uint32_t capacity);
  uint32_t find(const Mac& mac, uint64_t hash) const;
  void release(uint32_t i);
  void sweep(uint64_t now_unix);

  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;  // stack of free entry indices
  uint32_t free_count_ = 0;
  HashIndex index_;
  KeyedHash hash_;
  uint64_t swept_at_ = 0;  // unix second of the last full sweep
  bool swept_ = false;
};

}  // namespace bypass::conn
