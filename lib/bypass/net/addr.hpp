// Addresses: MacAddr and IpAddr (IPv4 or IPv6, one type for both families),
// with parsing from and formatting to text. Stored in network byte order, as
// on the wire, so comparisons and copies need no conversion.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace bypass {

struct MacAddr {
  std::array<uint8_t, 6> b{};
  bool operator==(const MacAddr&) const = default;
  bool is_zero() const { return b == std::array<uint8_t, 6>{}; }
  bool is_multicast() const { return b[0] & 1; }
  static MacAddr broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  static std::optional<MacAddr> parse(std::string_view s);
  std::string str() const;
};

struct IpAddr {
  enum class Family : uint8_t { kNone, kV4, kV6 };
  Family family = Family::kNone;
  std::array<uint8_t, 16> b{};  // v4 uses b[0..3]

  static IpAddr v4(uint32_t be) {
    IpAddr a;
    a.set_v4(be);
    return a;
  }
  static IpAddr v6(const uint8_t* p) {
    IpAddr a;
    a.set_v6(p);
    return a;
  }
  static std::optional<IpAddr> parse(std::string_view s);
  // Written in place (v4() and v6() use these): the fast path fills a
  // Datagram's addresses without a temporary to copy from.
  void set_v4(uint32_t be) {
    family = Family::kV4;
    std::memcpy(b.data(), &be, 4);
    std::memset(b.data() + 4, 0, 12);
  }
  void set_v6(const uint8_t* p) {
    family = Family::kV6;
    std::memcpy(b.data(), p, 16);
  }

  bool is_v4() const { return family == Family::kV4; }
  bool is_v6() const { return family == Family::kV6; }
  uint32_t v4_be() const {
    uint32_t v;
    std::memcpy(&v, b.data(), 4);
    return v;
  }
  const uint8_t* v6_bytes() const { return b.data(); }
  bool is_v6_multicast() const { return is_v6() && b[0] == 0xff; }
  bool is_v6_link_local() const { return is_v6() && b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
  bool is_v4_multicast_or_broadcast() const {
    return is_v4() && (b[0] >= 224 || v4_be() == 0xffffffffu);
  }
  // ff02::1:ffXX:XXXX for an IPv6 address (RFC 4291 2.7.1).
  IpAddr solicited_node() const;
  bool operator==(const IpAddr&) const = default;
  std::string str() const;
};

struct IpAddrHash {
  size_t operator()(const IpAddr& a) const {
    uint64_t x, y;
    std::memcpy(&x, a.b.data(), 8);
    std::memcpy(&y, a.b.data() + 8, 8);
    return static_cast<size_t>((x * 0x9e3779b97f4a7c15ull) ^ (y + static_cast<uint64_t>(a.family)));
  }
};

// An address with a UDP port (host byte order).
struct SockAddr {
  IpAddr ip;
  uint16_t port = 0;
  bool operator==(const SockAddr&) const = default;
  std::string str() const;
};

}  // namespace bypass
