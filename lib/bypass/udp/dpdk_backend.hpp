// The DPDK backend of the datagram handlers: the graph of udp/udp_graph.hpp
// on each worker (the Endpoint answers ARP, NDP and ping and sorts out the
// datagrams; UdpDispatch hands each to the handler bound to its port, one
// call per handler per burst; replies are built in place, further datagrams
// zero-copy for StaticBlob slices, ICMP port unreachable for closed ports),
// and the HandlerContext whose static blobs live in DPDK memory.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <bypass/udp/frames.hpp>
#include <bypass/udp/handler.hpp>
#include <bypass/udp/udp_graph.hpp>
#include <bypass/udp/udp_modules.hpp>

namespace bypass {

// HandlerContext over DPDK memory: a blob lives until its handler is retired
// and no packet points into it any more (it is looked at again at each
// make_static and release_static), or until the context is destroyed.
class DpdkHandlerContext final : public HandlerContext {
 public:
  explicit DpdkHandlerContext(uint32_t max_payload) : max_payload_(max_payload) {}
  ~DpdkHandlerContext() override;
  Expected<const StaticBlob*> make_static(std::span<const uint8_t> bytes) override;
  void release_static(const StaticBlob* blob) override;
  uint32_t max_payload() const override { return max_payload_; }
  // Blobs held: in use, and given back but still pointed into by packets.
  size_t blobs() const { return blobs_.size() + retired_.size(); }

 private:
  void free_retired();

  uint32_t max_payload_;
  std::vector<DpdkBlob*> blobs_;
  std::vector<DpdkBlob*> retired_;  // given back; freed once no mbuf points into them
};

}  // namespace bypass
