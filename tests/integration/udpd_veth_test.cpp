// bypass-udpd as seen by an ordinary Linux host: a veth pair between a
// namespace with the kernel's IP stack (198.18.9.1, 2001:db8:9::1) and one
// where bypass-udpd drives the other end through net_af_packet or net_af_xdp. The host's
// own tools must work unchanged: ARP and NDP resolve, ping and ping -6 are
// answered, UDP echoes on both families, a file comes back byte for byte, a
// closed port answers with ICMP port unreachable. Then SIGTERM: clean exit,
// exact counters, no mbuf left.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

// The parameters: the DPDK driver on bypass-udpd's end of the pair, and
// whether the host keeps its default transmit checksum offload (on: its UDP
// checksums arrive unfinished, holding only the pseudo-header sum) or has it
// switched off (full checksums on the wire).
class UdpdVeth : public ::testing::TestWithParam<std::tuple<const char*, bool>> {
 protected:
  void SetUp() override {
    std::string base = "bpu" + std::to_string(getpid());
    host_ns_ = base + "h";
    udpd_ns_ = base + "s";
    host_if_ = base + "a";
    udpd_if_ = base + "b";
    for (const auto& ns : {host_ns_, udpd_ns_}) {
      run_cmd({tool("ip"), "netns", "del", ns});
      ASSERT_TRUE(run_cmd({tool("ip"), "netns", "add", ns}).ok());
      made_.push_back(ns);
    }
    // A test with two workers gives bypass-udpd's end two queue pairs (a
    // TX queue per worker); the host's end keeps the default.
    const std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    two_queues_ = test_name.find("Handoff") != std::string::npos ||
                  test_name.find("TwoWorkers") != std::string::npos;
    std::vector<std::string> add = {tool("ip"), "link",   "add",   "name",  host_if_,
                                    "netns",    host_ns_, "type",  "veth",  "peer",
                                    "name",     udpd_if_, "netns", udpd_ns_};
    if (two_queues_) add.insert(add.end(), {"numtxqueues", "2", "numrxqueues", "2"});
    const std::vector<std::vector<std::string>> steps = {
        add,
        {tool("ip"), "netns", "exec", udpd_ns_, tool("sysctl"), "-qw",
         "net.ipv6.conf.all.disable_ipv6=1"},
        {tool("ip"), "-n", host_ns_, "link", "set", "lo", "up"},
        {tool("ip"), "-n", host_ns_, "link", "set", host_if_, "up"},
        {tool("ip"), "-n", udpd_ns_, "link", "set", udpd_if_, "up"},
        {tool("ip"), "-n", host_ns_, "addr", "add", "198.18.9.1/24", "dev", host_if_},
        {tool("ip"), "-n", host_ns_, "-6", "addr", "add", "2001:db8:9::1/64", "dev", host_if_,
         "nodad"},
    };
    for (const auto& s : steps) {
      CmdResult r = run_cmd(s);
      ASSERT_TRUE(r.ok()) << r.describe(s[0] + " " + s[1] + " " + s[2]);
    }
    if (!host_offload()) {
      const std::vector<std::string> off = {tool("ip"), "netns",  "exec", host_ns_, tool("ethtool"),
                                            "-K",       host_if_, "tx",   "off"};
      CmdResult r = run_cmd(off);
      ASSERT_TRUE(r.ok()) << r.describe("ethtool -K tx off");
    }
  }

  // Starts bypass-udpd on its end of the pair; `extra` is appended to its
  // config, `worker_keys` to its first [[worker]].
  void start_udpd(const std::string& extra = {}, const std::string& worker_keys = {},
                  bool huge_pages = !no_huge()) {
    prefix_ = fwd_file_prefix();
    CpuPlan cpus = plan_cpus();
    std::ofstream content(dir_.file("content.bin"), std::ios::binary);
    for (int i = 0; i < 5000; ++i) content.put(static_cast<char>(i * 7 + 3));
    content.close();
    std::ostringstream cfg;
    cfg << "[eal]\ncontrol_cpu = " << cpus.control
        << "\nhuge_pages = " << (huge_pages ? "true" : "false")
        << "\nmemory_mb = 128\nfile_prefix = \"" << prefix_ << "\"\n"
        << "[memory]\npool_size = 8191\n"
        << "[[port]]\nname = \"veth\"\ndevice = \"" << driver() << "0,iface=" << udpd_if_
        << (two_queues_ ? std::string(",qpairs=2") : std::string()) << "\"\n"
        << (two_queues_ ? "rx_queues = 2\n" : "")
        << "addresses = [\"198.18.9.2/24\", \"2001:db8:9::2/64\"]\n"
        << "[[worker]]\ncpu = " << cpus.worker << "\n"
        << worker_keys << "[udpd]\nicmp_errors_per_sec = 1000\n"
        << "[[udpd.service]]\nport = 7\nhandler = \"echo\"\n"
        << "[[udpd.service]]\nport = 9\nhandler = \"discard\"\n"
        << "[[udpd.service]]\nport = 8000\nhandler = \"static\"\nfile = \""
        << dir_.file("content.bin") << "\"\nchunk = 700\nmax_chunks = 4\n"
        << extra;
    std::ofstream(dir_.file("udpd.toml")) << cfg.str();
    std::string err;
    udpd_ = Child::spawn(
        {tool("ip"), "netns", "exec", udpd_ns_, env_path("BYPASS_UDPD"), "-c",
         dir_.file("udpd.toml"), "-q", "-t", "120", "--stats-json", dir_.file("stats.jsonl")},
        dir_.path(), &err);
    ASSERT_TRUE(udpd_) << err;
    ASSERT_TRUE(udpd_->wait_for_output("serving UDP", 20000ms)) << udpd_->out() << udpd_->err();
  }

