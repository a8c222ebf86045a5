// Connections through bypass-udpd on a veth, as an ordinary Linux host's
// client makes them (fixture: udpd_veth.hpp): netcode.io 1.02 on both
// families, bypass's messages under loss and corruption on both sides, and
// a real client connecting through a flood of spoofed requests; one netcode
// service spread over two workers.
#include <atomic>

#include "secret_scan.hpp"
#include "spoofed_requests.hpp"
#include "udpd_veth.hpp"

namespace bypass::it {
namespace {

// netcode.io 1.02 through the DPDK backend: a token minted as a web backend
// would, then our client on the host connects over the kernel's UDP, both
// families, sends payloads that the echo application returns, and leaves.
class UdpdVethNetcode : public UdpdVeth {};

TEST_P(UdpdVethNetcode, NetcodeClientConnectsAndIsEchoed) {
  std::ofstream(dir_.file("key.hex"))
      << "60a2ef56c8d3f1a0b17e4f5d9c2b83a47d1e0f6a5b4c3d2e1f0a9b8c7d6e5f40\n";
  ASSERT_NO_FATAL_FAILURE(start_udpd(
      "[[udpd.service]]\nport = 40000\nhandler = \"netcode\"\n"
      "protocol_id = \"0x1122334455667788\"\nprivate_key_file = \"" +
      dir_.file("key.hex") + "\"\n[control]\njournal = \"" + dir_.file("j.jsonl") + "\"\n"));
  const std::string client = env_path("BYPASS_CLIENT");
  std::vector<conn::ConnectToken> tokens;  // to search for their keys below
  std::string clients_said;
  for (const char* server : {"198.18.9.2", "2001:db8:9::2"}) {
    const std::string token = dir_.file(std::string("token-") + server);
    CmdResult t =
        run_cmd({client, "token", server, "40000", "--key", dir_.file("key.hex"), "--protocol-id",
                 "0x1122334455667788", "--client-id", "77", "--token", token});
    ASSERT_TRUE(t.ok()) << t.out << t.err;
    auto read = read_token_file(token);
    ASSERT_TRUE(read.has_value()) << read.error();
    tokens.push_back(*read);
    CmdResult c = on_host({client, "netcode", server, "40000", "--token", token, "-n", "20", "-s",
                           "300", "--timeout-ms", "10000"});
    EXPECT_TRUE(c.ok()) << c.out << c.err;
    EXPECT_NE(c.out.find("payloads sent 20 echoed 20"), std::string::npos) << c.out;
    clients_said += t.out + t.err + c.out + c.err;
  }
  // DPDK's telemetry, as its own client reads it: every /bypass command,
  // bare and with a worker, answers, and none shows a secret (below).
  const char* telemetry = R"(
import json, subprocess, sys
def ask(cmds):
    r = subprocess.run(["dpdk-telemetry.py", "-f", sys.argv[1]], input="\n".join(cmds) + "\n",
                       capture_output=True, text=True, timeout=60)
    return r.stdout
listing = [l for l in ask(["/"]).splitlines() if l.startswith("{")]
ours = [c for c in json.loads(listing[0])["/"] if c.startswith("/bypass/")]
print(len(ours))
print(ask([c + p for c in ours for p in ("", ",1")]))
)";
  CmdResult tel = run_cmd({"python3", "-c", telemetry, prefix_}, 90000ms);
  ASSERT_TRUE(tel.ok()) << tel.out << tel.err;
  EXPECT_GE(std::stoi(tel.out), 8) << tel.out;
  EXPECT_NE(tel.out.find("{\"/bypass/worker\": {"), std::string::npos) << "answers\n" << tel.out;
  std::string out = stop();
  // The journal has each connection opened and closed by the client. It,
  // the telemetry, bypass-udpd's output and the clients' hold no secret: the
  // private key, either token's session keys or sealed bytes, in any encoding.
  const std::string j = read_file(dir_.file("j.jsonl"));
  auto private_key = conn::load_private_key_file(dir_.file("key.hex"));
  ASSERT_TRUE(private_key.has_value()) << private_key.error();
  expect_no_secrets({{"DPDK telemetry", tel.out},
                     {"the journal", j},
                     {"bypass-udpd's output", out},
                     {"the clients' output", clients_said}},
                    secret_patterns(*private_key, tokens));
  for (const char* ip : {"198.18.9.1", "2001:db8:9::1"}) {
    EXPECT_NE(j.find(std::string("\"event\":\"connection_opened\",\"client_id\":77,\"ip\":\"") +
                     ip + "\"}"),
              std::string::npos)
        << j;
    EXPECT_NE(j.find(std::string("\"event\":\"connection_closed\",\"client_id\":77,\"ip\":\"") +
                     ip + "\",\"reason\":\"by_peer\"}"),
              std::string::npos)
        << j;
  }
  EXPECT_EQ(field(out, "netcode: connected \\d+ connects"), 2u) << out;
  EXPECT_EQ(field(out, "payloads_out"), 40u) << out;
  EXPECT_EQ(field(out, "disconnects"), 2u) << "both clients left by disconnect packets\n" << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

// bypass's message protocol through the DPDK backend under loss on both
// sides: the host drops 30 % of what its client sends (nftables, the host's
// own firewall; this kernel has no netem), bypass-udpd's port drops 30 % of
// what it sends and duplicates, reorders and corrupts some of what it gets
// (FaultyPort). Every reliable message still comes back, whole.
class UdpdVethMessages : public UdpdVeth {};

TEST_P(UdpdVethMessages, ReliableMessagesSurviveLossOnBothSides) {
  ASSERT_NO_FATAL_FAILURE(start_udpd(
      message_echo_service() +
      "[port.faults]\nseed = 11\n[port.faults.tx]\ndrop_rate = 0.3\n"
      "[port.faults.rx]\nduplicate_rate = 0.05\nreorder_rate = 0.1\ncorrupt_rate = 0.02\n"));
  for (const std::vector<std::string>& nft : std::vector<std::vector<std::string>>{
           {tool("nft"), "add", "table", "inet", "loss"},
           {tool("nft"), "add", "chain", "inet", "loss", "out",
            "{ type filter hook output priority 0; }"},
           {tool("nft"), "add", "rule", "inet", "loss", "out", "udp", "dport", "40000", "numgen",
            "random", "mod", "100", "<", "30", "drop"}}) {
    CmdResult r = on_host(nft);
    ASSERT_TRUE(r.ok()) << r.out << r.err;
  }
  int id = 100;
  for (const auto& [server, size] :
       {std::pair<const char*, const char*>{"198.18.9.2", "3000"}, {"2001:db8:9::2", "300"}}) {
    CmdResult c = load(server, id, 3, {"--in-flight", "8", "-s", size, "-d", "2"});
    id += 10;
    EXPECT_TRUE(c.ok()) << c.out << c.err;
    EXPECT_NE(c.out.find("3 connections, 3 opened, 0 closed early"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find(" lost 0 "), std::string::npos) << c.out;
    EXPECT_GT(field(c.out, "; retransmits"), 0u)
        << "the client resent nothing: the host's rule did nothing\n"
        << c.out;
  }
  // A whole 64 KiB message (64 fragments) at a time, and unreliable text.
  CmdResult big = load("198.18.9.2", 200, 1, {"--in-flight", "1", "-s", "65536", "-d", "1"});
  EXPECT_TRUE(big.ok()) << big.out << big.err;
  EXPECT_NE(big.out.find(" lost 0 "), std::string::npos) << big.out;
  EXPECT_EQ(big.out.find(" echoed 0 "), std::string::npos) << big.out;
  CmdResult unrel = load("198.18.9.2", 300, 2, {"--unreliable", "--text", "-s", "100", "-d", "2"});
  EXPECT_TRUE(unrel.ok()) << unrel.out << unrel.err;
  EXPECT_NE(unrel.out.find("unreliable 100-byte"), std::string::npos) << unrel.out;
  EXPECT_EQ(unrel.out.find(" echoed 0 "), std::string::npos) << unrel.out;
  std::string out = stop();
  EXPECT_EQ(field(out, "msg: open"), 0u) << out;
  EXPECT_GT(field(out, "retransmits"), 0u) << out;
  EXPECT_EQ(field(out, "closed_malformed"), 0u) << out;
  EXPECT_EQ(field(out, "pool_free"), 16384u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

// The netcode handshake and reliable messages through a port that corrupts
// 30 % of what it receives and of what it sends, and duplicates and reorders
// some: corrupted packets fail their checks and are counted, never answered
// wrongly, and every client connects and loses no reliable message.
TEST_P(UdpdVethMessages, HandshakeAndMessagesSurviveThirtyPercentCorruption) {
  ASSERT_NO_FATAL_FAILURE(start_udpd(
      message_echo_service() +
      "[port.faults]\nseed = 23\n[port.faults.tx]\ncorrupt_rate = 0.3\n"
      "[port.faults.rx]\ncorrupt_rate = 0.3\nduplicate_rate = 0.1\nreorder_rate = 0.1\n"));
  CmdResult c = load("198.18.9.2", 700, 4, {"--in-flight", "8", "-s", "300", "-d", "2"});
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  EXPECT_NE(c.out.find("4 connections, 4 opened, 0 closed early"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(" lost 0 "), std::string::npos) << c.out;
  EXPECT_EQ(c.out.find(" echoed 0 "), std::string::npos) << c.out;
  std::string out = stop();
  for (const char* dir : {"rx", "tx"}) {
    const uint64_t corrupted = field(out, std::string("faults veth ") + dir + ":[^\\n]* corrupted");
    EXPECT_GT(corrupted, 0u) << out;
  }
  EXPECT_EQ(field(out, "closed_malformed"), 0u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

// A flood of spoofed connection requests from the host's side (a burst from
// one source, then 500 sources in 198.19/16 at 80 a second each, eight times
// what one may send) while our client connects from the host: it connects
// and is echoed, every spoofed request is refused under a named reason (or
// missed by the port, had the worker fallen behind), and the port sends no
// more bytes than it receives.
class UdpdVethFlood : public UdpdVeth {};

TEST_P(UdpdVethFlood, ARealClientConnectsThroughAFloodOfSpoofedRequests) {
  ASSERT_EQ(geteuid(), 0u) << "the flood spoofs its sources through a raw socket: run as root "
                              "(CI does)";
  std::ofstream(dir_.file("key.hex"))
      << "60a2ef56c8d3f1a0b17e4f5d9c2b83a47d1e0f6a5b4c3d2e1f0a9b8c7d6e5f40\n";
  ASSERT_NO_FATAL_FAILURE(
      start_udpd("[[udpd.service]]\nport = 40000\nhandler = \"netcode\"\n"
                 "protocol_id = 4660\nprivate_key_file = \"" +
                 dir_.file("key.hex") + "\"\n"));
  // The host learns bypass-udpd's MAC first: a burst to an address it has
  // not resolved yet would lose all but what its ARP queue holds.
  CmdResult ping = on_host({tool("ping"), "-c", "1", "-W", "5", "198.18.9.2"});
  ASSERT_TRUE(ping.ok()) << ping.out << ping.err;
  std::atomic<bool> stop_flood{false};
  uint64_t flooded = 0;
  Flood f{{198, 18, 9, 2}, 40000, 4660, {198, 19}};
  f.netns = host_ns_;
  std::thread flood([&] { flooded = flood_requests(f, stop_flood); });
  // The flood is on (its burst and as many more from many sources) before the client starts.
  if (!wait_for_flood(f, 200)) {  // the thread is joined before the test ends
    stop_flood = true;
    flood.join();
    FAIL() << "the flood did not get going: can this user open raw sockets?";
  }
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult t = run_cmd({client, "token", "198.18.9.2", "40000", "--key", dir_.file("key.hex"),
                         "--protocol-id", "4660", "--token", dir_.file("t")});
  CmdResult c = on_host({client, "netcode", "198.18.9.2", "40000", "--token", dir_.file("t"), "-n",
                         "20", "-s", "300", "--timeout-ms", "10000"});
  stop_flood = true;
  flood.join();
  // What was still on its way is taken in (and counted) before the server stops.
  EXPECT_TRUE(wait_for_quiet(dir_.file("stats.jsonl"), "ibytes")) << "bytes in never settled";
  ASSERT_TRUE(t.ok()) << t.out << t.err;
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  EXPECT_NE(c.out.find("payloads sent 20 echoed 20"), std::string::npos) << c.out;
  EXPECT_GE(flooded, 100u);
  std::string out = stop();
  const uint64_t in = last_stat(dir_.file("stats.jsonl"), "ibytes");
  const uint64_t sent_out = last_stat(dir_.file("stats.jsonl"), "obytes");
  const uint64_t missed = last_stat(dir_.file("stats.jsonl"), "imissed");
  ASSERT_NE(in, UINT64_MAX) << "no ibytes in the last stats line";
  ASSERT_NE(sent_out, UINT64_MAX) << "no obytes in the last stats line";
  ASSERT_NE(missed, UINT64_MAX) << "no imissed in the last stats line";
  EXPECT_LE(sent_out, in) << "bytes out never exceed bytes in";
  const uint64_t limited = field(out, "drop.request_rate_limited");
  const uint64_t failed = field(out, "drop.token_decrypt_failed");
  // The burst of 100 from one source: at most its burst of 20, and the 10 a
  // second of however long sending took, got past the limit.
  EXPECT_GE(limited, 50u) << out;
  EXPECT_GT(failed, 0u) << out;
  EXPECT_GE(limited + failed + missed, flooded) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
  std::printf(
      "flood: %llu spoofed requests, %llu rate limited, %llu token decrypts failed, %llu missed; "
      "bytes in %llu, out %llu\n",
      static_cast<unsigned long long>(flooded), static_cast<unsigned long long>(limited),
      static_cast<unsigned long long>(failed), static_cast<unsigned long long>(missed),
      static_cast<unsigned long long>(in), static_cast<unsigned long long>(sent_out));
}

// One netcode service on two workers, each polling one of the port's two
// queues (net_af_packet fans out by flow hash, so each client's packets reach
// one worker): clients land on both, and every one connects and is echoed.
// net_af_packet only: AF_XDP sees one queue on a veth (the kernel reports no
// channels), and two workers need a TX queue each.
class UdpdVethTwoWorkers : public UdpdVeth {};

TEST_P(UdpdVethTwoWorkers, NetcodeClientsSpreadOverTwoWorkersAndAllConnect) {
  const CpuPlan cpus = plan_cpus();
  ASSERT_NO_FATAL_FAILURE(start_udpd("[[worker]]\ncpu = " + std::to_string(cpus.other) +
                                         "\nrx = [\"veth:1\"]\n" + message_echo_service() +
                                         "max_clients = 64\n[control]\njournal = \"" +
                                         dir_.file("j.jsonl") + "\"\n",
                                     "rx = [\"veth:0\"]\n"));
  CmdResult c = load("198.18.9.2", 500, 16, {"--in-flight", "4", "-s", "200", "-d", "2"});
  EXPECT_TRUE(c.ok()) << c.out << c.err;
  EXPECT_NE(c.out.find("16 connections, 16 opened, 0 closed early"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find(" lost 0 "), std::string::npos) << c.out;
  std::string out = stop();
  EXPECT_EQ(field(out, "netcode: connected \\d+ connects"), 16u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
  // Which worker opened each connection: both did, 16 in all, each client id once.
  const char* check = R"(
import json, sys
opened = [e for e in map(json.loads, open(sys.argv[1])) if e["event"] == "connection_opened"]
workers = {e["worker"] for e in opened}
ids = sorted(e["client_id"] for e in opened)
assert len(opened) == 16 and ids == list(range(500, 516)), ids
assert len(workers) == 2, workers
print("ok", sorted(workers))
)";
  CmdResult py = run_cmd({"python3", "-c", check, dir_.file("j.jsonl")});
  EXPECT_EQ(py.out.substr(0, 2), "ok") << py.out << py.err;
}

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethNetcode, drivers_and_host_offload(),
                         driver_and_offload_name);

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethMessages, both_drivers(), driver_name);

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethFlood, both_drivers(), driver_name);

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethTwoWorkers, af_packet_only(), driver_name);

}  // namespace
}  // namespace bypass::it
