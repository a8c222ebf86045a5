// Secrets stay secret (docs/hardening.md: "Secrets (private keys, token keys)
// never appear in logs, stats or errors"): bypass-udpd at its most talkative
// (--log-level trace, sockets backend) serves netcode payloads and messages to our clients,
// and everything an operator or a scraper can read is searched for the
// service's private key, the session keys of a token it served and the
// token itself, in every encoding a program might print them in.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>

#include "udpd_cli.hpp"

namespace bypass::it {
namespace {

std::string hex(const uint8_t* p, size_t n, bool upper) {
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

std::string base64(const uint8_t* p, size_t n) {
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
std::vector<std::pair<std::string, std::string>> encodings(const std::string& name,
                                                           const uint8_t* p) {
  constexpr size_t kBytes = 12;
  std::string list, upper_list, spaced, decimal;
  for (size_t i = 0; i < 6; ++i) {
    const std::string sep = i ? ", " : "";
    list += sep + "0x" + hex(p + i, 1, false);
    upper_list += sep + "0x" + hex(p + i, 1, true);
    spaced += (i ? " " : "") + hex(p + i, 1, false);
    decimal += sep + std::to_string(p[i]);
  }
  std::vector<std::pair<std::string, std::string>> v = {
      {name + " (hex)", hex(p, kBytes, false)},
      {name + " (HEX)", hex(p, kBytes, true)},
      {name + " (raw)", std::string(reinterpret_cast<const char*>(p), kBytes)},
      {name + " (0x list)", list},
      {name + " (0X list)", upper_list},
      {name + " (spaced hex)", spaced},
      {name + " (decimal list)", decimal}};
  // In base64 a byte's characters depend on where its group of 3 starts: the
  // secret at offset 0, 1 or 2 of a group gives three encodings of its
  // whole groups.
  for (size_t skip = 0; skip < 3; ++skip)
    v.push_back({name + " (base64, +" + std::to_string(skip) + ")", base64(p + skip, kBytes)});
  return v;
}

TEST(UdpdSecrets, NoKeyOrTokenInLogsStatsMetricsOrControlOutput) {
  TempDir dir;
  RunDirEnv run_dir(dir.file("run"));
  const uint16_t port = test_port(12), messages = test_port(13);
  // Payload echo on `port`, the message layer's echo on `messages`; the
  // control socket and the HTTP endpoint; trace logs. (The sockets backend
  // keeps no journal: udpd_veth_conn_test searches the DPDK one.)
  const std::string extra = "[[udpd.service]]\nport = " + std::to_string(messages) +
                            "\nhandler = \"netcode\"\nprotocol_id = 4660\nprivate_key_file = \"" +
                            dir.file("key.hex") +
                            "\"\napplication = \"echo\"\n"
                            "[control]\nname = \"secrets\"\nmetrics = \"127.0.0.1:0\"\n";
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(
      start_sockets_netcode(dir, port, extra, &udpd, "\"127.0.0.1\"", {"--log-level", "trace"}));
  const std::string client = env_path("BYPASS_CLIENT"), ctl = env_path("BYPASS_CTL");

  CmdResult t =
      run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key", dir.file("key.hex"),
               "--protocol-id", "4660", "--client-id", "7", "--token", dir.file("t")});
  ASSERT_TRUE(t.ok()) << t.out << t.err;
  const std::string token_bytes = read_file(dir.file("t"));
  auto token = conn::read_connect_token(
      std::span(reinterpret_cast<const uint8_t*>(token_bytes.data()), token_bytes.size()));
  ASSERT_TRUE(token.has_value()) << token.error();
  CmdResult c = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                         dir.file("t"), "-n", "20", "-s", "200", "--timeout-ms", "10000"});
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  // The same token again: refused, with the refusal logged at trace level.
  CmdResult again = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                             dir.file("t"), "-n", "1", "--timeout-ms", "1500"});
  EXPECT_FALSE(again.ok());
  // Message clients stay connected while the control plane is read.
  std::string err;
  auto load = Child::spawn({client, "load", "127.0.0.1", std::to_string(messages), "--key",
                            dir.file("key.hex"), "--protocol-id", "4660", "--client-id", "100",
                            "--clients", "4", "--in-flight", "4", "-d", "30"},
                           dir.path(), &err);
  ASSERT_TRUE(load) << err;
  ASSERT_TRUE(load->wait_for_output("connected: 4 of 4", 10000ms)) << load->out() << load->err();

  // What the control plane shows: every view over HTTP (and the refusal of
  // every command), each view through bypassctl too, and /metrics.
  std::smatch m;
  const std::string log = udpd->out() + udpd->err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("http://(127\\.0\\.0\\.1:[0-9]+)/"))) << log;
  const char* fetch_all = R"(
import json, sys, urllib.request, urllib.error
base = "http://" + sys.argv[1]
def get(path):
    try:
        return urllib.request.urlopen(base + path, timeout=10).read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return "HTTP %d %s" % (e.code, e.read().decode("utf-8", "replace"))
names = sorted(json.loads(get("/api/help")))
print(" ".join(names))
for path in ["/metrics", "/"] + ["/api/" + n for n in names]:
    print("==", path)
    print(get(path))
)";
  CmdResult http = run_cmd({"python3", "-c", fetch_all, m[1]});
  ASSERT_TRUE(http.ok()) << http.out << http.err;
  const std::string names = http.out.substr(0, http.out.find('\n'));
  EXPECT_NE(names.find("conns"), std::string::npos) << names;
  std::string control = http.out;
  for (size_t i = 0, j; i < names.size(); i = j + 1) {
    j = names.find(' ', i);
    if (j == std::string::npos) j = names.size();
    const std::string name = names.substr(i, j - i);
    if (http.out.find("== /api/" + name + "\nHTTP 403") != std::string::npos)
      continue;  // a command
    for (const char* json : {"", "--json"}) {
      std::vector<std::string> argv = {ctl, "-n", "secrets", name};
      if (*json) argv.push_back(json);
      CmdResult r = run_cmd(argv);
      control += r.out + r.err;
    }
  }
  EXPECT_NE(control.find("\"client_id\":100"), std::string::npos) << "conns was read\n" << control;
  load->kill(SIGTERM);
  load->wait_for(10000ms);

  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());

  std::vector<std::pair<std::string, std::string>> where = {
      {"bypass-udpd's output", udpd->out() + udpd->err()},
      {"the stats file", read_file(dir.file("stats.jsonl"))},
      {"the control plane (HTTP and bypassctl)", control},
      {"the clients' output",
       t.out + t.err + c.out + c.err + again.out + again.err + load->out() + load->err()}};
  auto private_key = conn::load_private_key_file(dir.file("key.hex"));
  ASSERT_TRUE(private_key.has_value()) << private_key.error();
  std::vector<std::pair<std::string, std::string>> secrets;
  for (auto [name, p] : {std::pair{"the private key", private_key->data()},
                         std::pair{"the client-to-server key", token->client_to_server_key.data()},
                         std::pair{"the server-to-client key", token->server_to_client_key.data()},
                         std::pair{"the sealed token", token->private_data.data() + 100}})
    for (auto& e : encodings(name, p)) secrets.push_back(e);
  for (const auto& [what, text] : where) {
    EXPECT_GT(text.size(), 0u) << what << " is empty: nothing was searched";
    for (const auto& [secret, pattern] : secrets)
      EXPECT_EQ(text.find(pattern), std::string::npos) << secret << " is in " << what;
  }
}

}  // namespace
}  // namespace bypass::it
