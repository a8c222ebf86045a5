// Workers run under seccomp: a stand-in worker thread that makes a forbidden
// call kills the whole process with SIGSYS, while what the fast path calls
// goes through and other threads are not confined. That real workers carry
// the filter is checked in udpd_veth (/proc shows it on the worker thread only).
#include <gtest/gtest.h>

#include <csignal>

#include "harness.hpp"

namespace bypass::it {
namespace {

using namespace std::chrono_literals;

CmdResult probe(const std::string& what) {
  return run_cmd({env_path("BYPASS_SECCOMP_PROBE"), what}, 20000ms);
}

TEST(Seccomp, AllowedCallsGoThrough) {
  CmdResult r = probe("allowed");
  EXPECT_TRUE(r.ok()) << r.describe("probe") << r.out << r.err;
  EXPECT_EQ(r.out, "worker ok\n");
}

// Confined a second time, the thread still makes its allowed calls, and a
// forbidden one still kills the process.
TEST(Seccomp, ConfiningTwiceIsANoOp) {
  CmdResult r = probe("twice");
  EXPECT_TRUE(r.ok()) << r.describe("probe") << r.out << r.err;
  EXPECT_EQ(r.out, "worker ok\n");
  CmdResult s = probe("twice_socket");
  EXPECT_FALSE(s.status.exited) << s.out;
  EXPECT_EQ(s.status.signal, SIGSYS) << s.status.describe();
  EXPECT_EQ(s.out, "") << "the call returned instead of killing";
}

TEST(Seccomp, AForbiddenCallOnAWorkerKillsTheProcess) {
  for (const char* what : {"socket", "open", "exec", "exec_map"}) {
    CmdResult r = probe(what);
    EXPECT_FALSE(r.status.exited) << what << ": " << r.out;
    EXPECT_EQ(r.status.signal, SIGSYS) << what << ": " << r.status.describe();
    EXPECT_EQ(r.out, "") << what << ": the call returned instead of killing";
  }
}

}  // namespace
}  // namespace bypass::it
