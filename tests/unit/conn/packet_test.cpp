// netcode packets: round trips for all seven types; the header layout (prefix
// byte, reversed variable-length sequence); the associated data and nonce,
// checked by sealing with libsodium directly; a rejection with its named
// reason for each read rule (size, type, sequence bytes, version, protocol id,
// expiry, restart rule, keys, tampering, replay, body and payload sizes); and
// known answers cross-checked against the reference implementation
// (netcode_vectors.hpp), plus reading packets the reference wrote.
#include <bypass/conn/packet.hpp>

#include <sodium.h>

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include <bypass/conn/challenge_token.hpp>

#include "netcode_vectors.hpp"

namespace bypass::conn {
namespace {

using namespace test;

using Buffer = std::array<uint8_t, kMaxPacketBytes>;

std::vector<uint8_t> bytes_of(const Buffer& b, const Written& w) {
  return std::vector<uint8_t>(b.begin(), b.begin() + static_cast<long>(w.size));
}

std::vector<uint8_t> from_hex(std::string_view h) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    v.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return v;
}

// Seals an encrypted packet with libsodium directly, from the standard's text:
// associated data = version info, protocol id (LE), prefix byte; nonce = four
// zero bytes then the sequence (LE). Takes any body, so it makes the packets
// our writers refuse to make.
std::vector<uint8_t> hand_seal(uint8_t type, uint64_t sequence, const Key& key, uint64_t pid,
                               std::span<const uint8_t> body) {
  const int nseq = sequence_bytes(sequence);
  std::vector<uint8_t> p;
  p.push_back(static_cast<uint8_t>(nseq << 4 | type));
  for (int i = 0; i < nseq; ++i) p.push_back(static_cast<uint8_t>(sequence >> (8 * i)));
  std::vector<uint8_t> ad(kVersionInfo.begin(), kVersionInfo.end());
  for (int i = 0; i < 8; ++i) ad.push_back(static_cast<uint8_t>(pid >> (8 * i)));
  ad.push_back(p[0]);
  std::array<uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(sequence >> (8 * i));
  const size_t header = p.size();
  p.resize(header + body.size() + kMacBytes);
  unsigned long long n = 0;
  EXPECT_EQ(crypto_aead_chacha20poly1305_ietf_encrypt(p.data() + header, &n, body.data(),
                                                      body.size(), ad.data(), ad.size(), nullptr,
                                                      nonce.data(), key.data()),
            0);
  return p;
}

class Packet_ : public ConnTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(generate_connect_token(private_token(), public_addresses(), kProtocolId,
                                       kCreateTimestamp, kExpireTimestamp, token_nonce(),
                                       private_key(), token_bytes_)
                    .is_ok());
    auto t = read_connect_token(token_bytes_);
    ASSERT_TRUE(t.has_value()) << t.error();
    token_ = *t;
    ASSERT_TRUE(encrypt_challenge_token({kClientId, user_data()}, kChallengeSequence,
                                        challenge_key(), challenge_));
    pk_ = private_key();
    c2s_ = client_to_server_key();
    s2c_ = server_to_client_key();
  }

  // What the server reads from this client: its requests, and packets sealed
  // with the client-to-server key.
  ReadContext server_ctx(ReplayProtection* replay = nullptr) const {
    ReadContext c;
    c.protocol_id = kProtocolId;
    c.allowed = kServerReads;
    c.private_key = &pk_;
    c.current_timestamp = kCreateTimestamp + 1;
    c.read_key = &c2s_;
    c.replay = replay;
    return c;
  }
  ReadContext client_ctx(ReplayProtection* replay = nullptr) const {
    ReadContext c;
    c.protocol_id = kProtocolId;
    c.allowed = kClientReads;
    c.read_key = &s2c_;
    c.replay = replay;
    return c;
  }

  std::vector<uint8_t> request() {
    Buffer b;
    const Written w = write_connection_request(b, token_);
    EXPECT_TRUE(w);
    return bytes_of(b, w);
  }
  std::vector<uint8_t> keep_alive(uint64_t seq, const Key& key) {
    Buffer b;
    const Written w = write_keep_alive(b, kProtocolId, key, seq, 7, 64);
    EXPECT_TRUE(w);
    return bytes_of(b, w);
  }
  std::vector<uint8_t> payload(uint64_t seq, const Key& key, size_t n) {
    std::vector<uint8_t> data(n);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
    Buffer b;
    const Written w = write_payload(b, kProtocolId, key, seq, data);
    EXPECT_TRUE(w);
    return bytes_of(b, w);
  }

  WireDrop read(std::vector<uint8_t> p, const ReadContext& ctx) {
    return read_packet(p, ctx, out_);
  }

  std::array<uint8_t, kConnectTokenBytes> token_bytes_;
  ConnectToken token_;
  std::array<uint8_t, kChallengeTokenBytes> challenge_;
  Key pk_, c2s_, s2c_;
  Packet out_;
};

