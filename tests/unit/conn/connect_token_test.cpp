// Connect tokens: the private token's plaintext layout, sealing and opening
// (round trip, and refusal on a modified byte, the wrong key, protocol id,
// expire timestamp or nonce, a bad server list), the 2048-byte public token
// (round trip, refusal of bad size, version, timestamps, server list), and
// known answers cross-checked against the reference implementation (see
// netcode_vectors.hpp).
#include <bypass/conn/connect_token.hpp>

#include <gtest/gtest.h>

#include "netcode_vectors.hpp"

namespace bypass::conn {
namespace {

using namespace test;

class ConnectToken_ : public ConnTest {};

std::array<uint8_t, kPrivateConnectTokenBytes> sealed_token() {
  std::array<uint8_t, kPrivateConnectTokenBytes> out;
  EXPECT_TRUE(encrypt_private_connect_token(private_token(), kProtocolId, kExpireTimestamp,
                                            token_nonce(), private_key(), out)
                  .is_ok());
  return out;
}

void expect_same(const PrivateConnectToken& a, const PrivateConnectToken& b) {
  EXPECT_EQ(a.client_id, b.client_id);
  EXPECT_EQ(a.timeout_seconds, b.timeout_seconds);
  ASSERT_EQ(a.num_server_addresses, b.num_server_addresses);
  for (uint32_t i = 0; i < a.num_server_addresses; ++i) {
    EXPECT_EQ(a.server_addresses[i], b.server_addresses[i]) << "server " << i;
  }
  EXPECT_EQ(a.client_to_server_key, b.client_to_server_key);
  EXPECT_EQ(a.server_to_client_key, b.server_to_client_key);
  EXPECT_EQ(a.user_data, b.user_data);
}

// Seals `t` and opens it again: the same token must come back.
void expect_round_trip(const PrivateConnectToken& t) {
  std::array<uint8_t, kPrivateConnectTokenBytes> sealed;
  ASSERT_TRUE(encrypt_private_connect_token(t, kProtocolId, kExpireTimestamp, token_nonce(),
                                            private_key(), sealed)
                  .is_ok());
  PrivateConnectToken back;
  ASSERT_EQ(decrypt_private_connect_token(sealed, kProtocolId, kExpireTimestamp, token_nonce(),
                                          private_key(), back),
            WireDrop::kOk);
  expect_same(back, t);
}

TEST_F(ConnectToken_, PrivatePlaintextLayout) {
  std::array<uint8_t, kPrivateConnectTokenBytes> plain;
  plain.fill(0xEE);
  ASSERT_TRUE(write_private_connect_token(private_token(), plain));
  // client id, timeout, count, then the IPv4 server: type 1, a.b.c.d, port.
  EXPECT_EQ(hex(std::span(plain).first(8 + 4 + 4 + 7)),
            "0807060504030201"
            "0f000000"
            "02000000"
            "01"
            "0a000005"
            "409c");
  // The IPv6 server: type 2, eight little-endian groups, port 50000.
  EXPECT_EQ(hex(std::span(plain).subspan(23, 19)),
            "02"
            "0120b80d000000000000000001000200"
            "50c3");
  // Fields end at 42 + 64 + 256 = 362; zeros from there to the end.
  for (size_t i = 362; i < plain.size(); ++i) ASSERT_EQ(plain[i], 0) << i;
}

TEST_F(ConnectToken_, PrivateRoundTrip) {
  const auto sealed = sealed_token();
  PrivateConnectToken back;
  ASSERT_EQ(decrypt_private_connect_token(sealed, kProtocolId, kExpireTimestamp, token_nonce(),
                                          private_key(), back),
            WireDrop::kOk);
  expect_same(back, private_token());
}

TEST_F(ConnectToken_, PrivateNegativeTimeoutAndMaxServers) {
  PrivateConnectToken t = private_token();
  t.timeout_seconds = -1;
  t.num_server_addresses = kMaxServersPerConnect;
  for (uint32_t i = 0; i < kMaxServersPerConnect; ++i) {
    t.server_addresses[i] = NetcodeAddress::v6({0xfe80, 0, 0, 0, 0, 0, 0, static_cast<uint16_t>(i)},
                                               static_cast<uint16_t>(1000 + i));
  }
  expect_round_trip(t);
}

// A server decrypts the fields of a private token first and the rest only if
// the server list runs past them (16 IPv4 or 5 IPv6 servers fit): both ways
// give the same token, at every list length.
TEST_F(ConnectToken_, PrivateRoundTripAtEveryServerCount) {
  for (bool v6 : {false, true}) {
    for (uint32_t n = 1; n <= kMaxServersPerConnect; ++n) {
      SCOPED_TRACE(testing::Message() << (v6 ? "IPv6 " : "IPv4 ") << n);
      PrivateConnectToken t = private_token();
      t.num_server_addresses = n;
      for (uint32_t i = 0; i < n; ++i) {
        const auto port = static_cast<uint16_t>(2000 + i);
        t.server_addresses[i] =
            v6 ? NetcodeAddress::v6({0x2001, 0xdb8, 0, 0, 0, 0, 0, static_cast<uint16_t>(i)}, port)
               : NetcodeAddress::v4(198, 18, 1, static_cast<uint8_t>(i), port);
      }
      expect_round_trip(t);
    }
  }
}

TEST_F(ConnectToken_, PrivateRefusesEveryModifiedByte) {
  const auto sealed = sealed_token();
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    PrivateConnectToken out;
    ASSERT_EQ(decrypt_private_connect_token(bad, kProtocolId, kExpireTimestamp, token_nonce(),
                                            private_key(), out),
              WireDrop::kTokenDecryptFailed)
        << "byte " << i;
  }
}

TEST_F(ConnectToken_, PrivateRefusesWrongKeyProtocolExpireOrNonce) {
  const auto sealed = sealed_token();
  PrivateConnectToken out;
  Key wrong = private_key();
  wrong[31] ^= 0x80;
  EXPECT_EQ(decrypt_private_connect_token(sealed, kProtocolId, kExpireTimestamp, token_nonce(),
                                          wrong, out),
            WireDrop::kTokenDecryptFailed);
  EXPECT_EQ(decrypt_private_connect_token(sealed, kProtocolId + 1, kExpireTimestamp, token_nonce(),
                                          private_key(), out),
            WireDrop::kTokenDecryptFailed);
  EXPECT_EQ(decrypt_private_connect_token(sealed, kProtocolId, kExpireTimestamp + 1, token_nonce(),
                                          private_key(), out),
            WireDrop::kTokenDecryptFailed);
  ConnectTokenNonce other = token_nonce();
  other[0] ^= 1;
  EXPECT_EQ(decrypt_private_connect_token(sealed, kProtocolId, kExpireTimestamp, other,
                                          private_key(), out),
            WireDrop::kTokenDecryptFailed);
}

TEST_F(ConnectToken_, PrivateWriteRefusesBadServerList) {
  std::array<uint8_t, kPrivateConnectTokenBytes> out;
  PrivateConnectToken t = private_token();
  t.num_server_addresses = 0;
  EXPECT_FALSE(write_private_connect_token(t, out));
  t.num_server_addresses = kMaxServersPerConnect + 1;
  EXPECT_FALSE(write_private_connect_token(t, out));
  t = private_token();
  t.server_addresses[1].type = AddressType::kNone;
  EXPECT_FALSE(write_private_connect_token(t, out));
  const Status s = encrypt_private_connect_token(t, kProtocolId, kExpireTimestamp, token_nonce(),
                                                 private_key(), out);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("1 to 32 server addresses"), std::string::npos) << s.message();
}

