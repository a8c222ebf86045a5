#include "netcode.hpp"

#include "batch_io.hpp"
#include "netcode_io.hpp"
#include "rtt_histogram.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <vector>

#include <bypass/conn/client.hpp>
#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_service.hpp>
#include <bypass/control/cli_flags.hpp>
#include <bypass/udp/socket_backend.hpp>

namespace bypass::client {
namespace {

using conn::NetcodeAddress;
using conn::Now;

Now now() {
  return clock_now();
}

// "198.18.0.2:40000" or "[2001:db8::1]:40000".
std::optional<SockAddr> parse_server(const std::string& s) {
  const bool v6 = !s.empty() && s[0] == '[';
  const size_t colon = v6 ? s.find("]:") : s.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string host = v6 ? s.substr(1, colon - 1) : s.substr(0, colon);
  const std::string port = s.substr(colon + (v6 ? 2 : 1));
  auto ip = IpAddr::parse(host);
  char* end = nullptr;
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (!ip || ip->is_v6() != v6 || port.empty() || *end || p == 0 || p > 65535) return std::nullopt;
  return SockAddr{*ip, static_cast<uint16_t>(p)};
}

// Where a token may be written: a new file, or over a token (2,048 bytes),
// never over the key file or anything else.
Status check_token_path(const std::string& out, const std::string& key_file) {
  struct stat st {
  }, key{};
  if (::stat(out.c_str(), &st) != 0) return apps::check_writable(out, "--token");
  if (::stat(key_file.c_str(), &key) == 0 && st.st_dev == key.st_dev && st.st_ino == key.st_ino)
    return Status::error("--token '" + out + "' is the key file: give another file for the token.");
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(conn::kConnectTokenBytes))
    return Status::error("--token '" + out +
                         "' exists and is not a token (2048 bytes): give a new file, or "
                         "remove it first.");
  return apps::check_writable(out, "--token");
}

struct Events final : conn::ClientHandler {
  void on_payload(std::span<const uint8_t> p) override { got.emplace_back(p.begin(), p.end()); }
  std::vector<std::vector<uint8_t>> got;
};

}  // namespace

std::string make_recipe(const std::string& host, uint16_t port, const TokenOptions& o,
                        TokenRecipe* r) {
  if (Status s = conn::crypto_init(); !s) return s.message();
  if (o.key_file.empty())
    return "a token needs --key FILE: the servers' private key (32 bytes or 64 hex digits).";
  auto key = conn::load_private_key_file(o.key_file);
  if (!key) return "--key: " + key.error();
  r->key = *key;
  char* end = nullptr;
  errno = 0;
  r->protocol_id = std::strtoull(o.protocol_id.c_str(), &end, 0);
  if (o.protocol_id.empty() || !std::isxdigit(static_cast<unsigned char>(o.protocol_id[0])) ||
      *end || errno)
    return "--protocol-id \"" + o.protocol_id +
           "\" is not a protocol id a server takes: give 0 to 2^64-1, the servers' "
           "protocol_id.";
  auto ip = IpAddr::parse(host);
  if (!ip) return "\"" + host + "\" is not an IPv4 or IPv6 address.";
  if (ip->is_unspecified())
    return "\"" + host + "\" is no address a client can reach: give the server's public address.";
  if (port == 0) return "the server's port is 1 to 65535, not 0: change PORT.";
  r->v6 = ip->is_v6();
  conn::PrivateConnectToken& priv = r->priv;
  priv.timeout_seconds = o.timeout_seconds;
  priv.num_server_addresses = 1;
  priv.server_addresses[0] = conn::to_netcode({*ip, port});
  if (o.servers.size() + 1 > conn::kMaxServersPerConnect)
    return "a token names at most " + std::to_string(conn::kMaxServersPerConnect) +
           " servers: give fewer --server.";
  for (const std::string& more : o.servers) {
    auto a = parse_server(more);
    if (!a)
      return "--server \"" + more +
             "\" is not a server address: write \"198.18.0.2:40000\" or "
             "\"[2001:db8::1]:40000\".";
    if (a->ip.is_unspecified())
      return "--server \"" + more +
             "\" is no address a client can reach: give a server's public address.";
    priv.server_addresses[priv.num_server_addresses++] = conn::to_netcode(*a);
  }
  if (o.timeout_seconds == 0 || o.timeout_seconds < -1)
    return "--token-timeout is seconds without a packet before the connection ends, 1 or "
           "more, or -1 for never: change it.";
  if (!conn::decode_hex({reinterpret_cast<const uint8_t*>(o.user_data.data()), o.user_data.size()},
                        priv.user_data))
    return "--user-data is at most 256 bytes as hex digits, two a byte (like \"0a1b\"): "
           "change it.";
  if (o.lifetime_seconds == 0)
    return "--lifetime is the seconds a token stays valid, 1 or more: a token of 0 has "
           "expired when it is made.";
  r->lifetime_seconds = o.lifetime_seconds;
  return {};
}

