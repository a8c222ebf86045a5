// bypass-udpd as seen by an ordinary Linux host: a veth pair between a
// namespace with the kernel's IP stack (198.18.9.1, 2001:db8:9::1) and one
// where bypass-udpd drives the other end through net_af_packet or net_af_xdp. The host's
// own tools must work unchanged: ARP and NDP resolve, ping and ping -6 are
// answered, UDP echoes on both families, a file comes back byte for byte, a
// closed port answers with ICMP port unreachable. Then SIGTERM: clean exit,
// exact counters, no mbuf left. Also a module put in front of the dispatch
// and a pipeline over two workers, by config alone. Connections:
// udpd_veth_conn_test.cpp; operations (links, capture, journal, reload):
// udpd_veth_ops_test.cpp.
#include "udpd_veth.hpp"

namespace bypass::it {
namespace {

TEST_P(UdpdVeth, KernelHostPingsAndTalksUdpOnBothFamilies) {
  ASSERT_NO_FATAL_FAILURE(start_udpd());
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult p4 = on_host({"ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.9.2"});
  EXPECT_TRUE(p4.ok()) << p4.describe("ping") << p4.out;
  CmdResult p6 = on_host({"ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "2001:db8:9::2"});
  EXPECT_TRUE(p6.ok()) << p6.describe("ping -6") << p6.out;
  // A second address, its duplicate address detection run while bypass-udpd serves.
  ASSERT_NO_FATAL_FAILURE(add_host_ipv6("2001:db8:9::3/64"));
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

  CmdResult e4 = on_host({client, "echo", "198.18.9.2", "7", "-n", "500", "-s", "64", "-w", "8",
                          "--timeout-ms", "5000"});
  EXPECT_TRUE(e4.ok()) << e4.out << e4.err;
  CmdResult e6 = on_host({client, "echo", "2001:db8:9::2", "7", "-n", "500", "-s", "1400", "-w",
                          "8", "--timeout-ms", "5000"});
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
  // A drop reason is printed only once it counts something.
  EXPECT_FALSE(has_field(out, "drop udp_checksum:")) << "no UDP refused for its checksum\n" << out;
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
  CmdResult e =
      on_host({client, "echo", "198.18.9.2", "7", "-n", "100", "-w", "4", "--timeout-ms", "5000"});
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
  CmdResult e4 =
      on_host({client, "echo", "198.18.9.2", "7", "-n", "50", "-w", "4", "--timeout-ms", "5000"});
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
class UdpdVethHandoff : public UdpdVeth {};

TEST_P(UdpdVethHandoff, HandoffRunsTheServicesOnASecondWorker) {
  const CpuPlan cpus = plan_cpus();
  ASSERT_NO_FATAL_FAILURE(start_udpd(
      "[[worker]]\ncpu = " + std::to_string(cpus.other) +
          "\nrx = []\nidle = \"sleep\"\n[[handoff]]\nbefore = \"udp_dispatch\"\nworker = 2\n",
      "rx = [\"veth:*\"]\n"));
  const std::string client = env_path("BYPASS_CLIENT");
  CmdResult e4 =
      on_host({client, "echo", "198.18.9.2", "7", "-n", "60", "-w", "4", "--timeout-ms", "5000"});
  EXPECT_TRUE(e4.ok()) << e4.out << e4.err;
  CmdResult e6 = on_host(
      {client, "echo", "2001:db8:9::2", "7", "-n", "40", "-w", "4", "--timeout-ms", "5000"});
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

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVeth, drivers_and_host_offload(), driver_and_offload_name);

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethHandoff,
                         ::testing::Combine(::testing::Values("net_af_packet"), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<1>(info.param) ? "HostDefaults"
                                                                      : "HostTxOffloadOff");
                         });

}  // namespace
}  // namespace bypass::it
