/// @file
/// ControlServer: how operators reach a running bypass. It listens on a Unix
/// socket of its own (one per instance, for bypassctl) and, when configured,
/// on a TCP address for HTTP (Prometheus' /metrics, the JSON API, the live
/// page). It never starts a thread: the control thread calls serve() while it
/// waits for its next tick, so every command runs on the control core and no
/// worker ever waits on an operator.
///
/// Wire format on the Unix socket: one request line "COMMAND [ARG...]\n"
/// (a "--json" argument asks for JSON), answered by "ok\n" or "error\n", the
/// body, and the end of the connection.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <bypass/control/run_dir.hpp>
#include <bypass/core/config.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

/// One request line, parsed: the command, its arguments and the options any command takes.
struct CommandRequest {
  std::string name;               ///< the command ("stats")
  std::vector<std::string> args;  ///< without the options below
  bool json = false;              ///< --json: the body is JSON
  size_t offset = 0;              ///< --offset N: paged lists start here
  size_t limit = 100;             ///< --limit N: at most this many entries (capped at 10,000)
};

/// A command's answer: a body, or an error sentence.
struct CommandReply {
  bool ok = true;    ///< false: `body` is the error sentence
  std::string body;  ///< what the client reads after the "ok" or "error" line
  /// A failed reply whose body is `sentence`.
  static CommandReply error(std::string sentence) { return {false, std::move(sentence)}; }
};

/// Runs one command on the control thread.
using CommandFn = std::function<CommandReply(const CommandRequest&)>;

/// Parses "stats --json --offset 10": a sentence on a bad option.
Expected<CommandRequest> parse_command_line(const std::string& line);

/// The control socket (and HTTP endpoint) of one running bypass; see the file's description.
class ControlServer {
 public:
  /// Binds the socket (and the HTTP address): a name another running bypass
  /// already serves gets "-<pid>" appended, a stale socket file is replaced.
  static Expected<std::unique_ptr<ControlServer>> open(const ControlConfig& c,
                                                       const std::string& program);
  /// Closes the sockets and removes the socket file.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// The Unix socket's path as bound; empty when the socket is off.
  const std::string& socket_path() const { return socket_path_; }
  /// "127.0.0.1:9100" as bound (a port of 0 in the config is chosen here); empty: none.
  const std::string& http_address() const { return http_address_; }

  /// Adds the command `name` (replacing one of that name); `help` describes
  /// it. Served on the Unix socket only: a command that changes the server
  /// (reload, capture) must not be reachable by whoever can reach the HTTP port.
  void add_command(const std::string& name, const std::string& help, CommandFn fn);
  /// Adds a command that only shows (stats, ports, ...): served on the Unix
  /// socket and, as JSON, at HTTP /api/NAME.
  void add_view(const std::string& name, const std::string& help, CommandFn fn);
  /// Removes the command `name`, if there is one.
  void remove_command(const std::string& name) { commands_.erase(name); }
  /// Removes the HTTP page at `path`, if there is one.
  void remove_page(const std::string& path) { pages_.erase(path); }
  /// Makes the body of an HTTP page, on each request.
  using PageFn = std::function<std::string()>;
  /// An HTTP path ("/metrics") answered with `content_type`.
  void add_page(const std::string& path, const std::string& content_type, PageFn fn);

  /// Runs a request here, as if a client had sent it; an unknown command is an error reply.
  CommandReply run(const CommandRequest& r) const;
  /// Parses `line` (parse_command_line) and runs it; a bad option is an error reply.
  CommandReply run_line(const std::string& line) const;
  /// The HTTP endpoint's whole response to `request` (its head, up to the
  /// blank line), as it sends it: pages, /api/NAME for views, and a status
  /// with a sentence for anything else. Here for tests and fuzzing.
  std::string answer_http_request(const std::string& request);

  /// Serves requests until `wake_fd` is readable or `timeout` passes.
  void serve(int wake_fd, std::chrono::milliseconds timeout);
  /// While set, serve() wakes at least every 5 ms and calls `fn` (a capture
  /// draining its ring); nullptr ends it.
  void set_idle(std::function<void()> fn) { idle_ = std::move(fn); }

 private:
  struct Client;
  ControlServer() = default;
  void accept_from(int listen_fd, bool http);
  bool on_readable(Client& c);  // false: drop the client
  void answer_unix(Client& c);

  int unix_fd_ = -1, http_fd_ = -1;
  std::vector<std::string> http_hosts_;  // [control] metrics_hosts
  bool host_refusal_logged_ = false;     // the first refused Host is logged, naming the fix
  std::string socket_path_, http_address_;
  // The socket file as bound: removed at the end only if it is still this
  // one (another bypass may have replaced a file it took for stale).
  unsigned long socket_ino_ = 0, socket_dev_ = 0;
  struct Command {
    std::string help;
    CommandFn fn;
    bool view = false;  // only shows: also at HTTP /api/NAME
  };
  std::map<std::string, Command> commands_;
  struct Page {
    std::string type;
    PageFn fn;
  };
  std::map<std::string, Page> pages_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::function<void()> idle_;
};

}  // namespace bypass