std::string mint_from(const TokenRecipe& r, uint64_t client_id, uint64_t unix_now,
                      std::array<uint8_t, conn::kConnectTokenBytes>& out) {
  conn::PrivateConnectToken priv = r.priv;
  priv.client_id = client_id;
  priv.client_to_server_key = conn::random_key();
  priv.server_to_client_key = conn::random_key();
  Status s =
      conn::generate_connect_token(priv, {}, r.protocol_id, unix_now, unix_now + r.lifetime_seconds,
                                   conn::random_connect_token_nonce(), r.key, out);
  return s ? std::string() : s.message();
}

int mint_token(const std::string& host, uint16_t port, const TokenOptions& o) {
  TokenRecipe r;
  if (std::string e = make_recipe(host, port, o, &r); !e.empty()) return fail(e);
  // Never over the key (or any file the token is not): a token goes to a new
  // file or replaces a token.
  if (Status s = check_token_path(o.out, o.key_file); !s) return fail(s.message());
  std::array<uint8_t, conn::kConnectTokenBytes> out{};
  if (std::string e = mint_from(r, o.client_id, now().unix_seconds, out); !e.empty())
    return fail(e);
  // The token holds both session keys: readable by its owner only (mkstemp
  // makes a new file, 0600, never through a link). Written beside its place
  // and renamed over it, so a failed write loses nothing.
  std::string tmp = o.out + ".XXXXXX";
  const int tfd = mkostemp(tmp.data(), O_CLOEXEC);
  if (tfd < 0)
    return fail("cannot write the token to '" + o.out + "': " + std::strerror(errno) + ".");
  int err = 0;
  if (write(tfd, out.data(), out.size()) != static_cast<ssize_t>(out.size()))
    err = errno != 0 ? errno : EIO;
  if (close(tfd) != 0 && err == 0) err = errno;
  if (err == 0 && rename(tmp.c_str(), o.out.c_str()) != 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    return fail("cannot write the token to '" + o.out + "': " + std::strerror(err) + ".");
  }
  std::printf(
      "token: client %llu for %s:%u%s, valid %u s, written to %s\n",
      static_cast<unsigned long long>(o.client_id), host.c_str(), port,
      o.servers.empty() ? "" : (" and " + std::to_string(o.servers.size()) + " more").c_str(),
      o.lifetime_seconds, o.out.c_str());
  return 0;
}

bool TokenMinter::init(const std::string& host, uint16_t port, const TokenOptions& o,
                       std::string* err) {
  if (!o.servers.empty()) {
    *err =
        "--server is for the token mode: the load modes send every client to HOST PORT; "
        "drop --server.";
    return false;
  }
  *err = make_recipe(host, port, o, &r_);
  if (!err->empty()) return false;
  server_ = r_.priv.server_addresses[0];
  return true;
}

std::array<uint8_t, conn::kConnectTokenBytes> TokenMinter::mint(uint64_t client_id,
                                                                uint64_t unix_now,
                                                                std::string* err) const {
  std::array<uint8_t, conn::kConnectTokenBytes> token{};
  *err = mint_from(r_, client_id, unix_now, token);
  return token;
}

