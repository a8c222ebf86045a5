// bypass-udpd's netcode service on the sockets backend, from the outside:
// our client connects and is echoed, through a flood of spoofed requests
// too; the message protocol under load; bypassctl conns; several workers;
// and the service's config mistakes, each one sentence.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "spoofed_requests.hpp"
#include "udpd_cli.hpp"

namespace bypass::it {
namespace {

// netcode.io on the sockets backend: a minted token, our client over
// loopback, payloads echoed, the client's leaving seen by the server.
TEST(UdpdSockets, NetcodeClientConnectsAndIsEchoed) {
  TempDir dir;
  const uint16_t port = test_port(2);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port, "", &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult t = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                         dir.file("key.hex"), "--protocol-id", "4660", "--token", dir.file("t")});
  ASSERT_TRUE(t.ok()) << t.out << t.err;
  struct stat st_token {};
  ASSERT_EQ(stat(dir.file("t").c_str(), &st_token), 0);
  EXPECT_EQ(st_token.st_mode & 0777, 0600u) << "a token holds session keys: its owner's only";
  CmdResult c = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                         dir.file("t"), "-n", "30", "-s", "1200", "--timeout-ms", "10000"});
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  EXPECT_NE(c.out.find("payloads sent 30 echoed 30"), std::string::npos) << c.out;
  // Load: 20 clients at once, each with its own socket and token. The run's
  // seconds include connecting: 3 leave a loaded (or sanitized) machine room.
  CmdResult load = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--key",
                            dir.file("key.hex"), "--protocol-id", "4660", "--client-id", "100",
                            "--clients", "20", "-r", "20", "-d", "3"});
  EXPECT_TRUE(load.ok()) << load.out << load.err;
  EXPECT_NE(load.out.find("20 clients, 20 connected, 0 denied, 0 timed out"), std::string::npos)
      << load.out;
  // In flight: each client keeps 8 payloads out, a new one per echo (batched
  // sends and receives); over loopback every one comes back but the last 8.
  // With --gso, a client's payloads of one size leave in UDP_SEGMENT runs
  // (its first window at least: 8 at once), and the server gets each alone.
  CmdResult flight =
      run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--key", dir.file("key.hex"),
               "--protocol-id", "4660", "--client-id", "200", "--clients", "4", "--in-flight", "8",
               "-s", "100", "-d", "3", "--gso"});
  EXPECT_TRUE(flight.ok()) << flight.out << flight.err;
  unsigned long long sent = 0, echoed = 0;
  const size_t at = flight.out.find("payloads sent ");
  ASSERT_NE(at, std::string::npos) << flight.out;
  ASSERT_EQ(std::sscanf(flight.out.c_str() + at, "payloads sent %llu echoed %llu", &sent, &echoed),
            2)
      << flight.out;
  // Echoes came back, and each one freed a slot for a new payload: more went out than the four
  // first windows. Over loopback nothing is lost: only the last windows are still out.
  EXPECT_GE(echoed, 1u) << flight.out;
  EXPECT_LE(echoed, sent) << flight.out;
  EXPECT_GT(sent, 4u * 8u) << flight.out;
  EXPECT_LE(sent - echoed, 4u * 8u) << flight.out;
  unsigned long long segmented = 0;
  const size_t runs = flight.out.find("datagrams sent in UDP_SEGMENT runs ");
  ASSERT_NE(runs, std::string::npos) << flight.out;
  ASSERT_EQ(
      std::sscanf(flight.out.c_str() + runs, "datagrams sent in UDP_SEGMENT runs %llu", &segmented),
      1);
  EXPECT_GE(segmented, 8u) << flight.out;
  // A token past its expiry: said so at once, not after a timeout. (The
  // token mode refuses --lifetime 0, so the public part's expiry, bytes
  // 29-36, is set back to its creation time, bytes 21-28.)
  CmdResult brief =
      run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key", dir.file("key.hex"),
               "--protocol-id", "4660", "--token", dir.file("brief")});
  ASSERT_TRUE(brief.ok()) << brief.out << brief.err;
  {
    std::string tok = read_file(dir.file("brief"));
    ASSERT_EQ(tok.size(), 2048u);
    tok.replace(29, 8, tok.substr(21, 8));
    std::ofstream(dir.file("brief"), std::ios::binary | std::ios::trunc) << tok;
  }
  CmdResult expired = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                               dir.file("brief"), "-n", "1"});
  EXPECT_EQ(expired.status.code, 2);  // a usage error, as for any bad token
  EXPECT_NE(expired.err.find("has expired: mint a new one."), std::string::npos) << expired.err;
  // The same token again: refused (a token starts one session only).
  CmdResult again = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                             dir.file("t"), "-n", "1", "--timeout-ms", "1500"});
  EXPECT_FALSE(again.ok()) << again.out;
  ASSERT_TRUE(udpd->kill(SIGTERM));
  auto st = udpd->wait_for(10000ms);
  ASSERT_TRUE(st.has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("netcode: connected 0 connects 25 disconnects 25"), std::string::npos) << out;
  EXPECT_NE(out.find("drop.token_already_used"), std::string::npos) << out;
  // The private key is in none of what the server and the clients wrote.
  std::ifstream stats_file(dir.file("stats.jsonl"));
  const std::string stats((std::istreambuf_iterator<char>(stats_file)),
                          std::istreambuf_iterator<char>());
  EXPECT_NE(stats.find("netcode.connects"), std::string::npos) << "the stats were written";
  const std::string key = "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff";
  for (const std::string* text : std::initializer_list<const std::string*>{
           &out, &stats, &t.out, &t.err, &c.out, &c.err, &load.out, &flight.out, &again.out}) {
    EXPECT_EQ(text->find(key.substr(0, 16)), std::string::npos) << *text;
  }
  EXPECT_EQ(udpd->err().find(key.substr(0, 16)), std::string::npos);
}

