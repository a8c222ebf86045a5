// The DPDK backend of the datagram handlers: on each worker, for each RX queue
// it owns, a UdpPoller receives a burst, lets the port's Endpoint answer ARP,
// NDP and ping and sort out the UDP datagrams, hands those to the handler
// bound to their port (one call per handler per burst), and sends replies
// built in place, further datagrams (zero-copy for StaticBlob slices) and ICMP
// port-unreachable for closed ports on the worker's own TX queue.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <bypass/core/worker.hpp>
#include <bypass/io/port.hpp>
#include <bypass/net/endpoint.hpp>
#include <bypass/udp/frames.hpp>
#include <bypass/udp/handler.hpp>

namespace bypass {

// UDP port -> handler, per worker.
struct ServiceTable {
  std::array<uint8_t, 65536> slot{};  // 0: closed; else index + 1 into handlers
  std::vector<DatagramHandler*> handlers;
  void bind(uint16_t port, DatagramHandler* h) {
    handlers.push_back(h);
    slot[port] = static_cast<uint8_t>(handlers.size());
  }
};

struct alignas(RTE_CACHE_LINE_SIZE) UdpCounters {
  Counter datagrams, replies, consumed, sent, send_failed;
};

class UdpPoller final : public Poller {
 public:
  UdpPoller(Port& port, uint16_t rxq, uint16_t txq, Endpoint& ep, const ServiceTable& services,
            rte_mempool* pool, bool announce);
  bool poll(Worker& w) override;
  void finish(Worker& w) override;
  const UdpCounters& counters() const { return counters_; }

 private:
  void dispatch(Worker& w, UdpBatch& udp);
  void serve(Worker& w, DatagramHandler* h, UdpBatch& udp, const uint8_t* idx, unsigned n);
  void queue(Worker& w, rte_mbuf* m);
  void flush(Worker& w);

  Port& port_;
  uint16_t rxq_, txq_;
  Endpoint& ep_;
  const ServiceTable& services_;
  rte_mempool* pool_;
  bool announce_;
  ReplyParams rp_;
  Batch tx_;
  Outbox outbox_;
  UdpCounters counters_;
  uint64_t last_tick_ = 0, tick_interval_ = 0;  // neighbour upkeep, about once a millisecond
};

// HandlerContext over DPDK memory: blobs live until the context is destroyed.
class DpdkHandlerContext final : public HandlerContext {
 public:
  explicit DpdkHandlerContext(uint32_t max_payload) : max_payload_(max_payload) {}
  ~DpdkHandlerContext() override;
  Expected<const StaticBlob*> make_static(std::span<const uint8_t> bytes) override;
  uint32_t max_payload() const override { return max_payload_; }

 private:
  uint32_t max_payload_;
  std::vector<DpdkBlob*> blobs_;
};

}  // namespace bypass
