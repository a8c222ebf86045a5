/// @file
/// FaultyPort: a Port decorator that injects faults into the packets passing through
/// another Port, following a seeded FaultPlan: drop (by rate or every Nth), duplicate,
/// reorder, corrupt bits, delay, short TX, link down and RX stalls. The same seed and
/// the same traffic give the same faults, byte for byte, so a failing test replays.
/// It owns no device: it wraps any Port (an EthPort, a test port) that outlives it.
#pragma once

#include <rte_mempool.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <bypass/core/status.hpp>
#include <bypass/io/port.hpp>

namespace bypass {

/// How a burst is reordered.
enum class ReorderMode : uint8_t {
  kShuffle,   ///< the burst is permuted so that no packet stays in its place
  kHoldBack,  ///< one packet of the burst is held and delivered first in the next poll
};

/// Faults applied to the packets of one direction. Rates are probabilities in [0, 1].
struct DirectionFaults {
  double drop_rate = 0.0;       ///< each packet is freed with this probability
  uint32_t drop_every = 0;      ///< and every Nth packet is freed (0: off)
  double duplicate_rate = 0.0;  ///< a packet is followed by a deep copy of itself
  double reorder_rate = 0.0;    ///< a burst (of two packets or more) is reordered
  ReorderMode reorder_mode = ReorderMode::kShuffle;  ///< how a burst is reordered
  double corrupt_rate = 0.0;  ///< a packet gets corrupt_bits distinct bits flipped
  uint16_t corrupt_bits = 1;  ///< 1..64, only within the first segment's data_len
  uint32_t delay_polls = 0;   ///< a delayed packet leaves this many polls later (0: off)
  double delay_rate = 1.0;    ///< the share of packets delayed when delay_polls > 0
};

/// The whole plan. A "poll" is one rx_burst call on an RX queue, or one tx_burst call
/// on a TX queue (tx_burst(q, nullptr, 0) advances TX time without sending; a
/// graph's PortTx makes that call every 100 us, so a quiet queue's packets leave).
struct FaultPlan {
  uint64_t seed = 1;           ///< of the random streams: the same seed, the same faults
  DirectionFaults rx;          ///< applied to packets the device delivers
  DirectionFaults tx;          ///< applied to packets the caller sends
  double short_tx_rate = 0.0;  ///< a tx_burst accepts a random count below the offered one
  ///@{
  /// RX: of every stall_every polls, the last
  /// stall_polls return nothing (the device is not polled).
  uint32_t stall_every = 0;
  uint32_t stall_polls = 0;
  ///@}
  bool link_up = true;  ///< initial link state; set_link() changes it
  /// After this many polls of an RX queue, the device acts reset: it moves
  /// nothing more and asks for a reset (reset_requested()). 0: never.
  uint64_t reset_after_polls = 0;
  /// Packets held (delayed, held back, refused by the device
  /// on TX) at most, per queue and direction.
  uint32_t hold_capacity = 256;
};

/// What FaultyPort did, per direction, summed over queues: an X-macro of
/// X(name), one count each (FaultCounts).
#define BYPASS_FAULT_COUNTS(X)                                                      \
  X(packets)       /* RX: delivered by the device; TX: accepted from the caller */  \
  X(dropped)       /* freed by drop_rate or drop_every */                           \
  X(duplicated)    /* copies made */                                                \
  X(copy_failed)   /* copies not made: copy pool empty or no room in the burst */   \
  X(reordered)     /* bursts whose order was changed */                             \
  X(corrupted)     /* packets with bits flipped */                                  \
  X(delayed)       /* packets held for delay_polls */                               \
  X(hold_full)     /* packets freed because the hold queue was full */              \
  X(link_down)     /* RX: arrived and freed; TX: offers refused (retries too) */    \
  X(stalled_polls) /* RX polls that returned nothing because of a stall */          \
  X(reset)         /* RX polls and TX offers refused once the device acted reset */ \
  X(short_tx)      /* TX offers refused by a short TX (the caller keeps them) */    \
  X(drained)       /* held packets freed by drain() or the destructor */

/// One uint64_t per entry of BYPASS_FAULT_COUNTS, named as there.
struct FaultCounts {
#define BYPASS_X(name) uint64_t name = 0;
  BYPASS_FAULT_COUNTS(BYPASS_X)
#undef BYPASS_X
};

/// What a FaultyPort did in each direction.
struct FaultCounters {
  ///@{
  /// RX, and TX.
  FaultCounts rx, tx;
  ///@}
};

/// A Port that injects faults into another; see the file's description.
class FaultyPort final : public Port {
 public:
  /// Checks a plan; the error says which field to change and how.
  static Status validate(const FaultPlan& plan);
  /// Validates the plan (and that a copy pool is given if duplication is on), then wraps.
  static Expected<std::unique_ptr<FaultyPort>> create(Port& inner, const FaultPlan& plan,
                                                      rte_mempool* copy_pool = nullptr);
  /// Wraps `inner`, which must outlive this port. The plan should pass validate() (values
  /// out of range are clamped, never undefined); copies for duplication come from
  /// `copy_pool`. All memory is taken here, none per burst.
  FaultyPort(Port& inner, const FaultPlan& plan, rte_mempool* copy_pool = nullptr);
  /// Frees the packets it still holds (counted as drained).
  ~FaultyPort() override;
  FaultyPort(const FaultyPort&) = delete;
  FaultyPort& operator=(const FaultyPort&) = delete;

  uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;
  /// As the Port contract: returns how many were taken; pkts[ret..n) stay the caller's.
  /// With TX faults other than short TX, the packets the device refuses are kept (in
  /// the hold queue) and sent first next time; meanwhile tx_burst accepts nothing.
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) override;

  LinkStatus link() const override;
  PortStats stats() const override { return inner_.stats(); }
  void reset_stats() override { inner_.reset_stats(); }
  rte_ether_addr mac() const override { return inner_.mac(); }
  const std::string& name() const override { return inner_.name(); }
  uint16_t rx_queues() const override { return inner_.rx_queues(); }
  uint16_t tx_queues() const override { return inner_.tx_queues(); }
  std::string rx_spread() const override { return inner_.rx_spread(); }
  uint64_t rx_offloads() const override { return inner_.rx_offloads(); }
  uint64_t tx_offloads() const override { return inner_.tx_offloads(); }
  bool rx_timestamps(int* offset, uint64_t* flag) const override {
    return inner_.rx_timestamps(offset, flag);
  }
  bool read_clock(uint64_t* now) const override { return inner_.read_clock(now); }
  /// Always: a live plan may start delaying or holding back packets.
  bool wants_tx_kicks() const override { return true; }
  /// The injected reset (FaultPlan::reset_after_polls), or the device's own.
  bool reset_requested() const override {
    return resetting_.load(std::memory_order_relaxed) || inner_.reset_requested();
  }

  /// Takes the link down (rx returns 0, tx accepts 0) or brings it back up.
  void set_link(bool up) { link_up_.store(up, std::memory_order_relaxed); }
  /// Sums the per-queue counters; safe to call while workers poll.
  FaultCounters counters() const;
  /// Frees every held packet and returns how many; only while no one polls.
  uint32_t drain();

  const FaultPlan& plan() const { return plan_; }  ///< the plan it was made with

  ///@{
  /// Live reload of the plan. keep_plan() (control thread) stores a copy for
  /// the port's lifetime; use_plan() then has the given queues follow it,
  /// called by the worker that polls them, between two of its bursts (the
  /// at_swap of Worker::swap_pollers). The queues' random streams and held
  /// packets carry on; `link_up` of a new plan is not applied (set_link is).
  /// keep_plan() also makes the hold rings a plan needs, so use_plan()
  /// allocates nothing on the worker.
  const FaultPlan* keep_plan(const FaultPlan& plan);
  bool can_copy() const { return copy_pool_ != nullptr; }  ///< duplication possible
  void use_plan(const FaultPlan* plan, std::span<const uint16_t> rx_queues,
                std::optional<uint16_t> tx_queue);
  ///@}
  Port& inner() { return inner_; }  ///< the port it wraps

  struct Queue;  ///< per-queue state, private to faulty_port.cpp

 private:
  // Sends the held TX packets that are due; true if the device refused some of them.
  bool flush_tx(Queue& s, uint16_t queue, uint64_t now);

  Port& inner_;
  FaultPlan plan_;
  std::deque<FaultPlan> kept_;  // plans swapped in live (stable addresses)
  rte_mempool* copy_pool_;
  std::atomic<bool> link_up_;
  std::atomic<bool> resetting_{false};  // the injected reset happened
  std::unique_ptr<Queue[]> rxq_, txq_;
  uint16_t nrx_ = 0, ntx_ = 0;
};

}  // namespace bypass
