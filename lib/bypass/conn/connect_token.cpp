#include <bypass/conn/connect_token.hpp>

#include <bypass/conn/aead.hpp>

#include <sodium.h>

#include <algorithm>
#include <cstddef>
#include <string>

namespace bypass::conn {
namespace {

// Sealed size of the private token without its MAC.
constexpr size_t kPrivatePlainBytes = kPrivateConnectTokenBytes - kMacBytes;
// Version info, protocol id, expire timestamp.
constexpr size_t kTokenAdBytes = kVersionInfoBytes + 8 + 8;

std::array<uint8_t, kTokenAdBytes> token_ad(uint64_t protocol_id, uint64_t expire_timestamp) {
  std::array<uint8_t, kTokenAdBytes> ad{};
  ByteWriter w(ad);
  w.bytes(kVersionInfo);
  w.u64(protocol_id);
  w.u64(expire_timestamp);
  return ad;
}

bool valid_servers(uint32_t n, std::span<const NetcodeAddress, kMaxServersPerConnect> a) {
  if (n < 1 || n > kMaxServersPerConnect) return false;
  for (uint32_t i = 0; i < n; ++i) {
    if (a[i].type != AddressType::kIpv4 && a[i].type != AddressType::kIpv6) return false;
  }
  return true;
}

// Reads the server count and that many addresses; false if either is bad.
// The entries past the count are left as they were (a server reads a token
// into the same struct every time): everything reads servers(), the first n.
bool read_servers(ByteReader& r, uint32_t& n,
                  std::array<NetcodeAddress, kMaxServersPerConnect>& addresses) {
  n = r.u32();
  if (!r.ok() || n < 1 || n > kMaxServersPerConnect) return false;
  for (uint32_t i = 0; i < n; ++i) {
    if (!read_address(r, addresses[i])) return false;
  }
  return true;
}

constexpr size_t kHead = kPrivateTokenHeadBytes;

// Where the private token's fields end, read from its first decrypted bytes:
// 0 if the server list does not end inside them, or is not valid (the whole
// token is decrypted then, and its reader says what is wrong).
size_t fields_end(std::span<const uint8_t, kHead> head) {
  ByteReader r(head);
  r.u64();  // client id
  r.u32();  // timeout
  const uint32_t n = r.u32();
  if (n < 1 || n > kMaxServersPerConnect) return 0;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t body = address_body_bytes(r.u8());
    if (body == 0) return 0;
    r.bytes(body);
  }
  r.bytes(2 * kKeyBytes + kUserDataBytes);
  return r.ok() ? r.pos() : 0;
}

}  // namespace

bool write_private_connect_token(const PrivateConnectToken& token,
                                 std::span<uint8_t, kPrivateConnectTokenBytes> out) {
  if (!valid_servers(token.num_server_addresses, token.server_addresses)) return false;
  ByteWriter w(out);
  w.u64(token.client_id);
  w.u32(static_cast<uint32_t>(token.timeout_seconds));
  w.u32(token.num_server_addresses);
  for (const auto& a : token.servers()) write_address(w, a);
  w.bytes(token.client_to_server_key);
  w.bytes(token.server_to_client_key);
  w.bytes(token.user_data);
  // The fields fit even with 32 IPv6 servers (944 bytes), so this never fails.
  w.zero_to(kPrivateConnectTokenBytes);
  return w.ok();
}

WireDrop read_private_connect_token(std::span<const uint8_t> plain, PrivateConnectToken& out) {
  ByteReader r(plain);
  out.client_id = r.u64();
  out.timeout_seconds = static_cast<int32_t>(r.u32());
  if (!read_servers(r, out.num_server_addresses, out.server_addresses)) {
    return WireDrop::kTokenMalformed;
  }
  r.copy(out.client_to_server_key);
  r.copy(out.server_to_client_key);
  r.copy(out.user_data);
  return r.ok() ? WireDrop::kOk : WireDrop::kTokenMalformed;
}

void wipe_private_connect_token_secrets(PrivateConnectToken& token) {
  // The keys and the user data are one stretch: wiped in one call.
  static_assert(offsetof(PrivateConnectToken, server_to_client_key) ==
                offsetof(PrivateConnectToken, client_to_server_key) + kKeyBytes);
  static_assert(offsetof(PrivateConnectToken, user_data) ==
                offsetof(PrivateConnectToken, server_to_client_key) + kKeyBytes);
  sodium_memzero(token.client_to_server_key.data(), 2 * kKeyBytes + kUserDataBytes);
}

Status encrypt_private_connect_token(const PrivateConnectToken& token, uint64_t protocol_id,
                                     uint64_t expire_timestamp, const ConnectTokenNonce& nonce,
                                     const Key& private_key,
                                     std::span<uint8_t, kPrivateConnectTokenBytes> out) {
  if (!write_private_connect_token(token, out)) {
    return Status::error(
        "connect token: the private token needs 1 to 32 server addresses, each IPv4 or IPv6; got " +
        std::to_string(token.num_server_addresses) + " or an address of no type");
  }
  const auto ad = token_ad(protocol_id, expire_timestamp);
  if (!aead::xseal(out.data(), out.data(), kPrivatePlainBytes, out.data() + kPrivatePlainBytes, ad,
                   nonce.data(), private_key.data())) {
    sodium_memzero(out.data(), out.size());
    return Status::error(
        "connect token: libsodium failed to seal the private token (XChaCha20-Poly1305); check "
        "that sodium_init() succeeded");
  }
  return Status::ok();
}

