// NeighborCache: the ARP (IPv4) and NDP (IPv6) neighbour table of one worker.
// It maps a next-hop address to its MAC, holds the first packets to an address
// being resolved, says when to send an ARP request / neighbour solicitation, and
// ages entries through the RFC 4861 states. Owned by one thread: no locks. All
// memory is taken in the constructor; lookup, learn, hold, release and tick never
// allocate, lock or make a system call. Time is only the `now` argument (ticks of
// the worker's Clock), and may jump forward or run backwards.
#pragma once

#include <rte_common.h>
#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <bypass/core/counter.hpp>
#include <bypass/core/journal_sink.hpp>
#include <bypass/core/status.hpp>
#include <bypass/net/addr.hpp>

namespace bypass {

struct NeighborOptions {
  uint32_t capacity = 1024;       // entries, static ones included
  uint32_t reachable_ms = 30000;  // REACHABLE lasts this long after a confirmation
  uint32_t stale_ms = 60000;      // an unused STALE entry is removed after this
  uint32_t retry_ms = 1000;       // between two probes of one address
  uint32_t max_probes = 3;        // probes before resolution fails
  uint32_t failed_ms = 3000;      // FAILED refuses new packets this long, then goes
  uint32_t held_per_entry = 8;    // packets waiting for one address
  uint32_t held_total = 256;      // packets waiting, all addresses together
  uint32_t change_log = 16;       // MAC changes remembered (the last ones)
  uint64_t hash_seed = 0;         // 0: a random seed per table
};

// RFC 4861 7.3.2, without DELAY: a STALE entry that is used goes straight to PROBE.
enum class NeighborState : uint8_t {
  kFree,        // (internal) slot not in use
  kIncomplete,  // resolution under way: no MAC yet, packets may be held
  kReachable,   // MAC confirmed within reachable_ms
  kStale,       // MAC known but not confirmed recently; usable
  kProbe,       // used while STALE: unicast probes under way; usable
  kFailed,      // resolution failed: packets are refused until failed_ms passes
  kStatic,      // configured: never aged, changed by learn() or evicted
};

// What a received ARP / NDP message is, which decides what it may do (RFC 826
// merge rule, RFC 4861 7.2.5): only kRequest may create an entry.
enum class LearnKind : uint8_t {
  kReply,        // answer to our probe (ARP reply to us, NA with S flag): confirms
  kRequest,      // the peer asks for one of our addresses (ARP request, NS with SLLAO)
  kUnsolicited,  // gratuitous ARP, unsolicited NA with override, ARP not for us
};

enum class LearnResult : uint8_t {
  kAdded,       // the address had no MAC (new, INCOMPLETE or FAILED) and now has one
  kRefreshed,   // same MAC; reachability confirmed if the kind is kReply
  kMacChanged,  // a known neighbour has a new MAC (counted and logged)
  kIgnored,     // nothing changed: no entry to update, static, bad address or full
};

// One MAC change of a known neighbour.
struct MacChange {
  uint64_t seq = 0;  // 1 for the first change this table saw, then 2, ...
  uint64_t tick = 0;
  IpAddr ip;
  MacAddr old_mac;
  MacAddr new_mac;
};

// A copy of one entry, for tests, dumps and telemetry.
struct NeighborInfo {
  IpAddr ip;
  MacAddr mac;  // zero while INCOMPLETE / FAILED
  NeighborState state = NeighborState::kFree;
  uint32_t held = 0;
  uint32_t probes = 0;  // sent in the current resolution / probe round
};

// `entries` is a gauge (entries in use); the others count events.
struct alignas(RTE_CACHE_LINE_SIZE) NeighborCounters {
  Counter entries;
  Counter added;                // addresses whose MAC became known
  Counter mac_changes;          // a known neighbour's MAC changed
  Counter evictions;            // STALE / FAILED entries pushed out by a new one
  Counter held;                 // packets accepted by hold()
  Counter held_dropped;         // packets refused by hold() (full, FAILED, bad address)
  Counter resolution_failures;  // INCOMPLETE or PROBE ran out of probes
  Counter probes;               // probe() calls
  Counter table_full;           // new entries refused: nothing could be evicted
  Counter static_conflicts;     // learn() tried to change a static entry's MAC
  Counter rejected;             // learn() with a multicast/zero MAC or address
};

class NeighborCache {
 public:
  // Options are clamped into range; check() says in one sentence what is wrong.
  NeighborCache(const NeighborOptions& opt, uint64_t hz);
  ~NeighborCache();  // frees every held mbuf
  NeighborCache(const NeighborCache&) = delete;
  NeighborCache& operator=(const NeighborCache&) = delete;

