// What the bypass-udpd command-line tests share (udpd_cli_test.cpp,
// udpd_netcode_test.cpp, udpd_chat_test.cpp): a UDP port per test of this
// process, and bypass-udpd started with a netcode service on the sockets
// backend.
#pragma once

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "harness.hpp"

namespace bypass::it {

using namespace std::chrono_literals;

// Port k (0..19) of this test process: distinct per process, so runs in
// parallel do not meet; below the kernel's ephemeral ports (32768 on), so a
// client socket elsewhere never holds one.
inline uint16_t test_port(int k) {
  return static_cast<uint16_t>(10000 + (getpid() % 20000) + k);
}

// bypass-udpd on the sockets backend (loopback) with one netcode service on
// `port`, its key in dir/key.hex; `extra` ends the service's table; `bind`
// is the [udpd] bind list's inside; `flags` are added to its command line.
inline void start_sockets_netcode(TempDir& dir, uint16_t port, const std::string& extra,
                                  std::unique_ptr<Child>* udpd,
                                  const std::string& bind = "\"127.0.0.1\"",
                                  const std::vector<std::string>& flags = {}) {
  CpuPlan cpus = plan_cpus();
  std::ofstream(dir.file("key.hex"))
      << "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff\n";
  std::ofstream(dir.file("udpd.toml"))
      << "[[worker]]\ncpu = " << cpus.worker << "\n[udpd]\nbackend = \"sockets\"\nbind = [" << bind
      << "]\n"
      << "[[udpd.service]]\nport = " << port << "\nhandler = \"netcode\"\nprotocol_id = 4660\n"
      << "private_key_file = \"" << dir.file("key.hex") << "\"\n"
      << extra;
  std::string err;
  std::vector<std::string> argv = {
      env_path("BYPASS_UDPD"), "-c", dir.file("udpd.toml"), "-q", "-t", "60", "--stats-json",
      dir.file("stats.jsonl")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto child = Child::spawn(argv, dir.path(), &err);
  ASSERT_TRUE(child) << err;
  ASSERT_TRUE(child->wait_for_output("serving UDP", 10000ms)) << child->out() << child->err();
  *udpd = std::move(child);
}

}  // namespace bypass::it
