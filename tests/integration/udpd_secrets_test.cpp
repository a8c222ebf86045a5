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

#include "secret_scan.hpp"
#include "udpd_cli.hpp"

namespace bypass::it {
namespace {

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
  auto token = read_token_file(dir.file("t"));
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
  expect_no_secrets(where, secret_patterns(*private_key, {*token}));
}

}  // namespace
}  // namespace bypass::it
