// bypass-gen -> bypass-fwd over net_memif, end to end with exact counts: the
// generator sends a paced, known number of frames; the forwarder reflects
// them (5tswap keeps the generator's stamp in place); every frame comes back
// once and in order or is counted as dropped by the forwarder, and both
// sides agree on every number.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

TEST(GenFwd, EveryFrameComesBackOnceInOrderWithExactCounts) {
  TempDir dir;
  CpuPlan cpus = plan_cpus();
  const std::string sock = dir.file("memif.sock");
  const std::string huge = no_huge() ? "false" : "true";
  const std::string fwd_prefix = fwd_file_prefix(), gen_prefix = fwd_file_prefix();
  std::ofstream(dir.file("fwd.toml"))
      << "[eal]\ncontrol_cpu = " << cpus.control << "\nhuge_pages = " << huge
      << "\nmemory_mb = 128\nfile_prefix = \"" << fwd_prefix
      << "\"\n[memory]\npool_size = 8191\n[[port]]\nname = \"m0\"\ndevice = "
         "\"net_memif0,role=server,socket="
      << sock << "\"\n[[worker]]\ncpu = " << cpus.worker
      << "\n[fwd]\nmode = \"5tswap\"\ntopology = \"loop\"\ntx_retries = 1000\n";
  std::ofstream(dir.file("gen.toml"))
      << "[eal]\ncontrol_cpu = " << cpus.worker << "\nhuge_pages = " << huge
      << "\nmemory_mb = 128\nfile_prefix = \"" << gen_prefix
      << "\"\n[memory]\npool_size = 8191\n[[port]]\nname = \"m0\"\ndevice = "
         "\"net_memif0,role=client,socket="
      << sock << "\"\n[[worker]]\ncpu = " << cpus.control
      << "\n[gen]\nduration = 2\ndrain = 1\nrate = \"20kpps\"\njson = \"" << dir.file("gen.jsonl")
      << "\"\n[[gen.stream]]\nname = \"s64\"\ndst = \"198.18.0.2\"\ndport = 7\nsport "
         "= \"1000-1063\"\nsize = 64\n"
      << "[[gen.stream]]\nname = \"s6\"\ndst = \"2001:db8::2\"\ndport = 7\nsize = "
         "\"128-256\"\nsrc = \"2001:db8::1\"\n"
      << "[control]\nname = \"gen\"\nmetrics = \"127.0.0.1:0\"\n";
  RunDirEnv run_dir(dir.file("run"));
  std::string err;
  auto fwd =
      Child::spawn({fwd_path(), "-c", dir.file("fwd.toml"), "-q", "-t", "120"}, dir.path(), &err);
  ASSERT_TRUE(fwd) << err;
  ASSERT_TRUE(fwd->wait_for_output("forwarding", 15000ms)) << fwd->out() << fwd->err();
  // bypass-gen holds its memif port open and idle after the run, so the
  // forwarder leaves first and neither side polls while its peer unmaps the
  // shared memory (DPDK 22.11's net_memif does not wait for a burst in progress).
  auto gen = Child::spawn(
      {env_path("BYPASS_GEN"), "-c", dir.file("gen.toml"), "-q", "--hold", "60"}, dir.path(), &err);
  ASSERT_TRUE(gen) << err;
  ASSERT_TRUE(gen->wait_for_output("holding the ports", 60000ms)) << gen->out() << gen->err();
  // While it holds, /metrics has the run's latency as Prometheus histograms,
  // clean for promtool, and bypassctl reads it.
  std::smatch m;
  const std::string log = gen->out() + gen->err();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("http://(127\\.0\\.0\\.1:[0-9]+)/"))) << log;
  const char* scrape = R"(
import re, subprocess, sys, urllib.request
text = urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=10).read()
r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
assert r.returncode == 0, r.stdout + r.stderr
t = text.decode()
for s in ("s64", "s6"):
    count = re.search(r'bypass_latency_seconds_count\{histogram="gen.stream.%s.latency"\} (\d+)' % s, t)
    inf = re.search(r'bypass_latency_seconds_bucket\{histogram="gen.stream.%s.latency",le="\+Inf"\} (\d+)' % s, t)
    assert count and int(count.group(1)) > 0 and inf.group(1) == count.group(1), t
    assert 'le="0.001"' in t
