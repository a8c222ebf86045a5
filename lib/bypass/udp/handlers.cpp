#include <bypass/udp/handlers.hpp>

#include <rte_byteorder.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

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

Expected<std::vector<ServiceConfig>> read_services(const toml::table& doc) {
  std::vector<ServiceConfig> out;
  const toml::table* u = doc["udpd"].as_table();
  const toml::array* a = u ? (*u)["service"].as_array() : nullptr;
  if (!a || a->empty())
    return Status::error(
        "the config names no [[udpd.service]]: add one with port and handler (echo, discard, "
        "static).");
  std::set<uint16_t> ports;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::table* t = (*a)[i].as_table();
    std::string where = "[[udpd.service]] " + std::to_string(i + 1);
    if (!t) return Status::error(where + " must be a table.");
    for (const auto& [k, v] : *t) {
      (void)v;
      static const std::set<std::string> kKnown = {"port", "handler", "file", "chunk",
                                                   "max_chunks"};
      if (!kKnown.count(std::string(k.str())))
        return Status::error(
            "unknown key '" + std::string(k.str()) + "' in " + where +
            ": check its spelling (known keys: port, handler, file, chunk, max_chunks).");
    }
    ServiceConfig s;
    auto port = (*t)["port"].value<int64_t>();
    if (!port || *port < 1 || *port > 65535)
      return Status::error(where + " needs port = a UDP port from 1 to 65535.");
    s.port = static_cast<uint16_t>(*port);
    if (!ports.insert(s.port).second)
      return Status::error("two services use UDP port " + std::to_string(s.port) +
                           ": give each its own port.");
    s.handler = (*t)["handler"].value_or(std::string());
    if (s.handler != "echo" && s.handler != "discard" && s.handler != "static")
      return Status::error(where + ".handler = \"" + s.handler +
                           "\" is not a handler: use \"echo\", \"discard\" or \"static\".");
    if (s.handler == "static") {
      s.file = (*t)["file"].value_or(std::string());
      if (s.file.empty())
        return Status::error(where + " serves static content: set file to the file to serve.");
      std::ifstream f(s.file, std::ios::binary);
      if (!f)
        return Status::error(where + " cannot read file '" + s.file +
                             "': check the path and its permissions.");
      s.content.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      if (s.content.empty())
        return Status::error(where + " file '" + s.file + "' is empty: serve a file with content.");
      auto chunk = (*t)["chunk"].value_or<int64_t>(1024);
      if (chunk < 1 || chunk > 65000)
        return Status::error(where + ".chunk must be from 1 to 65000 bytes.");
      s.chunk = static_cast<uint32_t>(chunk);
      auto mc = (*t)["max_chunks"].value_or<int64_t>(16);
      if (mc < 1 || mc > 256) return Status::error(where + ".max_chunks must be from 1 to 256.");
      s.max_chunks = static_cast<uint32_t>(mc);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::unique_ptr<DatagramHandler> make_handler(const ServiceConfig& s) {
  if (s.handler == "echo") return std::make_unique<EchoHandler>();
  if (s.handler == "discard") return std::make_unique<DiscardHandler>();
  return std::make_unique<StaticHandler>(s.content, s.chunk, s.max_chunks);
}

}  // namespace bypass
