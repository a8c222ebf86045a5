// libFuzzer target for the control endpoint: any bytes as an HTTP request
// head, answered by ControlServer::answer_http_request on a server (no
// sockets) with a page, a view and a command that changes the server; the same
// bytes' first line as a control socket line (parse_command_line). Anyone who
// can reach the HTTP port sends these bytes. Checked: the status is one the
// endpoint gives; the response head is its five fixed lines (nothing from the
// request reaches a header); Content-Length is the body's size (no body for
// HEAD); the command is never run over HTTP; a view never sees a limit over
// 10,000; a parsed line names a command. Seeds (tests/data/corpus/control_http)
// are requests written by hand.
#include <bypass/control/control_server.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_env.hpp"

namespace {

std::unique_ptr<bypass::ControlServer> server;

bool starts(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace bypass;
  ControlConfig c;
  c.socket_on = false;
  c.metrics_hosts = {"bypass.example"};
  auto s = ControlServer::open(c, "fuzz");
  FUZZ_CHECK(s.has_value(), "%s", s ? "" : s.error().c_str());
  server = std::move(*s);
  server->add_page("/metrics", "text/plain; version=0.0.4", [] { return std::string("up 1\n"); });
  server->add_view("stats", "counters", [](const CommandRequest& r) {
    FUZZ_CHECK(r.limit <= 10000, "limit %zu", r.limit);
    return CommandReply{true, "{\"args\":" + std::to_string(r.args.size()) + "}"};
  });
  server->add_command("reload", "changes the server", [](const CommandRequest&) {
    FUZZ_CHECK(false, "%s", "a command that changes the server ran over HTTP");
    return CommandReply{};
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bypass;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::string r = server->answer_http_request(in);
  FUZZ_CHECK(starts(r, "HTTP/1.1 ") && r.size() > 12, "response starts '%.20s'", r.c_str());
  const int status = std::stoi(r.substr(9, 3));
  FUZZ_CHECK(status == 200 || status == 400 || status == 403 || status == 404 || status == 405,
             "status %d", status);
  const size_t end = r.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos, "%s", "no end of head");
  // The head: status line, then exactly these four fields.
  std::string_view head(r.data(), end);
  const char* fields[] = {"Content-Type: ", "Content-Length: ", "Cache-Control: no-store",
                          "Connection: close"};
  size_t at = head.find("\r\n");
  size_t length = 0;
  for (const char* f : fields) {
    FUZZ_CHECK(at != std::string_view::npos, "head ends before %s", f);
    const size_t next = head.find("\r\n", at + 2);
    const std::string_view line = head.substr(
        at + 2, next == std::string_view::npos ? std::string_view::npos : next - at - 2);
    FUZZ_CHECK(starts(line, f), "field '%.*s' where %s belongs", static_cast<int>(line.size()),
               line.data(), f);
    if (starts(f, "Content-Type"))
      FUZZ_CHECK(line == "Content-Type: text/plain" || line == "Content-Type: application/json" ||
                     line == "Content-Type: text/plain; version=0.0.4",
                 "'%.*s'", static_cast<int>(line.size()), line.data());
    if (starts(f, "Content-Length")) length = std::stoul(std::string(line.substr(16)));
    at = next;
  }
  FUZZ_CHECK(at == std::string_view::npos, "%s", "a field past the four");
  const size_t body = r.size() - end - 4;
  FUZZ_CHECK(body == length || (body == 0 && starts(in, "HEAD ")), "body %zu, Content-Length %zu",
             body, length);
  // A HEAD that got as far as a page, the API or a refused Host has no body
  // (400 and 405 for a line that is not a HEAD request line do).
  if (starts(in, "HEAD ") && (status == 200 || status == 403 || status == 404))
    FUZZ_CHECK(body == 0, "a HEAD answered %d with a body of %zu", status, body);

  // The control socket's line.
  auto line = parse_command_line(in.substr(0, in.find('\n')));
  if (line) {
    FUZZ_CHECK(!line->name.empty() && line->name.find_first_of(" \t\r") == std::string::npos,
               "command '%s'", line->name.c_str());
    FUZZ_CHECK(line->limit <= 10000, "limit %zu", line->limit);
  }
  return 0;
}
