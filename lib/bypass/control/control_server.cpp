#include <bypass/control/control_server.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

#include <bypass/control/http_host.hpp>
#include <bypass/control/stats.hpp>

namespace bypass {

namespace {

constexpr size_t kMaxClients = 64;
constexpr size_t kMaxRequest = 8192;
constexpr auto kClientTimeout = std::chrono::seconds(5);

bool parse_size(const std::string& s, size_t* out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = static_cast<size_t>(std::strtoull(s.c_str(), nullptr, 10));
  return true;
}

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// True if something answers on the Unix socket at `path`.
// (Without waiting: one whose backlog is full, a stuck instance, answers
// EAGAIN, and is alive.)
bool socket_alive(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  const bool alive =
      connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 || errno == EAGAIN;
  close(fd);
  return alive;
}

Expected<int> bind_unix(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof(a.sun_path))
    return Status::error("the control socket path '" + path + "' is longer than " +
                         std::to_string(sizeof(a.sun_path) - 1) +
                         " bytes: set a shorter [control] socket.");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("cannot make a Unix socket: " + std::string(strerror(errno)));
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  // A stale socket (whoever made it is gone: checked by the caller) goes;
  // anything else at that path is not ours to remove.
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      close(fd);
      return Status::error("'" + path +
                           "' exists and is not a socket: set [control] socket to another path.");
    }
    unlink(path.c_str());
  }
  // Made 0660 as it is bound (a chmod after would follow a symlink swapped in).
  const mode_t old_mask = umask(0117);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  umask(old_mask);
  if (!ok || listen(fd, 16) != 0) {
    std::string why = strerror(errno);
    close(fd);
    return Status::error("cannot listen on the control socket '" + path + "' (" + why +
                         "): set [control] socket to a path in a writable directory, or \"off\".");
  }
  set_nonblocking(fd);
  return fd;
}

// "127.0.0.1:9100" or "[::1]:9100"; port 0 picks one.
Expected<int> bind_tcp(const std::string& addr, std::string* bound) {
  const std::string hint = "[control] metrics = \"" + addr +
                           "\" is not an address to listen on: write it as "
                           "\"127.0.0.1:9100\" or \"[::1]:9100\".";
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return Status::error(hint);
  std::string host = addr.substr(0, colon);
  size_t port = 0;
  if (!parse_size(addr.substr(colon + 1), &port) || port > 65535) return Status::error(hint);
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool v6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &s6->sin6_addr) != 1)
      return Status::error(hint);
    len = sizeof(*s6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) != 1) return Status::error(hint);
    len = sizeof(*s4);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("cannot make a TCP socket: " + std::string(strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 16) != 0) {
    std::string why = strerror(errno);
    close(fd);
    return Status::error("cannot listen on " + addr + " for metrics (" + why +
                         "): choose a free port in [control] metrics.");
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  uint16_t p = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                  : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  *bound = host + ":" + std::to_string(p);
  set_nonblocking(fd);
  return fd;
}

const char* http_status_text(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 403:
      return "Forbidden";
    case 413:
      return "Content Too Large";
    default:
      return "Internal Server Error";
  }
}

std::string http_response(int code, const std::string& type, const std::string& body, bool head) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + http_status_text(code) +
                  "\r\nContent-Type: " + type +
                  "\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!head) r += body;
  return r;
}

}  // namespace

struct ControlServer::Client {
  int fd = -1;
  bool http = false;
  std::string in, out;
  size_t sent = 0;
  std::chrono::steady_clock::time_point deadline;
  ~Client() {
    if (fd >= 0) close(fd);
  }
};

Expected<CommandRequest> parse_command_line(const std::string& line) {
  CommandRequest r;
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) words.push_back(line.substr(i, j - i));
    i = j;
  }
  if (words.empty()) return Status::error("the request names no command: send \"help\".");
  r.name = words[0];
  for (size_t k = 1; k < words.size(); ++k) {
    const std::string& w = words[k];
    if (w == "--json") {
      r.json = true;
    } else if (w == "--offset" || w == "--limit") {
      size_t v = 0;
      if (k + 1 >= words.size() || !parse_size(words[k + 1], &v))
        return Status::error(w + " takes a count: write " + w + " 100.");
      (w == "--offset" ? r.offset : r.limit) = v;
      ++k;
    } else {
      r.args.push_back(w);
    }
  }
  if (r.limit > 10000) r.limit = 10000;
  return r;
}

