#include <bypass/udp/dpdk_backend.hpp>

#include <spdlog/spdlog.h>

namespace bypass {

DpdkHandlerContext::~DpdkHandlerContext() {
  for (DpdkBlob* b : blobs_) retired_.push_back(b);
  blobs_.clear();
  for (DpdkBlob* b : retired_)
    if (!DpdkBlob::destroy(b))
      spdlog::warn("a static blob is still referenced by packets in flight; kept");
}

Expected<const StaticBlob*> DpdkHandlerContext::make_static(std::span<const uint8_t> bytes) {
  free_retired();
  DpdkBlob* b = DpdkBlob::create(bytes);
  if (!b)
    return Status::error(
        "no DPDK memory for " + std::to_string(bytes.size()) +
        " bytes of static content: give DPDK more memory or serve a smaller file.");
  blobs_.push_back(b);
  return &b->blob;
}

void DpdkHandlerContext::release_static(const StaticBlob* blob) {
  for (size_t i = 0; i < blobs_.size(); ++i) {
    if (&blobs_[i]->blob != blob) continue;
    retired_.push_back(blobs_[i]);
    blobs_.erase(blobs_.begin() + static_cast<std::ptrdiff_t>(i));
    break;
  }
  free_retired();
}

void DpdkHandlerContext::free_retired() {
  std::erase_if(retired_, [](DpdkBlob* b) { return DpdkBlob::destroy(b); });
}

}  // namespace bypass
