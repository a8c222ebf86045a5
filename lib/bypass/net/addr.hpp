/// @file
/// Addresses: MacAddr and IpAddr (IPv4 or IPv6, one type for both families),
/// with parsing from and formatting to text. Stored in network byte order, as
/// on the wire, so comparisons and copies need no conversion.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace bypass {

/// An Ethernet address.
struct MacAddr {
  std::array<uint8_t, 6> b{};  ///< its bytes, as on the wire
  /// The same bytes.
  bool operator==(const MacAddr&) const = default;
  bool is_zero() const { return b == std::array<uint8_t, 6>{}; }  ///< all zero: none
  bool is_multicast() const { return b[0] & 1; }  ///< the group bit is set (broadcast too)
  /// ff:ff:ff:ff:ff:ff.
  static MacAddr broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  /// From six hex bytes with colons ("02:00:00:00:00:01"); nullopt otherwise.
  static std::optional<MacAddr> parse(std::string_view s);
  /// As "02:00:00:00:00:01".
  std::string str() const;
};

/// An IPv4 or IPv6 address, or none.
struct IpAddr {
  /// Which kind of address it is.
  enum class Family : uint8_t {
    kNone,  ///< no address
    kV4,    ///< IPv4
    kV6     ///< IPv6
  };
  Family family = Family::kNone;  ///< its kind
  std::array<uint8_t, 16> b{};    ///< v4 uses b[0..3]

  /// The IPv4 address whose 32 bits are `be` (network byte order).
  static IpAddr v4(uint32_t be) {
    IpAddr a;
    a.set_v4(be);
    return a;
  }
  /// The IPv6 address of the 16 bytes at `p`.
  static IpAddr v6(const uint8_t* p) {
    IpAddr a;
    a.set_v6(p);
    return a;
  }
  /// From text ("198.18.0.2", "fe80::1"); nullopt if it is neither.
  static std::optional<IpAddr> parse(std::string_view s);
  ///@{
  /// Written in place (v4() and v6() use these): the fast path fills a
  /// Datagram's addresses without a temporary to copy from.
  void set_v4(uint32_t be) {
    family = Family::kV4;
    std::memcpy(b.data(), &be, 4);
    std::memset(b.data() + 4, 0, 12);
  }
  void set_v6(const uint8_t* p) {
    family = Family::kV6;
    std::memcpy(b.data(), p, 16);
  }
  ///@}

  bool is_v4() const { return family == Family::kV4; }  ///< an IPv4 address
  bool is_v6() const { return family == Family::kV6; }  ///< an IPv6 address
  /// An IPv4 address's 32 bits, in network byte order.
  uint32_t v4_be() const {
    uint32_t v;
    std::memcpy(&v, b.data(), 4);
    return v;
  }
  const uint8_t* v6_bytes() const { return b.data(); }  ///< an IPv6 address's 16 bytes
  /// 0.0.0.0 or :: (a bind to every address; never a peer's).
  bool is_unspecified() const {
    return (is_v4() && v4_be() == 0) || (is_v6() && b == std::array<uint8_t, 16>{});
  }
  /// IPv6 multicast (ff00::/8).
  bool is_v6_multicast() const { return is_v6() && b[0] == 0xff; }
  /// IPv6 link-local (fe80::/10).
  bool is_v6_link_local() const { return is_v6() && b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
  /// IPv4 from 224.0.0.0 up: multicast, reserved, and the broadcast address.
  bool is_v4_multicast_or_broadcast() const {
    return is_v4() && (b[0] >= 224 || v4_be() == 0xffffffffu);
  }
  /// ff02::1:ffXX:XXXX for an IPv6 address (RFC 4291 2.7.1).
  IpAddr solicited_node() const;
  /// The same family and bytes.
  bool operator==(const IpAddr&) const = default;
  /// As text ("198.18.0.2", "fe80::1"); "?" for none.
  std::string str() const;
};

/// Hashes an IpAddr, for unordered containers.
struct IpAddrHash {
  /// The hash of `a`.
  size_t operator()(const IpAddr& a) const {
    uint64_t x, y;
    std::memcpy(&x, a.b.data(), 8);
    std::memcpy(&y, a.b.data() + 8, 8);
    return static_cast<size_t>((x * 0x9e3779b97f4a7c15ull) ^ (y + static_cast<uint64_t>(a.family)));
  }
};

/// An address with a UDP port (host byte order).
struct SockAddr {
  IpAddr ip;          ///< the address
  uint16_t port = 0;  ///< the port
  /// The same address and port.
  bool operator==(const SockAddr&) const = default;
  /// As "198.18.0.2:9000" or "[fe80::1]:9000".
  std::string str() const;
};

}  // namespace bypass
