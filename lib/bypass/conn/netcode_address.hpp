/// @file
/// A server address as connect tokens carry it (IPv4 or IPv6, with port), and
/// its encoding: a type byte (1 = IPv4, 2 = IPv6), then four address bytes or
/// eight 16-bit groups, then the port, integers little-endian.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include <bypass/conn/netcode_wire.hpp>

namespace bypass::conn {

/// An address's family, numbered as its type byte on the wire.
enum class AddressType : uint8_t {
  kNone = 0,  ///< no address (never valid on the wire)
  kIpv4 = 1,  ///< IPv4
  kIpv6 = 2   ///< IPv6
};

/// An IPv4 or IPv6 address with a port; only the member of its type is used.
struct NetcodeAddress {
  AddressType type = AddressType::kNone;  ///< which of ipv4 and ipv6 holds the address
  std::array<uint8_t, 4> ipv4{};          ///< a.b.c.d in that order
  std::array<uint16_t, 8> ipv6{};         ///< groups a..h as numbers (0x2001 for "2001:")
  uint16_t port = 0;                      ///< the UDP port, as a number

  /// The IPv4 address a.b.c.d with `port`.
  static NetcodeAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    NetcodeAddress r;
    r.type = AddressType::kIpv4;
    r.ipv4 = {a, b, c, d};
    r.port = port;
    return r;
  }
  /// The IPv6 address of the eight `groups` with `port`.
  static NetcodeAddress v6(const std::array<uint16_t, 8>& groups, uint16_t port) {
    NetcodeAddress r;
    r.type = AddressType::kIpv6;
    r.ipv6 = groups;
    r.port = port;
    return r;
  }

  /// Same type, port and address bytes of that type (the unused member is ignored).
  friend bool operator==(const NetcodeAddress& a, const NetcodeAddress& b) {
    if (a.type != b.type || a.port != b.port) return false;
    // Word compares: std::array's == calls memcmp, and every packet compares.
    if (a.type == AddressType::kIpv4) {
      uint32_t x, y;
      std::memcpy(&x, a.ipv4.data(), 4);
      std::memcpy(&y, b.ipv4.data(), 4);
      return x == y;
    }
    if (a.type == AddressType::kIpv6) {
      uint64_t x[2], y[2];
      std::memcpy(x, a.ipv6.data(), 16);
      std::memcpy(y, b.ipv6.data(), 16);
      return x[0] == y[0] && x[1] == y[1];
    }
    return true;
  }
};

/// Writes one address; false if its type is neither IPv4 nor IPv6 (nothing sensible to write).
inline bool write_address(ByteWriter& w, const NetcodeAddress& a) {
  if (a.type == AddressType::kIpv4) {
    w.u8(static_cast<uint8_t>(AddressType::kIpv4));
    for (uint8_t b : a.ipv4) w.u8(b);
  } else if (a.type == AddressType::kIpv6) {
    w.u8(static_cast<uint8_t>(AddressType::kIpv6));
    for (uint16_t g : a.ipv6) w.u16(g);
  } else {
    return false;
  }
  w.u16(a.port);
  return true;
}

/// Bytes of an address on the wire after its type byte (address and port): 6
/// for IPv4, 18 for IPv6, 0 for a type byte that names neither.
constexpr size_t address_body_bytes(uint8_t type) {
  return type == static_cast<uint8_t>(AddressType::kIpv4)   ? 4 + 2
         : type == static_cast<uint8_t>(AddressType::kIpv6) ? 16 + 2
                                                            : 0;
}

/// Reads one address into `a` (reset first); false on an unknown type byte or
/// when the reader ran out.
inline bool read_address(ByteReader& r, NetcodeAddress& a) {
  a = NetcodeAddress{};
  const uint8_t type = r.u8();
  if (type == static_cast<uint8_t>(AddressType::kIpv4)) {
    a.type = AddressType::kIpv4;
    for (auto& b : a.ipv4) b = r.u8();
  } else if (type == static_cast<uint8_t>(AddressType::kIpv6)) {
    a.type = AddressType::kIpv6;
    for (auto& g : a.ipv6) g = r.u16();
  } else {
    return false;
  }
  a.port = r.u16();
  return r.ok();
}

}  // namespace bypass::conn