int run_netcode(const NetcodeOptions& o) {
  if (Status s = conn::crypto_init(); !s) return fail(s.message());
  auto bytes = read_user_file(o.token_file, kMaxTokenFileBytes, "the token file");
  if (!bytes) return fail(bytes.error());
  auto token = conn::read_connect_token(*bytes);
  if (!token) return fail("the token in '" + o.token_file + "': " + token.error());
  if (token->expire_timestamp <= static_cast<uint64_t>(std::time(nullptr)))
    return fail("the token in '" + o.token_file + "' has expired: mint a new one.");
  if (o.size < 1 || o.size > conn::kMaxPayloadBytes)
    return fail("netcode payloads are 1 to 1200 bytes: change -s.");
  bool dual = false;
  const int fd = open_token_socket(*token, &dual);
  if (fd < 0) return fail(std::string("cannot open a UDP socket: ") + std::strerror(errno) + ".");
  SocketSink sink(fd, dual);
  Events events;
  conn::NetcodeClient client(&sink, &events);
  const Now start = now();
  client.connect(*token, start);
  const uint64_t deadline = start.mono_ns + uint64_t(o.timeout_ms) * 1000000;
  unsigned sent = 0;
  uint64_t connected_ns = 0;
  std::vector<uint8_t> payload(o.size);
  uint8_t buf[2048];
  while (now().mono_ns < deadline) {
    Now t = now();
    client.update(t);
    if (client.state() < conn::ClientState::kDisconnected) break;
    if (connected_ns != 0 && !client.connected()) break;  // the server disconnected us
    if (client.connected() && !connected_ns) connected_ns = t.mono_ns;
    if (client.connected() && sent < o.count && events.got.size() == sent) {
      for (unsigned i = 0; i < o.size; ++i) payload[i] = static_cast<uint8_t>(sent * 7 + i);
      if (client.send_payload(payload, t)) ++sent;
    }
    if (sent == o.count && events.got.size() >= o.count) break;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 5) <= 0) continue;
    sockaddr_storage from;
    socklen_t flen = sizeof from;
    const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n <= 0) continue;
    const SockAddr src = from_sockaddr(from);
    client.receive(conn::to_netcode(src), {buf, static_cast<size_t>(n)}, now());
  }
  unsigned good = 0;
  for (unsigned i = 0; i < events.got.size() && i < sent; ++i) {
    bool same = events.got[i].size() == o.size;
    for (unsigned j = 0; same && j < o.size; ++j)
      same = events.got[i][j] == static_cast<uint8_t>(i * 7 + j);
    good += same;
  }
  const conn::ClientState end = client.state();
  const uint32_t index = client.client_index();  // disconnect() forgets it
  if (client.connected()) client.disconnect(now());
  close(fd);
  std::printf("netcode: %s, client index %u, connected in %.1f ms; payloads sent %u echoed %u\n",
              std::string(conn::client_state_name(end)).c_str(), index,
              connected_ns ? static_cast<double>(connected_ns - start.mono_ns) / 1e6 : -1.0, sent,
              good);
  return connected_ns && sent == o.count && good == o.count ? 0 : 1;
}

}  // namespace bypass::client

