// Searching what a program printed for secrets, in every encoding it might
// print them in: the netcode service's private key, a served token's two
// session keys and bytes of its sealed private part (docs/hardening.md:
// secrets never appear in logs, stats or errors). Used by the secrets test
// (sockets backend, trace logs, control plane) and the DPDK netcode veth
// test (journal, DPDK telemetry).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>

#include "harness.hpp"

namespace bypass::it {

inline std::string hex_text(const uint8_t* p, size_t n, bool upper) {
  static const char* lower_digits = "0123456789abcdef";
  static const char* upper_digits = "0123456789ABCDEF";
  const char* d = upper ? upper_digits : lower_digits;
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

inline std::string base64_text(const uint8_t* p, size_t n) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  for (size_t i = 0; i + 2 < n; i += 3) {
    const uint32_t v = uint32_t{p[i]} << 16 | uint32_t{p[i + 1]} << 8 | p[i + 2];
    for (int k = 18; k >= 0; k -= 6) s += a[(v >> k) & 63];
  }
  return s;  // whole groups only: a prefix of the real encoding
}

// Ways a secret could be printed: lower and upper hex, bare or spaced;
// base64 of any buffer it sits in (at each of the three alignments); the raw
// bytes; byte lists in hex and decimal. 12 bytes are enough to
// tell the secret from chance (6 in a list).
inline std::vector<std::pair<std::string, std::string>> encodings(const std::string& name,
                                                                  const uint8_t* p) {
  constexpr size_t kBytes = 12;
  std::string list, upper_list, spaced, decimal;
  for (size_t i = 0; i < 6; ++i) {
    const std::string sep = i ? ", " : "";
    list += sep + "0x" + hex_text(p + i, 1, false);
    upper_list += sep + "0x" + hex_text(p + i, 1, true);
    spaced += (i ? " " : "") + hex_text(p + i, 1, false);
    decimal += sep + std::to_string(p[i]);
  }
  std::vector<std::pair<std::string, std::string>> v = {
      {name + " (hex)", hex_text(p, kBytes, false)},
      {name + " (HEX)", hex_text(p, kBytes, true)},
      {name + " (raw)", std::string(reinterpret_cast<const char*>(p), kBytes)},
      {name + " (0x list)", list},
      {name + " (0X list)", upper_list},
      {name + " (spaced hex)", spaced},
      {name + " (decimal list)", decimal}};
  // In base64 a byte's characters depend on where its group of 3 starts: the
  // secret at offset 0, 1 or 2 of a group gives three encodings of its
  // whole groups.
  for (size_t skip = 0; skip < 3; ++skip)
    v.push_back({name + " (base64, +" + std::to_string(skip) + ")", base64_text(p + skip, kBytes)});
  return v;
}

// A connect token file as `bypass-client token` writes it, read back.
inline Expected<conn::ConnectToken> read_token_file(const std::string& path) {
  const std::string bytes = read_file(path);
  return conn::read_connect_token(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

// The patterns of every secret a server with `private_key` and a client with
// `token` hold: name, pattern.
inline std::vector<std::pair<std::string, std::string>> secret_patterns(
    const conn::Key& private_key, const std::vector<conn::ConnectToken>& tokens) {
  std::vector<std::pair<std::string, std::string>> v =
      encodings("the private key", private_key.data());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const conn::ConnectToken& t = tokens[i];
    const std::string n = " of token " + std::to_string(i + 1);
    for (auto [name, p] : {std::pair{"the client-to-server key", t.client_to_server_key.data()},
                           std::pair{"the server-to-client key", t.server_to_client_key.data()},
                           std::pair{"the sealed token", t.private_data.data() + 100}})
      for (auto& e : encodings(name + n, p)) v.push_back(e);
  }
  return v;
}

// Each text searched was not empty, and holds none of the patterns.
inline void expect_no_secrets(const std::vector<std::pair<std::string, std::string>>& where,
                              const std::vector<std::pair<std::string, std::string>>& secrets) {
  for (const auto& [what, text] : where) {
    EXPECT_GT(text.size(), 0u) << what << " is empty: nothing was searched";
    for (const auto& [secret, pattern] : secrets)
      EXPECT_EQ(text.find(pattern), std::string::npos) << secret << " is in " << what;
  }
}

}  // namespace bypass::it