  void TearDown() override {
    if (udpd_ && udpd_->running()) {
      udpd_->kill(SIGKILL);
      udpd_->wait_for(5000ms);
    }
    udpd_.reset();
    remove_dpdk_leftovers(prefix_);
    for (const auto& ns : made_) run_cmd({tool("ip"), "netns", "del", ns});
  }

  bool two_queues_ = false;
  static const char* driver() { return std::get<0>(GetParam()); }
  static bool host_offload() { return std::get<1>(GetParam()); }

  CmdResult on_host(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {tool("ip"), "netns", "exec", host_ns_});
    return run_cmd(argv, 30000ms);
  }

  // Stops bypass-udpd and returns its stdout.
  std::string stop() {
    EXPECT_TRUE(udpd_->kill(SIGTERM));
    auto st = udpd_->wait_for(15000ms);
    EXPECT_TRUE(st.has_value()) << "bypass-udpd did not stop within 15 s of SIGTERM";
    if (st) {
      EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << udpd_->err();
    }
    return udpd_->out();
  }

  // Writes the test's netcode key and returns a [[udpd.service]] on port
  // 40000 with protocol id 4660 running bypass's message echo.
  std::string message_echo_service() {
    std::ofstream(dir_.file("key.hex"))
        << "60a2ef56c8d3f1a0b17e4f5d9c2b83a47d1e0f6a5b4c3d2e1f0a9b8c7d6e5f40\n";
    return "[[udpd.service]]\nport = 40000\nhandler = \"netcode\"\nprotocol_id = 4660\n"
           "private_key_file = \"" +
           dir_.file("key.hex") + "\"\napplication = \"echo\"\n";
  }
  // bypass-client load from the host against that service: `clients`
  // connections from client id `first_id`, then `more` flags.
  CmdResult load(const std::string& server, int first_id, int clients,
                 std::vector<std::string> more) {
    std::vector<std::string> argv = {env_path("BYPASS_CLIENT"),
                                     "load",
                                     server,
                                     "40000",
                                     "--key",
                                     dir_.file("key.hex"),
                                     "--protocol-id",
                                     "4660",
                                     "--client-id",
                                     std::to_string(first_id),
                                     "--clients",
                                     std::to_string(clients)};
    argv.insert(argv.end(), more.begin(), more.end());
    return on_host(argv);
  }

  static uint64_t field(const std::string& out, const std::string& name) {
    std::smatch m;
    std::regex re(name + " (\\d+)");
    return std::regex_search(out, m, re) ? std::stoull(m[1]) : UINT64_MAX;
  }

  TempDir dir_;
  std::string host_ns_, udpd_ns_, host_if_, udpd_if_, prefix_;
  std::vector<std::string> made_;
  std::unique_ptr<Child> udpd_;
};