Expected<std::unique_ptr<ControlServer>> ControlServer::open(const ControlConfig& c,
                                                             const std::string& program) {
  std::unique_ptr<ControlServer> s(new ControlServer());
  if (c.socket_on) {
    std::string path = c.socket;
    if (path.empty()) {
      std::string dir = control_socket_dir();
      mkdir(dir.c_str(), 0750);
      // Ours alone: another user who made it first (in /tmp, say) could
      // swap the socket bypassctl talks to.
      struct stat st {};
      if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
          (st.st_mode & 022) != 0)
        return Status::error("the control directory '" + dir +
                             "' is not a directory of this user's that only it may write: remove "
                             "it, or set [control] socket to a path of your own.");
      std::string name = c.name.empty() ? program : c.name;
      path = dir + "/" + name + ".sock";
      if (socket_alive(path)) {
        std::string taken = path;
        path = dir + "/" + name + "-" + std::to_string(getpid()) + ".sock";
        spdlog::info("control: {} is served by another running bypass; this one is {}", taken,
                     path);
      }
    } else if (socket_alive(path)) {
      return Status::error("another running bypass serves the control socket '" + path +
                           "': give this one its own [control] socket or name.");
    }
    auto fd = bind_unix(path);
    if (!fd) return fd.status();
    s->unix_fd_ = *fd;
    s->socket_path_ = path;
    if (struct stat st{}; lstat(path.c_str(), &st) == 0) {
      s->socket_ino_ = st.st_ino;
      s->socket_dev_ = st.st_dev;
    }
    spdlog::info("control: bypassctl -s {}", path);
  }
  s->http_hosts_ = c.metrics_hosts;
  if (!c.metrics.empty()) {
    auto fd = bind_tcp(c.metrics, &s->http_address_);
    if (!fd) return fd.status();
    s->http_fd_ = *fd;
    spdlog::info("control: metrics and live page on http://{}/", s->http_address_);
  }
  s->add_view("help", "the commands and what each shows", [srv = s.get()](const CommandRequest& r) {
    std::string out;
    if (r.json) {
      out = "{";
      for (const auto& [name, cmd] : srv->commands_)
        out += (out.size() > 1 ? "," : "") + json_quote(name) + ":" + json_quote(cmd.help);
      return CommandReply{true, out + "}"};
    }
    for (const auto& [name, cmd] : srv->commands_)
      out +=
          "  " + name + std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') + cmd.help + "\n";
    return CommandReply{true, out};
  });
  return s;
}

ControlServer::~ControlServer() {
  clients_.clear();
  if (unix_fd_ >= 0) {
    close(unix_fd_);
    struct stat st {};
    if (lstat(socket_path_.c_str(), &st) == 0 && st.st_ino == socket_ino_ &&
        st.st_dev == socket_dev_)
      unlink(socket_path_.c_str());
  }
  if (http_fd_ >= 0) close(http_fd_);
}

void ControlServer::add_command(const std::string& name, const std::string& help, CommandFn fn) {
  commands_[name] = Command{help, std::move(fn), false};
}

void ControlServer::add_view(const std::string& name, const std::string& help, CommandFn fn) {
  commands_[name] = Command{help, std::move(fn), true};
}

void ControlServer::add_page(const std::string& path, const std::string& type, PageFn fn) {
  pages_[path] = Page{type, std::move(fn)};
}

CommandReply ControlServer::run(const CommandRequest& r) const {
  auto it = commands_.find(r.name);
  if (it == commands_.end())
    return CommandReply::error("there is no command '" + r.name + "': \"help\" lists them.");
  return it->second.fn(r);
}

CommandReply ControlServer::run_line(const std::string& line) const {
  auto r = parse_command_line(line);
  if (!r) return CommandReply::error(r.error());
  return run(*r);
}

