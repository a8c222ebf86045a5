// bypass-client chat against bypass-udpd's rooms application on the sockets
// backend, driven through terminals (ptys) as a user would.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "udpd_cli.hpp"

namespace bypass::it {
namespace {

// A program on a terminal of its own (a pty), typed at and read like a user would.
class Terminal {
 public:
  explicit Terminal(const std::vector<std::string>& argv) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      std::vector<char*> a;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool started() const { return pid_ > 0 && master_ >= 0; }
  void type(const std::string& s) {
    ASSERT_EQ(write(master_, s.data(), s.size()), ssize_t(s.size()));
  }
  // Reads what the program printed until `what` appears (or 15 s pass).
  bool wait_for(const std::string& what) {
    const auto end = std::chrono::steady_clock::now() + 15s;
    while (out_.find(what) == std::string::npos && std::chrono::steady_clock::now() < end)
      read_some(50);
    return out_.find(what) != std::string::npos;
  }
  // The exit code, once it exits (-1 if it did not within 15 s).
  int wait_exit() {
    for (int i = 0; i < 300; ++i) {
      read_some(50);
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
    }
    return -1;
  }
  const std::string& out() const { return out_; }

 private:
  void read_some(int ms) {
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n > 0) {
      out_.append(buf, static_cast<size_t>(n));
    } else {
      usleep(static_cast<useconds_t>(ms) * 1000);  // hung up: the program is leaving
    }
  }
  pid_t pid_ = -1;
  int master_ = -1;
  bool exited_ = false;
  std::string out_;
};

// The rooms application and bypass-client chat, driven through terminals:
// two users join a room, each line typed reaches the other, a third chat
// reads a pipe, Ctrl-D closes with 1000.
TEST(UdpdSockets, ChatThroughTerminals) {
  TempDir dir;
  const uint16_t port = test_port(4);
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port, "application = \"rooms\"\n", &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  for (const char* who : {"1", "2", "3"}) {
    CmdResult t = run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key",
                           dir.file("key.hex"), "--protocol-id", "4660", "--client-id", who,
                           "--token", dir.file(std::string("t") + who)});
    ASSERT_TRUE(t.ok()) << t.out << t.err;
  }
  auto chat = [&](const char* who) {
    return std::make_unique<Terminal>(
        std::vector<std::string>{client, "chat", "127.0.0.1", std::to_string(port), "--token",
                                 dir.file(std::string("t") + who), "--room", "lobby"});
  };
  auto a = chat("1");
  ASSERT_TRUE(a->started());
  ASSERT_TRUE(a->wait_for("* joined lobby 1")) << a->out();
  auto b = chat("2");
  ASSERT_TRUE(b->started());
  ASSERT_TRUE(b->wait_for("* joined lobby 2")) << b->out();
  a->type("hello from a\n");
  EXPECT_TRUE(b->wait_for("[1] hello from a")) << b->out();
  EXPECT_TRUE(a->wait_for("[1] hello from a")) << a->out();
  b->type("h\xC3\xA9llo, a\n");
  EXPECT_TRUE(a->wait_for("[2] h\xC3\xA9llo, a")) << a->out();
  // A chat fed by a pipe that ends at once: its lines go after the join (the
  // last one has no newline), then it closes with 1000. What it sends to
  // the others' terminals is shown, not obeyed: an escape becomes '?'.
  Terminal piped({"/bin/sh", "-c",
                  "printf 'from a pipe\\n\\033[2Jsneaky' | '" + client + "' chat 127.0.0.1 " +
                      std::to_string(port) + " --token '" + dir.file("t3") + "' --room lobby"});
  ASSERT_TRUE(piped.started());
  EXPECT_TRUE(b->wait_for("[3] from a pipe")) << b->out();
  EXPECT_TRUE(b->wait_for("[3] ?[2Jsneaky")) << b->out();
  EXPECT_EQ(piped.wait_exit(), 0) << piped.out();
  EXPECT_NE(piped.out().find("* closed 1000 bye"), std::string::npos) << piped.out();
  a->type("\x04");  // Ctrl-D
  EXPECT_TRUE(a->wait_for("* closed 1000 bye")) << a->out();
  EXPECT_EQ(a->wait_exit(), 0) << a->out();
  b->type("\x04");
  EXPECT_EQ(b->wait_exit(), 0) << b->out();
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("rooms: rooms 0 published 4 delivered 10"), std::string::npos) << out;
  EXPECT_NE(out.find("msg: open 0 "), std::string::npos) << out;
}