// A token names several servers, of both families, tried in turn: the
// first (a closed port) times out after the token's timeout, and the client
// connects to the next, over one dual-stack socket when the families mix.
// The token command's mistakes are one sentence each.
TEST(UdpdSockets, ATokenNamesServersOfBothFamiliesTriedInTurn) {
  TempDir dir;
  const uint16_t port = test_port(8), closed = test_port(9);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port, "", &udpd, "\"127.0.0.1\", \"::1\""));
  const std::string client = env_path("BYPASS_CLIENT");
  const std::vector<std::string> mint = {
      client, "token",           "--key", dir.file("key.hex"), "--protocol-id",
      "4660", "--token-timeout", "1",     "--user-data",       "0a0b0c"};
  struct Case {
    std::string first, then;
  } cases[] = {{"127.0.0.1", "[::1]:" + std::to_string(port)},
               {"::1", "127.0.0.1:" + std::to_string(port)}};
  int n = 0;
  for (const Case& k : cases) {
    const std::string file = dir.file("t" + std::to_string(n++));
    std::vector<std::string> argv = mint;
    for (const std::string& a : {k.first, std::to_string(closed), std::string("--server"), k.then,
                                 std::string("--token"), file})
      argv.push_back(a);
    CmdResult t = run_cmd(argv);
    ASSERT_TRUE(t.ok()) << t.describe("bypass-client token");
    EXPECT_NE(t.out.find("and 1 more"), std::string::npos) << t.out;
    CmdResult c = run_cmd({client, "netcode", k.first, std::to_string(closed), "--token", file,
                           "-n", "3", "--timeout-ms", "15000"});
    EXPECT_TRUE(c.ok()) << k.first << " then " << k.then << "\n" << c.describe("netcode");
    EXPECT_NE(c.out.find("payloads sent 3 echoed 3"), std::string::npos) << c.out;
  }
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  } bad[] = {
      {{"--server", "[::1]:0"}, "--server \"[::1]:0\" is not a server address"},
      {{"--server", "::1:7"}, "--server \"::1:7\" is not a server address"},
      {{"--user-data", "0g"}, "--user-data is at most 256 bytes as hex digits"},
      {{"--user-data", std::string(514, 'a')}, "--user-data is at most 256 bytes as hex digits"},
      {{"--token-timeout", "0"}, "--token-timeout is seconds without a packet"},
      {{"--protocol-id", "-1"}, "is not a protocol id a server takes: give 0 to 2^64-1"},
      {{"--protocol-id", "0x1FFFFFFFFFFFFFFFF"}, "is not a protocol id a server takes"},
      {{"--protocol-id", " 5"}, "is not a protocol id a server takes"},
      {{"--client-id", "-1"}, "--client-id takes a whole number from 0 to"},
      {{"--client-id", "18446744073709551616"},
       "--client-id takes a whole number from 0 to 18446744073709551615, not "
       "'18446744073709551616'"},
      {{"--lifetime", "99999999999999"}, "--lifetime takes a whole number"},
      {{"--lifetime", "0"}, "--lifetime is the seconds a token stays valid, 1 or more"},
      {{"--server", "0.0.0.0:7"}, "--server \"0.0.0.0:7\" is no address a client can reach"},
      {{"--timeout-ms", "nan"}, "--timeout-ms takes milliseconds from 1 to 3600000, not 'nan'"},
  };
  for (const Bad& b : bad) {
    std::vector<std::string> argv = {
        client,    "token",        "127.0.0.1", std::to_string(port), "--key", dir.file("key.hex"),
        "--token", dir.file("bad")};
    argv.insert(argv.end(), b.args.begin(), b.args.end());
    CmdResult r = run_cmd(argv);
    EXPECT_EQ(r.status.code, 2) << r.describe("token " + b.args[0]);
    EXPECT_NE(r.err.find(b.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // The netcode load's own mistakes: one sentence, status 2.
  struct Load {
    std::vector<std::string> args;
    std::string says;
  } load[] = {
      {{"-r", "0"}, "give -r above 0, or --in-flight."},
      {{"-s", "4"}, "load payloads are 8 to 1200 bytes"},
      {{"--in-flight", "4", "-s", "10"}, "in-flight payloads are 16 to 1200 bytes"},
      {{"--server", "127.0.0.1:9"}, "--server is for the token mode"},
      {{"--lifetime", "0"}, "--lifetime is the seconds a token stays valid"},
  };
  for (const Load& l : load) {
    std::vector<std::string> argv = {
        client,  "netcode",           "127.0.0.1", std::to_string(port),
        "--key", dir.file("key.hex"), "--clients", "2"};
    argv.insert(argv.end(), l.args.begin(), l.args.end());
    CmdResult r = run_cmd(argv);
    EXPECT_EQ(r.status.code, 2) << r.describe("netcode load " + l.args[0]);
    EXPECT_NE(r.err.find(l.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // The server it names: a reachable address and port; and the key.
  struct Named {
    std::vector<std::string> args;
    std::string says;
  } named[] = {
      {{"0.0.0.0", "40000", "--key", dir.file("key.hex")}, "is no address a client can reach"},
      {{"127.0.0.1", "0", "--key", dir.file("key.hex")}, "port takes a UDP port from 1 to 65535"},
      {{"127.0.0.1", "40000"}, "token needs --key FILE"},
  };
  for (const Named& m : named) {
    std::vector<std::string> argv = {client, "token", "--token", dir.file("bad")};
    argv.insert(argv.end(), m.args.begin(), m.args.end());
    CmdResult r = run_cmd(argv);
    EXPECT_EQ(r.status.code, 2) << r.describe("token " + m.args[0]);
    EXPECT_NE(r.err.find(m.says), std::string::npos) << r.err;
  }
  CmdResult empty = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                             dir.file("key.hex"), "--token", ""});
  EXPECT_EQ(empty.status.code, 2);
  EXPECT_NE(empty.err.find("--token needs a file name, not an empty one."), std::string::npos)
      << empty.err;
  // A token is never written over the key, or over a file that is not a
  // token: the file is left as it was.
  std::ofstream(dir.file("notes.toml")) << "x = 1\n";
  for (auto [path, says] : {std::pair{dir.file("key.hex"), "is the key file"},
                            {dir.file("notes.toml"), "exists and is not a token (2048 bytes)"}}) {
    const std::string before = read_file(path);
    CmdResult r = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                           dir.file("key.hex"), "--token", path});
    EXPECT_EQ(r.status.code, 2) << r.describe("token over " + path);
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    EXPECT_EQ(read_file(path), before) << path;
  }
  std::vector<std::string> many = {
      client,    "token",        "127.0.0.1", std::to_string(port), "--key", dir.file("key.hex"),
      "--token", dir.file("bad")};
  for (int i = 0; i < 32; ++i) many.insert(many.end(), {"--server", "127.0.0.1:9"});
  CmdResult r = run_cmd(many);
  EXPECT_EQ(r.status.code, 2);
  EXPECT_NE(r.err.find("a token names at most 32 servers: give fewer --server."), std::string::npos)
      << r.err;
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
}

// A flood of spoofed connection requests (a burst from one source, then 500
// sources at 80 a second each, eight times what one may send) while a real
// client connects: it connects and is echoed, every spoofed request is
// refused under a named reason, and the server sends no more bytes than it
// receives. Nothing here depends on how fast the machine is: the flood only
// has to be on.
TEST(UdpdSockets, ARealClientConnectsThroughAFloodOfSpoofedRequests) {
  ASSERT_EQ(geteuid(), 0u) << "the flood spoofs its sources through a raw socket: run as root "
                              "(CI does)";
  TempDir dir;
  const uint16_t port = test_port(7);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port, "", &udpd));
  std::atomic<bool> stop{false};
  uint64_t flooded = 0;
  Flood f{{127, 0, 0, 1}, port, 4660, {127, 1}};
  std::thread flood([&] { flooded = flood_requests(f, stop); });
  // The flood is on (its burst and as many more from many sources) before the client starts.
  if (!wait_for_flood(f, 200)) {  // the thread is joined before the test ends
    stop = true;
    flood.join();
    FAIL() << "the flood did not get going: can this user open raw sockets?";
  }
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult t = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                         dir.file("key.hex"), "--protocol-id", "4660", "--token", dir.file("t")});
  CmdResult c = run_cmd({client, "netcode", "127.0.0.1", std::to_string(port), "--token",
                         dir.file("t"), "-n", "20", "-s", "300", "--timeout-ms", "10000"});
  stop = true;
  flood.join();
  // What was still in the socket's buffer is read (and counted) before the server stops.
  EXPECT_TRUE(wait_for_quiet(dir.file("stats.jsonl"), "rx_bytes")) << "bytes in never settled";
  ASSERT_TRUE(t.ok()) << t.out << t.err;
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  EXPECT_NE(c.out.find("payloads sent 20 echoed 20"), std::string::npos) << c.out;
  EXPECT_GE(flooded, 100u);
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  if (!c.ok()) ADD_FAILURE() << "the server's side of it:\n" << out;
  const uint64_t in = last_stat(dir.file("stats.jsonl"), "rx_bytes");
  const uint64_t sent_out = last_stat(dir.file("stats.jsonl"), "tx_bytes");
  ASSERT_NE(in, UINT64_MAX) << "no rx_bytes in the last stats line";
  ASSERT_NE(sent_out, UINT64_MAX) << "no tx_bytes in the last stats line";
  EXPECT_LE(sent_out, in) << "bytes out never exceed bytes in";
  // Every spoofed request was refused, under a named reason.
  std::smatch limited, failed;
  ASSERT_TRUE(std::regex_search(out, limited, std::regex("drop.request_rate_limited (\\d+)")))
      << out;
  ASSERT_TRUE(std::regex_search(out, failed, std::regex("drop.token_decrypt_failed (\\d+)")))
      << out;
  // The burst of 100 from one source: at most its burst of 20, and the 10 a
  // second of however long sending took, got past the limit.
  EXPECT_GE(std::stoull(limited[1]), 50u) << out;
  EXPECT_GT(std::stoull(failed[1]), 0u) << out;
  std::smatch dropped;  // by the kernel, had the worker fallen behind
  ASSERT_TRUE(std::regex_search(out, dropped, std::regex("kernel dropped (\\d+)"))) << out;
  EXPECT_GE(std::stoull(limited[1]) + std::stoull(failed[1]) + std::stoull(dropped[1]), flooded)
      << out;
  std::printf(
      "flood: %llu spoofed requests, %s rate limited, %s token decrypts failed; bytes in "
      "%llu, out %llu\n",
      static_cast<unsigned long long>(flooded), limited[1].str().c_str(), failed[1].str().c_str(),
      static_cast<unsigned long long>(in), static_cast<unsigned long long>(sent_out));
}

