// The fixture of the udpd_veth tests (udpd_veth*_test.cpp): a veth pair
// between a namespace with the kernel's IP stack (198.18.9.1, 2001:db8:9::1)
// and one where bypass-udpd drives the other end through net_af_packet or
// net_af_xdp; helpers to start and stop bypass-udpd there and to run the
// host's own tools and bypass-client on the host's side.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace bypass::it {

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
        // As a host adds one: duplicate address detection runs (start_udpd waits for it).
        {tool("ip"), "-n", host_ns_, "-6", "addr", "add", "2001:db8:9::1/64", "dev", host_if_},
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
    ASSERT_NO_FATAL_FAILURE(wait_host_ipv6());
  }

  // The host's IPv6 addresses are usable once their duplicate address
  // detection is over (about a second after they were added, by the kernel's
  // defaults; mostly over before bypass-udpd serves). None may have failed
  // it: bypass-udpd's port, on the link, must never claim a host's address.
  void wait_host_ipv6() {
    const std::string show = tool("ip") + " -n " + host_ns_ + " -6 addr show dev " + host_if_;
    CmdResult r = run_cmd({tool("sh"), "-c",
                           "for i in $(seq 200); do " + show +
                               " tentative -dadfailed | grep -q . || exit 0; sleep 0.05; done; "
                               "exit 1"},
                          30000ms);
    ASSERT_TRUE(r.ok()) << "the host's IPv6 addresses were still tentative after 10 s";
    CmdResult failed = run_cmd({tool("sh"), "-c", show + " dadfailed"});
    EXPECT_TRUE(failed.out.empty()) << "an address of the host failed its duplicate address "
                                       "detection: something on the link claimed it\n"
                                    << failed.out;
  }
  // A host address added while bypass-udpd serves: its detection runs
  // against bypass-udpd's port.
  void add_host_ipv6(const std::string& cidr) {
    CmdResult r = run_cmd({tool("ip"), "-n", host_ns_, "-6", "addr", "add", cidr, "dev", host_if_});
    ASSERT_TRUE(r.ok()) << r.describe("ip -6 addr add " + cidr);
    ASSERT_NO_FATAL_FAILURE(wait_host_ipv6());
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

  // The number after `name` in `out`; a missing one fails the test (and reads 0).
  static uint64_t field(const std::string& out, const std::string& name) {
    std::smatch m;
    if (std::regex_search(out, m, std::regex(name + " (\\d+)"))) return std::stoull(m[1]);
    ADD_FAILURE() << "no \"" << name << " <number>\" in the output";
    return 0;
  }
  // Whether `out` has `name` followed by a number (for what is printed only when nonzero).
  static bool has_field(const std::string& out, const std::string& name) {
    return std::regex_search(out, std::regex(name + " \\d+"));
  }

  TempDir dir_;
  std::string host_ns_, udpd_ns_, host_if_, udpd_if_, prefix_;
  std::vector<std::string> made_;
  std::unique_ptr<Child> udpd_;
};

// The drivers a case runs on, the host keeping its defaults, and the name
// gtest gives each (af_packet, af_xdp).
inline auto both_drivers() {
  return ::testing::Combine(::testing::Values("net_af_packet", "net_af_xdp"),
                            ::testing::Values(true));
}
inline auto af_packet_only() {
  return ::testing::Combine(::testing::Values("net_af_packet"), ::testing::Values(true));
}
inline std::string driver_name(const ::testing::TestParamInfo<UdpdVeth::ParamType>& info) {
  return std::string(std::get<0>(info.param)).substr(4);
}
// Both drivers, and the host with its transmit checksum offload on and off.
inline auto drivers_and_host_offload() {
  return ::testing::Combine(::testing::Values("net_af_packet", "net_af_xdp"), ::testing::Bool());
}
inline std::string driver_and_offload_name(
    const ::testing::TestParamInfo<UdpdVeth::ParamType>& info) {
  return driver_name(info) + (std::get<1>(info.param) ? "_HostDefaults" : "_HostTxOffloadOff");
}

}  // namespace bypass::it
