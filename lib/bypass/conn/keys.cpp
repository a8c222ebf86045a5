#include <bypass/conn/keys.hpp>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <bypass/core/file_read.hpp>

namespace bypass::conn {
namespace {

constexpr size_t kHexKeyChars = 2 * kKeyBytes;
// A key file is 32 bytes or 64 hex digits and a little whitespace; anything
// much larger is the wrong file.
constexpr size_t kMaxKeyFileBytes = 256;

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

bool decode_hex(std::span<const uint8_t> hex, std::span<uint8_t> out) {
  if (hex.size() % 2 != 0 || hex.size() / 2 > out.size()) return false;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

Status crypto_init() {
  if (sodium_init() < 0) {
    return Status::error(
        "libsodium failed to initialise (sodium_init); netcode cannot seal or open packets");
  }
  return Status::ok();
}

Expected<Key> parse_private_key(std::span<const uint8_t> bytes) {
  Key key{};
  const auto all_hex = [](std::span<const uint8_t> b) {
    return std::all_of(b.begin(), b.end(), [](uint8_t c) { return hex_value(c) >= 0; });
  };
  if (bytes.size() == kKeyBytes) {
    // 32 raw bytes that are hex digits (and trailing whitespace): a key
    // written as too few hex digits (a random key is that by chance with
    // odds of about 1 in 10^33).
    size_t n = bytes.size();
    while (n > 0 && is_space(bytes[n - 1])) --n;
    if (n > 0 && all_hex(bytes.first(n))) {
      return Status::error("netcode private key: " + std::to_string(n) +
                           " hex digits, too few for a 32-byte key: write 64 hex digits (or 32 "
                           "raw bytes)");
    }
    std::copy(bytes.begin(), bytes.end(), key.begin());
  } else {
    size_t n = bytes.size();
    while (n > 0 && is_space(bytes[n - 1])) --n;
    if (n != kHexKeyChars) {
      if (n > 0 && all_hex(bytes.first(n))) {
        return Status::error("netcode private key: " + std::to_string(n) +
                             " hex digits; a key is 64 hex digits (or 32 raw bytes)");
      }
      return Status::error("netcode private key: " + std::to_string(bytes.size()) +
                           " bytes that are neither 32 raw bytes nor 64 hex digits; write the "
                           "key as one or the other");
    }
    if (!decode_hex(bytes.first(n), key)) {
      sodium_memzero(key.data(), key.size());
      return Status::error(
          "netcode private key: 64 characters but not all hex digits (0-9, a-f); write the key "
          "as hex or as 32 raw bytes");
    }
  }
  if (sodium_is_zero(key.data(), key.size())) {
    return Status::error(
        "netcode private key: all zeros, a placeholder; generate a random key (32 bytes from a "
        "CSPRNG) and give the same one to the backend and the servers");
  }
  return key;
}

Expected<Key> load_private_key_file(const std::string& path) {
  auto bytes = read_user_file(path, kMaxKeyFileBytes, "netcode private key file");
  if (!bytes) return bytes.status();
  // Read into one allocation (read_user_file), wiped here whatever the outcome.
  auto key = parse_private_key(*bytes);
  sodium_memzero(bytes->data(), bytes->capacity());
  if (!key) {
    // "netcode private key: ..." names the file: "netcode private key in 'k': ...".
    std::string e = key.error();
    constexpr std::string_view kWhat = "netcode private key";
    if (e.rfind(kWhat, 0) == 0) e.insert(kWhat.size(), " in '" + path + "'");
    return Status::error(e);
  }
  return key;
}

Key random_key() {
  Key k;
  randombytes_buf(k.data(), k.size());
  return k;
}

ConnectTokenNonce random_connect_token_nonce() {
  ConnectTokenNonce n;
  randombytes_buf(n.data(), n.size());
  return n;
}

}  // namespace bypass::conn
