// ClaimTable: a fixed-size table of claims on 16-byte keys that the workers
// of one netcode service share without a lock. A key is claimed at most once
// at a time: two workers that claim the same key at the same moment never
// both succeed (at worst both are told to try again). Used for the connect
// token history (key: the token's MAC) and for client ids that are connected.
//
// Layout: buckets of kWays slots (one bucket of `capacity` slots when the
// capacity is smaller, so small tables are exact); a key lives in the bucket
// its keyed hash picks, in any slot of it. A slot's 64-bit head word holds its
// generation, its state and the expiry of what it holds (unix seconds). The
// heads of a bucket are contiguous (two cache lines), so a lookup reads them
// and only the keys of live slots; key and data are read under the head,
// seqlock fashion.
//
// Claiming: look for the key in its bucket; else take a free or expired slot
// with one compare-and-swap (kClaiming), write the key and data, announce it
// (kKeyed), then look at the bucket again: if another slot announces the same
// key, step back (free the slot) and report kBusy. Of two claimants of one key
// each announces before it looks, so at least one sees the other (the
// announcements and looks are sequentially consistent). Nothing waits for
// another thread; a slot is reclaimed by the next claimant once it expires.
//
// Time: each worker passes its own clock, and workers read it at different
// moments, so the table keeps the latest time any caller gave (a high-water
// mark raised before anything is reclaimed) and judges expiry by it. A claim
// whose expiry has passed by that time is refused (kExpired), checked again
// after it is announced: a worker whose clock lags cannot claim a key anew
// after another worker, ahead, reclaimed its expired claim.
//
// "Full" is per bucket: every slot of the key's bucket holds an unexpired
// claim. Refused, never evicted.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <bypass/conn/keyed_hash.hpp>
#include <bypass/core/huge_array.hpp>
#include <bypass/core/status.hpp>

namespace bypass::conn {

class ClaimTable {
 public:
  static constexpr uint32_t kWays = 16;
  static constexpr uint32_t kMaxCapacity = 1u << 26;
  static constexpr uint64_t kNever = (uint64_t{1} << 40) - 1;  // an expiry that never comes

  enum class State : uint8_t {
    kFree = 0,
    kClaiming = 1,  // taken, key not written yet
    kKeyed = 2,     // key written, its claimant still checking for another
    kHeld = 3,      // claimed
    kFinal = 4,     // claimed and finalized (a consumed token)
  };
  using Key = std::array<uint64_t, 2>;
  using Data = std::array<uint64_t, 3>;
  // Names one claim: a later occupant of the same slot has another generation
  // (13 bits: a slot would have to be reused 8,192 times while its old
  // reference is held, which takes that many token expiries or releases).
  struct Ref {
    uint32_t index = UINT32_MAX;
    uint32_t generation = 0;
  };
  enum class Outcome : uint8_t {
    kInserted,  // a new claim, kHeld
    kFound,     // an unexpired claim on the key exists (state and data say which)
    kBusy,      // another thread is claiming the key (or its bucket changed under us): retry later
    kFull,      // every slot of the key's bucket holds an unexpired claim
    kAbsent,    // find(): no unexpired claim on the key
    kExpired,   // claim(): `expire` has passed by the latest time any caller gave
  };
  struct Result {
    Outcome outcome = Outcome::kFull;
    Ref ref;
    State state = State::kFree;
    Data data{};
  };
  enum class Step : uint8_t { kDone, kAlready, kGone };

  // A table of at least `capacity` slots (1 .. kMaxCapacity), rounded up to
  // whole buckets of kWays (or one bucket of `capacity` if that is smaller).
  // Starts libsodium (random hash key).
  static Expected<std::unique_ptr<ClaimTable>> create(uint32_t capacity);

  // An unexpired claim on `key`, or a new one (kHeld, `data`, `expire`).
  // Expired at `now` means expire <= now.
  Result claim(const Key& key, const Data& data, uint64_t expire, uint64_t now);
  // Asks the CPU to bring `key`'s bucket into cache (its heads, and the
  // bodies of the ways a claim takes first): for a caller that knows the key
  // some thousands of cycles before it claims or finds it.
  void prefetch(const Key& key) const;
  // The unexpired claim on `key` (kFound), none (kAbsent), or kBusy.
  Result find(const Key& key, uint64_t now) const;
  // kHeld -> kFinal for the claim `ref` names. kAlready: already final; kGone: not that claim.
  Step finalize(Ref ref);
  // Frees the claim `ref` names (held or final). False if it is not that claim any more.
  bool release(Ref ref);
  // Frees everything; not concurrent with any other call.
  void clear();

  uint32_t capacity() const { return static_cast<uint32_t>(heads_.size()); }
  // Unexpired claims (walks the whole table: for tests and reports).
  uint32_t live(uint64_t now) const;

  // What a slot holds besides its head.
  struct Body {
    std::array<std::atomic<uint64_t>, 2> key{};
    std::array<std::atomic<uint64_t>, 3> data{};
  };
  static constexpr size_t kBytesPerSlot = sizeof(uint64_t) + sizeof(Body);

 private:
  ClaimTable(uint32_t buckets, uint32_t ways);
  struct Place {
    uint64_t base;  // the key's bucket's first slot
    uint8_t tag;    // 8 more bits of its hash, kept in the head
  };
  Place place_of(const Key& key) const;
  struct Slot {
    uint32_t way;   // in the bucket; the bucket's ways when none
    uint64_t head;  // as it was seen
  };
  // find(), also noting in `free` (if given) the first slot a claim may take.
  Result find_at(Place p, const Key& key, uint64_t now, Slot* free = nullptr) const;
  // Reads a slot's key (and data) as of head `h`; false if the slot changed meanwhile.
  bool read(uint64_t i, uint64_t h, Key& key, Data* data) const;

  std::atomic<uint64_t> latest_{0};  // the latest `now` any caller gave
  uint64_t buckets_;
  uint32_t ways_;
  HugeArray<std::atomic<uint64_t>> heads_;
  HugeArray<Body> bodies_;
  MixHash hash_;  // keys are token MACs and backend-assigned ids: no peer picks them
};

}  // namespace bypass::conn