// ---- round trips ----

TEST_F(Packet_, ConnectionRequestRoundTrip) {
  auto p = request();
  ASSERT_EQ(p.size(), kConnectionRequestBytes);
  ASSERT_EQ(p.size(), 1078u);
  EXPECT_EQ(p[0], 0);
  ASSERT_EQ(read_packet(p, server_ctx(), out_), WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kConnectionRequest);
  EXPECT_EQ(out_.request.protocol_id, kProtocolId);
  EXPECT_EQ(out_.request.expire_timestamp, kExpireTimestamp);
  EXPECT_EQ(out_.request.nonce, token_nonce());
  EXPECT_TRUE(std::equal(out_.request.token_mac.begin(), out_.request.token_mac.end(),
                         token_.private_data.end() - kMacBytes));
  const PrivateConnectToken& t = out_.request.token;
  EXPECT_EQ(t.client_id, kClientId);
  EXPECT_EQ(t.timeout_seconds, kTimeoutSeconds);
  ASSERT_EQ(t.num_server_addresses, 2u);
  EXPECT_EQ(t.server_addresses[0], private_token().server_addresses[0]);
  EXPECT_EQ(t.server_addresses[1], private_token().server_addresses[1]);
  EXPECT_EQ(t.client_to_server_key, c2s_);
  EXPECT_EQ(t.server_to_client_key, s2c_);
  EXPECT_EQ(t.user_data, user_data());
  // The request is not altered by reading: the client resends the same bytes.
  EXPECT_EQ(p, request());
}

TEST_F(Packet_, DeniedRoundTrip) {
  Buffer b;
  const Written w = write_connection_denied(b, kProtocolId, s2c_, 1ULL << 63);
  ASSERT_TRUE(w);
  EXPECT_EQ(w.size, 1 + 8 + kMacBytes);
  ASSERT_EQ(read(bytes_of(b, w), client_ctx()), WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kConnectionDenied);
  EXPECT_EQ(out_.sequence, 1ULL << 63);
}