WireDrop decrypt_private_connect_token(std::span<const uint8_t, kPrivateConnectTokenBytes> sealed,
                                       uint64_t protocol_id, uint64_t expire_timestamp,
                                       const ConnectTokenNonce& nonce, const Key& private_key,
                                       PrivateConnectToken& out) {
  const auto ad = token_ad(protocol_id, expire_timestamp);
  std::array<uint8_t, kPrivatePlainBytes> plain;  // only what is decrypted is read, and wiped
  // The tag covers all 1008 bytes, but the fields end early (343 bytes with
  // one IPv4 server): only the first kHead are decrypted, unless the server
  // list runs past them.
  const uint8_t* tag = sealed.data() + kPrivatePlainBytes;
  size_t decrypted = kHead;
  bool opened = aead::xopen_head(sealed.data(), plain.data(), kPrivatePlainBytes, kHead, tag, ad,
                                 nonce.data(), private_key.data());
  if (opened && fields_end(std::span<const uint8_t>(plain).first<kHead>()) == 0) {
    decrypted = kPrivatePlainBytes;
    opened = aead::xopen(sealed.data(), plain.data(), kPrivatePlainBytes, tag, ad, nonce.data(),
                         private_key.data());
  }
  if (!opened) {
    sodium_memzero(plain.data(), decrypted);
    return WireDrop::kTokenDecryptFailed;
  }
  const WireDrop r =
      read_private_connect_token(std::span<const uint8_t>(plain.data(), decrypted), out);
  sodium_memzero(plain.data(), decrypted);
  return r;
}

Status write_connect_token(const ConnectToken& token, std::span<uint8_t, kConnectTokenBytes> out) {
  if (!valid_servers(token.num_server_addresses, token.server_addresses)) {
    return Status::error(
        "connect token: the public token needs 1 to 32 server addresses, each IPv4 or IPv6; got " +
        std::to_string(token.num_server_addresses) + " or an address of no type");
  }
  if (token.create_timestamp > token.expire_timestamp) {
    return Status::error(
        "connect token: the create timestamp is after the expire timestamp; expire must be "
        "create + the token lifetime");
  }
  ByteWriter w(out);
  w.bytes(kVersionInfo);
  w.u64(token.protocol_id);
  w.u64(token.create_timestamp);
  w.u64(token.expire_timestamp);
  w.bytes(token.nonce);
  w.bytes(token.private_data);
  w.u32(static_cast<uint32_t>(token.timeout_seconds));
  w.u32(token.num_server_addresses);
  for (const auto& a : token.servers()) write_address(w, a);
  w.bytes(token.client_to_server_key);
  w.bytes(token.server_to_client_key);
  w.zero_to(kConnectTokenBytes);
  if (!w.ok()) return Status::error("connect token: the fields do not fit 2048 bytes");
  return Status::ok();
}

Expected<ConnectToken> read_connect_token(std::span<const uint8_t> in) {
  if (in.size() != kConnectTokenBytes) {
    return Status::error("connect token: " + std::to_string(in.size()) +
                         " bytes, not the 2048 a token is: give the whole token as it was "
                         "minted");
  }
  ByteReader r(in);
  auto version = r.bytes(kVersionInfoBytes);
  if (!std::equal(version.begin(), version.end(), kVersionInfo.begin())) {
    return Status::error(
        "connect token: not a \"NETCODE 1.02\" token (version info differs); get a token from a "
        "1.02 backend");
  }
  ConnectToken t;
  t.protocol_id = r.u64();
  t.create_timestamp = r.u64();
  t.expire_timestamp = r.u64();
  if (t.create_timestamp > t.expire_timestamp) {
    return Status::error("connect token: the create timestamp is after the expire timestamp");
  }
  r.copy(t.nonce);
  r.copy(t.private_data);
  t.timeout_seconds = static_cast<int32_t>(r.u32());
  if (!read_servers(r, t.num_server_addresses, t.server_addresses)) {
    return Status::error(
        "connect token: the server list is invalid (count not in 1..32, or an address type "
        "other than 1 = IPv4 and 2 = IPv6)");
  }
  r.copy(t.client_to_server_key);
  r.copy(t.server_to_client_key);
  if (!r.ok()) return Status::error("connect token: the fields run past 2048 bytes");
  return t;
}

Status generate_connect_token(const PrivateConnectToken& priv,
                              std::span<const NetcodeAddress> public_addresses,
                              uint64_t protocol_id, uint64_t create_timestamp,
                              uint64_t expire_timestamp, const ConnectTokenNonce& nonce,
                              const Key& private_key, std::span<uint8_t, kConnectTokenBytes> out) {
  ConnectToken t;
  t.protocol_id = protocol_id;
  t.create_timestamp = create_timestamp;
  t.expire_timestamp = expire_timestamp;
  t.nonce = nonce;
  BYPASS_TRY(encrypt_private_connect_token(priv, protocol_id, expire_timestamp, nonce, private_key,
                                           t.private_data));
  t.timeout_seconds = priv.timeout_seconds;
  if (public_addresses.empty()) public_addresses = priv.servers();
  if (public_addresses.size() > kMaxServersPerConnect) {
    return Status::error("connect token: at most 32 public server addresses, got " +
                         std::to_string(public_addresses.size()));
  }
  t.num_server_addresses = static_cast<uint32_t>(public_addresses.size());
  std::copy(public_addresses.begin(), public_addresses.end(), t.server_addresses.begin());
  t.client_to_server_key = priv.client_to_server_key;
  t.server_to_client_key = priv.server_to_client_key;
  const Status s = write_connect_token(t, out);
  sodium_memzero(t.client_to_server_key.data(), kKeyBytes);
  sodium_memzero(t.server_to_client_key.data(), kKeyBytes);
  return s;
}

}  // namespace bypass::conn
