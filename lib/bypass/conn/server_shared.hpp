// ServerShared: what the netcode servers of one service share when the service
// runs on several workers, each worker with a NetcodeServer of its own over the
// clients its port sends it (the port spreads by flow, so a client's packets
// reach one worker). The standard's server-wide rules hold across them:
//   - the connect token history: a token starts one session, whichever worker
//     its requests reach (a stolen token comes from another address, so most
//     likely to another worker);
//   - client ids: one connected client per id in the whole service;
//   - seats: max_clients counts the whole service, so "server full" means it;
//   - nonces: each server seals challenge and denied packets with a sequence
//     from its own part of the global range [2^63, 2^64), so two workers never
//     use one nonce under one token's key.
// Everything here is lock-free (atomics and ClaimTables); no worker waits for
// another. Memory: kBytesPerClient per max_clients, allocated by create().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <bypass/conn/claim_table.hpp>
#include <bypass/conn/token_history.hpp>
#include <bypass/core/status.hpp>

namespace bypass::conn {

class ServerShared {
 public:
  // Servers one ServerShared serves at most (parts of the global sequence range).
  static constexpr uint32_t kMaxServers = 64;
  static constexpr uint32_t kHistoryPerClient = 8;  // token history entries, as the reference
  static constexpr uint32_t kIdsPerClient = 8;      // client id slots: a bucket of 16 never fills
  static constexpr size_t kBytesPerClient =
      (kHistoryPerClient + kIdsPerClient) * ClaimTable::kBytesPerSlot;

  // For a service of `max_clients` (server-wide) and a token history of
  // `history_capacity` entries (0: kHistoryPerClient x max_clients).
  static Expected<std::unique_ptr<ServerShared>> create(uint32_t max_clients,
                                                        uint32_t history_capacity = 0);

  TokenHistory& history() { return history_; }
  const TokenHistory& history() const { return history_; }

  // Client ids connected anywhere in the service.
  ClaimTable::Result claim_client_id(uint64_t id) {
    return ids_->claim({id, 0}, {}, ClaimTable::kNever, 0);
  }
  void prefetch_client_id(uint64_t id) const { ids_->prefetch({id, 0}); }
  bool client_id_taken(uint64_t id) const {
    return ids_->find({id, 0}, 0).outcome != ClaimTable::Outcome::kAbsent;
  }
  void release_client_id(ClaimTable::Ref ref) { ids_->release(ref); }

  // A seat for one more connected client; false once max_clients are seated.
  bool take_seat();
  void return_seat() { seated_.fetch_sub(1, std::memory_order_acq_rel); }
  uint32_t seated() const { return seated_.load(std::memory_order_acquire); }
  uint32_t max_clients() const { return max_clients_; }

  // The part of the global sequence range for the next server (0 .. kMaxServers - 1).
  Expected<uint32_t> take_partition();

 private:
  ServerShared(uint32_t max_clients, TokenHistory history, std::unique_ptr<ClaimTable> ids)
      : max_clients_(max_clients), history_(std::move(history)), ids_(std::move(ids)) {}

  uint32_t max_clients_;
  TokenHistory history_;
  std::unique_ptr<ClaimTable> ids_;
  std::atomic<uint32_t> seated_{0};
  std::atomic<uint32_t> partitions_{0};
};

}  // namespace bypass::conn
