// bypassctl conns for both backends: the rows sorted and paged.
#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include <bypass/control/stats.hpp>

#include <bypass/udpd/server.hpp>

namespace bypass::udpd {

CommandReply conns_reply(std::vector<ConnectionRow> rows, const CommandRequest& r) {
  std::sort(rows.begin(), rows.end(), [](const ConnectionRow& a, const ConnectionRow& b) {
    return std::tie(a.worker, a.service, a.client_id) < std::tie(b.worker, b.service, b.client_id);
  });
  const size_t from = std::min(r.offset, rows.size());
  const size_t to = std::min(rows.size(), from + r.limit);
  std::string out;
  if (r.json) {
    out = fmt::format("{{\"total\":{},\"offset\":{},\"connections\":[", rows.size(), from);
    for (size_t i = from; i < to; ++i)
      out += fmt::format(
          "{}{{\"worker\":{},\"service\":{},\"client_id\":{},\"address\":{},\"port\":{},"
          "\"since\":{}}}",
          i == from ? "" : ",", rows[i].worker, rows[i].service, rows[i].client_id,
          json_quote(rows[i].remote.ip.str()), rows[i].remote.port, rows[i].since_unix);
    return CommandReply{true, out + "]}"};
  }
  out = fmt::format("{:<7} {:>7} {:>20} {:<40} {:>8}\n", "worker", "service", "client id",
                    "address", "for");
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  for (size_t i = from; i < to; ++i)
    out += fmt::format("{:<7} {:>7} {:>20} {:<40} {:>7}s\n", rows[i].worker, rows[i].service,
                       rows[i].client_id,
                       rows[i].remote.ip.str() + " port " + std::to_string(rows[i].remote.port),
                       now > rows[i].since_unix ? now - rows[i].since_unix : 0);
  out += fmt::format("{} of {} connection(s)", to - from, rows.size());
  if (to < rows.size()) out += fmt::format("; more with --offset {}", to);
  return CommandReply{true, out + "\n"};
}

}  // namespace bypass::udpd
