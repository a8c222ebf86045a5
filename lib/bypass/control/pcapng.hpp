// A pcapng writer of our own (bypassctl capture): one section whose comment
// names the capture point, one Ethernet interface named after it with
// nanosecond timestamps, and one enhanced packet block per packet, with the
// worker that saw it as the packet's comment. DPDK 22.11's rte_pcapng has
// one interface per port and no per-packet comment, which a point between
// two modules does not fit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include <bypass/core/status.hpp>

namespace bypass {

class PcapngWriter {
 public:
  // Creates `path` and writes the section and interface headers.
  static Expected<PcapngWriter> create(const std::string& path, const std::string& comment,
                                       const std::string& interface_name, uint32_t snaplen,
                                       const std::string& application);
  PcapngWriter(PcapngWriter&& o) noexcept : f_(o.f_) { o.f_ = nullptr; }
  PcapngWriter& operator=(PcapngWriter&&) = delete;
  ~PcapngWriter();

  void packet(uint64_t unix_ns, uint32_t wire_len, std::span<const uint8_t> data,
              const std::string& comment);
  void flush();
  // Whether everything so far was written (false: a full disk, say).
  bool ok() const;

 private:
  explicit PcapngWriter(std::FILE* f) : f_(f) {}
  std::FILE* f_;
};

}  // namespace bypass
