#include <bypass/udp/handlers.hpp>

#include <rte_byteorder.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#include <bypass/conn/keys.hpp>
#include <bypass/core/config_reader.hpp>
#include <bypass/core/file_read.hpp>
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

void StaticHandler::retire(HandlerContext& ctx) {
  if (blob_) ctx.release_static(blob_);
  blob_ = nullptr;
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
                    blob_, off, len)) {
        outbox_full_.add(batch.size() - i);  // this request and the rest of the batch
        return;
      }
      sent_.add();
    }
  }
}

void StaticHandler::counters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  out.emplace_back("static.chunks_sent", sent_.get());
  out.emplace_back("static.bad_requests", bad_.get());
  out.emplace_back("static.outbox_full", outbox_full_.get());
}

namespace {

// A static service's file is held whole in huge pages while it is served.
constexpr size_t kMaxStaticFileBytes = size_t{64} << 20;

// "198.18.0.2:40000" or "[2001:db8::2]:40000".
std::optional<SockAddr> parse_sockaddr(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return std::nullopt;  // IPv6 needs brackets
  auto ip = IpAddr::parse(host);
  const std::string port = text.substr(colon + 1);
  if (!ip || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const unsigned long p = std::stoul(port);
  if (p == 0 || p > 65535) return std::nullopt;
  return SockAddr{*ip, static_cast<uint16_t>(p)};
}

// The netcode handler's keys; the last three only with application = "rooms".
constexpr std::array<const char*, 3> kRoomsKeys = {"rooms_per_connection", "members_per_room",
                                                   "slow_member_ms"};
const std::vector<std::string> kNetcodeKeys = {
    "protocol_id",         "private_key_file", "public_addresses",
    "max_clients",         "keep_alive_ms",    "token_lifetime_seconds",
    "requests_per_second", "request_burst",    "host_requests_per_second",
    "application",         "channels",         "message_memory_mib",
    "max_message",         kRoomsKeys[0],      kRoomsKeys[1],
    kRoomsKeys[2]};

Status read_netcode(const ConfigSection& r, conn::NetcodeServiceConfig* n,
                    const HandlerRegistry* added) {
  BYPASS_TRY(r.require("protocol_id",
                       "add protocol_id = the 64-bit id your clients use, like "
                       "\"0x1122334455667788\" or 1234"));
  if (const ConfigValue* v = r.get("protocol_id"); v && v->as_string()) {
    const std::string& t = *v->as_string();
    char* end = nullptr;
    errno = 0;
    const unsigned long long id = std::strtoull(t.c_str(), &end, 0);
    // As bypass-client token takes it: digits only (no sign or space), any
    // 64-bit id (a TOML integer stops at 2^63-1: larger ones are strings).
    if (t.empty() || !std::isxdigit(static_cast<unsigned char>(t[0])) || *end != '\0' || errno != 0)
      return r.error("protocol_id", "= \"" + t +
                                        "\" is not a protocol id: write 0 to 2^64-1, like "
                                        "\"0x1122334455667788\" or as a whole number.");
    n->protocol_id = id;
  } else {
    int64_t id = 0;
    BYPASS_TRY(r.integer("protocol_id", &id, 0, INT64_MAX));
    n->protocol_id = static_cast<uint64_t>(id);
  }
  BYPASS_TRY(r.require("private_key_file",
                       "add private_key_file = the file with the 32-byte key your token backend "
                       "uses (32 raw bytes or 64 hex digits)"));
  std::string key_file;
  BYPASS_TRY(r.string("private_key_file", &key_file));
  auto key = conn::load_private_key_file(key_file);
  if (!key) return Status::error(r.where("private_key_file") + ": " + key.error());
  n->private_key = *key;
  std::vector<std::string> addrs;
  BYPASS_TRY(r.strings("public_addresses", &addrs));
  for (const auto& a : addrs) {
    auto sa = parse_sockaddr(a);
    if (!sa)
      return r.error("public_addresses", "has \"" + a +
                                             "\", which is not an address and port: write "
                                             "\"198.18.0.2:40000\" or \"[2001:db8::2]:40000\".");
    if (sa->ip.is_unspecified() || sa->port == 0)
      return r.error("public_addresses",
                     "has \"" + a +
                         "\", which no client can reach (tokens name it): give the address "
                         "and port clients send to.");
    n->public_addresses.push_back(*sa);
  }
  if (n->public_addresses.size() > 32)
    return r.error("public_addresses", "names more than 32 addresses: a token holds 32 at most.");
  BYPASS_TRY(r.integer("max_clients", &n->max_clients, 1, 1 << 20));
  BYPASS_TRY(r.integer("keep_alive_ms", &n->keep_alive_ms, 10, 10000));
  BYPASS_TRY(r.integer("token_lifetime_seconds", &n->token_lifetime_seconds, 1, 86400 * 365));
  BYPASS_TRY(r.integer("requests_per_second", &n->requests_per_second, 1, 1000000));
  BYPASS_TRY(r.integer("request_burst", &n->request_burst, 1, 1000000));
  BYPASS_TRY(r.integer("host_requests_per_second", &n->host_requests_per_second, 1, 1000000));
  std::vector<std::string> apps(conn::kBuiltInApplications.begin(),
                                conn::kBuiltInApplications.end());
  if (added) {
    for (const std::string& own : added->application_names()) {
      if (conn::is_built_in_application(own))
        return Status::error("the program added an application named \"" + own +
                             "\", which is built in: the program must give it another name.");
      apps.push_back(own);
    }
  }
  BYPASS_TRY(r.choice("application", &n->application, apps, "an application"));
  if (added && added->application_keys(n->application)) {
    // The program's own: made once now, so that its keys are checked before EAL.
    auto app = added->make_application(n->application, r);
    if (!app) return app.status();
  }
  if (n->application != "rooms") {
    for (const char* k : kRoomsKeys)
      if (r.has(k))
        return r.error(k, "only applies to application = \"rooms\": remove it or set that.");
  }
  using msg::RoomsConfig;
  BYPASS_TRY(r.integer("rooms_per_connection", &n->rooms.rooms_per_connection, 1,
                       RoomsConfig::kMaxRoomsPerConnection));
  // Every worker's room table has a membership slot per client and room it
  // may join, made at start (docs/connections.md, "Memory").
  constexpr uint64_t kMaxMemberships = RoomsConfig::kMaxMemberships;
  if (n->application == "rooms" &&
      uint64_t{n->max_clients} * n->rooms.rooms_per_connection > kMaxMemberships)
    return r.error("rooms_per_connection",
                   "times max_clients is " +
                       std::to_string(uint64_t{n->max_clients} * n->rooms.rooms_per_connection) +
                       " room memberships, more than 16777216 (12.6 bytes each, on every "
                       "worker): lower rooms_per_connection or max_clients.");
  BYPASS_TRY(r.integer("members_per_room", &n->rooms.members_per_room, 2,
                       RoomsConfig::kMaxMembersPerRoom));
  BYPASS_TRY(r.integer("slow_member_ms", &n->rooms.slow_member_ms, RoomsConfig::kMinSlowMemberMs,
                       RoomsConfig::kMaxSlowMemberMs));
  std::vector<std::string> channels;
  BYPASS_TRY(r.strings("channels", &channels));
  if (r.has("channels")) {
    if (n->application == "payload_echo")
      return r.error("channels",
                     "only applies to the message applications: set application = "
                     "\"echo\" or remove channels.");
    if (channels.empty() || channels.size() > msg::kMaxChannels)
      return r.error("channels",
                     "must name 1 to 32 channels, each \"reliable\", "
                     "\"unreliable\" or \"sequenced\".");
    n->channels.clear();
    for (const std::string& c : channels) {
      if (c == "reliable") {
        n->channels.push_back(msg::ChannelKind::kReliable);
      } else if (c == "unreliable") {
        n->channels.push_back(msg::ChannelKind::kUnreliable);
      } else if (c == "sequenced") {
        n->channels.push_back(msg::ChannelKind::kUnreliableSequenced);
      } else {
        return r.error("channels", "has \"" + c +
                                       "\": each channel is \"reliable\", \"unreliable\" or "
                                       "\"sequenced\".");
      }
    }
  }
  BYPASS_TRY(r.integer("message_memory_mib", &n->message_memory_mib, 1, 65536));
  BYPASS_TRY(
      r.integer("max_message", &n->max_message, 1, static_cast<uint32_t>(msg::kMaxMessageBytes)));
  return Status::ok();
}

}  // namespace

Expected<std::vector<ServiceConfig>> read_services(const ConfigValue& doc,
                                                   const HandlerRegistry* added) {
  std::vector<ServiceConfig> out;
  auto udpd = ConfigSection(doc, "").table("udpd");
  if (!udpd) return udpd.status();
  std::set<uint16_t> ports;
  if (*udpd)
    BYPASS_TRY((*udpd)->tables("service", [&](const ConfigSection& r, size_t) {
      std::string name;
      BYPASS_TRY(r.string("handler", &name));
      if (const std::vector<std::string>* keys = added ? added->keys(name) : nullptr) {
        std::vector<std::string> known = {"port", "handler"};
        known.insert(known.end(), keys->begin(), keys->end());
        BYPASS_TRY(r.only_list(known));
        ServiceConfig s;
        s.handler = name;
        BYPASS_TRY(r.require("port", "add port = a UDP port from 1 to 65535"));
        BYPASS_TRY(r.integer("port", &s.port, 1, 65535));
        if (!ports.insert(s.port).second)
          return Status::error("two services use UDP port " + std::to_string(s.port) +
                               ": give each its own port.");
        auto h = added->make(name, r);  // checks its keys now, before EAL
        if (!h) return h.status();
        s.table = r.value();
        out.push_back(std::move(s));
        return Status::ok();
      }
      std::vector<std::string> known = {"port",       "handler",   "file",        "chunk",
                                        "max_chunks", "max_peers", "idle_seconds"};
      known.insert(known.end(), kNetcodeKeys.begin(), kNetcodeKeys.end());
      // A netcode service running an application the program added: its keys
      // too, which must not be the service's own; another added application's
      // keys are refused by name.
      std::string app;
      if (r.get("application")) BYPASS_TRY(r.string("application", &app));
      for (const std::string& other :
           added ? added->application_names() : std::vector<std::string>{}) {
        for (const std::string& k : *added->application_keys(other)) {
          if (std::find(known.begin(), known.end(), k) != known.end())
            return Status::error("the program's application \"" + other + "\" reads key \"" + k +
                                 "\", which " + r.path() +
                                 " reads itself: the program must give its key another name.");
          if (other != app && r.has(k))
            return r.error(
                k, "only applies to application = \"" + other + "\": remove it or set that.");
        }
      }
      if (const std::vector<std::string>* keys = added ? added->application_keys(app) : nullptr)
        known.insert(known.end(), keys->begin(), keys->end());
      BYPASS_TRY(r.only_list(known));
      ServiceConfig s;
      BYPASS_TRY(r.require("port", "add port = a UDP port from 1 to 65535"));
      BYPASS_TRY(r.integer("port", &s.port, 1, 65535));
      if (!ports.insert(s.port).second)
        return Status::error("two services use UDP port " + std::to_string(s.port) +
                             ": give each its own port.");
      BYPASS_TRY(r.require("handler",
                           "add handler = \"echo\", \"discard\", \"static\", "
                           "\"fanout\" or \"netcode\""));
      BYPASS_TRY(r.string("handler", &s.handler));
      if (s.handler != "echo" && s.handler != "discard" && s.handler != "static" &&
          s.handler != "fanout" && s.handler != "netcode") {
        std::string names = "\"echo\", \"discard\", \"static\", \"fanout\", \"netcode\"";
        for (const std::string& n : added ? added->names() : std::vector<std::string>{})
          names += ", \"" + n + "\"";
        return Status::error(r.where("handler") + " = \"" + s.handler +
                             "\" is not a handler: use one of " + names + ".");
      }
      // Each handler's own keys, refused on the others (they would do nothing).
      static const std::vector<std::pair<std::string, std::vector<std::string>>> kOwn = {
          {"static", {"file", "chunk", "max_chunks"}},
          {"fanout", {"max_peers", "idle_seconds"}},
          {"netcode", {kNetcodeKeys.begin(), kNetcodeKeys.end()}}};
      for (const auto& [owner, keys] : kOwn)
        for (const auto& k : keys)
          if (r.has(k) && owner != s.handler)
            return r.error(k, "is not a key of the " + s.handler + " handler: remove it.");
      BYPASS_TRY(r.integer("max_peers", &s.max_peers, 2, 4096));
      BYPASS_TRY(r.integer("idle_seconds", &s.idle_seconds, 1, 86400));
      if (s.handler == "netcode") {
        BYPASS_TRY(read_netcode(r, &s.netcode, added));
        // An added application reads its keys again on each worker. (Only
        // then: a reload compares the table, and a built-in service is not
        // made anew for a change that reads the same, such as a default
        // written out.)
        if (added && added->application_keys(s.netcode.application)) s.table = r.value();
      }
      if (s.handler != "static") {
        out.push_back(std::move(s));
        return Status::ok();
      }
      BYPASS_TRY(r.string("file", &s.file));
      if (s.file.empty())
        return Status::error(r.path() + " serves static content: set file to the file to serve.");
      auto bytes = read_user_file(s.file, kMaxStaticFileBytes, r.path() + " file");
      if (!bytes) return bytes.status();
      s.content = std::move(*bytes);
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
  // A worker's dispatch table holds a service in a byte (0: the port is closed).
  if (out.size() > kMaxServices)
    return Status::error("[udpd] has " + std::to_string(out.size()) + " services; at most " +
                         std::to_string(kMaxServices) + " fit: remove some.");
  return out;
}

Expected<std::unique_ptr<DatagramHandler>> make_service_handler(const ServiceConfig& s,
                                                                const HandlerRegistry* added) {
  const std::string where = "[[udpd.service]] " + std::to_string(s.port);
  if (added && added->keys(s.handler)) return added->make(s.handler, ConfigSection(s.table, where));
  if (s.handler == "netcode" && added && added->application_keys(s.netcode.application)) {
    conn::NetcodeServiceConfig n = s.netcode;
    n.app.make = [added, name = n.application, table = s.table, where] {
      return added->make_application(name, ConfigSection(table, where));
    };
    return std::unique_ptr<DatagramHandler>(std::make_unique<conn::NetcodeService>(std::move(n)));
  }
  return make_handler(s);
}

std::unique_ptr<DatagramHandler> make_handler(const ServiceConfig& s) {
  if (s.handler == "echo") return std::make_unique<EchoHandler>();
  if (s.handler == "discard") return std::make_unique<DiscardHandler>();
  if (s.handler == "fanout") return std::make_unique<FanoutHandler>(s.max_peers, s.idle_seconds);
  if (s.handler == "netcode") return std::make_unique<conn::NetcodeService>(s.netcode);
  return std::make_unique<StaticHandler>(s.content, s.chunk, s.max_chunks);
}

}  // namespace bypass