// The message protocol on the sockets backend: bypass-client load, reliable
// (every message back, whole) and unreliable, small and fragmented (sent in
// UDP_SEGMENT runs).
TEST(UdpdSockets, MessageEchoUnderLoad) {
  TempDir dir;
  const uint16_t port = test_port(3);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(
      dir, port, "application = \"echo\"\nchannels = [\"reliable\", \"unreliable\"]\n", &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  auto load = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {client,
                                     "load",
                                     "127.0.0.1",
                                     std::to_string(port),
                                     "--key",
                                     dir.file("key.hex"),
                                     "--protocol-id",
                                     "4660",
                                     "-d",
                                     "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cmd(args);
  };
  CmdResult small = load({"--clients", "4", "--in-flight", "16", "-s", "64", "--text"});
  EXPECT_TRUE(small.ok()) << small.out << small.err;
  EXPECT_NE(small.out.find("4 connections, 4 opened, 0 closed early; reliable 64-byte"),
            std::string::npos)
      << small.out;
  // 64 fragments of one size: with --gso they leave in UDP_SEGMENT runs, cut
  // up by loopback into the datagrams the server reads.
  CmdResult big =
      load({"--client-id", "100", "--clients", "2", "--in-flight", "2", "-s", "65536", "--gso"});
  EXPECT_TRUE(big.ok()) << big.out << big.err;
  EXPECT_NE(big.out.find("lost 0 "), std::string::npos) << big.out;
  EXPECT_EQ(big.out.find("datagrams sent in UDP_SEGMENT runs 0\n"), std::string::npos) << big.out;
  EXPECT_NE(big.out.find("datagrams sent in UDP_SEGMENT runs "), std::string::npos) << big.out;
  CmdResult unrel = load({"--client-id", "200", "--clients", "2", "--unreliable", "-s", "100"});
  EXPECT_TRUE(unrel.ok()) << unrel.out << unrel.err;
  EXPECT_NE(unrel.out.find("unreliable 100-byte"), std::string::npos) << unrel.out;
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("msg: open 0 "), std::string::npos) << out;
  EXPECT_NE(out.find(" messages_in "), std::string::npos) << out;
  EXPECT_EQ(out.find(" messages_in 0 "), std::string::npos) << out;
  EXPECT_NE(out.find("closed_malformed 0"), std::string::npos) << out;
  EXPECT_NE(out.find("pool_free 16384"), std::string::npos) << "every chunk back\n" << out;
}