print("ok")
)";
  CmdResult sc = run_cmd({"python3", "-c", scrape, m[1]}, 60000ms);
  EXPECT_EQ(sc.out, "ok\n") << sc.out << sc.err;
  CmdResult ctl = run_cmd({env_path("BYPASS_CTL"), "-n", "gen", "ports"});
  EXPECT_TRUE(ctl.ok()) << ctl.err;
  EXPECT_NE(ctl.out.find("m0 "), std::string::npos) << ctl.out;
  // The worker's totals hold what arrived after the senders stopped (the
  // drain) too: its received frames are the port's.
  CmdResult wk = run_cmd({env_path("BYPASS_CTL"), "-n", "gen", "workers", "--json"});
  ASSERT_TRUE(wk.ok()) << wk.err;
  EXPECT_EQ(number(wk.out, "\"rx_packets\":(\\d+)"),
            number(gen->out(), "port m0: tx \\d+ \\([0-9.]+ Mpps\\) rx (\\d+)"))
      << wk.out << gen->out();
  EXPECT_EQ(number(wk.out, "\"tx_packets\":(\\d+)"), number(gen->out(), "port m0: tx (\\d+)"))
      << "the generator's sends count in its worker's totals\n"
      << wk.out << gen->out();
  ASSERT_TRUE(fwd->kill(SIGTERM));
  auto st = fwd->wait_for(15000ms);
  ASSERT_TRUE(st.has_value()) << "bypass-fwd did not stop";
  ASSERT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << fwd->out() << fwd->err();
  ASSERT_TRUE(gen->kill(SIGINT));
  auto gst = gen->wait_for(15000ms);
  ASSERT_TRUE(gst.has_value()) << "bypass-gen did not stop";
  ASSERT_TRUE(gst->exited && gst->code == 0) << gst->describe() << "\n" << gen->out() << gen->err();

  // The run's own length (the control thread stops the workers at its next
  // look after 2 s: a loaded machine makes that later).
  std::ifstream jf(dir.file("gen.jsonl"));
  std::string run_line;
  ASSERT_TRUE(std::getline(jf, run_line));
  std::smatch sm;
  ASSERT_TRUE(std::regex_search(run_line, sm, std::regex("\"seconds\":([0-9.]+)"))) << run_line;
  const double ran = std::stod(sm[1]);
  // Paced at 20 kpps per stream for the run: no more than that, 20 ms (the
  // workers' start and stop around the control thread's clock) and a burst
  // of 64 over. Every frame is accounted for: the
  // generator's sent frames are what the forwarder received; what the generator did not get back is
  // exactly what the forwarder counted as dropped (memif can refuse a frame
  // now and then: tx_full), with no duplicate and no reordering.
  const std::string out = gen->out();
  const std::string fout = fwd->out();
  uint64_t lost_total = 0;
  for (const char* s : {"s64", "s6"}) {
    uint64_t sent = number(out, std::string(s) + ": sent (\\d+)");
    uint64_t received = number(out, std::string(s) + ": sent \\d+ received (\\d+)");
    uint64_t lost = number(out, std::string(s) + ":.* lost (\\d+)");
    // The pacer never runs ahead of its rate (a busy machine may make it fall behind).
    EXPECT_GT(sent, 0u) << out;
    EXPECT_LE(static_cast<double>(sent), 20000.0 * (ran + 0.02) + 64) << "ran " << ran << "\n"
                                                                      << out;
    EXPECT_EQ(received + lost, sent) << s << "\n" << out;
    EXPECT_EQ(number(out, std::string(s) + ":.* duplicates (\\d+)"), 0u) << out;
    EXPECT_EQ(number(out, std::string(s) + ":.* reordered (\\d+)"), 0u) << out;
    lost_total += lost;
  }
  uint64_t gen_tx = number(out, "port m0: tx (\\d+)");
  uint64_t gen_rx = number(out, "port m0: tx \\d+ \\([0-9.]+ Mpps\\) rx (\\d+)");
  EXPECT_EQ(number(fout, "total: rx (\\d+)"), gen_tx) << fout;
  EXPECT_EQ(number(fout, "total: rx \\d+ tx (\\d+)"), gen_rx) << fout;
  EXPECT_EQ(number(fout, "total: rx \\d+ tx \\d+ dropped (\\d+)"), lost_total) << out << fout;
  EXPECT_EQ(gen_tx - gen_rx, lost_total) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
  // One JSON line for the run.
  std::ifstream j(dir.file("gen.jsonl"));
  std::string line;
  ASSERT_TRUE(std::getline(j, line));
  EXPECT_NE(line.find("\"mode\":\"run\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"tx\":" + std::to_string(gen_tx)), std::string::npos) << line;
  CmdResult parsed = run_cmd(
      {"python3", "-c",
       "import json,sys\nl=json.loads(sys.argv[1])\n"
       "print(' '.join('%s:%d:%d' % (s['name'], s['stale'], s['sent']) for s in l['streams']))",
       line});
  EXPECT_EQ(parsed.out, "s64:0:" + std::to_string(number(out, "s64: sent (\\d+)")) +
                            " s6:0:" + std::to_string(number(out, "s6: sent (\\d+)")) + "\n")
      << parsed.out << parsed.err << line;
  remove_dpdk_leftovers(fwd_prefix);
  remove_dpdk_leftovers(gen_prefix);
}

