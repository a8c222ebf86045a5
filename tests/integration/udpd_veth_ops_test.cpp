// Operating bypass-udpd on a veth (fixture: udpd_veth.hpp): links that go
// down or are remade, dpdk-dumpcap attached to the running process, the
// journal of state changes, and live reload of services and fault plans.
#include "udpd_veth.hpp"

namespace bypass::it {
namespace {

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

class UdpdVethCapture : public UdpdVeth {};

// DPDK's dpdk-dumpcap attaches to the running bypass-udpd (a secondary
// process: it needs the huge pages the primary shares, so this test uses
// them in every mode), captures what the host sends to the echo port and
// what comes back, and tshark reads the file.
TEST_P(UdpdVethCapture, DpdkDumpcapCapturesWhatTheHostSees) {
  RunDirEnv run_dir(dir_.file("run"));
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
  CmdResult e = on_host({env_path("BYPASS_CLIENT"), "echo", "198.18.9.2", "7", "-n", "10", "-s",
                         "333", "-w", "1", "--timeout-ms", "5000"});
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
  CmdResult zero = ctl({"udp_dispatch", "--count", "0", "--output", dir_.file("x.pcapng")});
  EXPECT_EQ(zero.err, "bypassctl: --count takes a number of packets, 1 or more: --count 1000.\n");
  CmdResult no_filter = ctl({"udp_dispatch", "--filter", "--output", dir_.file("x.pcapng")});
  EXPECT_EQ(no_filter.err,
            "bypassctl: --filter takes an expression, as for tcpdump: --filter udp port 7.\n");
  CmdResult nowhere = ctl({"nowhere", "--output", dir_.file("x.pcapng")});
  EXPECT_NE(nowhere.err.find("no module is at the point 'nowhere'"), std::string::npos)
      << nowhere.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("x.pcapng")));
  // A mistake with a file that exists leaves it as it was (it was truncated,
  // then removed).
  write_file(dir_.file("keep.txt"), "keep me\n");
  CmdResult keep = ctl({"nowhere", "--output", dir_.file("keep.txt")});
  EXPECT_EQ(keep.status.code, 1);
  EXPECT_EQ(read_file(dir_.file("keep.txt")), "keep me\n");
  // Nor does a good one write over a file that exists (it would keep that
  // file's owner and mode, and cut it).
  CmdResult exists = ctl({"udp_dispatch", "--output", dir_.file("keep.txt")});
  EXPECT_EQ(exists.status.code, 1);
  EXPECT_EQ(exists.err, "bypassctl: the capture file '" + dir_.file("keep.txt") +
                            "' exists: give a new path (a capture writes over no file).\n");
  EXPECT_EQ(read_file(dir_.file("keep.txt")), "keep me\n");
  CmdResult start = ctl({"udp_dispatch", "--filter", "udp", "port", "7", "--count", "10",
                         "--output", dir_.file("ours.pcapng")});
  ASSERT_TRUE(start.ok()) << start.err;
  // A reload would build graphs without the capture's taps while the
  // capture still reads them: refused, nothing changes.
  CmdResult reload =
      run_cmd({env_path("BYPASS_CTL"), "-n", "cap", "reload", dir_.file("udpd.toml")}, 30000ms);
  EXPECT_EQ(reload.status.code, 1) << reload.out;
  EXPECT_EQ(reload.err,
            "bypassctl: a capture is running: stop it (bypassctl capture stop) and reload again; "
            "nothing changed.\n");
  CmdResult e2 = on_host({env_path("BYPASS_CLIENT"), "echo", "198.18.9.2", "7", "-n", "10", "-s",
                          "333", "-w", "1", "--timeout-ms", "5000"});
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
  EXPECT_EQ(std::filesystem::status(dir_.file("ours.pcapng")).permissions() &
                std::filesystem::perms::others_all,
            std::filesystem::perms::none)
      << "packets and addresses: not for every local user";
  CmdResult graph = run_cmd({env_path("BYPASS_CTL"), "-n", "cap", "graph"});
  EXPECT_EQ(graph.out.find("capture@"), std::string::npos) << "the tap is gone\n" << graph.out;
  CmdResult after = on_host(
      {env_path("BYPASS_CLIENT"), "echo", "198.18.9.2", "7", "-n", "20", "--timeout-ms", "5000"});
  EXPECT_TRUE(after.ok()) << after.out;
  std::string out = stop();
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

class UdpdVethJournal : public UdpdVeth {};

// The journal of state changes, read with bypassctl and from its file: the
// host's address learned from its ARP, then changed with its MAC, and the
// link seen going down and up again.
TEST_P(UdpdVethJournal, RecordsNeighboursAndLinkChanges) {
  RunDirEnv run_dir(dir_.file("run"));
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
}

class UdpdVethReload : public UdpdVeth {};

// Live reload under traffic: while the host echoes on port 7 without a
// pause, a service is added (bypassctl reload FILE) and removed again
// (SIGHUP, from the file it started with), over and over; the echo client
// gets every reply. A change that needs a restart and a broken file change
// nothing and say why in one sentence.
TEST_P(UdpdVethReload, ServicesComeAndGoWhileAnotherKeepsEveryReply) {
  RunDirEnv run_dir(dir_.file("run"));
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
                              "7", "-n", "300000", "-w", "16", "-s", "200", "--timeout-ms", "5000"},
                             dir_.path(), &err);
  ASSERT_TRUE(steady) << err;
  int cycles = 0;
  do {
    CmdResult add = ctl({"reload", dir_.file("more.toml")});
    ASSERT_TRUE(add.ok()) << add.out << add.err;
    EXPECT_EQ(add.out, "reloaded: services added on 7100\n");
    CmdResult e = on_host(
        {client, "echo", "198.18.9.2", "7100", "-n", "20", "-w", "4", "--timeout-ms", "5000"});
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
  CmdResult e7 =
      on_host({client, "echo", "198.18.9.2", "7", "-n", "50", "-w", "4", "--timeout-ms", "5000"});
  EXPECT_TRUE(e7.ok()) << e7.out;
  CmdResult j = ctl({"journal"});
  EXPECT_NE(j.out.find("\"what\":\"reloaded from " + dir_.file("more.toml") +
                       ": services added on 7100\""),
            std::string::npos)
      << j.out;
  EXPECT_NE(j.out.find("services removed from 7100"), std::string::npos) << j.out;
  std::string out = stop();
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
  // The removed services' counts stay: every reply, on 7 and on 7100, is
  // in udp.replies, and the drops by reason add up to the total dropped
  // (the dispatch each reload rebuilt took its drops with it).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("udp: datagrams \\d+ replies (\\d+)"))) << out;
  EXPECT_GE(std::stoull(m[1]), 300000u + 50u + 20u * static_cast<unsigned>(cycles)) << out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("total: rx \\d+ tx \\d+ dropped (\\d+)")))
      << out;
  const uint64_t total_dropped = std::stoull(m[1]);
  uint64_t by_reason = 0;
  const std::regex drop_line("\n  drop [a-z_0-9.]+: (\\d+)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), drop_line);
       it != std::sregex_iterator(); ++it)
    by_reason += std::stoull((*it)[1]);
  EXPECT_EQ(by_reason, total_dropped) << out;
}