TEST_F(Packet_, ChallengeAndResponseRoundTrip) {
  Buffer b;
  Written w = write_connection_challenge(b, kProtocolId, s2c_, (1ULL << 63) + 5, kChallengeSequence,
                                         challenge_);
  ASSERT_TRUE(w);
  EXPECT_EQ(w.size, 1 + 8 + 8 + kChallengeTokenBytes + kMacBytes);
  auto p = bytes_of(b, w);
  ASSERT_EQ(read_packet(p, client_ctx(), out_), WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kConnectionChallenge);
  EXPECT_EQ(out_.sequence, (1ULL << 63) + 5);
  EXPECT_EQ(out_.challenge_sequence, kChallengeSequence);
  ASSERT_EQ(out_.challenge_token.size(), kChallengeTokenBytes);
  EXPECT_TRUE(std::equal(challenge_.begin(), challenge_.end(), out_.challenge_token.begin()));

  // The client echoes the token; the server opens it with its challenge key.
  std::array<uint8_t, kChallengeTokenBytes> echoed;
  std::copy(out_.challenge_token.begin(), out_.challenge_token.end(), echoed.begin());
  w = write_connection_response(b, kProtocolId, c2s_, 3, out_.challenge_sequence, echoed);
  ASSERT_TRUE(w);
  auto r = bytes_of(b, w);
  ASSERT_EQ(read_packet(r, server_ctx(), out_), WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kConnectionResponse);
  EXPECT_EQ(out_.sequence, 3u);
  ChallengeToken ct;
  ASSERT_EQ(decrypt_challenge_token(out_.challenge_token.first<kChallengeTokenBytes>(),
                                    out_.challenge_sequence, challenge_key(), ct),
            WireDrop::kOk);
  EXPECT_EQ(ct.client_id, kClientId);
  EXPECT_EQ(ct.user_data, user_data());
}

TEST_F(Packet_, KeepAliveRoundTripBothWays) {
  ASSERT_EQ(read(keep_alive(0, s2c_), client_ctx()), WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kKeepAlive);
  EXPECT_EQ(out_.client_index, 7u);
  EXPECT_EQ(out_.max_clients, 64u);
  ASSERT_EQ(read(keep_alive(12345, c2s_), server_ctx()), WireDrop::kOk);
  EXPECT_EQ(out_.sequence, 12345u);
}

TEST_F(Packet_, PayloadRoundTripSizesAndSequences) {
  for (size_t n : {size_t{1}, size_t{100}, kMaxPayloadBytes}) {
    for (uint64_t seq :
         {uint64_t{0}, uint64_t{255}, uint64_t{256}, uint64_t{1} << 40, ~uint64_t{0}}) {
      auto p = payload(seq, c2s_, n);
      ASSERT_EQ(p.size(), encrypted_packet_size(seq, n));
      ASSERT_EQ(read_packet(p, server_ctx(), out_), WireDrop::kOk) << n << " " << seq;
      EXPECT_EQ(out_.type, PacketType::kPayload);
      EXPECT_EQ(out_.sequence, seq);
      ASSERT_EQ(out_.payload.size(), n);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(out_.payload[i], static_cast<uint8_t>(i * 31 + 7));
      // The payload view points into the packet, which was decrypted in place.
      EXPECT_EQ(out_.payload.data(), p.data() + payload_offset(seq));
    }
  }
}

TEST_F(Packet_, PayloadWrittenInPlace) {
  Buffer b;
  const uint64_t seq = 1000;
  uint8_t* at = b.data() + payload_offset(seq);
  for (int i = 0; i < 50; ++i) at[i] = static_cast<uint8_t>(i * 31 + 7);
  const Written w = write_payload(b, kProtocolId, c2s_, seq, std::span<const uint8_t>(at, 50));
  ASSERT_TRUE(w);
  EXPECT_EQ(bytes_of(b, w), payload(seq, c2s_, 50));
}

TEST_F(Packet_, DisconnectRoundTrip) {
  Buffer b;
  const Written w = write_disconnect(b, kProtocolId, c2s_, 77);
  ASSERT_TRUE(w);
  EXPECT_EQ(w.size, 1 + 1 + kMacBytes);
  ASSERT_EQ(read(bytes_of(b, w), server_ctx()), WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kDisconnect);
  EXPECT_EQ(out_.sequence, 77u);
}

// ---- layout ----

