#include <bypass/core/worker.hpp>

#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <time.h>

#include <spdlog/spdlog.h>

#include <thread>

#include <bypass/core/eal.hpp>
#include <bypass/core/sandbox.hpp>

namespace bypass {

static_assert(kCacheLineBytes == RTE_CACHE_LINE_SIZE,
              "counter blocks must be aligned to DPDK's cache line");

Worker::Worker(unsigned index, const WorkerConfig& cfg, Clock* clock)
    : index_(index), cfg_(cfg), clock_(clock ? clock : &tsc_) {
  timers_.set_resolution(clock_->hz() / 10000);
}

void Worker::idle() {
  switch (cfg_.idle) {
    case IdleMode::kBusy:
      break;
    case IdleMode::kPause:
      for (int i = 0; i < 16; ++i) rte_pause();
      break;
    case IdleMode::kSleep: {
      // Whole seconds apart: tv_nsec must stay under 10^9 (1 s made nanosleep fail).
      timespec ts{static_cast<time_t>(cfg_.idle_sleep_us / 1000000),
                  static_cast<long>(cfg_.idle_sleep_us % 1000000) * 1000};
      nanosleep(&ts, nullptr);
      break;
    }
  }
}

// On the worker: nothing here allocates or frees. The old pollers' storage
// stays in next_pollers_ and at_swap_ keeps its callable until the control
// thread, which made them, replaces or drops them (swap_pollers).
void Worker::take_swap() {
  if (at_swap_) at_swap_(*this);
  pollers_.swap(next_pollers_);
  next_pollers_.clear();
  swap_pending_.store(false, std::memory_order_release);
}

void Worker::swap_pollers(std::vector<Poller*> pollers, std::function<void(Worker&)> at_swap) {
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    next_pollers_ = std::move(pollers);
    at_swap_ = std::move(at_swap);
    if (!running_) {
      swap_pending_.store(true, std::memory_order_relaxed);
      take_swap();
      at_swap_ = nullptr;
      return;
    }
    swap_pending_.store(true, std::memory_order_release);
  }
  // The worker takes it at its next iteration, or as run() ends.
  while (swap_pending_.load(std::memory_order_acquire)) std::this_thread::yield();
  std::lock_guard<std::mutex> lock(run_mutex_);
  at_swap_ = nullptr;  // freed here, not on the worker
}

uint64_t Worker::run(const std::atomic<bool>& stop) {
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    running_ = true;
  }
  uint64_t iterations = 0;
  bool busy = false;
  while (!stop.load(std::memory_order_relaxed)) {
    if (swap_pending_.load(std::memory_order_acquire)) [[unlikely]]
      take_swap();
    // The TSC read that starts an iteration also ends the one before: a busy
    // iteration's cycles (the cost per packet the final report prints, as
    // testpmd's --record-core-cycles counts it) need no read of their own.
    const uint64_t t = clock_->now();
    if (busy && t > now_) counters_.busy_cycles.add(t - now_);  // a manual clock may go back
    now_ = t;
    profiling_ = (iterations & 15) == 0;
    busy = timers_.run(*this, t) > 0;
    for (Poller* p : pollers_) busy |= p->poll(*this);
    ++iterations;
    counters_.polls.add();
    if (busy) {
      counters_.busy_polls.add();
    } else {
      idle();
    }
  }
  if (const uint64_t t = clock_->now(); busy && t > now_) counters_.busy_cycles.add(t - now_);
  {
    std::lock_guard<std::mutex> lock(run_mutex_);
    if (swap_pending_.load(std::memory_order_acquire)) take_swap();
    running_ = false;
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
  if (a->w->config().seccomp) {
    if (Status s = confine_worker_thread(); !s)
      spdlog::error("worker {}: {}", a->w->index() + 1, s.message());
  }
  a->w->run(*a->stop);
  delete a;
  return 0;
}
}  // namespace

unsigned WorkerGroup::lcore_of(size_t i) const {
  const int l = workers_[i]->config().lcore;
  return l >= 0 ? static_cast<unsigned>(l) : Eal::worker_lcore(i);
}

Status WorkerGroup::launch() {
  stop_.store(false);
  for (size_t i = 0; i < workers_.size(); ++i) {
    const unsigned lcore = lcore_of(i);
    if (!rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore()) {
      stop();  // the ones already launched
      return Status::error(
          "worker " + std::to_string(i + 1) + " has no EAL lcore of its own (lcore " +
          std::to_string(lcore) +
          "): start EAL from the same config, or give it an enabled worker lcore.");
    }
    auto* arg = new LaunchArg{workers_[i], &stop_};
    if (rte_eal_remote_launch(worker_main, arg, lcore) != 0) {
      delete arg;
      stop();  // the ones already launched (not this lcore: it runs something else)
      return Status::error("worker " + std::to_string(i + 1) +
                           " could not start: its lcore is busy.");
    }
    ++launched_;
  }
  return Status::ok();
}

void WorkerGroup::stop() {
  if (!launched_) return;
  stop_.store(true);
  for (size_t i = 0; i < launched_; ++i) rte_eal_wait_lcore(lcore_of(i));
  launched_ = 0;
}

CounterTotals WorkerGroup::totals() const {
  CounterTotals t;
  for (const Worker* w : workers_) t.add(w->counters());
  return t;
}

}  // namespace bypass
