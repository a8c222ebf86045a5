#include <bypass/udp/handlers.hpp>

#include <rte_byteorder.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include <bypass/core/config_reader.hpp>
#include <bypass/udp/fanout.hpp>

namespace bypass {

Status StaticHandler::start(HandlerContext& ctx) {
  if (chunk_ + kHeader > ctx.max_payload())
    return Status::error("static content chunk = " + std::to_string(chunk_) +
                         " does not fit a datagram here (at most " +
                         std::to_string(ctx.max_payload() - kHeader) + " bytes): lower chunk.");
  auto b = ctx.make_static(content_);
  if (!b) return b.status();
  blob_ = *b;
  return Status::ok();
}

void StaticHandler::on_datagrams(std::span<Datagram> batch, Outbox& out) {
  const uint32_t total = chunks();
  for (size_t i = 0; i < batch.size(); ++i) {
    const Datagram& d = batch[i];
    uint32_t first = 0, count = max_chunks_;
    if (d.len == 8) {
      uint32_t v[2];
      std::memcpy(v, d.data, 8);
      first = rte_be_to_cpu_32(v[0]);
      count = std::min(rte_be_to_cpu_32(v[1]), max_chunks_);
    } else if (d.len != 0) {
      bad_.add();
      continue;
    }
    for (uint32_t c = first; c < total && c < first + count; ++c) {
      uint32_t hdr[2] = {rte_cpu_to_be_32(c), rte_cpu_to_be_32(total)};
      size_t off = size_t(c) * chunk_;
      size_t len = std::min<size_t>(chunk_, content_.size() - off);
      if (!out.send(static_cast<uint16_t>(i), {reinterpret_cast<const uint8_t*>(hdr), kHeader},
                    blob_, off, len))
        return;  // outbox full: the client asks again for what is missing
      sent_.add();
    }
  }
}

Expected<std::vector<ServiceConfig>> read_services(const ConfigValue& doc) {
  std::vector<ServiceConfig> out;
  auto udpd = ConfigSection(doc, "").table("udpd");
  if (!udpd) return udpd.status();
  std::set<uint16_t> ports;
  if (*udpd)
    BYPASS_TRY((*udpd)->tables("service", [&](const ConfigSection& r, size_t) {
      BYPASS_TRY(
          r.only({"port", "handler", "file", "chunk", "max_chunks", "max_peers", "idle_seconds"}));
      ServiceConfig s;
      BYPASS_TRY(r.require("port", "add port = a UDP port from 1 to 65535"));
      BYPASS_TRY(r.integer("port", &s.port, 1, 65535));
      if (!ports.insert(s.port).second)
        return Status::error("two services use UDP port " + std::to_string(s.port) +
                             ": give each its own port.");
      BYPASS_TRY(r.require("handler",
                           "add handler = \"echo\", \"discard\", \"static\" or "
                           "\"fanout\""));
      BYPASS_TRY(
          r.choice("handler", &s.handler, {"echo", "discard", "static", "fanout"}, "a handler"));
      // Each handler's own keys, refused on the others (they would do nothing).
      for (const char* k : {"file", "chunk", "max_chunks", "max_peers", "idle_seconds"}) {
        const bool fanout_key =
            std::string_view(k) == "max_peers" || std::string_view(k) == "idle_seconds";
        const bool theirs = fanout_key ? s.handler == "fanout" : s.handler == "static";
        if (r.has(k) && !theirs)
          return r.error(k, "is not a key of the " + s.handler + " handler: remove it.");
      }
      BYPASS_TRY(r.integer("max_peers", &s.max_peers, 2, 4096));
      BYPASS_TRY(r.integer("idle_seconds", &s.idle_seconds, 1, 86400));
      if (s.handler != "static") {
        out.push_back(std::move(s));
        return Status::ok();
      }
      BYPASS_TRY(r.string("file", &s.file));
      if (s.file.empty())
        return Status::error(r.path() + " serves static content: set file to the file to serve.");
      std::ifstream f(s.file, std::ios::binary);
      if (!f)
        return Status::error(r.path() + " cannot read file '" + s.file +
                             "': check the path and its permissions.");
      s.content.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      if (s.content.empty())
        return Status::error(r.path() + " file '" + s.file +
                             "' is empty: serve a file with content.");
      BYPASS_TRY(r.integer("chunk", &s.chunk, 1, 65000));
      BYPASS_TRY(r.integer("max_chunks", &s.max_chunks, 1, 256));
      out.push_back(std::move(s));
      return Status::ok();
    }));
  if (out.empty())
    return Status::error(
        "the config names no [[udpd.service]]: add one with port and handler (echo, discard, "
        "static).");
  return out;
}

std::unique_ptr<DatagramHandler> make_handler(const ServiceConfig& s) {
  if (s.handler == "echo") return std::make_unique<EchoHandler>();
  if (s.handler == "discard") return std::make_unique<DiscardHandler>();
  if (s.handler == "fanout") return std::make_unique<FanoutHandler>(s.max_peers, s.idle_seconds);
  return std::make_unique<StaticHandler>(s.content, s.chunk, s.max_chunks);
}

}  // namespace bypass