TEST_F(Packet_, PrefixByteAndReversedSequence) {
  EXPECT_EQ(sequence_bytes(0), 1);
  EXPECT_EQ(sequence_bytes(255), 1);
  EXPECT_EQ(sequence_bytes(256), 2);
  EXPECT_EQ(sequence_bytes(1000), 2);
  EXPECT_EQ(sequence_bytes(0x00FFFFFFFFFFFFFFULL), 7);
  EXPECT_EQ(sequence_bytes(~uint64_t{0}), 8);
  // The standard's example: 1000 = 0x3E8 in two bytes, written E8 03; a payload (type 5).
  auto p = payload(1000, c2s_, 10);
  EXPECT_EQ(p[0], 0x25);
  EXPECT_EQ(p[1], 0xE8);
  EXPECT_EQ(p[2], 0x03);
  EXPECT_EQ(sequence_nonce(0x0807060504030201ULL),
            (std::array<uint8_t, 12>{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(Packet_, SameBytesAsSealingFromTheStandardText) {
  // Our writer against a seal built only from the standard's description.
  const std::array<uint8_t, 8> ka{7, 0, 0, 0, 64, 0, 0, 0};
  EXPECT_EQ(keep_alive(0, s2c_), hand_seal(4, 0, s2c_, kProtocolId, ka));
  EXPECT_EQ(keep_alive(0x123456789AULL, c2s_),
            hand_seal(4, 0x123456789AULL, c2s_, kProtocolId, ka));
}

// ---- connection request refusals ----

TEST_F(Packet_, RequestRefusedOnWrongSize) {
  auto p = request();
  auto shorter = p;
  shorter.pop_back();
  EXPECT_EQ(read(shorter, server_ctx()), WireDrop::kRequestBadSize);
  auto longer = p;
  longer.push_back(0);
  EXPECT_EQ(read(longer, server_ctx()), WireDrop::kRequestBadSize);
  // The old (1.01) size, 1062 bytes.
  p.resize(1062);
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kRequestBadSize);
}

TEST_F(Packet_, RequestRefusedByClientAndWithoutPrivateKey) {
  EXPECT_EQ(read(request(), client_ctx()), WireDrop::kTypeNotAllowed);
  ReadContext c = server_ctx();
  c.private_key = nullptr;
  EXPECT_EQ(read(request(), c), WireDrop::kNoPrivateKey);
}

TEST_F(Packet_, RequestRefusedOnVersionAndProtocolId) {
  auto p = request();
  p[1 + 11] = '1';  // "NETCODE 1.01"
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kBadVersionInfo);
  p = request();
  p[13] = 'X';  // the terminating zero
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kBadVersionInfo);
  ReadContext c = server_ctx();
  c.protocol_id = kProtocolId + 1;
  EXPECT_EQ(read(request(), c), WireDrop::kWrongProtocolId);
  p = request();
  p[14] ^= 0x01;  // the packet's protocol id
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kWrongProtocolId);
}

TEST_F(Packet_, RequestRefusedWhenExpired) {
  ReadContext c = server_ctx();
  c.current_timestamp = kExpireTimestamp - 1;
  EXPECT_EQ(read(request(), c), WireDrop::kOk);
  c.current_timestamp = kExpireTimestamp;  // expire <= now
  EXPECT_EQ(read(request(), c), WireDrop::kTokenExpired);
  c.current_timestamp = kExpireTimestamp + 3600;
  EXPECT_EQ(read(request(), c), WireDrop::kTokenExpired);
}

TEST_F(Packet_, RequestRefusedWhenTheTokenMayPredateServerStart) {
  ReadContext c = server_ctx();
  c.min_expire_timestamp = kExpireTimestamp;  // expire == start + lifetime: issued after start
  EXPECT_EQ(read(request(), c), WireDrop::kOk);
  c.min_expire_timestamp = kExpireTimestamp + 1;
  EXPECT_EQ(read(request(), c), WireDrop::kTokenPredatesStart);
}

