#include <bypass/control/http_host.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <bypass/core/host_name.hpp>

namespace bypass {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_port(std::string_view p) {
  return !p.empty() && p.size() <= 5 &&
         std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// host[:port], where host is a name, a dotted IPv4 address or [IPv6].
HostVerdict judge_value(std::string_view v, const std::vector<std::string>& names) {
  std::string_view h = v;
  if (!h.empty() && h.front() == '[') {
    const size_t close = h.find(']');
    if (close == std::string_view::npos) return HostVerdict::kBad;
    const std::string_view rest = h.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1))))
      return HostVerdict::kBad;
    const std::string addr(h.substr(1, close - 1));
    in6_addr a6{};
    return inet_pton(AF_INET6, addr.c_str(), &a6) == 1 ? HostVerdict::kAllowed : HostVerdict::kBad;
  }
  if (const size_t colon = h.rfind(':'); colon != std::string_view::npos) {
    if (!is_port(h.substr(colon + 1))) return HostVerdict::kBad;
    h = h.substr(0, colon);
  }
  if (!is_host_name(h)) return HostVerdict::kBad;
  std::string name = lower(h);
  in_addr a4{};
  if (inet_pton(AF_INET, name.c_str(), &a4) == 1) return HostVerdict::kAllowed;
  if (name.back() == '.') name.pop_back();  // "localhost." is localhost
  constexpr std::string_view kLocal = "localhost";
  if (name == kLocal || (name.size() > kLocal.size() + 1 && name.ends_with(kLocal) &&
                         name[name.size() - kLocal.size() - 1] == '.'))
    return HostVerdict::kAllowed;
  for (const std::string& n : names)
    if (n == "*" || n == name) return HostVerdict::kAllowed;
  return HostVerdict::kRefused;
}

}  // namespace

HostVerdict judge_host(std::string_view request, const std::vector<std::string>& names,
                       std::string* host) {
  host->clear();
  bool seen = false;
  size_t at = request.find("\r\n");
  while (at != std::string_view::npos) {
    const size_t start = at + 2;
    const size_t end = request.find("\r\n", start);
    const std::string_view line =
        request.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (line.empty()) break;  // the end of the head
    at = end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || lower(line.substr(0, colon)) != "host") continue;
    if (seen) return HostVerdict::kBad;  // two Hosts: which one a proxy used is unknown
    seen = true;
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    host->assign(v);
  }
  // No Host: not a browser (every browser sends one), so not a rebinding page.
  if (!seen) return HostVerdict::kAllowed;
  return judge_value(*host, names);
}

}  // namespace bypass