// Rooms across two workers of the sockets backend: every line typed reaches
// every member, each once. SO_REUSEPORT spreads the clients over the workers
// by a hash of their addresses with a secret of the kernel's, so six may all
// land on one (1 run in 32): more join, each on either worker with odds 1/2,
// until bypassctl conns shows both workers in use.
TEST(UdpdSockets, ChatAcrossTwoWorkers) {
  TempDir dir;
  RunDirEnv run_dir(dir.file("run"));
  const uint16_t port = test_port(6);
  const CpuPlan cpus = plan_cpus();
  std::unique_ptr<Child> udpd;
  ASSERT_NO_FATAL_FAILURE(start_sockets_netcode(dir, port,
                                                "application = \"rooms\"\n[control]\nname = "
                                                "\"chat2\"\n[[worker]]\ncpu = " +
                                                    std::to_string(cpus.other) + "\n",
                                                &udpd));
  const std::string client = env_path("BYPASS_CLIENT");
  // How many workers hold a connection.
  auto workers_in_use = [&] {
    CmdResult c = run_cmd({env_path("BYPASS_CTL"), "-n", "chat2", "conns", "--json"});
    std::set<std::string> workers;
    const std::regex worker("\"worker\":(\\d+)");
    for (std::sregex_iterator i(c.out.begin(), c.out.end(), worker), end; i != end; ++i)
      workers.insert((*i)[1].str());
    return workers.size();
  };
  constexpr size_t kUsers = 6, kMostUsers = 40;
  std::vector<std::unique_ptr<Terminal>> users;
  while (users.size() < kUsers || (users.size() < kMostUsers && workers_in_use() < 2)) {
    const std::string id = std::to_string(users.size() + 1);
    const std::string token = dir.file("t" + id);
    CmdResult t =
        run_cmd({client, "token", "127.0.0.1", std::to_string(port), "--key", dir.file("key.hex"),
                 "--protocol-id", "4660", "--client-id", id, "--token", token});
    ASSERT_TRUE(t.ok()) << t.out << t.err;
    users.push_back(std::make_unique<Terminal>(std::vector<std::string>{
        client, "chat", "127.0.0.1", std::to_string(port), "--token", token, "--room", "lobby"}));
    ASSERT_TRUE(users.back()->started());
    ASSERT_TRUE(users.back()->wait_for("* joined lobby")) << users.back()->out();
  }
  ASSERT_EQ(workers_in_use(), 2u) << users.size() << " clients, all on one worker";
  const size_t n = users.size();
  for (size_t u = 1; u <= n; ++u) users[u - 1]->type("line from " + std::to_string(u) + "\n");
  for (size_t u = 1; u <= n; ++u) {
    for (size_t from = 1; from <= n; ++from) {
      const std::string line = "[" + std::to_string(from) + "] line from " + std::to_string(from);
      EXPECT_TRUE(users[u - 1]->wait_for(line)) << "user " << u << "\n" << users[u - 1]->out();
    }
  }
  for (auto& t : users) t->type("\x04");
  for (auto& t : users) EXPECT_EQ(t->wait_exit(), 0) << t->out();
  ASSERT_TRUE(udpd->kill(SIGTERM));
  ASSERT_TRUE(udpd->wait_for(10000ms).has_value());
  const std::string out = udpd->out();
  EXPECT_NE(out.find("rooms: rooms 0 published " + std::to_string(n) + " delivered " +
                     std::to_string(n * n)),
            std::string::npos)
      << out;
  std::smatch across;
  ASSERT_TRUE(
      std::regex_search(out, across, std::regex("sent_across (\\d+) received_across (\\d+)")))
      << out;
  EXPECT_GT(std::stoull(across[1]), 0u) << "with members on both workers, lines cross over";
  EXPECT_EQ(across[1], across[2]) << "every publication sent to the other worker was read there";
  std::printf("rooms across the two workers (%zu clients): %s\n", n, across[0].str().c_str());
}

}  // namespace
}  // namespace bypass::it