TEST_F(Packet_, RequestRefusedOnWrongPrivateKeyOrTampering) {
  ReadContext c = server_ctx();
  Key other = pk_;
  other[5] ^= 0x10;
  c.private_key = &other;
  EXPECT_EQ(read(request(), c), WireDrop::kTokenDecryptFailed);
  // Every byte of the expire timestamp, nonce and sealed token is authenticated.
  const auto p = request();
  for (size_t i = 1 + kVersionInfoBytes + 8; i < p.size(); ++i) {
    auto bad = p;
    bad[i] ^= 0x02;
    c = server_ctx();
    c.current_timestamp = 0;  // so a lowered expire timestamp is not refused as expired first
    ASSERT_EQ(read(bad, c), WireDrop::kTokenDecryptFailed) << "byte " << i;
  }
}

TEST_F(Packet_, RequestRefusedWhenTheOpenedTokenIsMalformed) {
  // The backend sealed a token whose server count is 0: it opens, then fails to read.
  std::array<uint8_t, kPrivateConnectTokenBytes> sealed;
  ASSERT_TRUE(write_private_connect_token(private_token(), sealed));
  sealed[12] = 0;
  std::vector<uint8_t> ad(kVersionInfo.begin(), kVersionInfo.end());
  for (int i = 0; i < 8; ++i) ad.push_back(static_cast<uint8_t>(kProtocolId >> (8 * i)));
  for (int i = 0; i < 8; ++i) ad.push_back(static_cast<uint8_t>(kExpireTimestamp >> (8 * i)));
  unsigned long long n = 0;
  const auto nonce = token_nonce();
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_encrypt(
                sealed.data(), &n, sealed.data(), sealed.size() - kMacBytes, ad.data(), ad.size(),
                nullptr, nonce.data(), pk_.data()),
            0);
  Buffer b;
  const Written w = write_connection_request(b, kProtocolId, kExpireTimestamp, nonce, sealed);
  ASSERT_TRUE(w);
  EXPECT_EQ(read(bytes_of(b, w), server_ctx()), WireDrop::kTokenMalformed);
}

// ---- encrypted packet refusals ----

TEST_F(Packet_, TruncatedPacketsAreTooSmallOrFailToOpen) {
  const auto p = keep_alive(5, c2s_);
  for (size_t n = 0; n < kMinEncryptedPacketBytes; ++n) {
    ASSERT_EQ(read(std::vector<uint8_t>(p.begin(), p.begin() + static_cast<long>(n)), server_ctx()),
              WireDrop::kTooSmall)
        << n;
  }
  for (size_t n = kMinEncryptedPacketBytes; n < p.size(); ++n) {
    ASSERT_EQ(read(std::vector<uint8_t>(p.begin(), p.begin() + static_cast<long>(n)), server_ctx()),
              WireDrop::kDecryptFailed)
        << n;
  }
  // Eight sequence bytes announced, but only 18 bytes in all: shorter than 1 + 8 + 16.
  std::vector<uint8_t> q(18, 0);
  q[0] = 0x84;
  EXPECT_EQ(read(q, server_ctx()), WireDrop::kTooSmall);
}

TEST_F(Packet_, BadTypeNotAllowedAndBadSequenceBytes) {
  auto p = keep_alive(5, c2s_);
  p[0] = 0x17;  // type 7
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kBadPacketType);
  p[0] = 0x1F;
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kBadPacketType);
  p[0] = 0x10;  // type 0 with sequence bytes: a request is never encrypted
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kBadPacketType);
  p[0] = 0x04;  // keep-alive, zero sequence bytes
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kBadSequenceBytes);
  p[0] = 0x94;  // nine
  EXPECT_EQ(read(p, server_ctx()), WireDrop::kBadSequenceBytes);
  // The server ignores challenges (and denials); the client ignores responses.
  Buffer b;
  Written w = write_connection_challenge(b, kProtocolId, c2s_, 1, 2, challenge_);
  EXPECT_EQ(read(bytes_of(b, w), server_ctx()), WireDrop::kTypeNotAllowed);
  w = write_connection_denied(b, kProtocolId, c2s_, 1);
  EXPECT_EQ(read(bytes_of(b, w), server_ctx()), WireDrop::kTypeNotAllowed);
  w = write_connection_response(b, kProtocolId, s2c_, 1, 2, challenge_);
  EXPECT_EQ(read(bytes_of(b, w), client_ctx()), WireDrop::kTypeNotAllowed);
}