TEST_P(UdpdVeth, KernelHostPingsAndTalksUdpOnBothFamilies) {
  ASSERT_NO_FATAL_FAILURE(start_udpd());
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult p4 = on_host({"ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.9.2"});
  EXPECT_TRUE(p4.ok()) << p4.describe("ping") << p4.out;
  CmdResult p6 = on_host({"ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:db8:9::2"});
  EXPECT_TRUE(p6.ok()) << p6.describe("ping -6") << p6.out;
  CmdResult neigh = on_host({tool("ip"), "neigh", "show", "dev", host_if_});
  EXPECT_NE(neigh.out.find("198.18.9.2 lladdr"), std::string::npos) << neigh.out;
  EXPECT_NE(neigh.out.find("2001:db8:9::2 lladdr"), std::string::npos) << neigh.out;

  // Its one worker thread runs under the seccomp filter (mode 2), the others
  // (main, EAL's control threads) do not.
  int filtered = 0, open_threads = 0;
  const std::string tasks = "/proc/" + std::to_string(udpd_->pid()) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream st(task.path() / "status");
    std::string line;
    while (std::getline(st, line))
      if (line.rfind("Seccomp:", 0) == 0)
        (line.find('2') != std::string::npos ? filtered : open_threads)++;
  }
  EXPECT_EQ(filtered, 1) << "one worker, one filtered thread";
  EXPECT_GE(open_threads, 1);

  CmdResult e4 = on_host({client, "echo", "198.18.9.2", "7", "-n", "500", "-s", "64", "-w", "8"});
  EXPECT_TRUE(e4.ok()) << e4.out << e4.err;
  CmdResult e6 =
      on_host({client, "echo", "2001:db8:9::2", "7", "-n", "500", "-s", "1400", "-w", "8"});
  EXPECT_TRUE(e6.ok()) << e6.out << e6.err;
  CmdResult f = on_host({client, "fetch", "198.18.9.2", "8000", "-o", dir_.file("fetched.bin")});
  EXPECT_TRUE(f.ok()) << f.out << f.err;
  CmdResult same = run_cmd({"cmp", dir_.file("content.bin"), dir_.file("fetched.bin")});
  EXPECT_TRUE(same.ok()) << "the fetched file differs from the served one";
  CmdResult f6 =
      on_host({client, "fetch", "2001:db8:9::2", "8000", "-o", dir_.file("fetched6.bin")});
  EXPECT_TRUE(f6.ok()) << f6.out << f6.err;
  EXPECT_TRUE(run_cmd({"cmp", dir_.file("content.bin"), dir_.file("fetched6.bin")}).ok());
  CmdResult d = on_host({client, "send", "198.18.9.2", "9", "-n", "40"});
  EXPECT_TRUE(d.ok()) << d.out;
  CmdResult closed =
      on_host({client, "echo", "198.18.9.2", "4444", "-n", "1", "--timeout-ms", "500"});
  EXPECT_EQ(closed.status.code, 1) << "nothing answers on a closed port";

  std::string out = stop();
  EXPECT_EQ(field(out, "ping4"), 3u) << out;
  EXPECT_EQ(field(out, "ping6"), 3u) << out;
  EXPECT_GE(field(out, "arp replies"), 1u) << out;
  EXPECT_GE(field(out, "neighbour adverts"), 1u) << out;
  EXPECT_EQ(field(out, "icmp errors"), 1u) << "one port unreachable for the closed port\n" << out;
  EXPECT_EQ(field(out, "datagrams \\d+ replies"), 1000u) << out;
  // 5000 bytes in chunks of 700: 8 chunks, fetched twice (v4 and v6).
  EXPECT_EQ(field(out, "further datagrams"), 16u) << out;
  EXPECT_EQ(field(out, "drop udp_port_closed:"), 1u) << out;
  EXPECT_EQ(field(out, "drop udp_checksum:"), UINT64_MAX) << "no UDP refused for its checksum\n"
                                                          << out;
  // The final JSON snapshot says what the report says, with the graph's modules.
  CmdResult js = run_cmd(
      {"python3", "-c",
       "import json,sys\nl=[json.loads(x) for x in open(sys.argv[1])][-1]\nassert l['final']\n"
       "m=[x['name'] for x in l['modules']]\n"
       "assert m[:3]==['tx','ip','udp_dispatch'] and 'service.7' in m, m\n"
       "print(l['counters']['udp.replies'], l['counters']['host.ping4'])",
       dir_.file("stats.jsonl")});
  EXPECT_EQ(js.out, "1000 3\n") << js.out << js.err;
  // With the host's default offload every datagram it sent arrived unfinished
  // (1000 echoes, 2 fetch requests, 40 discards, 1 to the closed port);
  // without it none did.
  const uint64_t partial = field(out, "checksums left to offload");
  if (host_offload()) {
    EXPECT_GE(partial, 1000u) << out;
  } else {
    EXPECT_EQ(partial, 0u) << out;
  }
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

