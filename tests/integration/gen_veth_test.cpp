// bypass-gen against a Linux host as it comes: a veth pair between two
// network namespaces made for this test. The host (198.18.8.2/24, IPv6 on)
// runs a UDP echo server on a kernel socket; bypass-gen drives the other end
// through net_af_packet and sends it a paced stream from 198.18.8.1. The
// host resolves 198.18.8.1 by ARP before it can answer: a port with that
// address answers, and every datagram comes back; a port without addresses
// answers none, nothing comes back, and bypass-gen says once what to set.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHostMac = "02:00:c6:12:08:02";

// The two namespaces, the pair and the host's echo server; all removed on
// destruction (deleting a namespace deletes its end of the pair).
class GenHost {
 public:
  GenHost() {
    const std::string base = "bpg" + std::to_string(getpid());
    host_ns = base + "h";
    gen_ns = base + "g";
    host_if = base + "a";
    gen_if = base + "b";
  }
  ~GenHost() {
    if (echo) echo->kill(SIGKILL);
    for (const auto& ns : {host_ns, gen_ns}) run_cmd({tool("ip"), "netns", "del", ns});
  }
  GenHost(const GenHost&) = delete;
  GenHost& operator=(const GenHost&) = delete;

  void setup(const TempDir& dir) {
    for (const auto& ns : {host_ns, gen_ns}) {
      run_cmd({tool("ip"), "netns", "del", ns});  // a stale one from a killed run of this pid
      ASSERT_TRUE(run_cmd({tool("ip"), "netns", "add", ns}).ok());
    }
    const std::vector<std::vector<std::string>> steps = {
        {tool("ip"), "link", "add", "name", host_if, "netns", host_ns, "address", kHostMac, "type",
         "veth", "peer", "name", gen_if, "netns", gen_ns},
        {tool("ip"), "-n", host_ns, "addr", "add", "198.18.8.2/24", "dev", host_if},
        {tool("ip"), "-n", host_ns, "link", "set", "lo", "up"},
        {tool("ip"), "-n", host_ns, "link", "set", host_if, "up"},
        {tool("ip"), "-n", gen_ns, "link", "set", gen_if, "up"},
    };
    for (const auto& s : steps) {
      CmdResult r = run_cmd(s);
      ASSERT_TRUE(r.ok()) << r.describe(s[0] + " " + s[1] + " " + s[2] + " " + s[3]);
    }
    const char* server =
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.bind(('198.18.8.2', 7))\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    d, a = s.recvfrom(4096)\n"
        "    s.sendto(d, a)\n";
    std::string error;
    echo = Child::spawn({tool("ip"), "netns", "exec", host_ns, "python3", "-c", server}, dir.path(),
                        &error);
    ASSERT_TRUE(echo) << error;
    ASSERT_TRUE(echo->wait_for_output("ready", 30000ms)) << echo->out() << echo->err();
  }

  std::string host_ns, gen_ns, host_if, gen_if;
  std::unique_ptr<Child> echo;
};

// Runs bypass-gen for 2 s at 1,000 datagrams a second to the host's echo
// port, its port given `addresses` (a TOML array, or empty); its output.
std::string run_gen(const GenHost& h, const TempDir& dir, const std::string& addresses) {
  const CpuPlan cpus = plan_cpus();
  const std::string prefix = fwd_file_prefix();
  std::ofstream(dir.file("gen.toml"))
      << "[eal]\ncontrol_cpu = " << cpus.control
      << "\nhuge_pages = " << (no_huge() ? "false" : "true")
      << "\nmemory_mb = 128\nfile_prefix = \"" << prefix
      << "\"\n[memory]\npool_size = 8191\n[[port]]\nname = \"g0\"\ndevice = "
      << "\"net_af_packet0,iface=" << h.gen_if << "\"\n"
      << (addresses.empty() ? "" : "addresses = " + addresses + "\n")
      << "[[worker]]\ncpu = " << cpus.worker
      << "\n[gen]\nduration = 2\ndrain = 1\nrate = \"1kpps\"\npeer_mac = \"" << kHostMac
      << "\"\n[[gen.stream]]\nname = \"echo\"\nsrc = \"198.18.8.1\"\ndst = \"198.18.8.2\"\n"
      << "dport = 7\nsport = 40000\nsize = 128\n";
  CmdResult r = run_cmd({tool("ip"), "netns", "exec", h.gen_ns, env_path("BYPASS_GEN"), "-c",
                         dir.file("gen.toml"), "-q"},
                        120000ms);
  remove_dpdk_leftovers(prefix);
  EXPECT_TRUE(r.started && !r.timed_out) << r.out << r.err;
  EXPECT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << "\n"
                                                     << r.out << r.err;
  return r.out + r.err;
}

TEST(GenVeth, APortWithTheStreamsSourceAddressGetsEveryEchoBack) {
  TempDir dir;
  GenHost h;
  ASSERT_NO_FATAL_FAILURE(h.setup(dir));
  const std::string out = run_gen(h, dir, "[\"198.18.8.1/24\"]");
  const uint64_t sent = number(out, "echo: sent (\\d+)");
  EXPECT_GT(sent, 1000u) << out;
  EXPECT_EQ(number(out, "echo: sent \\d+ received (\\d+)"), sent) << out;
  EXPECT_EQ(number(out, "echo:.* duplicates (\\d+)"), 0u) << out;
  EXPECT_EQ(out.find("was asked by ARP"), std::string::npos) << out;
  // The host learnt the generator's MAC from its answer.
  CmdResult neigh = run_cmd({tool("ip"), "-n", h.host_ns, "neigh", "show", "198.18.8.1"});
  EXPECT_NE(neigh.out.find("lladdr"), std::string::npos) << neigh.out;
}

TEST(GenVeth, APortWithoutAddressesSaysOnceWhatTheHostNeeds) {
  TempDir dir;
  GenHost h;
  ASSERT_NO_FATAL_FAILURE(h.setup(dir));
  const std::string out = run_gen(h, dir, "");
  EXPECT_GT(number(out, "echo: sent (\\d+)"), 1000u) << out;
  EXPECT_EQ(number(out, "echo: sent \\d+ received (\\d+)"), 0u) << out;
  const std::string said =
      "warning: port 'g0' was asked by ARP for 198.18.8.1, and answers ARP only for its "
      "addresses: if hosts are to reach it as 198.18.8.1, add addresses = [\"198.18.8.1/32\"] "
      "to its [[port]] table (or give each host a static entry: ip neigh replace 198.18.8.1 "
      "lladdr ";
  expect_said_once(out, said);
}

}  // namespace
}  // namespace bypass::it
