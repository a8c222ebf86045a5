#include <bypass/udp/dpdk_backend.hpp>

#include <spdlog/spdlog.h>

namespace bypass {

DpdkHandlerContext::~DpdkHandlerContext() {
  for (DpdkBlob* b : blobs_)
    if (!DpdkBlob::destroy(b))
      spdlog::warn("a static blob is still referenced by packets in flight; kept");
}

Expected<const StaticBlob*> DpdkHandlerContext::make_static(std::span<const uint8_t> bytes) {
  DpdkBlob* b = DpdkBlob::create(bytes);
  if (!b)
    return Status::error(
        "no DPDK memory for " + std::to_string(bytes.size()) +
        " bytes of static content: give DPDK more memory or serve a smaller file.");
  blobs_.push_back(b);
  return &b->blob;
}

}  // namespace bypass