  static Status check(const NeighborOptions& opt);

  // The MAC to send to `ip`, or nullptr (unknown, INCOMPLETE or FAILED: hold()
  // the packet). A hit on a STALE entry (or a REACHABLE one past reachable_ms)
  // moves it to PROBE: the next tick() sends a unicast probe. The pointer is
  // valid until the next call that changes the table.
  const MacAddr* lookup(const IpAddr& ip, uint64_t now);

  // Takes what an ARP / NDP message said about `ip`. Packets held for `ip` are
  // not sent by this overload: call release() after it (or use the next one).
  // `override` false (a neighbour advertisement without the O flag, RFC
  // 4861 7.2.5): fills an entry that has no MAC, never changes one; a
  // REACHABLE entry offered another MAC becomes STALE.
  LearnResult learn(const IpAddr& ip, const MacAddr& mac, uint64_t now, LearnKind kind,
                    bool override = true);
  // learn(), then release(ip, send).
  template <class Send>
  LearnResult learn(const IpAddr& ip, const MacAddr& mac, uint64_t now, LearnKind kind,
                    Send&& send) {
    LearnResult r = learn(ip, mac, now, kind);
    release(ip, send);
    return r;
  }

  // Queues `m` until `ip` is resolved; creates an INCOMPLETE entry whose first
  // probe goes out at the next tick(). False when the entry's or the table's queue
  // is full, the entry is FAILED or no entry can be made: the caller still owns `m`
  // (frees it and counts it as no_neighbor). At most held_total entries are ever
  // INCOMPLETE, so packets to many addresses cannot fill the table. If `ip` has a
  // MAC already, `m` is queued behind the packets not yet released.
  bool hold(const IpAddr& ip, rte_mbuf* m, uint64_t now);

  // Hands the packets held for `ip`, oldest first, to send(rte_mbuf*, const
  // MacAddr&) once `ip` has a MAC. Returns how many; 0 if it has no MAC yet.
  // The queue is detached first, so send may hold() again without looping.
  template <class Send>
  size_t release(const IpAddr& ip, Send&& send) {
    uint32_t i = find(ip);
    if (i == kNil || !has_mac(entries_[i].state)) return 0;
    const MacAddr mac = entries_[i].mac;
    size_t n = 0;
    for (uint32_t c = detach_held(i); c != kNil; ++n) send(take_held(c), mac);
    return n;
  }

  // Timers. For each entry that needs it: probe(const IpAddr&, const MacAddr*)
  // asks for an ARP request / NS, to broadcast / solicited-node multicast when
  // the MAC is null, unicast to it otherwise (at most one per entry per call, and
  // retry_ms apart). REACHABLE ages to STALE; unused STALE and spent FAILED entries
  // go; INCOMPLETE out of probes becomes FAILED and PROBE out of probes goes; the
  // packets such an entry held go to drop(rte_mbuf*). Costs O(entries in use):
  // call it every millisecond or so, not per packet. Entries stamped in the future (the
  // clock went back) are restamped to `now`, so nothing lives forever. probe and
  // drop must not call back into this cache.
  template <class Probe, class Drop>
  void tick(uint64_t now, Probe&& probe, Drop&& drop) {
    // From the end: remove() moves the last entry in use into the hole, and
    // that one was visited already.
    for (size_t k = used_.size(); k-- > 0;) {
      const uint32_t i = used_[k];
      Action a = advance(i, now);
      if (a == Action::kNone) continue;
      if (a == Action::kProbe) {
        const IpAddr ip = entries_[i].ip;
        const MacAddr mac = entries_[i].mac;
        probe(ip, entries_[i].state == NeighborState::kProbe ? &mac : nullptr);
        continue;
      }
      for (uint32_t c = detach_held(i); c != kNil;) drop(take_held(c));
      if (a == Action::kRemove) {
        note(JournalKind::kNeighborExpired, i, nullptr);
        remove(i);
      }
    }
  }