// bypassctl conns while 150 clients are connected: the whole list, paged.
TEST(UdpdSockets, ConnsListsTheConnectionsPaged) {
  TempDir dir;
  RunDirEnv run_dir(dir.file("run"));
  const uint16_t port = test_port(4);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(
      dir, port, "application = \"echo\"\n[control]\nname = \"conns\"\n", &udpd));
  std::string err;
  auto load = Child::spawn({env_path("BYPASS_CLIENT"), "load", "127.0.0.1", std::to_string(port),
                            "--key", dir.file("key.hex"), "--protocol-id", "4660", "--client-id",
                            "1000", "--clients", "150", "--in-flight", "1", "-d", "120"},
                           dir.path(), &err);
  ASSERT_TRUE(load) << err;
  auto conns = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {env_path("BYPASS_CTL"), "-n", "conns", "conns"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_cmd(argv);
  };
  const char* total = R"(
import json, sys
print(json.loads(sys.argv[1])["total"])
)";
  std::string n;
  for (int i = 0; i < 200 && n != "150\n"; ++i) {
    n = run_cmd({"python3", "-c", total, conns({"--json"}).out}).out;
    if (n != "150\n") std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(n, "150\n");
  const char* pages = R"(
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ids = [c["client_id"] for c in a["connections"] + b["connections"]]
assert len(a["connections"]) == 100 and len(b["connections"]) == 50, (len(a), len(b))
assert sorted(ids) == list(range(1000, 1150)), ids
assert all(c["address"] == "127.0.0.1" and c["service"] == int(sys.argv[3]) and c["worker"] == 1
           for c in a["connections"]), a["connections"][0]
print("ok")
)";
  CmdResult p =
      run_cmd({"python3", "-c", pages, conns({"--json", "--limit", "100"}).out,
               conns({"--json", "--offset", "100", "--limit", "100"}).out, std::to_string(port)});
  EXPECT_EQ(p.out, "ok\n") << p.out << p.err;
  CmdResult text = conns({"--limit", "2"});
  EXPECT_NE(text.out.find("2 of 150 connection(s); more with --offset 2"), std::string::npos)
      << text.out;
  load->kill(SIGTERM);
  load->wait_for(10000ms);
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
}

