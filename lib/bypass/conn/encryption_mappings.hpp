// The netcode server's encryption mappings: for each source address that
// presented a valid connect token, the keys to read its packets with
// (client-to-server) and to send to it with (server-to-client), the token's
// timeout, and, once the handshake finished, the client slot it belongs to.
// Found by address through a keyed open-addressing index (O(1) per packet;
// MixHash, as only a token that decrypted adds an address).
//
// Expiry (as the reference): a mapping not bound to a client expires when it
// has not been looked up for `timeout` seconds (timeout > 0), or when its
// absolute deadline (request time + timeout, none if timeout < 0) passed.
// Binding to a client clears the deadline; a bound mapping never expires here
// (the client slot has its own timeout) and goes away with the client.
// Expired mappings are reclaimed when looked up, by sweep() in small steps,
// and by add() when it finds no free one.
//
// Fixed capacity (4 x max clients in the server); no allocation after the
// constructor. Keys are wiped when a mapping is removed and on destruction.
#pragma once

#include <cstdint>
#include <vector>

#include <bypass/conn/hash_index.hpp>
#include <bypass/conn/keyed_hash.hpp>
#include <bypass/conn/netcode_address.hpp>
#include <bypass/conn/netcode_wire.hpp>
#include <bypass/conn/token_history.hpp>
#include <bypass/core/huge_array.hpp>
#include <bypass/core/prefetch.hpp>

namespace bypass::conn {

class EncryptionMappings {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint64_t kNoDeadline = UINT64_MAX;
  // How many entries add() examines for an expired one when none is free.
  static constexpr uint32_t kReclaimBudget = 256;

  struct Mapping {
    NetcodeAddress address{};
    Key send_key{};     // server to client
    Key receive_key{};  // client to server
    uint64_t hash = 0;  // of the address
    uint64_t last_access_ns = 0;
    uint64_t deadline_ns = kNoDeadline;
    int32_t timeout_seconds = 0;  // the connect token's
    uint32_t client_index = kNone;
    HistoryRef history;      // the token history entry this handshake consumes
    uint64_t client_id = 0;  // the token's: its claim's bucket is fetched ahead of the response
    bool used = false;
  };

  // `capacity` in [1, HashIndex::kMaxEntries]. crypto_init() must have run.
  explicit EncryptionMappings(uint32_t capacity);
  ~EncryptionMappings();
  EncryptionMappings(const EncryptionMappings&) = delete;
  EncryptionMappings& operator=(const EncryptionMappings&) = delete;

  ///@{
  /// For a batch of packets, in two passes before find(): the index slot of
  /// `a`, then (once that has arrived) the mapping `m` itself.
  void prefetch_index(const NetcodeAddress& a) const { index_.prefetch(hash_.address(a)); }
  void prefetch_mapping(uint32_t m) const { prefetch_object(&entries_[m]); }
  // Before a request is acted on: the mapping add() will take for a new
  // address, `ahead` adds from now (a held request takes the next one first).
  void prefetch_free(uint32_t ahead) const {
    if (ahead < free_count_) prefetch_object<kForWrite>(&entries_[free_[free_count_ - 1 - ahead]]);
  }
  ///@}
  // The mapping for `a` whatever its age, or kNone.
  uint32_t find(const NetcodeAddress& a) const;
  // The mapping to read a packet from `a` with: bound, or unbound and not
  // expired (its last access becomes now). An expired one is removed: kNone.
  // `hint`: a mapping an earlier find() returned for `a`, used without a
  // lookup if it still holds `a` (an address has one mapping at most).
  uint32_t find_live(const NetcodeAddress& a, uint64_t now_ns, uint32_t hint = kNone);

  // Sets the keys for `a` (a new mapping, or over the unbound one `a` already
  // has). kNone if `a` is bound to a client or no mapping is free. Unbound,
  // it ends `timeout_seconds` after now (none if negative) and at
  // `token_deadline_ns`, when the token it came with expires, whichever is first.
  uint32_t add(const NetcodeAddress& a, const Key& send_key, const Key& receive_key,
               int32_t timeout_seconds, HistoryRef history, uint64_t now_ns,
               uint64_t token_deadline_ns = kNoDeadline);

  // The handshake finished: the mapping belongs to `client_index` and loses its deadline.
  void bind(uint32_t m, uint32_t client_index);
  void remove(uint32_t m);
  // Looks at up to `budget` entries, round robin, and removes the expired unbound ones.
  void sweep(uint64_t now_ns, uint32_t budget);
  void clear();

  Mapping& at(uint32_t m) { return entries_[m]; }
  const Mapping& at(uint32_t m) const { return entries_[m]; }
  bool expired(const Mapping& m, uint64_t now_ns) const;

  uint32_t capacity() const { return static_cast<uint32_t>(entries_.size()); }
  uint32_t size() const { return capacity() - free_count_; }

  // Memory, at most: one mapping, its free-list word and its share of the index.
  static constexpr size_t kBytesPerMapping =
      sizeof(Mapping) + sizeof(uint32_t) + 4 * HashIndex::kBytesPerSlot;

 private:
  HugeArray<Mapping> entries_;
  std::vector<uint32_t> free_;
  uint32_t free_count_ = 0;
  uint32_t sweep_cursor_ = 0;
  HashIndex index_;
  MixHash hash_;
};

}  // namespace bypass::conn
