// Fixed inputs for the netcode wire tests (keys, nonces, ids, addresses, user
// data, timestamps) and a SHA-256 hex helper for comparing long outputs with
// known answers. The known answers in the tests were produced by our code and
// cross-checked, byte for byte, against the reference C implementation
// (github.com/mas-bandwidth/netcode at commit
// 139beaee204dd28befde9fdb2a05648d784b4eb9, netcode 1.4.0, wire "NETCODE 1.02"),
// built outside this repository with a throwaway harness fed these same inputs.
#pragma once

#include <sodium.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/conn/netcode_wire.hpp>

namespace bypass::conn::test {

inline constexpr uint64_t kProtocolId = 0x1122334455667788ULL;
inline constexpr uint64_t kCreateTimestamp = 1700000000ULL;
inline constexpr uint64_t kExpireTimestamp = 1700000300ULL;
inline constexpr uint64_t kClientId = 0x0102030405060708ULL;
inline constexpr int32_t kTimeoutSeconds = 15;
inline constexpr uint64_t kChallengeSequence = 0x1234;

inline Key filled_key(uint8_t first, uint8_t step) {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(first + i * step);
  return k;
}
inline Key private_key() {
  return filled_key(1, 7);
}  // i * 7 + 1
inline Key client_to_server_key() {
  return filled_key(0x40, 1);
}
inline Key server_to_client_key() {
  return filled_key(0x60, 1);
}
inline Key challenge_key() {
  return filled_key(0x80, 1);
}

inline ConnectTokenNonce token_nonce() {
  ConnectTokenNonce n;
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(0xA0 + i);
  return n;
}

inline UserData user_data() {
  UserData u;
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(i);
  return u;
}

// The servers check 10.0.0.5:40000 and [2001:db8::1:2]:50000 ...
inline PrivateConnectToken private_token() {
  PrivateConnectToken t;
  t.client_id = kClientId;
  t.timeout_seconds = kTimeoutSeconds;
  t.num_server_addresses = 2;
  t.server_addresses[0] = NetcodeAddress::v4(10, 0, 0, 5, 40000);
  t.server_addresses[1] = NetcodeAddress::v6({0x2001, 0x0db8, 0, 0, 0, 0, 1, 2}, 50000);
  t.client_to_server_key = client_to_server_key();
  t.server_to_client_key = server_to_client_key();
  t.user_data = user_data();
  return t;
}

// ... and the client dials 203.0.113.7:40000 and [2001:db8::1:2]:50000.
inline std::array<NetcodeAddress, 2> public_addresses() {
  return {NetcodeAddress::v4(203, 0, 113, 7, 40000), private_token().server_addresses[1]};
}

inline std::string hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s += kDigits[c >> 4];
    s += kDigits[c & 15];
  }
  return s;
}

inline std::string sha256_hex(std::span<const uint8_t> b) {
  std::array<uint8_t, crypto_hash_sha256_BYTES> h;
  crypto_hash_sha256(h.data(), b.data(), b.size());
  return hex(h);
}

// Starts libsodium once per suite.
class ConnTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto_init().is_ok()); }
};

}  // namespace bypass::conn::test