void ControlServer::accept_from(int listen_fd, bool http) {
  while (true) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    // Each listener has its own room (HTTP connections cannot push bypassctl
    // out). A full Unix room turns the newcomer away; a full HTTP room (no
    // login: anyone on the host may fill it with idle connections) lets it
    // in in place of the oldest connection that has not sent its request.
    const auto same = std::count_if(clients_.begin(), clients_.end(),
                                    [http](const auto& c) { return c->http == http; });
    if (static_cast<size_t>(same) >= kMaxClients) {
      auto idle = http ? std::find_if(clients_.begin(), clients_.end(),
                                      [](const auto& c) { return c->http && c->out.empty(); })
                       : clients_.end();
      if (idle == clients_.end()) {
        close(fd);
        continue;
      }
      clients_.erase(idle);
    }
    auto c = std::make_unique<Client>();
    c->fd = fd;
    c->http = http;
    c->deadline = std::chrono::steady_clock::now() + kClientTimeout;
    clients_.push_back(std::move(c));
  }
}

void ControlServer::answer_unix(Client& c) {
  size_t nl = c.in.find('\n');
  CommandReply r = run_line(c.in.substr(0, nl));
  c.out = (r.ok ? "ok\n" : "error\n") + r.body;
  if (!r.body.empty() && r.body.back() != '\n') c.out += '\n';
}