TEST_F(ConnectToken_, PrivateReadRefusesBadServerListAfterOpening) {
  // A token that opens (the backend sealed it) but holds a bad list is malformed.
  std::array<uint8_t, kPrivateConnectTokenBytes> plain;
  ASSERT_TRUE(write_private_connect_token(private_token(), plain));
  PrivateConnectToken out;
  auto bad = plain;
  bad[12] = 0;  // server count 0
  EXPECT_EQ(read_private_connect_token(bad, out), WireDrop::kTokenMalformed);
  bad = plain;
  bad[12] = 33;
  EXPECT_EQ(read_private_connect_token(bad, out), WireDrop::kTokenMalformed);
  bad = plain;
  bad[16] = 0;  // first address type 0 (the old standard's "IPv4"): invalid
  EXPECT_EQ(read_private_connect_token(bad, out), WireDrop::kTokenMalformed);
  bad = plain;
  bad[16] = 3;
  EXPECT_EQ(read_private_connect_token(bad, out), WireDrop::kTokenMalformed);
  // Truncated plaintext.
  EXPECT_EQ(read_private_connect_token(std::span(plain).first(100), out),
            WireDrop::kTokenMalformed);
  EXPECT_EQ(read_private_connect_token(plain, out), WireDrop::kOk);
}