// Two workers sending on one port (a TX queue each) at max rate: the port's
// totals are the sum of what each worker counted, so they equal what the
// streams sent, to the frame.
TEST(GenFwd, TwoWorkersOnOnePortCountEveryFrame) {
  TempDir dir;
  CpuPlan cpus = plan_cpus();
  const std::string prefix = fwd_file_prefix();
  std::ofstream(dir.file("gen.toml"))
      << "[eal]\ncontrol_cpu = " << cpus.control
      << "\nhuge_pages = " << (no_huge() ? "false" : "true")
      << "\nmemory_mb = 128\nfile_prefix = \"" << prefix
      << "\"\n[[port]]\nname = \"n0\"\ndevice = \"net_null0,no-rx=1\"\nrx_queues = 2\n"
      << "[[worker]]\ncpu = " << cpus.worker
      << "\nrx = [\"n0:0\"]\n[[worker]]\ncpu = " << cpus.other
      << "\nrx = [\"n0:1\"]\n[gen]\nrate = \"max\"\nlink_mbps = 100000\n"
      << "[[gen.stream]]\nname = \"a\"\ndst = \"198.18.0.2\"\nsize = 64\n"
      << "[[gen.stream]]\nname = \"b\"\ndst = \"2001:db8::2\"\nsize = 128\n";
  auto gen = run_cmd({env_path("BYPASS_GEN"), "-c", dir.file("gen.toml"), "-q", "-t", "1",
                      "--stats-json", dir.file("stats.jsonl")},
                     60000ms);
  ASSERT_TRUE(gen.ok()) << gen.describe("bypass-gen") << gen.out << gen.err;
  const uint64_t port_tx = number(gen.out, "port n0: tx (\\d+)");
  const uint64_t a = number(gen.out, "a: sent (\\d+)"), b = number(gen.out, "b: sent (\\d+)");
  ASSERT_NE(port_tx, UINT64_MAX) << gen.out;
  ASSERT_NE(a, UINT64_MAX) << gen.out;
  ASSERT_NE(b, UINT64_MAX) << gen.out;
  EXPECT_GT(a, 0u);
  EXPECT_GT(b, 0u);
  EXPECT_EQ(port_tx, a + b) << gen.out;
  // The final --stats-json snapshot has the same figures, and both workers.
  CmdResult js = run_cmd(
      {"python3", "-c",
       "import json,sys\nl=[json.loads(x) for x in open(sys.argv[1])][-1]\nassert l['final']\n"
       "c=l['counters']\nassert len(l['workers'])==2\n"
       "h={x['name']:x for x in l['histograms']}\n"
       "assert h['gen.stream.a.latency']['unit']=='ns', h\n"
       "print(c['gen.port.n0.tx_packets'], c['gen.stream.a.sent'], c['gen.stream.b.sent'])",
       dir.file("stats.jsonl")});
  EXPECT_EQ(js.out,
            std::to_string(port_tx) + " " + std::to_string(a) + " " + std::to_string(b) + "\n")
      << js.out << js.err;
  remove_dpdk_leftovers(prefix);
}

