#include <bypass/net/addr.hpp>

#include <arpa/inet.h>

#include <cstdio>

namespace bypass {

std::optional<MacAddr> MacAddr::parse(std::string_view s) {
  MacAddr m;
  unsigned v[6];
  std::string t(s);
  char extra;
  if (std::sscanf(t.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &extra) != 6)
    return std::nullopt;
  for (int i = 0; i < 6; ++i) {
    if (v[i] > 0xff) return std::nullopt;
    m.b[i] = static_cast<uint8_t>(v[i]);
  }
  return m;
}

std::string MacAddr::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  std::string t(s);
  IpAddr a;
  if (inet_pton(AF_INET, t.c_str(), a.b.data()) == 1) {
    a.family = Family::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, t.c_str(), a.b.data()) == 1) {
    a.family = Family::kV6;
    return a;
  }
  return std::nullopt;
}

IpAddr IpAddr::solicited_node() const {
  IpAddr s;
  s.family = Family::kV6;
  s.b = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, b[13], b[14], b[15]};
  return s;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (is_v4()) inet_ntop(AF_INET, b.data(), buf, sizeof buf);
  if (is_v6()) inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  return buf;
}

std::string SockAddr::str() const {
  return ip.is_v6() ? "[" + ip.str() + "]:" + std::to_string(port)
                    : ip.str() + ":" + std::to_string(port);
}

}  // namespace bypass