TEST_F(ConnectToken_, PublicRoundTrip) {
  std::array<uint8_t, kConnectTokenBytes> buf;
  const auto pub = public_addresses();
  ASSERT_TRUE(generate_connect_token(private_token(), pub, kProtocolId, kCreateTimestamp,
                                     kExpireTimestamp, token_nonce(), private_key(), buf)
                  .is_ok());
  auto t = read_connect_token(buf);
  ASSERT_TRUE(t.has_value()) << t.error();
  EXPECT_EQ(t->protocol_id, kProtocolId);
  EXPECT_EQ(t->create_timestamp, kCreateTimestamp);
  EXPECT_EQ(t->expire_timestamp, kExpireTimestamp);
  EXPECT_EQ(t->nonce, token_nonce());
  EXPECT_EQ(t->timeout_seconds, kTimeoutSeconds);
  ASSERT_EQ(t->num_server_addresses, 2u);
  EXPECT_EQ(t->server_addresses[0], pub[0]);
  EXPECT_EQ(t->server_addresses[1], pub[1]);
  EXPECT_EQ(t->client_to_server_key, client_to_server_key());
  EXPECT_EQ(t->server_to_client_key, server_to_client_key());
  // The sealed part opens on the server side, with the servers' own addresses.
  PrivateConnectToken priv;
  ASSERT_EQ(decrypt_private_connect_token(t->private_data, t->protocol_id, t->expire_timestamp,
                                          t->nonce, private_key(), priv),
            WireDrop::kOk);
  expect_same(priv, private_token());
  // Writing what was read gives the same bytes.
  std::array<uint8_t, kConnectTokenBytes> again;
  ASSERT_TRUE(write_connect_token(*t, again).is_ok());
  EXPECT_EQ(again, buf);
}

TEST_F(ConnectToken_, PublicDefaultsToThePrivateAddresses) {
  std::array<uint8_t, kConnectTokenBytes> buf;
  ASSERT_TRUE(generate_connect_token(private_token(), {}, kProtocolId, kCreateTimestamp,
                                     kExpireTimestamp, token_nonce(), private_key(), buf)
                  .is_ok());
  auto t = read_connect_token(buf);
  ASSERT_TRUE(t.has_value()) << t.error();
  ASSERT_EQ(t->num_server_addresses, 2u);
  EXPECT_EQ(t->server_addresses[0], private_token().server_addresses[0]);
}