TEST_F(Packet_, NoReadKeyWrongKeyWrongProtocolId) {
  ReadContext c = server_ctx();
  c.read_key = nullptr;
  EXPECT_EQ(read(keep_alive(5, c2s_), c), WireDrop::kNoReadKey);
  // Sealed with the other direction's key.
  EXPECT_EQ(read(keep_alive(5, s2c_), server_ctx()), WireDrop::kDecryptFailed);
  // The protocol id is in the associated data.
  c = server_ctx();
  c.protocol_id = kProtocolId ^ 1;
  EXPECT_EQ(read(keep_alive(5, c2s_), c), WireDrop::kDecryptFailed);
}

TEST_F(Packet_, EveryTamperedByteIsRefused) {
  const auto p = payload(1000, c2s_, 40);
  for (size_t i = 0; i < p.size(); ++i) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      auto bad = p;
      bad[i] ^= bit;
      const WireDrop d = read(bad, server_ctx());
      ASSERT_NE(d, WireDrop::kOk) << "byte " << i << " bit " << int(bit);
      // Past the prefix byte it is always the AEAD that refuses.
      if (i > 0) {
        ASSERT_EQ(d, WireDrop::kDecryptFailed) << "byte " << i;
      }
    }
  }
  // Retyping a packet (prefix in the associated data) is refused too.
  auto retyped = p;
  retyped[0] = 0x26;  // payload -> disconnect, same sequence bytes
  EXPECT_EQ(read(retyped, server_ctx()), WireDrop::kDecryptFailed);
}

TEST_F(Packet_, ReplayedSequenceRefused) {
  ReplayProtection replay;
  const auto p = payload(40, c2s_, 20);
  EXPECT_EQ(read(p, server_ctx(&replay)), WireDrop::kOk);
  EXPECT_EQ(read(p, server_ctx(&replay)), WireDrop::kReplayed);
  EXPECT_EQ(read(keep_alive(40, c2s_), server_ctx(&replay)), WireDrop::kReplayed);
  EXPECT_EQ(read(keep_alive(41, c2s_), server_ctx(&replay)), WireDrop::kOk);
  // Far ahead, then something from before the window.
  EXPECT_EQ(read(keep_alive(1000, c2s_), server_ctx(&replay)), WireDrop::kOk);
  EXPECT_EQ(read(keep_alive(744, c2s_), server_ctx(&replay)), WireDrop::kReplayed);
  EXPECT_EQ(read(keep_alive(745, c2s_), server_ctx(&replay)), WireDrop::kOk);
  Buffer b;
  Written w = write_disconnect(b, kProtocolId, c2s_, 745);
  EXPECT_EQ(read(bytes_of(b, w), server_ctx(&replay)), WireDrop::kReplayed);
}

TEST_F(Packet_, ReplayWindowOnlyAdvancesOnDecrypt) {
  ReplayProtection replay;
  auto forged = keep_alive(5000, c2s_);
  forged.back() ^= 1;
  EXPECT_EQ(read(forged, server_ctx(&replay)), WireDrop::kDecryptFailed);
  EXPECT_EQ(replay.most_recent(), 0u);
  EXPECT_EQ(read(keep_alive(10, c2s_), server_ctx(&replay)), WireDrop::kOk);
}

TEST_F(Packet_, ReplayNotAppliedToHandshakePackets) {
  // Challenges and responses are retransmitted; they carry no replay check.
  ReplayProtection replay;
  Buffer b;
  const Written w = write_connection_response(b, kProtocolId, c2s_, 9, 1, challenge_);
  EXPECT_EQ(read(bytes_of(b, w), server_ctx(&replay)), WireDrop::kOk);
  EXPECT_EQ(read(bytes_of(b, w), server_ctx(&replay)), WireDrop::kOk);
  EXPECT_EQ(replay.most_recent(), 0u);
}