// A [gen.rfc2544] table holds the search's settings; it does not turn a
// plain run into a search (the shipped config has one: a plain run with
// --stats-json was refused as if --rfc2544 had been given).
TEST(GenCli, AnRfc2544TableIsSettingsNotASearch) {
  TempDir dir;
  const std::string cfg = env_path("BYPASS_SOURCE_ROOT") + "/config/gen-memif.toml";
  CmdResult plain = run_cmd(
      {env_path("BYPASS_GEN"), "-c", cfg, "--check", "--stats-json", dir.file("stats.jsonl")});
  EXPECT_TRUE(plain.ok()) << plain.describe("bypass-gen --check --stats-json");
  EXPECT_EQ(plain.out, "config ok\n");
  CmdResult search = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "--rfc2544",
                              "--stats-json", dir.file("stats.jsonl")});
  EXPECT_FALSE(search.ok());
  EXPECT_NE(search.err.find("--stats-json goes with a plain run"), std::string::npos) << search.err;
}

// Reports and --json name each stream: two streams with one name (here
// "stream1": the first has id 1, the second is named after its position)
// are refused with one sentence, in the config and from --stream alike.
TEST(GenCli, TwoStreamsWithOneNameAreRefused) {
  TempDir dir;
  const std::string cfg = dir.file("gen.toml");
  std::ofstream(cfg) << "[[port]]\nname = \"p0\"\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n"
                     << "[[gen.stream]]\nid = 1\ndst = \"198.18.0.2\"\n"
                     << "[[gen.stream]]\ndst = \"198.18.0.3\"\n";
  const std::string says = "two streams are named 'stream1': give each its own name";
  CmdResult r = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check"});
  EXPECT_EQ(r.status.code, 2) << r.describe("bypass-gen --check");
  EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  std::ofstream(cfg, std::ios::app) << "name = \"b\"\n";
  CmdResult fine = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check"});
  EXPECT_TRUE(fine.ok()) << fine.describe("bypass-gen --check, the second named b");
  CmdResult cli =
      run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "--stream", "dst=198.18.0.4 name=b"});
  EXPECT_EQ(cli.status.code, 2) << cli.describe("bypass-gen --check --stream name=b");
  EXPECT_NE(cli.err.find("two streams are named 'b'"), std::string::npos) << cli.err;
}