  // Hands neighbours learned, changed and expired to `sink` (the journal),
  // as seen on port `port`; nullptr stops it.
  void set_journal(JournalSink* sink, uint16_t port) {
    journal_ = sink;
    journal_port_ = port;
  }

  // A configured neighbour: never aged, evicted or changed by learn(). Replaces
  // a dynamic entry for `ip` (its held packets stay: release() them). False for a
  // multicast/zero address or MAC, or when the table has no room. A different
  // MAC over a known one is logged as a change at tick `now`.
  bool add_static(const IpAddr& ip, const MacAddr& mac, uint64_t now = 0);
  // Removes the entry for `ip` (static or not); its held packets go to drop().
  template <class Drop>
  bool erase(const IpAddr& ip, Drop&& drop) {
    uint32_t i = find(ip);
    if (i == kNil) return false;
    for (uint32_t c = detach_held(i); c != kNil;) drop(take_held(c));
    remove(i);
    return true;
  }

  std::optional<NeighborInfo> get(const IpAddr& ip) const;
  template <class F>
  void for_each(F&& f) const {
    for (uint32_t i = 0; i < capacity_; ++i)
      if (entries_[i].state != NeighborState::kFree) f(info(i));
  }

  // The last MAC changes, oldest first, into `out`; returns how many were copied
  // (at most change_log and out.size(); the newest ones when out is smaller).
  size_t recent_changes(std::span<MacChange> out) const;

  size_t size() const { return used_.size(); }
  size_t capacity() const { return capacity_; }
  size_t held_now() const { return held_total_; }
  NeighborCounters& counters() { return counters_; }
  const NeighborCounters& counters() const { return counters_; }

 private:
  // To the journal, if any: entry i (its MAC, or `old` replaced by `mac`).
  void note(JournalKind k, uint32_t i, const MacAddr* old);
  JournalSink* journal_ = nullptr;
  uint16_t journal_port_ = 0;

  static constexpr uint32_t kNil = UINT32_MAX;
  enum class Action : uint8_t { kNone, kProbe, kFail, kRemove };

  struct Entry {
    IpAddr ip;
    MacAddr mac;
    NeighborState state = NeighborState::kFree;
    uint8_t probes = 0;
    uint16_t held = 0;
    uint32_t hash = 0;
    uint32_t held_head = kNil, held_tail = kNil;  // FIFO through held_next_
    uint32_t prev = kNil, next = kNil;            // eviction list; free list when kFree
    uint64_t since = 0;                           // the current state began / was confirmed
    uint64_t probed = 0;                          // the last probe
  };
  struct List {
    uint32_t head = kNil, tail = kNil;
  };

  static bool has_mac(NeighborState s) {
    return s == NeighborState::kReachable || s == NeighborState::kStale ||
           s == NeighborState::kProbe || s == NeighborState::kStatic;
  }
  uint32_t hash(const IpAddr& ip) const;
  uint32_t find(const IpAddr& ip) const;
  uint32_t allocate(const IpAddr& ip);  // kNil when full and nothing may be evicted
  void remove(uint32_t i);              // held packets must be gone
  void set_state(uint32_t i, NeighborState s, uint64_t now);
  List* list_of(NeighborState s);
  void unlink(uint32_t i, List& l);
  void log_change(uint32_t i, const MacAddr& new_mac, uint64_t now);
  Action advance(uint32_t i, uint64_t now);
  NeighborInfo info(uint32_t i) const;
  uint32_t detach_held(uint32_t i);
  rte_mbuf* take_held(uint32_t& cursor);

  uint32_t capacity_;
  uint64_t reachable_, stale_, retry_, failed_;  // ticks
  uint32_t max_probes_, held_per_entry_;
  uint64_t seed_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // open addressing, linear probing: entry index or kNil
  uint32_t mask_;
  uint32_t free_ = kNil;
  // The entries in use, in no order, and where each is in it: tick() walks
  // these, not the whole table (capacity reserved: never grows).
  std::vector<uint32_t> used_, used_at_;
  List stale_list_, failed_list_;  // eviction candidates, oldest first
  std::vector<rte_mbuf*> held_mbuf_;
  std::vector<uint32_t> held_next_;
  uint32_t held_free_ = kNil;
  size_t held_total_ = 0;
  std::vector<MacChange> log_;
  uint64_t log_count_ = 0;
  NeighborCounters counters_;
};

}  // namespace bypass