TEST_F(Packet_, OversizeAndEmptyPayloads) {
  Buffer b;
  std::vector<uint8_t> big(kMaxPayloadBytes + 1, 0xAB);
  Written w = write_payload(b, kProtocolId, c2s_, 1, big);
  EXPECT_FALSE(w);
  EXPECT_EQ(w.error, WriteError::kBadPayloadSize);
  w = write_payload(b, kProtocolId, c2s_, 1, {});
  EXPECT_EQ(w.error, WriteError::kBadPayloadSize);
  // A peer that seals them anyway.
  EXPECT_EQ(read(hand_seal(5, 1, c2s_, kProtocolId, big), server_ctx()),
            WireDrop::kPayloadTooLarge);
  EXPECT_EQ(read(hand_seal(5, 1, c2s_, kProtocolId, {}), server_ctx()), WireDrop::kPayloadEmpty);
  big.pop_back();
  EXPECT_EQ(read(hand_seal(5, 1, c2s_, kProtocolId, big), server_ctx()), WireDrop::kOk);
}

TEST_F(Packet_, WrongBodySizes) {
  const std::vector<uint8_t> one(1), seven(7), nine(9), b307(307), b309(309);
  EXPECT_EQ(read(hand_seal(1, 1, s2c_, kProtocolId, one), client_ctx()), WireDrop::kBadBodySize);
  EXPECT_EQ(read(hand_seal(6, 1, s2c_, kProtocolId, one), client_ctx()), WireDrop::kBadBodySize);
  EXPECT_EQ(read(hand_seal(4, 1, s2c_, kProtocolId, seven), client_ctx()), WireDrop::kBadBodySize);
  EXPECT_EQ(read(hand_seal(4, 1, s2c_, kProtocolId, nine), client_ctx()), WireDrop::kBadBodySize);
  EXPECT_EQ(read(hand_seal(2, 1, s2c_, kProtocolId, b307), client_ctx()), WireDrop::kBadBodySize);
  EXPECT_EQ(read(hand_seal(3, 1, c2s_, kProtocolId, b309), server_ctx()), WireDrop::kBadBodySize);
}

TEST_F(Packet_, WritersRefuseSmallBuffers) {
  std::array<uint8_t, 100> small;
  EXPECT_EQ(write_connection_request(small, token_).error, WriteError::kBufferTooSmall);
  EXPECT_EQ(write_connection_challenge(small, kProtocolId, s2c_, 1, 2, challenge_).error,
            WriteError::kBufferTooSmall);
  std::array<uint8_t, 25> ka;  // keep-alive at sequence 0 needs 26
  EXPECT_EQ(write_keep_alive(ka, kProtocolId, s2c_, 0, 1, 2).error, WriteError::kBufferTooSmall);
  EXPECT_EQ(write_keep_alive(std::span(ka).first(17), kProtocolId, s2c_, 0, 1, 2).error,
            WriteError::kBufferTooSmall);
  std::array<uint8_t, 26> ka26;
  EXPECT_TRUE(write_keep_alive(ka26, kProtocolId, s2c_, 0, 1, 2));
  std::array<uint8_t, 17> tiny;
  EXPECT_EQ(write_disconnect(tiny, kProtocolId, s2c_, 0).error, WriteError::kBufferTooSmall);
}

TEST_F(Packet_, DropNamesAreDistinct) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kWireDropCount; ++i) {
    const auto name = wire_drop_name(static_cast<WireDrop>(i));
    EXPECT_FALSE(name.empty());
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kWireDropCount);
  EXPECT_EQ(wire_drop_name(WireDrop::kOk), "ok");
  EXPECT_EQ(wire_drop_name(WireDrop::kReplayed), "replayed");
  EXPECT_EQ(wire_drop_name(WireDrop::kCount), "unknown");
}