// A results file that cannot be written is refused before the run (the run
// went ahead, its results lost, and exit 0), and no directory is made for it.
TEST(GenCli, AResultsFileThatCannotBeWrittenIsRefusedBeforeTheRun) {
  TempDir dir;
  const std::string cfg = dir.file("gen.toml");
  std::ofstream(cfg) << "[[port]]\nname = \"p0\"\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n"
                        "[[gen.stream]]\nname = \"a\"\ndst = \"198.18.0.2\"\n";
  struct Case {
    const char* flag;
    std::string path;
  } cases[] = {{"--json", dir.path()},
               {"--json", dir.file("no/such/dir/r.jsonl")},
               {"--latency-csv", dir.path()},
               {"--csv", dir.file("no/r.csv")},
               {"--svg", dir.path()}};
  for (const Case& c : cases) {
    CmdResult r = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", c.flag, c.path});
    EXPECT_EQ(r.status.code, 2) << r.describe(std::string(c.flag) + " " + c.path);
    EXPECT_NE(r.err.find("cannot write " + std::string(c.flag) + " '" + c.path + "'"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("no"))) << "a directory was made";
}

// A results file that fails during the run (a full disk: /dev/full opens,
// and every write to it fails) is said in one line, and the run's exit code
// is 1, not 0.
TEST(GenFwd, AResultsFileThatFailsDuringTheRunIsSaidAndExitsOne) {
  TempDir dir;
  CpuPlan cpus = plan_cpus();
  std::ofstream(dir.file("gen.toml"))
      << "[eal]\ncontrol_cpu = " << cpus.control
      << "\nhuge_pages = " << (no_huge() ? "false" : "true")
      << "\nmemory_mb = 128\nfile_prefix = \"" << fwd_file_prefix()
      << "\"\n[[port]]\nname = \"n0\"\ndevice = \"net_null0,no-rx=1\"\n"
      << "[[worker]]\ncpu = " << cpus.worker << "\nrx = [\"n0:0\"]\n[gen]\nrate = \"10kpps\"\n"
      << "[[gen.stream]]\nname = \"a\"\ndst = \"198.18.0.2\"\n";
  auto gen = run_cmd(
      {env_path("BYPASS_GEN"), "-c", dir.file("gen.toml"), "-q", "-t", "1", "--json", "/dev/full"},
      60000ms);
  ASSERT_TRUE(gen.started);
  EXPECT_EQ(gen.status.code, 1) << gen.describe("bypass-gen --json /dev/full") << gen.out
                                << gen.err;
  EXPECT_NE(gen.err.find("bypass-gen: could not write '/dev/full' (disk full?): its results are "
                         "lost."),
            std::string::npos)
      << gen.err;
  EXPECT_NE(gen.out.find("a: sent"), std::string::npos) << "the run itself went ahead\n" << gen.out;
}

// Ctrl-C during the run ends the program: --hold (which keeps a memif peer's
// shared memory mapped while it leaves) is for a run that ends by itself.
TEST(GenFwd, ASignalDuringTheRunSkipsTheHold) {
  TempDir dir;
  CpuPlan cpus = plan_cpus();
  const std::string prefix = fwd_file_prefix();
  std::ofstream(dir.file("gen.toml"))
      << "[eal]\ncontrol_cpu = " << cpus.control
      << "\nhuge_pages = " << (no_huge() ? "false" : "true")
      << "\nmemory_mb = 128\nfile_prefix = \"" << prefix
      << "\"\n[[port]]\nname = \"n0\"\ndevice = \"net_null0,no-rx=1\"\n"
      << "[[worker]]\ncpu = " << cpus.worker << "\nrx = [\"n0:0\"]\n[gen]\nrate = \"10kpps\"\n"
      << "[[gen.stream]]\nname = \"a\"\ndst = \"198.18.0.2\"\n";
  std::string err;
  auto gen = Child::spawn(
      {env_path("BYPASS_GEN"), "-c", dir.file("gen.toml"), "-t", "600", "--hold", "600"},
      dir.path(), &err);
  ASSERT_TRUE(gen) << err;
  ASSERT_TRUE(gen->wait_for_output("stream(s) on", 60000ms)) << gen->out() << gen->err();
  ASSERT_TRUE(gen->kill(SIGINT));
  auto st = gen->wait_for(30000ms);
  ASSERT_TRUE(st.has_value()) << "bypass-gen held its ports after Ctrl-C\n" << gen->out();
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe() << "\n" << gen->out() << gen->err();
  EXPECT_NE(gen->out().find("not holding the ports: the run was stopped by a signal"),
            std::string::npos)
      << gen->out();
  EXPECT_EQ(gen->out().find("holding the ports for"), std::string::npos) << gen->out();
  EXPECT_NE(gen->out().find("a: sent"), std::string::npos) << "the run's report\n" << gen->out();
  remove_dpdk_leftovers(prefix);
}

// What a run could only fail at later, --check says at once: a search size
// the mbufs cannot hold (the search would have thrown away hours of rows at
// it), and a stream without its stamp (every frame would count lost).
TEST(GenCli, CheckRefusesWhatTheRunWouldFailAt) {
  TempDir dir;
  const std::string cfg = dir.file("gen.toml");
  const std::string base =
      "[[port]]\nname = \"p0\"\ndevice = \"net_null0\"\n[[worker]]\ncpu = 1\n"
      "[[gen.stream]]\nname = \"a\"\ndst = \"198.18.0.2\"\n";
  std::ofstream(cfg) << base << "[gen.rfc2544]\nsizes = [64, 9000]\n";
  CmdResult plain = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check"});
  EXPECT_TRUE(plain.ok()) << plain.describe("a plain run sends its own 64-byte frames");
  CmdResult search = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "--rfc2544"});
  EXPECT_EQ(search.status.code, 2) << search.describe("--rfc2544 with 9000");
  EXPECT_NE(search.err.find("stream 'a' writes up to 8996 bytes per frame but the mbufs hold 2048: "
                            "set [memory] data_room to at least 9124 (or leave the largest frame "
                            "size out of [gen.rfc2544] sizes)."),
            std::string::npos)
      << search.err;
  std::ofstream(cfg) << base << "stamp = false\n";
  CmdResult unstamped = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check"});
  EXPECT_EQ(unstamped.status.code, 2) << unstamped.describe("stamp = false");
  EXPECT_NE(unstamped.err.find("stream 'a' has stamp = false"), std::string::npos) << unstamped.err;
  std::ofstream(cfg) << base << "[gen.rfc2544]\nsizes = []\n";
  CmdResult none = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "--rfc2544"});
  EXPECT_EQ(none.status.code, 2) << none.describe("sizes = []");
  EXPECT_NE(none.err.find("sizes must be a list of frame sizes"), std::string::npos) << none.err;
  std::ofstream(cfg) << base << "[gen.rfc2544]\ndrain = 0.5\n";
  CmdResult drain = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "--rfc2544"});
  EXPECT_TRUE(drain.ok()) << drain.describe("drain = 0.5");
  std::ofstream(cfg) << base << "[gen.rfc2544]\ndrain = 61\n";
  CmdResult long_drain = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "--rfc2544"});
  EXPECT_EQ(long_drain.status.code, 2) << long_drain.describe("drain = 61");
  EXPECT_NE(long_drain.err.find("drain"), std::string::npos) << long_drain.err;
  // A port address the host stage could not use, before EAL starts.
  std::ofstream(cfg) << "[[port]]\nname = \"p0\"\ndevice = \"net_null0\"\naddresses = "
                        "[\"198.18.0.1/33\"]\n[[worker]]\ncpu = 1\n[[gen.stream]]\nname = \"a\"\n"
                        "dst = \"198.18.0.2\"\n";
  CmdResult address = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check"});
  EXPECT_EQ(address.status.code, 2) << address.describe("addresses = [\"198.18.0.1/33\"]");
  EXPECT_NE(address.err.find("port 'p0': address \"198.18.0.1/33\" has a bad prefix length"),
            std::string::npos)
      << address.err;
  // Rates that round to no frame at all, or to infinity.
  std::ofstream(cfg, std::ios::trunc) << base;
  for (const char* rate : {"1e-300pps", "1e400pps", "nanpps", "2e12Mpps"}) {
    CmdResult r = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "-r", rate});
    EXPECT_EQ(r.status.code, 2) << r.describe(std::string("-r ") + rate);
    EXPECT_TRUE(r.err.find("give 1e-6 to 1e12 frames a second") != std::string::npos ||
                r.err.find("is not a rate") != std::string::npos)
        << r.err;
  }
  CmdResult slow = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "-r", "0.5pps"});
  EXPECT_TRUE(slow.ok()) << slow.describe("-r 0.5pps");
  // CLI11's range check, as a sentence.
  CmdResult hold = run_cmd({env_path("BYPASS_GEN"), "-c", cfg, "--check", "--hold", "1e30"});
  EXPECT_EQ(hold.status.code, 2);
  EXPECT_NE(
      hold.err.find("bypass-gen: --hold takes 0 to 86400, not '1e30': see bypass-gen --help."),
      std::string::npos)
      << hold.err;
}

}  // namespace
}  // namespace bypass::it