std::string ControlServer::answer_http_request(const std::string& in) {
  // METHOD SP TARGET SP VERSION: a target never holds a space or a control
  // character, so one that does is refused, not passed on.
  size_t eol = in.find("\r\n");
  std::string first = in.substr(0, eol);
  size_t sp1 = first.find(' '), sp2 = sp1 == std::string::npos ? sp1 : first.find(' ', sp1 + 1);
  const bool clean = std::none_of(first.begin(), first.end(),
                                  [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
  if (sp2 == std::string::npos || sp2 == sp1 + 1 || first.find(' ', sp2 + 1) != std::string::npos ||
      !clean) {
    return http_response(400, "text/plain", "bad request line\n", false);
  }
  std::string method = first.substr(0, sp1), target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  bool head = method == "HEAD";
  std::string host;
  switch (judge_host(in, http_hosts_, &host)) {
    case HostVerdict::kAllowed:
      break;
    case HostVerdict::kBad:
      return http_response(400, "text/plain", "bad Host header: give one, as host[:port]\n", head);
    case HostVerdict::kRefused: {
      // A page in a browser that resolved a name of its own to this address
      // (DNS rebinding) sends that name: refused, so it cannot read the API.
      const std::string why = "the Host '" + host +
                              "' is not an address of this server nor a name it was given: add "
                              "the name to [control] metrics_hosts to answer it.";
      if (!host_refusal_logged_) {
        host_refusal_logged_ = true;
        spdlog::warn("control: HTTP: {} (logged once)", why);
      }
      return http_response(403, "text/plain", why + "\n", head);
    }
  }
  if (method != "GET" && !head) {
    return http_response(405, "text/plain", "only GET is served\n", false);
  }
  std::string path = target, query;
  if (size_t q = target.find('?'); q != std::string::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  if (auto it = pages_.find(path); it != pages_.end()) {
    return http_response(200, it->second.type, it->second.fn(), head);
  }
  if (path.rfind("/api/", 0) == 0) {
    // The request is built here, not as a line to parse again: nothing in
    // the target can name another command or add an option.
    CommandRequest r;
    r.name = path.substr(5);
    r.json = true;
    const auto it = commands_.find(r.name);
    if (it != commands_.end() && !it->second.view) {
      return http_response(
          403, "application/json",
          "{\"error\":" +
              json_quote("'" + r.name +
                         "' changes the server: it is served on the control socket only "
                         "(bypassctl), not over HTTP.") +
              "}",
          head);
    }
    for (size_t i = 0; i < query.size();) {  // offset=10&limit=5&arg=x
      size_t amp = query.find('&', i);
      std::string kv = query.substr(i, amp == std::string::npos ? std::string::npos : amp - i);
      size_t eq = kv.find('=');
      std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
      if (k == "offset" || k == "limit") {
        size_t n = 0;
        if (!parse_size(v, &n)) {
          return http_response(
              400, "application/json",
              "{\"error\":" + json_quote(k + " takes a count, like " + k + "=100.") + "}", head);
        }
        (k == "offset" ? r.offset : r.limit) = std::min<size_t>(n, k == "limit" ? 10000 : n);
      } else if (k == "arg") {
        r.args.push_back(v);
      }
      if (amp == std::string::npos) break;
      i = amp + 1;
    }
    CommandReply reply = run(r);
    return reply.ok ? http_response(200, "application/json", reply.body, head)
                    : http_response(404, "application/json",
                                    "{\"error\":" + json_quote(reply.body) + "}", head);
  }
  return http_response(404, "text/plain", "not found: try /metrics or /\n", head);
}

bool ControlServer::on_readable(Client& c) {
  char buf[2048];
  bool eof = false;
  while (true) {
    ssize_t n = read(c.fd, buf, sizeof(buf));
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.size() > kMaxRequest) {  // said, not dropped without a word
        c.in.clear();
        c.out = c.http ? http_response(413, "text/plain", "the request is over 8 KiB\n", false)
                       : "error\nthe request is over 8 KiB: send one command, of a line.\n";
        return true;
      }
      continue;
    }
    if (n == 0) {  // the peer finished writing
      eof = true;
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return false;
  }
  bool complete =
      c.http ? c.in.find("\r\n\r\n") != std::string::npos : c.in.find('\n') != std::string::npos;
  // Nothing more will come: a command line without its newline is still
  // answered; anything else is dropped (polling it would spin until its deadline).
  if (!complete && eof) {
    if (c.http || c.in.empty()) return false;
    complete = true;
  }
  if (complete && c.out.empty()) {
    if (c.http)
      c.out = answer_http_request(c.in);
    else
      answer_unix(c);
    // The time to read the reply starts now: a command that took long (a
    // reload) is not cut off before its answer is sent.
    c.deadline = std::chrono::steady_clock::now() + kClientTimeout;
  }
  return true;
}

void ControlServer::serve(int wake_fd, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto now = std::chrono::steady_clock::now();
    std::erase_if(clients_, [now](const auto& c) { return now > c->deadline; });
    if (now >= until) return;
    std::vector<pollfd> fds;
    fds.push_back({wake_fd, POLLIN, 0});
    if (unix_fd_ >= 0) fds.push_back({unix_fd_, POLLIN, 0});
    if (http_fd_ >= 0) fds.push_back({http_fd_, POLLIN, 0});
    const size_t first_client = fds.size();
    for (const auto& c : clients_)
      fds.push_back({c->fd, static_cast<short>(c->out.empty() ? POLLIN : POLLOUT), 0});
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
    if (idle_) {
      auto fn = idle_;  // it may end itself (set_idle(nullptr)) while it runs
      fn();
      left = std::min<decltype(left)>(left, 5);
    }
    int n = poll(fds.data(), fds.size(), static_cast<int>(left));
    if (n <= 0) continue;
    if (fds[0].revents) return;
    std::vector<int> drop;
    for (size_t i = first_client; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Client& c = *clients_[i - first_client];
      if (c.out.empty()) {
        if (!on_readable(c) || (fds[i].revents & (POLLHUP | POLLERR) && c.out.empty()))
          drop.push_back(c.fd);
        continue;
      }
      ssize_t w = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (w > 0) c.sent += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN) || c.sent == c.out.size()) drop.push_back(c.fd);
    }
    std::erase_if(clients_, [&drop](const auto& c) {
      return std::find(drop.begin(), drop.end(), c->fd) != drop.end();
    });
    // New connections last: clients_ matched fds[] until here.
    for (size_t i = 1; i < first_client; ++i)
      if (fds[i].revents & POLLIN) accept_from(fds[i].fd, fds[i].fd == http_fd_);
  }
}

}  // namespace bypass