TEST_P(UdpdVeth, MalformedTrafficFromTheHostIsCountedAndHarmless) {
  ASSERT_NO_FATAL_FAILURE(start_udpd());
  // A raw socket on the host sends broken frames; bypass-udpd must count them
  // and keep answering.
  const std::string client = env_path("BYPASS_CLIENT");
  ASSERT_TRUE(on_host({"ping", "-c", "1", "-W", "2", "198.18.9.2"}).ok());
  // UDP to an address that is not the server's on the same link: not_for_us.
  CmdResult other = on_host({tool("ip"), "neigh", "replace", "198.18.9.77", "lladdr",
                             "ff:ff:ff:ff:ff:ff", "dev", host_if_, "nud", "permanent"});
  ASSERT_TRUE(other.ok()) << other.err;
  EXPECT_TRUE(on_host({client, "send", "198.18.9.77", "7", "-n", "25"}).ok());
  CmdResult e = on_host({client, "echo", "198.18.9.2", "7", "-n", "100", "-w", "4"});
  EXPECT_TRUE(e.ok()) << "still answering after bad traffic: " << e.out;
  std::string out = stop();
  EXPECT_EQ(field(out, "drop not_for_us:"), 25u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

// A module put in front of the UDP dispatch by config alone: the host's IPv6
// address is blocklisted, so its datagrams over IPv6 are dropped as
// `filtered` by that module while IPv4 is still echoed and ping -6 (which
// never reaches the dispatch) is still answered.
TEST_P(UdpdVeth, BlocklistInsertedByConfigInFrontOfTheDispatch) {
  ASSERT_NO_FATAL_FAILURE(
      start_udpd("[[module]]\nname = \"blocklist\"\nclass = \"SourceBlocklist\"\n"
                 "before = \"udp_dispatch\"\nsources = [\"2001:db8:9::1\", \"203.0.113.0/24\"]\n"));
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult e4 = on_host({client, "echo", "198.18.9.2", "7", "-n", "50", "-w", "4"});
  EXPECT_TRUE(e4.ok()) << e4.out << e4.err;
  CmdResult p6 = on_host({"ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "2001:db8:9::2"});
  EXPECT_TRUE(p6.ok()) << p6.describe("ping -6") << p6.out;
  CmdResult s6 = on_host({client, "send", "2001:db8:9::2", "7", "-n", "20"});
  EXPECT_TRUE(s6.ok()) << s6.out << s6.err;
  CmdResult e6 =
      on_host({client, "echo", "2001:db8:9::2", "7", "-n", "1", "-w", "1", "--timeout-ms", "300"});
  EXPECT_FALSE(e6.ok()) << "an IPv6 datagram from a blocklisted source was answered: " << e6.out;
  std::string out = stop();
  EXPECT_EQ(field(out, "datagrams \\d+ replies"), 50u) << out;
  EXPECT_EQ(field(out, "drop filtered:"), 21u) << out;
  EXPECT_EQ(field(out, "module blocklist: in"), 71u) << out;
  EXPECT_EQ(field(out, "module blocklist: in \\d+ dropped"), 21u) << out;
  EXPECT_NE(out.find("(filtered 21)"), std::string::npos) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

// A pipeline by config alone: worker 1 polls the port (both of its queues:
// the drivers spread what arrives) and runs the Endpoint,
// worker 2 polls nothing and runs the UDP dispatch and the services, handed
// the datagrams through a ring (the parse travels with each packet); the
// host sees no difference.
// netcode.io 1.02 through the DPDK backend: a token minted as a web backend
// would, then our client on the host connects over the kernel's UDP, both
// families, sends payloads that the echo application returns, and leaves.
TEST_P(UdpdVeth, NetcodeClientConnectsAndIsEchoed) {
  std::ofstream(dir_.file("key.hex"))
      << "60a2ef56c8d3f1a0b17e4f5d9c2b83a47d1e0f6a5b4c3d2e1f0a9b8c7d6e5f40\n";
  ASSERT_NO_FATAL_FAILURE(start_udpd(
      "[[udpd.service]]\nport = 40000\nhandler = \"netcode\"\n"
      "protocol_id = \"0x1122334455667788\"\nprivate_key_file = \"" +
      dir_.file("key.hex") + "\"\n[control]\njournal = \"" + dir_.file("j.jsonl") + "\"\n"));
  const std::string client = env_path("BYPASS_CLIENT");
  for (const char* server : {"198.18.9.2", "2001:db8:9::2"}) {
    const std::string token = dir_.file(std::string("token-") + server);
    CmdResult t =
        run_cmd({client, "token", server, "40000", "--key", dir_.file("key.hex"), "--protocol-id",
                 "0x1122334455667788", "--client-id", "77", "--token", token});
    ASSERT_TRUE(t.ok()) << t.out << t.err;
    CmdResult c = on_host({client, "netcode", server, "40000", "--token", token, "-n", "20", "-s",
                           "300", "--timeout-ms", "10000"});
    EXPECT_TRUE(c.ok()) << c.out << c.err;
    EXPECT_NE(c.out.find("payloads sent 20 echoed 20"), std::string::npos) << c.out;
  }
  std::string out = stop();
  // The journal has each connection opened and closed by the client, and
  // nothing of its token or key.
  const std::string j = read_file(dir_.file("j.jsonl"));
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
  EXPECT_EQ(j.find("60a2ef56"), std::string::npos);
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
    EXPECT_NE(corrupted, UINT64_MAX) << out;
  }
  EXPECT_EQ(field(out, "closed_malformed"), 0u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

// Links that fail. The host's end set down and up: what was sent meanwhile
// is lost, and the port serves again with no restart. The pair deleted and made again under the
// same names: the driver's socket is bound to an interface that is gone and DPDK 22.11 cannot open
// the port anew in a running process, so bypass-udpd says so in one sentence and exits 1, cleanly
// (final report, no mbuf left).
class UdpdVethLink : public UdpdVeth {};

TEST_P(UdpdVethLink, ServesAgainAfterLinkDownUpAndStopsCleanlyWhenTheVethIsRemade) {
  ASSERT_NO_FATAL_FAILURE(start_udpd());
  const std::string client = env_path("BYPASS_CLIENT");
  auto echo = [&] {
    return on_host(
        {client, "echo", "198.18.9.2", "7", "-n", "20", "-s", "64", "--timeout-ms", "2000"});
  };
  CmdResult before = echo();
  ASSERT_TRUE(before.ok()) << before.out << before.err;
  for (const auto& [ns, ifname] : {std::pair{host_ns_, host_if_}}) {
    ASSERT_TRUE(run_cmd({tool("ip"), "-n", ns, "link", "set", ifname, "down"}).ok());
    CmdResult down = on_host({client, "echo", "198.18.9.2", "7", "-n", "3", "--timeout-ms", "200"});
    EXPECT_FALSE(down.ok()) << "answered with " << ifname << " down\n" << down.out;
    ASSERT_TRUE(run_cmd({tool("ip"), "-n", ns, "link", "set", ifname, "up"}).ok());
    CmdResult again = echo();
    EXPECT_TRUE(again.ok()) << "after " << ifname << " came back up\n" << again.out << again.err;
    EXPECT_NE(again.out.find("answered 20"), std::string::npos) << again.out;
  }
  // Deleted and made again, same names.
  ASSERT_TRUE(run_cmd({tool("ip"), "-n", host_ns_, "link", "del", host_if_}).ok());
  ASSERT_TRUE(run_cmd({tool("ip"), "link", "add", "name", host_if_, "netns", host_ns_, "type",
                       "veth", "peer", "name", udpd_if_, "netns", udpd_ns_})
                  .ok());
  auto st = udpd_->wait_for(15000ms);
  ASSERT_TRUE(st.has_value()) << "bypass-udpd did not notice its interface was remade";
  EXPECT_TRUE(st->exited && st->code == 1) << st->describe() << "\n" << udpd_->err();
  const std::string err = udpd_->out() + udpd_->err();
  EXPECT_NE(err.find("port 'veth': interface " + udpd_if_ + " was deleted"), std::string::npos)
      << err;
  EXPECT_NE(err.find("start the program again to serve on it."), std::string::npos) << err;
  EXPECT_NE(udpd_->out().find("mbufs in use at exit: 0"), std::string::npos) << udpd_->out();
}

// net_af_packet only: AF_XDP sees one queue on a veth (the kernel reports no
// channels), and two workers need a TX queue each.
class UdpdVethCapture : public UdpdVeth {};

// DPDK's dpdk-dumpcap attaches to the running bypass-udpd (a secondary
// process: it needs the huge pages the primary shares, so this test uses
// them in every mode), captures what the host sends to the echo port and
// what comes back, and tshark reads the file.
TEST_P(UdpdVethCapture, DpdkDumpcapCapturesWhatTheHostSees) {
  setenv("BYPASS_RUN_DIR", dir_.file("run").c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(start_udpd("[control]\nname = \"cap\"\n", "", /*huge_pages=*/true));
  std::string err;
  auto cap = Child::spawn({"dpdk-dumpcap", "--file-prefix=" + prefix_, "-i", "0", "-f",
                           "udp port 7", "-c", "20", "-w", dir_.file("cap.pcapng")},
                          dir_.path(), &err);
  ASSERT_TRUE(cap) << err;
  for (int i = 0;
       i < 300 && cap->running() && cap->err().find("Packets captured:") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  // It says so on stderr once the primary has enabled the capture.
  ASSERT_NE(cap->err().find("Packets captured:"), std::string::npos) << cap->out() << cap->err();
  CmdResult e = on_host(
      {env_path("BYPASS_CLIENT"), "echo", "198.18.9.2", "7", "-n", "10", "-s", "333", "-w", "1"});
  EXPECT_TRUE(e.ok()) << e.out << e.err;
  // Something else on the wire (ping) is left out by the filter.
  on_host({"ping", "-c", "2", "-i", "0.2", "-W", "1", "198.18.9.2"});
  auto st = cap->wait_for(60000ms);
  ASSERT_TRUE(st.has_value()) << "dpdk-dumpcap did not stop after 20 packets\n" << cap->err();
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << cap->err();
  CmdResult t = run_cmd({"tshark", "-r", dir_.file("cap.pcapng"), "-T", "fields", "-e", "ip.src",
                         "-e", "udp.dstport", "-e", "udp.length"},
                        60000ms);
  ASSERT_TRUE(t.ok()) << t.describe("tshark") << t.err;
  int to_server = 0, to_host = 0, other = 0;
  std::istringstream lines(t.out);
  for (std::string l; std::getline(lines, l);) {
    if (l == "198.18.9.1\t7\t341")
      ++to_server;
    else if (l.rfind("198.18.9.2\t", 0) == 0 && l.size() > 4 && l.substr(l.size() - 4) == "\t341")
      ++to_host;
    else
      ++other;
  }
  EXPECT_EQ(to_server, 10) << t.out;
  EXPECT_EQ(to_host, 10) << t.out;
  EXPECT_EQ(other, 0) << t.out;

  // bypassctl capture: our own point, in front of udp_dispatch (behind the
  // Endpoint's parse), put into the running graph and taken out again when
  // the budget is reached. The echoes go on meanwhile.
  auto ctl = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {env_path("BYPASS_CTL"), "-n", "cap", "capture"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, 30000ms);
  };
  CmdResult bad =
      ctl({"udp_dispatch", "--filter", "udp", "port", "seven", "--output", dir_.file("x.pcapng")});
  EXPECT_EQ(bad.err,
            "bypassctl: the filter 'udp port seven' is not a capture filter libpcap understands: "
            "write it as for tcpdump, like 'udp port 7'.\n");
  CmdResult nowhere = ctl({"nowhere", "--output", dir_.file("x.pcapng")});
  EXPECT_NE(nowhere.err.find("no module is at the point 'nowhere'"), std::string::npos)
      << nowhere.err;
  CmdResult start = ctl({"udp_dispatch", "--filter", "udp", "port", "7", "--count", "10",
                         "--output", dir_.file("ours.pcapng")});
  ASSERT_TRUE(start.ok()) << start.err;
  CmdResult e2 = on_host(
      {env_path("BYPASS_CLIENT"), "echo", "198.18.9.2", "7", "-n", "10", "-s", "333", "-w", "1"});
  EXPECT_TRUE(e2.ok()) << e2.out << e2.err;
  on_host({env_path("BYPASS_CLIENT"), "send", "198.18.9.2", "9", "-n", "5"});  // filtered out
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    ended = ctl({}).out.find("ended: the packet budget was reached") != std::string::npos;
    if (!ended) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(ended) << ctl({}).out;
  CmdResult ours =
      run_cmd({"tshark", "-r", dir_.file("ours.pcapng"), "-T", "fields", "-e", "ip.src", "-e",
               "udp.dstport", "-e", "udp.length", "-e", "frame.comment"},
              60000ms);
  ASSERT_TRUE(ours.ok()) << ours.describe("tshark") << ours.err;
  std::istringstream got(ours.out);
  int requests = 0;
  for (std::string l; std::getline(got, l);) {
    EXPECT_EQ(l, "198.18.9.1\t7\t341\tworker 1") << ours.out;
    ++requests;
  }
  EXPECT_EQ(requests, 10) << ours.out;
  EXPECT_NE(read_file(dir_.file("ours.pcapng")).find("bypass-udpd capture at udp_dispatch"),
            std::string::npos);
  CmdResult graph = run_cmd({env_path("BYPASS_CTL"), "-n", "cap", "graph"});
  EXPECT_EQ(graph.out.find("capture@"), std::string::npos) << "the tap is gone\n" << graph.out;
  CmdResult after = on_host({env_path("BYPASS_CLIENT"), "echo", "198.18.9.2", "7", "-n", "20"});
  EXPECT_TRUE(after.ok()) << after.out;
  unsetenv("BYPASS_RUN_DIR");
  std::string out = stop();
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

class UdpdVethJournal : public UdpdVeth {};

// The journal of state changes, read with bypassctl and from its file: the
// host's address learned from its ARP, then changed with its MAC, and the
// link seen going down and up again.
TEST_P(UdpdVethJournal, RecordsNeighboursAndLinkChanges) {
  setenv("BYPASS_RUN_DIR", dir_.file("run").c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(start_udpd("[control]\nname = \"journal\"\njournal = \"" +
                                     dir_.file("journal.jsonl") + "\"\n"));
  auto journal = [&](const std::string& since = "10m") {
    return run_cmd({env_path("BYPASS_CTL"), "-n", "journal", "journal", "--since", since});
  };
  // Waits (bounded) until the journal holds `needle`.
  auto wait_for = [&](const std::string& needle) {
    for (int i = 0; i < 100; ++i) {
      CmdResult j = journal();
      if (j.out.find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  };
  CmdResult p = on_host({"ping", "-c", "1", "-W", "2", "198.18.9.2"});
  EXPECT_TRUE(p.ok()) << p.out;
  CmdResult link = on_host({tool("ip"), "-br", "link", "show", host_if_});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(link.out, m, std::regex("([0-9a-f]{2}(:[0-9a-f]{2}){5})")))
      << link.out;
  const std::string mac = m[1];
  EXPECT_TRUE(wait_for(
      "\"event\":\"neighbour_learned\",\"port\":0,\"ip\":\"198.18.9.1\",\"mac\":\"" + mac + "\""))
      << journal().out;
  // A new MAC on the host: its next ARP says so.
  const std::string new_mac = "02:00:5e:10:00:99";
  ASSERT_TRUE(on_host({tool("ip"), "link", "set", host_if_, "address", new_mac}).ok());
  on_host({tool("ip"), "neigh", "flush", "dev", host_if_});
  CmdResult p2 = on_host({"ping", "-c", "1", "-W", "2", "198.18.9.2"});
  EXPECT_TRUE(p2.ok()) << p2.out;
  EXPECT_TRUE(
      wait_for("\"event\":\"neighbour_changed\",\"port\":0,\"ip\":\"198.18.9.1\",\"mac\":\"" +
               new_mac + "\",\"old_mac\":\"" + mac + "\""))
      << journal().out;
  // The host's end down: bypass-udpd's end loses its carrier, then has it
  // again. (Its link may also have come up just after the start: count.)
  auto count = [&](const std::string& needle) {
    const std::string j = journal().out;
    int n = 0;
    for (size_t at = j.find(needle); at != std::string::npos; at = j.find(needle, at + 1)) ++n;
    return n;
  };
  auto wait_more = [&](const std::string& needle, int than) {
    for (int i = 0; i < 100; ++i) {
      if (count(needle) > than) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  };
  const std::string down = "\"event\":\"link_down\",\"port\":0",
                    up = "\"event\":\"link_up\",\"port\":0";
  ASSERT_TRUE(wait_more(up, 0)) << journal().out;
  const int downs = count(down), ups = count(up);
  ASSERT_TRUE(on_host({tool("ip"), "link", "set", host_if_, "down"}).ok());
  EXPECT_TRUE(wait_more(down, downs)) << journal().out;
  ASSERT_TRUE(on_host({tool("ip"), "link", "set", host_if_, "up"}).ok());
  EXPECT_TRUE(wait_more(up, ups)) << journal().out;
  CmdResult js = run_cmd({env_path("BYPASS_CTL"), "-n", "journal", "journal", "--json"});
  CmdResult check = run_cmd(
      {"python3", "-c",
       "import json,sys\nj=json.loads(sys.argv[1])\nf=[json.loads(l) for l in open(sys.argv[2])]\n"
       "assert [e['event'] for e in j]==[e['event'] for e in f], (j, f)\n"
       "assert f[0]['event']=='config_applied' and f[0]['worker']=='control', f[0]\n"
       "n=[e for e in f if e['event'].startswith('neighbour')]\n"
       "assert all(e['worker']==1 for e in n), n\n"
       "print(len([e for e in f if e['event']=='neighbour_learned']))",
       js.out, dir_.file("journal.jsonl")});
  EXPECT_EQ(check.out, "1\n") << check.out << check.err;
  CmdResult bad = journal("yesterday");
  EXPECT_EQ(bad.err, "bypassctl: --since takes a time: 90s, 5m, 2h ago or a Unix time.\n");
  stop();
  unsetenv("BYPASS_RUN_DIR");
}

class UdpdVethReload : public UdpdVeth {};

// Live reload under traffic: while the host echoes on port 7 without a
// pause, a service is added (bypassctl reload FILE) and removed again
// (SIGHUP, from the file it started with), over and over; the echo client
// gets every reply. A change that needs a restart and a broken file change
// nothing and say why in one sentence.
TEST_P(UdpdVethReload, ServicesComeAndGoWhileAnotherKeepsEveryReply) {
  setenv("BYPASS_RUN_DIR", dir_.file("run").c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(start_udpd("[control]\nname = \"reload\"\n"));
  const std::string base = read_file(dir_.file("udpd.toml"));
  write_file(dir_.file("more.toml"), base + "[[udpd.service]]\nport = 7100\nhandler = \"echo\"\n");
  auto ctl = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {env_path("BYPASS_CTL"), "-n", "reload"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, 30000ms);
  };
  const std::string client = env_path("BYPASS_CLIENT");
  std::string err;
  auto steady = Child::spawn({tool("ip"), "netns", "exec", host_ns_, client, "echo", "198.18.9.2",
                              "7", "-n", "300000", "-w", "16", "-s", "200"},
                             dir_.path(), &err);
  ASSERT_TRUE(steady) << err;
  int cycles = 0;
  do {
    CmdResult add = ctl({"reload", dir_.file("more.toml")});
    ASSERT_TRUE(add.ok()) << add.out << add.err;
    EXPECT_EQ(add.out, "reloaded: services added on 7100\n");
    CmdResult e = on_host({client, "echo", "198.18.9.2", "7100", "-n", "20", "-w", "4"});
    EXPECT_TRUE(e.ok()) << e.out << e.err;
    // SIGHUP: the file it started with, which has no 7100.
    ASSERT_TRUE(udpd_->kill(SIGHUP));
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = on_host({client, "echo", "198.18.9.2", "7100", "-n", "1", "--timeout-ms", "200"})
                 .status.code == 1;
    }
    EXPECT_TRUE(gone) << "port 7100 still answers after SIGHUP";
    ++cycles;
  } while (steady->running() && cycles < 20);
  std::printf("reload cycles (add, SIGHUP remove) while the host echoed: %d\n", cycles);
  auto st = steady->wait_for(120000ms);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->exited && st->code == 0) << steady->out() << steady->err();
  EXPECT_NE(steady->out().find("answered 300000, wrong 0, lost 0"), std::string::npos)
      << steady->out();

  // What needs a restart, and a broken file: nothing changes.
  std::string other_port = base;
  other_port.replace(other_port.find("198.18.9.2/24"), 13, "198.18.9.3/24");
  write_file(dir_.file("port.toml"), other_port);
  CmdResult restart = ctl({"reload", dir_.file("port.toml")});
  EXPECT_EQ(restart.status.code, 1);
  EXPECT_EQ(restart.err,
            "bypassctl: the new config changes [[port]], which apply only at a restart: nothing "
            "changed.\n");
  write_file(dir_.file("broken.toml"), base + "[[udpd.service]\n");
  CmdResult broken = ctl({"reload", dir_.file("broken.toml")});
  EXPECT_EQ(broken.status.code, 1);
  EXPECT_NE(broken.err.find("fix the TOML syntax there. (nothing changed)"), std::string::npos)
      << broken.err;
  CmdResult e7 = on_host({client, "echo", "198.18.9.2", "7", "-n", "50", "-w", "4"});
  EXPECT_TRUE(e7.ok()) << e7.out;
  CmdResult j = ctl({"journal"});
  EXPECT_NE(j.out.find("\"what\":\"reloaded from " + dir_.file("more.toml") +
                       ": services added on 7100\""),
            std::string::npos)
      << j.out;
  EXPECT_NE(j.out.find("services removed from 7100"), std::string::npos) << j.out;
  std::string out = stop();
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
  unsetenv("BYPASS_RUN_DIR");
}

// A port's fault plan changes live: every reply dropped on the way out while
// the new plan says so, and none once the old one is back.
TEST_P(UdpdVethReload, FaultPlanChangesLive) {
  setenv("BYPASS_RUN_DIR", dir_.file("run").c_str(), 1);
  ASSERT_NO_FATAL_FAILURE(
      start_udpd("[control]\nname = \"faults\"\n[port.faults.tx]\ndrop_rate = 0.0\n"));
  const std::string base = read_file(dir_.file("udpd.toml"));
  std::string lossy = base;
  lossy.replace(lossy.find("drop_rate = 0.0"), 15, "drop_rate = 1.0");
  write_file(dir_.file("lossy.toml"), lossy);
  auto ctl = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {env_path("BYPASS_CTL"), "-n", "faults"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, 30000ms);
  };
  const std::string client = env_path("BYPASS_CLIENT");
  EXPECT_TRUE(on_host({client, "echo", "198.18.9.2", "7", "-n", "20", "-w", "4"}).ok());
  CmdResult to_lossy = ctl({"reload", dir_.file("lossy.toml")});
  ASSERT_TRUE(to_lossy.ok()) << to_lossy.err;
  EXPECT_EQ(to_lossy.out, "reloaded: the fault plan of port veth changed\n");
  CmdResult lost =
      on_host({client, "echo", "198.18.9.2", "7", "-n", "5", "-w", "5", "--timeout-ms", "300"});
  EXPECT_NE(lost.out.find("answered 0, wrong 0, lost 5"), std::string::npos) << lost.out;
  CmdResult back = ctl({"reload"});
  ASSERT_TRUE(back.ok()) << back.err;
  CmdResult fine = on_host({client, "echo", "198.18.9.2", "7", "-n", "20", "-w", "4"});
  EXPECT_TRUE(fine.ok()) << fine.out;
  std::string out = stop();
  EXPECT_GE(field(out, "faults veth tx: packets \\d+ dropped"), 5u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
  unsetenv("BYPASS_RUN_DIR");
}

class UdpdVethHandoff : public UdpdVeth {};

TEST_P(UdpdVethHandoff, HandoffRunsTheServicesOnASecondWorker) {
  const CpuPlan cpus = plan_cpus();
  ASSERT_NO_FATAL_FAILURE(start_udpd(
      "[[worker]]\ncpu = " + std::to_string(cpus.other) +
          "\nrx = []\nidle = \"sleep\"\n[[handoff]]\nbefore = \"udp_dispatch\"\nworker = 2\n",
      "rx = [\"veth:*\"]\n"));
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult e4 = on_host({client, "echo", "198.18.9.2", "7", "-n", "60", "-w", "4"});
  EXPECT_TRUE(e4.ok()) << e4.out << e4.err;
  CmdResult e6 = on_host({client, "echo", "2001:db8:9::2", "7", "-n", "40", "-w", "4"});
  EXPECT_TRUE(e6.ok()) << e6.out << e6.err;
  CmdResult p4 = on_host({"ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.9.2"});
  EXPECT_TRUE(p4.ok()) << p4.describe("ping") << p4.out;
  std::string out = stop();
  EXPECT_EQ(field(out, "datagrams \\d+ replies"), 100u) << out;
  EXPECT_EQ(field(out, "module handoff.udp_dispatch.to2: in"), 100u) << out;
  EXPECT_EQ(field(out, "module udp_dispatch: in"), 100u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
  // Where each module ran: the dispatch and services on worker 2 only, the
  // Endpoint and the ring's producer on worker 1 only.
  const char* check = R"(
import json, sys
last = [json.loads(l) for l in open(sys.argv[1])][-1]
where = {}
for m in last["modules"]:
    where.setdefault(m["name"], set()).add(m["worker"])
assert where["udp_dispatch"] == {1}, where
assert where["service.7"] == {1}, where
assert where["ip"] == {0}, where
assert where["handoff.udp_dispatch.to2"] == {0}, where
print("ok")
)";
  CmdResult py = run_cmd({"python3", "-c", check, dir_.file("stats.jsonl")});
  EXPECT_EQ(py.out, "ok\n") << py.out << py.err;
}

// One netcode service on two workers, each polling one of the port's two
// queues (net_af_packet fans out by flow hash, so each client's packets reach
// one worker): clients land on both, and every one connects and is echoed.
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

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVeth,
                         ::testing::Combine(::testing::Values("net_af_packet", "net_af_xdp"),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)).substr(4) +
                                  (std::get<1>(info.param) ? "_HostDefaults" : "_HostTxOffloadOff");
                         });

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethMessages,
                         ::testing::Combine(::testing::Values("net_af_packet", "net_af_xdp"),
                                            ::testing::Values(true)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)).substr(4);
                         });

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethLink,
                         ::testing::Combine(::testing::Values("net_af_packet", "net_af_xdp"),
                                            ::testing::Values(true)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)).substr(4);
                         });

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethCapture,
                         ::testing::Combine(::testing::Values("net_af_packet"),
                                            ::testing::Values(true)),
                         [](const auto&) { return std::string("af_packet"); });

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethJournal,
                         ::testing::Combine(::testing::Values("net_af_packet", "net_af_xdp"),
                                            ::testing::Values(true)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)).substr(4);
                         });

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethReload,
                         ::testing::Combine(::testing::Values("net_af_packet", "net_af_xdp"),
                                            ::testing::Values(true)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)).substr(4);
                         });

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethHandoff,
                         ::testing::Combine(::testing::Values("net_af_packet"), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<1>(info.param) ? "HostDefaults"
                                                                      : "HostTxOffloadOff");
                         });

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethTwoWorkers,
                         ::testing::Combine(::testing::Values("net_af_packet"),
                                            ::testing::Values(true)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)).substr(4);
                         });

}  // namespace
}  // namespace bypass::it
