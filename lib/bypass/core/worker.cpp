#include <bypass/core/worker.hpp>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <time.h>

#include <bypass/core/eal.hpp>

namespace bypass {

Worker::Worker(unsigned index, const WorkerConfig& cfg) : index_(index), cfg_(cfg) {}

void Worker::idle() {
  switch (cfg_.idle) {
    case IdleMode::kBusy:
      break;
    case IdleMode::kPause:
      for (int i = 0; i < 16; ++i) rte_pause();
      break;
    case IdleMode::kSleep: {
      timespec ts{0, static_cast<long>(cfg_.idle_sleep_us) * 1000};
      nanosleep(&ts, nullptr);
      break;
    }
  }
}

uint64_t Worker::run(const std::atomic<bool>& stop) {
  uint64_t iterations = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    now_ = clock_.now();
    bool did = false;
    for (Poller* p : pollers_) did |= p->poll(*this);
    ++iterations;
    counters_.polls.add();
    if (did) {
      counters_.busy_polls.add();
      // One TSC read per busy iteration (none when idle): the cost per
      // packet the final report prints, measured as testpmd's
      // --record-core-cycles does.
      counters_.busy_cycles.add(clock_.now() - now_);
    } else {
      idle();
    }
  }
  for (Poller* p : pollers_) p->finish(*this);
  return iterations;
}

namespace {
struct LaunchArg {
  Worker* w;
  const std::atomic<bool>* stop;
};
int worker_main(void* arg) {
  auto* a = static_cast<LaunchArg*>(arg);
  a->w->run(*a->stop);
  delete a;
  return 0;
}
}  // namespace

Status WorkerGroup::launch() {
  stop_.store(false);
  for (size_t i = 0; i < workers_.size(); ++i) {
    unsigned lcore = Eal::worker_lcore(i);
    if (!rte_lcore_is_enabled(lcore))
      return Status::error("worker " + std::to_string(i + 1) +
                           " has no EAL lcore: start EAL from the same config.");
    auto* arg = new LaunchArg{workers_[i], &stop_};
    if (rte_eal_remote_launch(worker_main, arg, lcore) != 0) {
      delete arg;
      stop();
      return Status::error("worker " + std::to_string(i + 1) +
                           " could not start: its lcore is busy.");
    }
    launched_ = true;
  }
  return Status::ok();
}

void WorkerGroup::stop() {
  if (!launched_) return;
  stop_.store(true);
  for (size_t i = 0; i < workers_.size(); ++i) rte_eal_wait_lcore(Eal::worker_lcore(i));
  launched_ = false;
}

CounterTotals WorkerGroup::totals() const {
  CounterTotals t;
  for (const Worker* w : workers_) t.add(w->counters());
  return t;
}

}  // namespace bypass