// A netcode service, and its rooms application, run on several workers: they
// share its token history, client ids, seats and room rings.
TEST(UdpdNetcode, SeveralWorkersServeNetcodeAndRooms) {
  TempDir dir;
  std::ofstream(dir.file("key.hex")) << std::string(64, 'a') << "\n";
  const std::string base =
      "[eal]\nhuge_pages = false\n[[port]]\ndevice = \"net_null0\"\naddresses = "
      "[\"198.18.0.2/24\"]\n"
      "[[worker]]\ncpu = 0\nrx = [\"p0:0\"]\n[[worker]]\ncpu = 1\nrx = []\n"
      "[[udpd.service]]\nport = 9000\nhandler = \"netcode\"\nprotocol_id = 1\n"
      "private_key_file = \"" +
      dir.file("key.hex") + "\"\n";
  std::ofstream(dir.file("two.toml")) << base;
  auto two = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("two.toml"), "--check"}, 30000ms);
  EXPECT_EQ(two.status.code, 0) << two.out << two.err;
  std::ofstream(dir.file("rooms.toml")) << base << "application = \"rooms\"\n";
  auto r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("rooms.toml"), "--check"}, 30000ms);
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
}

// The netcode service's own mistakes, each one sentence that says what to
// change, before anything is bound.
TEST(UdpdSockets, NetcodeConfigMistakesAreOneSentence) {
  TempDir dir;
  std::ofstream(dir.file("key.hex")) << std::string(64, 'a') << "\n";
  std::ofstream(dir.file("short.hex")) << "abcd\n";
  const std::string key = "private_key_file = \"" + dir.file("key.hex") + "\"\n";
  std::string many = "public_addresses = [";
  for (int i = 1; i <= 33; ++i) many += "\"198.18.0." + std::to_string(i) + ":9000\",";
  many += "]\n";
  struct Case {
    std::string bind, service, says;
  };
  const std::vector<Case> cases = {
      {"0.0.0.0", "protocol_id = 1\n" + key, "which no connect token can name"},
      {"::", "protocol_id = 1\n" + key, "add public_addresses = [\"203.0.113.5:9000\"]"},
      {"127.0.0.1", "protocol_id = \"zz\"\n" + key, "is not a protocol id: write 0 to 2^64-1"},
      {"127.0.0.1", "protocol_id = \"0x1ffffffffffffffff\"\n" + key, "is not a protocol id"},
      {"127.0.0.1", "protocol_id = \"+5\"\n" + key, "is not a protocol id"},
      {"127.0.0.1", "protocol_id = 1\n" + key + "public_addresses = [\"0.0.0.0:9000\"]\n",
       "which no client can reach (tokens name it)"},
      {"127.0.0.1", "protocol_id = 1\n" + key + "public_addresses = [\"198.18.0.2:0\"]\n",
       "which is not an address and port"},
      {"127.0.0.1", "protocol_id = 1\n", "add private_key_file"},
      {"127.0.0.1", "protocol_id = 1\nprivate_key_file = \"" + dir.file("none.hex") + "\"\n",
       "does not exist: check the path."},
      {"127.0.0.1", "protocol_id = 1\nprivate_key_file = \"" + dir.file("short.hex") + "\"\n",
       "netcode private key in '" + dir.file("short.hex") + "': 4 hex digits"},
      {"127.0.0.1", "protocol_id = 1\n" + key + "public_addresses = [\"198.18.0.2\"]\n",
       "which is not an address and port"},
      {"127.0.0.1", "protocol_id = 1\n" + key + many, "names more than 32 addresses"},
      {"127.0.0.1",
       "protocol_id = 1\n" + key +
           "application = \"payload_echo\"\nchannels = "
           "[\"reliable\"]\n",
       "only applies to the message applications"},
      {"127.0.0.1", "protocol_id = 1\n" + key + "members_per_room = 4\n",
       "only applies to application = \"rooms\""},
      {"127.0.0.1", "protocol_id = 1\n" + key + "application = \"echo\"\nslow_member_ms = 200\n",
       "only applies to application = \"rooms\""},
      {"127.0.0.1", "protocol_id = 1\n" + key + "application = \"rooms\"\nslow_member_ms = 5\n",
       "slow_member_ms"},
      {"127.0.0.1",
       "protocol_id = 1\n" + key +
           "application = \"rooms\"\nmax_clients = 1048576\nrooms_per_connection = 17\n",
       "rooms_per_connection times max_clients is 17825792 room memberships, more than 16777216"},
      {"127.0.0.1", "protocol_id = 1\n" + key + "application = \"echo\"\nchannels = [\"fast\"]\n",
       "each channel is \"reliable\", \"unreliable\" or \"sequenced\""},
  };
  for (const Case& c : cases) {
    std::ofstream(dir.file("bad.toml"), std::ios::trunc)
        << "[[worker]]\ncpu = 1\n[udpd]\nbackend = \"sockets\"\nbind = [\"" << c.bind
        << "\"]\n[[udpd.service]]\nport = 9000\nhandler = \"netcode\"\n"
        << c.service;
    auto r = run_cmd({env_path("BYPASS_UDPD"), "-c", dir.file("bad.toml"), "-t", "1"}, 30000ms);
    ASSERT_TRUE(r.started);
    EXPECT_EQ(r.status.code, 2) << c.says << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.find(std::string(64, 'a')), std::string::npos) << "the key is never shown";
  }
}

}  // namespace
}  // namespace bypass::it