TEST_F(ConnectToken_, PublicReadRefusals) {
  std::array<uint8_t, kConnectTokenBytes> buf;
  ASSERT_TRUE(generate_connect_token(private_token(), public_addresses(), kProtocolId,
                                     kCreateTimestamp, kExpireTimestamp, token_nonce(),
                                     private_key(), buf)
                  .is_ok());
  // Truncated, or one byte too many.
  EXPECT_FALSE(read_connect_token(std::span(buf).first(2047)).has_value());
  std::array<uint8_t, kConnectTokenBytes + 1> longer{};
  std::copy(buf.begin(), buf.end(), longer.begin());
  EXPECT_FALSE(read_connect_token(longer).has_value());
  // Version info "NETCODE 1.01".
  auto bad = buf;
  bad[11] = '1';
  auto r = read_connect_token(bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("NETCODE 1.02"), std::string::npos);
  // Created after it expires (create at offset 21, expire at 29).
  bad = buf;
  bad[21 + 7] = 0xFF;
  EXPECT_FALSE(read_connect_token(bad).has_value());
  // Server count (offset 13 + 24 + 24 + 1024 + 4 = 1089) of 0 and 33, address type 0.
  bad = buf;
  bad[1089] = 0;
  EXPECT_FALSE(read_connect_token(bad).has_value());
  bad[1089] = 33;
  EXPECT_FALSE(read_connect_token(bad).has_value());
  bad = buf;
  bad[1093] = 0;
  r = read_connect_token(bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("address type"), std::string::npos);
}

TEST_F(ConnectToken_, PublicWriteRefusals) {
  ConnectToken t;
  t.create_timestamp = kCreateTimestamp;
  t.expire_timestamp = kExpireTimestamp;
  std::array<uint8_t, kConnectTokenBytes> buf;
  EXPECT_FALSE(write_connect_token(t, buf).is_ok());  // no servers
  t.num_server_addresses = 1;
  t.server_addresses[0] = NetcodeAddress::v4(127, 0, 0, 1, 40000);
  EXPECT_TRUE(write_connect_token(t, buf).is_ok());
  t.create_timestamp = t.expire_timestamp + 1;
  EXPECT_FALSE(write_connect_token(t, buf).is_ok());
}

TEST_F(ConnectToken_, ErrorsNameNoKeyBytes) {
  // A failing generate must not echo key material: no key's hex in any message.
  PrivateConnectToken t = private_token();
  t.num_server_addresses = 0;
  std::array<uint8_t, kConnectTokenBytes> buf;
  const Status s = generate_connect_token(t, {}, kProtocolId, kCreateTimestamp, kExpireTimestamp,
                                          token_nonce(), private_key(), buf);
  ASSERT_FALSE(s.is_ok());
  for (const Key& k : {private_key(), client_to_server_key(), server_to_client_key()}) {
    EXPECT_EQ(s.message().find(hex(std::span(k).first(4))), std::string::npos);
  }
}

// Known answers: produced by this code and checked equal, byte for byte, to the
// reference implementation's output for the same inputs (netcode_vectors.hpp).
TEST_F(ConnectToken_, KnownAnswers) {
  std::array<uint8_t, kPrivateConnectTokenBytes> plain;
  ASSERT_TRUE(write_private_connect_token(private_token(), plain));
  EXPECT_EQ(sha256_hex(plain), "97543575d4965a00b6f6872b1853b324b7747542931fa73598b1f05ba7e3381c");

  const auto sealed = sealed_token();
  EXPECT_EQ(sha256_hex(sealed), "845e0998b330fa862f14402506368494500b50774bc91f923c3c1bc8939cc11a");
  EXPECT_EQ(hex(std::span(sealed).last(kMacBytes)), "0807ef56940edaacf0e62be3afb47185");

  std::array<uint8_t, kConnectTokenBytes> pub;
  ASSERT_TRUE(generate_connect_token(private_token(), public_addresses(), kProtocolId,
                                     kCreateTimestamp, kExpireTimestamp, token_nonce(),
                                     private_key(), pub)
                  .is_ok());
  EXPECT_EQ(sha256_hex(pub), "d160074a42adb52d2642e229d19b177caa0cf5a05e63dc0f205d22ed3aeb4514");
}

}  // namespace
}  // namespace bypass::conn
