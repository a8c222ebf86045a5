// The built-in handlers of bypass-udpd:
//   echo    - sends every datagram back unchanged;
//   discard - consumes every datagram (RFC 863), counting them;
//   static  - serves a file's bytes from a StaticBlob, chunked into datagrams,
//             zero-copy. A request is empty (the first chunks) or 8 bytes: the
//             first chunk and how many (big-endian u32 each). Each answer is a
//             datagram with an 8-byte header (chunk index, total chunks) and the
//             chunk. At most max_chunks go back per request, so a small spoofed
//             request cannot draw an unbounded answer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <bypass/conn/netcode_service.hpp>
#include <bypass/core/config_value.hpp>
#include <bypass/core/counter.hpp>
#include <bypass/udp/handler.hpp>
#include <bypass/udp/handler_registry.hpp>

namespace bypass {

class EchoHandler final : public DatagramHandler {
 public:
  void on_datagrams(std::span<Datagram> batch, Outbox&) override {
    for (Datagram& d : batch) d.reply_unchanged();
    echoed_.add(batch.size());
  }
  uint64_t echoed() const { return echoed_.get(); }

 private:
  Counter echoed_;
};

class DiscardHandler final : public DatagramHandler {
 public:
  void on_datagrams(std::span<Datagram> batch, Outbox&) override {
    uint64_t bytes = 0;
    for (const Datagram& d : batch) bytes += d.len;
    datagrams_.add(batch.size());
    bytes_.add(bytes);
  }
  uint64_t datagrams() const { return datagrams_.get(); }
  uint64_t bytes() const { return bytes_.get(); }

 private:
  Counter datagrams_, bytes_;
};

class StaticHandler final : public DatagramHandler {
 public:
  static constexpr uint32_t kHeader = 8;
  StaticHandler(std::vector<uint8_t> content, uint32_t chunk, uint32_t max_chunks)
      : content_(std::move(content)), chunk_(chunk), max_chunks_(max_chunks) {}
  Status start(HandlerContext& ctx) override;
  void retire(HandlerContext& ctx) override;
  void on_datagrams(std::span<Datagram> batch, Outbox& out) override;

  uint32_t chunks() const { return static_cast<uint32_t>((content_.size() + chunk_ - 1) / chunk_); }
  uint64_t sent() const { return sent_.get(); }
  uint64_t bad_requests() const { return bad_.get(); }
  // Requests left unanswered, or answered in part, because the batch filled
  // the Outbox: the client asks again for what is missing.
  uint64_t outbox_full() const { return outbox_full_.get(); }
  // static.chunks_sent, static.bad_requests, static.outbox_full.
  void counters(std::vector<std::pair<std::string, uint64_t>>& out) const override;

 private:
  std::vector<uint8_t> content_;
  uint32_t chunk_, max_chunks_;
  const StaticBlob* blob_ = nullptr;
  Counter sent_, bad_, outbox_full_;
};

// One [[udpd.service]] table: port, handler, and the handler's own keys.
struct ServiceConfig {
  uint16_t port = 0;
  std::string handler;
  std::string file;                    // static
  uint32_t chunk = 1024;               // static: payload bytes per datagram
  uint32_t max_chunks = 16;            // static: datagrams per request at most
  std::vector<uint8_t> content;        // static: the file, read when the config is read
  uint32_t max_peers = 64;             // fanout: peers in the room at most
  uint32_t idle_seconds = 30;          // fanout: silence after which a peer is forgotten
  conn::NetcodeServiceConfig netcode;  // netcode (its key read from private_key_file)
  // A handler or message application the program added: the service's whole
  // table (its keys are read again on each worker, and a reload that changes
  // any of them makes the service anew). Empty otherwise.
  ConfigValue table;
  bool operator==(const ServiceConfig&) const = default;
};

// From the document's [[udpd.service]] tables; at least one. `added`: the
// handlers the program added by name, besides the built-in ones.
Expected<std::vector<ServiceConfig>> read_services(const ConfigValue& doc,
                                                   const HandlerRegistry* added = nullptr);
// A new handler of a built-in kind for one worker.
std::unique_ptr<DatagramHandler> make_handler(const ServiceConfig& s);
// A new handler for one worker: built in, or one of `added` (whose factory
// may fail now though it did not when the config was read: a file gone).
Expected<std::unique_ptr<DatagramHandler>> make_service_handler(const ServiceConfig& s,
                                                                const HandlerRegistry* added);

}  // namespace bypass