// ---- known answers ----

// Produced by this code and checked equal, byte for byte, to the reference
// implementation's output for the same inputs (netcode_vectors.hpp).
TEST_F(Packet_, KnownAnswers) {
  EXPECT_EQ(sha256_hex(request()),
            "7f5bc8fab860d672447401c7a45026d6a53d2c023b7dc5dd98b41032981131a4");
  Buffer b;
  Written w = write_connection_challenge(b, kProtocolId, s2c_, (1ULL << 63) + 5, kChallengeSequence,
                                         challenge_);
  EXPECT_EQ(w.size, 333u);
  EXPECT_EQ(sha256_hex(bytes_of(b, w)),
            "ab4cb345e4d076ef175738dfa674420358a1c20da670280566db53131d742001");
  w = write_connection_response(b, kProtocolId, c2s_, 3, kChallengeSequence, challenge_);
  EXPECT_EQ(w.size, 326u);
  EXPECT_EQ(sha256_hex(bytes_of(b, w)),
            "54560aa23353568d278ebe097621fbbdd54bdd2570b5954c7fbbb3855afd5737");
  w = write_connection_denied(b, kProtocolId, s2c_, 1ULL << 63);
  EXPECT_EQ(hex(bytes_of(b, w)), "810000000000000080d1f8b636d7daea3fc08b3014b314a097");
  EXPECT_EQ(hex(keep_alive(0, s2c_)), "1400f197c04353e2e44364e0e32c2165d0191472adf69dde146d");
  std::vector<uint8_t> data(100);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 3);
  w = write_payload(b, kProtocolId, c2s_, 1000, data);
  EXPECT_EQ(hex(bytes_of(b, w)),
            "25e80345236a2598a5f577fecc6fd250b2b8ca8ceebb4678f2a406515a44d2e217adb9f9af10092e236"
            "9b844ad3225626758646b0dc444c44ab139d104d36e01e16001da470b8e9b9e173f1b3d5995eb53dee9"
            "274499f4e8c52f677e7f2ab50ea910aba7572844177c3da2d18e257f2669ee5b72648ddf");
  data.resize(kMaxPayloadBytes);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13 + 5);
  w = write_payload(b, kProtocolId, s2c_, 0x0102030405ULL, data);
  EXPECT_EQ(w.size, 1222u);
  EXPECT_EQ(sha256_hex(bytes_of(b, w)),
            "99723df0d6702c1bd29b59f86d5a5e467041c253ce5a314c082b54ebc963655f");
  w = write_disconnect(b, kProtocolId, c2s_, ~uint64_t{0});
  EXPECT_EQ(hex(bytes_of(b, w)), "86ffffffffffffffff0aae1560281bf6d51c039fdc95fbb05b");
}

TEST_F(Packet_, ReadsPacketsTheReferenceWrote) {
  // Bytes as the reference implementation wrote them for these inputs.
  EXPECT_EQ(read(from_hex("810000000000000080d1f8b636d7daea3fc08b3014b314a097"), client_ctx()),
            WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kConnectionDenied);
  EXPECT_EQ(read(from_hex("1400f197c04353e2e44364e0e32c2165d0191472adf69dde146d"), client_ctx()),
            WireDrop::kOk);
  EXPECT_EQ(out_.client_index, 7u);
  EXPECT_EQ(out_.max_clients, 64u);
  EXPECT_EQ(read(from_hex("86ffffffffffffffff0aae1560281bf6d51c039fdc95fbb05b"), server_ctx()),
            WireDrop::kOk);
  EXPECT_EQ(out_.type, PacketType::kDisconnect);
  EXPECT_EQ(out_.sequence, ~uint64_t{0});
}

}  // namespace
}  // namespace bypass::conn