namespace bypass::client {
namespace {

// One client of the load: its socket, state machine and figures.
struct LoadClient final : conn::ClientHandler {
  int fd = -1;
  std::unique_ptr<BatchSocketSink> sink;
  std::unique_ptr<conn::NetcodeClient> nc;
  uint64_t next_send_ns = 0, connect_start_ns = 0, connected_ns = 0, sent = 0, echoed = 0;
  // In-flight mode: a slot per payload out (its sequence and send time, the
  // slot and the sequence's low half ride in the payload), so each one is
  // given up on its own timeout and an echo of one given up frees nothing.
  struct Out {
    uint64_t seq = 0, sent_ns = 0;
    bool used = false;
  };
  std::vector<Out> window;
  std::vector<uint32_t> free_slots;
  uint64_t next_seq = 1, next_expiry_ns = 0;
  RttHistogram* rtts = nullptr;
  uint64_t now_ns = 0;
  void on_payload(std::span<const uint8_t> p) override {
    if (p.size() < 8) return;
    uint64_t t;
    std::memcpy(&t, p.data(), 8);
    ++echoed;
    if (!window.empty() && p.size() >= 16) {
      uint32_t slot, seq;
      std::memcpy(&slot, p.data() + 8, 4);
      std::memcpy(&seq, p.data() + 12, 4);
      if (slot < window.size() && window[slot].used &&
          static_cast<uint32_t>(window[slot].seq) == seq) {
        window[slot].used = false;
        free_slots.push_back(slot);
      }
    }
    rtts->add(now_ns - t);
  }
};

// The q-quantile by nearest rank: the ceil(q N)-th smallest (from 1).
double pct(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double r = std::ceil(q * static_cast<double>(v.size()));
  return v[std::min(v.size() - 1, r <= 1 ? size_t{0} : static_cast<size_t>(r) - 1)];
}

}  // namespace

int run_netcode_load(const std::string& host, uint16_t port, const LoadOptions& o) {
  TokenMinter minter;
  std::string err;
  if (!minter.init(host, port, o.token, &err)) return fail(err);
  if (o.in_flight > 0 && o.size < 16)
    return fail(
        "in-flight payloads are 16 to 1200 bytes (a send time and a slot travel in "
        "them): change -s.");
  if (o.size < 8 || o.size > conn::kMaxPayloadBytes)
    return fail("load payloads are 8 to 1200 bytes (a send time travels in them): change -s.");
  if (o.in_flight == 0 && !(o.rate > 0))
    return fail(
        "netcode load sends at -r payloads a second per client or keeps --in-flight "
        "payloads out: give -r above 0, or --in-flight.");
  RttHistogram rtts;
  std::vector<double> connect_ms;
  std::vector<std::unique_ptr<LoadClient>> cs;
  const Now start = now();
  for (unsigned i = 0; i < o.clients; ++i) {
    auto c = std::make_unique<LoadClient>();
    c->fd = socket(minter.v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
      return fail(std::string("cannot open UDP socket ") + std::to_string(i + 1) + ": " +
                  std::strerror(errno) + " (raise the open-files limit, ulimit -n).");
    c->sink = std::make_unique<BatchSocketSink>(c->fd);
    use_segmentation(*c->sink, o.gso, i == 0);
    c->sink->connect_to(minter.server());  // one server: no route lookup per datagram
    c->nc = std::make_unique<conn::NetcodeClient>(c->sink.get(), c.get());
    c->rtts = &rtts;
    // Each client's connect time counts from its own first request, sent
    // here, not from the start (which setting up the others would add to).
    const Now t = now();
    const auto token = minter.mint(o.token.client_id + i, t.unix_seconds, &err);
    if (!err.empty()) return fail(err);
    c->connect_start_ns = t.mono_ns;
    c->nc->connect(token, t);
    c->nc->update(t);
    c->sink->flush();
    cs.push_back(std::move(c));
  }
  const uint64_t interval = o.rate > 0 ? static_cast<uint64_t>(1e9 / o.rate) : UINT64_MAX;
  // A client's reply waits while the clients after it are set up (a socket
  // and a token each): said, as it is in the early clients' connect times.
  const double setup_ms = static_cast<double>(now().mono_ns - start.mono_ns) / 1e6;
  const uint64_t stop = start.mono_ns + static_cast<uint64_t>(o.seconds * 1e9);
  std::vector<uint8_t> payload(o.size, 0x5a);
  std::vector<pollfd> pfds(cs.size());
  for (size_t i = 0; i < cs.size(); ++i) pfds[i] = {cs[i]->fd, POLLIN, 0};
  uint64_t first_echo_ns = 0;
  // In flight: a payload for each one back; lost ones (UDP) are given up
  // when nothing came back for 200 ms.
  auto top_up = [&](LoadClient& c, const Now& t) {
    if (!c.nc->connected()) return;
    if (o.in_flight == 0) {
      if (t.mono_ns < c.next_send_ns) return;
      std::memcpy(payload.data(), &t.mono_ns, 8);
      if (c.nc->send_payload(payload, t)) ++c.sent;
      c.next_send_ns += interval;
      if (c.next_send_ns < t.mono_ns) c.next_send_ns = t.mono_ns + interval;  // fell behind
      return;
    }
    if (c.window.empty()) {
      c.window.resize(o.in_flight);
      for (uint32_t s = o.in_flight; s-- > 0;) c.free_slots.push_back(s);
    }
    if (t.mono_ns >= c.next_expiry_ns) {  // lost (UDP): given up after 200 ms
      c.next_expiry_ns = t.mono_ns + 10'000'000;
      for (uint32_t s = 0; s < c.window.size(); ++s) {
        LoadClient::Out& w = c.window[s];
        if (w.used && t.mono_ns - w.sent_ns > 200'000'000) {
          w.used = false;
          c.free_slots.push_back(s);
        }
      }
    }
    std::memcpy(payload.data(), &t.mono_ns, 8);
    while (!c.free_slots.empty()) {
      const uint32_t slot = c.free_slots.back();
      const uint32_t seq = static_cast<uint32_t>(c.next_seq);
      std::memcpy(payload.data() + 8, &slot, 4);
      std::memcpy(payload.data() + 12, &seq, 4);
      if (!c.nc->send_payload(payload, t)) break;
      c.free_slots.pop_back();
      c.window[slot] = {c.next_seq++, t.mono_ns, true};
      ++c.sent;
    }
  };
  while (now().mono_ns < stop) {
    for (size_t i = 0; i < cs.size(); ++i) {
      LoadClient& c = *cs[i];
      const Now t = now();
      c.now_ns = t.mono_ns;
      c.nc->update(t);
      if (c.nc->connected() && !c.connected_ns) {
        c.connected_ns = t.mono_ns;
        connect_ms.push_back(static_cast<double>(t.mono_ns - c.connect_start_ns) / 1e6);
        c.next_send_ns = t.mono_ns;
      }
      top_up(c, t);
      c.sink->flush();
    }
    if (poll(pfds.data(), pfds.size(), 1) <= 0) continue;
    for (size_t i = 0; i < cs.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      LoadClient& c = *cs[i];
      const uint64_t before = c.echoed;
      Now t;
      unsigned got, batches = 0;
      do {  // the time of each batch, for the round trips in it
        t = now();
        c.now_ns = t.mono_ns;
        got = receive_batch(c.fd, [&](const conn::NetcodeAddress& from, std::span<uint8_t> b) {
          c.nc->receive(from, b, t);
        });
      } while (got == kIoBatch && ++batches < kDrainBatches);
      if (c.echoed > before && !first_echo_ns) first_echo_ns = t.mono_ns;
      top_up(c, t);
      c.sink->flush();
    }
  }
  unsigned connected = 0, denied = 0, timed_out = 0;
  uint64_t sent = 0, echoed = 0, unsent = 0, segmented = 0;
  for (auto& c : cs) {
    const conn::ClientState st = c->nc->state();
    connected += c->connected_ns != 0;
    denied += st == conn::ClientState::kConnectionDenied;
    timed_out += st == conn::ClientState::kConnectionTimedOut ||
                 st == conn::ClientState::kConnectionRequestTimedOut ||
                 st == conn::ClientState::kConnectionResponseTimedOut;
    sent += c->sent;
    echoed += c->echoed;
    if (c->nc->connected()) c->nc->disconnect(now());
    c->sink->flush();
    unsent += c->sink->errors;
    segmented += c->sink->segmented;
    close(c->fd);
  }
  const double secs = first_echo_ns ? static_cast<double>(stop - first_echo_ns) / 1e9 : o.seconds;
  std::printf(
      "netcode load: %u clients, %u connected, %u denied, %u timed out; connect p50 %.1f ms "
      "p99 %.1f ms; payloads sent %llu echoed %llu (%.0f/s); rtt p50 %.0f us p99 %.0f us max "
      "%.0f us; datagrams the socket refused %llu; set up in %.1f ms\n",
      o.clients, connected, denied, timed_out, pct(connect_ms, 0.5), pct(connect_ms, 0.99),
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(echoed),
      static_cast<double>(echoed) / (secs > 0 ? secs : 1),
      static_cast<double>(rtts.percentile(50)) / 1e3,
      static_cast<double>(rtts.percentile(99)) / 1e3, static_cast<double>(rtts.max()) / 1e3,
      static_cast<unsigned long long>(unsent), setup_ms);
  print_segmented(o.gso, segmented);
  return connected == o.clients && echoed > 0 ? 0 : 1;
}

}  // namespace bypass::client