// A port's fault plan changes live: every reply dropped on the way out while
// the new plan says so, and none once the old one is back.
TEST_P(UdpdVethReload, FaultPlanChangesLive) {
  RunDirEnv run_dir(dir_.file("run"));
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
  EXPECT_TRUE(
      on_host({client, "echo", "198.18.9.2", "7", "-n", "20", "-w", "4", "--timeout-ms", "5000"})
          .ok());
  CmdResult to_lossy = ctl({"reload", dir_.file("lossy.toml")});
  ASSERT_TRUE(to_lossy.ok()) << to_lossy.err;
  EXPECT_EQ(to_lossy.out, "reloaded: the fault plan of port veth changed\n");
  CmdResult lost =
      on_host({client, "echo", "198.18.9.2", "7", "-n", "5", "-w", "5", "--timeout-ms", "300"});
  EXPECT_NE(lost.out.find("answered 0, wrong 0, lost 5"), std::string::npos) << lost.out;
  CmdResult back = ctl({"reload"});
  ASSERT_TRUE(back.ok()) << back.err;
  CmdResult fine =
      on_host({client, "echo", "198.18.9.2", "7", "-n", "20", "-w", "4", "--timeout-ms", "5000"});
  EXPECT_TRUE(fine.ok()) << fine.out;
  std::string out = stop();
  EXPECT_GE(field(out, "faults veth tx: packets \\d+ dropped"), 5u) << out;
  EXPECT_NE(out.find("mbufs in use at exit: 0"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethLink, both_drivers(), driver_name);

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethCapture, af_packet_only(), driver_name);

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethJournal, both_drivers(), driver_name);

INSTANTIATE_TEST_SUITE_P(Drivers, UdpdVethReload, both_drivers(), driver_name);

}  // namespace
}  // namespace bypass::it
