// Runtime::attach on the EAL the test process already runs (lcores 1-3 are
// its workers): each mistake in what the program asks is one sentence, and
// a good attach opens the ports on the program's lcores without taking its
// signals or confining its workers, and stops on request_stop().
#include <gtest/gtest.h>

#include <csignal>

#include <bypass/control/runtime.hpp>

#include "eal_env.hpp"

namespace bypass {
namespace {

Config two_workers() {
  auto c = parse_config(
      "[[port]]\nname = \"n\"\ndevice = \"net_null_attach\"\n[[worker]]\ncpu = 1\n"
      "[[worker]]\ncpu = 1\n[memory]\npool_size = 1023\n");
  EXPECT_TRUE(c) << c.error();
  return *c;
}

std::string refusal(Config c, const Runtime::Embedding& e) {
  auto rt = Runtime::attach(c, "attach_test", e);
  return rt ? "" : rt.error();
}

TEST(RuntimeAttach, EachMistakeIsOneSentence) {
  Runtime::Embedding e;
  e.lcores = {1};
  EXPECT_EQ(refusal(two_workers(), e),
            "the embedding names 1 lcores for 2 workers: give one lcore per [[worker]].");
  e.lcores = {1, 1};
  EXPECT_EQ(refusal(two_workers(), e), "workers 1 and 2 are both on lcore 1: give each its own.");
  e.lcores = {rte_get_main_lcore(), 1};
  EXPECT_NE(refusal(two_workers(), e)
                .find("worker 1 needs an lcore of the program's EAL other "
                      "than the main one"),
            std::string::npos);
  e.lcores = {1, 2};
  e.signals = true;  // this process did not block them before rte_eal_init()
  EXPECT_NE(refusal(two_workers(), e)
                .find("Embedding::signals needs SIGINT, SIGTERM and SIGHUP "
                      "blocked before rte_eal_init()"),
            std::string::npos);
}

TEST(RuntimeAttach, OpensThePortsOnTheProgramsLcoresAndLeavesItsSignalsAlone) {
  Config c = two_workers();
  Runtime::Embedding e;
  e.lcores = {2, 3};
  auto rt = Runtime::attach(c, "attach_test", e);
  ASSERT_TRUE(rt) << rt.error();
  EXPECT_EQ((*rt)->ports().ports().size(), 1u);
  EXPECT_EQ(c.workers[0].lcore, 2);
  EXPECT_EQ(c.workers[1].lcore, 3);
  EXPECT_FALSE(c.workers[0].seccomp);
  EXPECT_FALSE((*rt)->signals().handles_signals());
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
  EXPECT_EQ((*rt)->signals().wait(std::chrono::milliseconds(0)), 0);
  (*rt)->signals().request_stop();
  EXPECT_EQ((*rt)->signals().wait(std::chrono::milliseconds(0)), StopSignals::kRequested);
  EXPECT_EQ((*rt)->finish(), 0u);
}

}  // namespace
}  // namespace bypass
