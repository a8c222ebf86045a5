#include <bypass/control/runtime.hpp>

#include <pthread.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>

#include <bypass/control/control_plane.hpp>
#include <bypass/control/report.hpp>
#include <bypass/control/telemetry.hpp>
#include <bypass/core/clock.hpp>
#include <bypass/core/sandbox.hpp>
#include <bypass/io/fault_config.hpp>

namespace bypass {

Status Runtime::check(const Config& c) {
  std::vector<std::string> warnings;
  if (Status s = check_config(c, SystemFacts::read(), &warnings); !s) return s;
  if (Status s = check_port_faults(c); !s) return s;
  for (const auto& w : warnings) spdlog::warn("{}", w);
  return Status::ok();
}

Expected<std::unique_ptr<Runtime>> Runtime::start(const Config& c, const std::string& program) {
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->signals_ = std::make_unique<StopSignals>();  // before EAL: its threads inherit the mask
  auto eal = Eal::start(c, program);
  if (!eal) return eal.status();
  rt->eal_.emplace(std::move(*eal));
  rt->eal_ms_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (Status s = rt->open(c, program); !s) return s;
  return rt;
}

Expected<std::unique_ptr<Runtime>> Runtime::attach(Config& c, const std::string& program,
                                                   const Embedding& e) {
  if (rte_lcore_count() == 0)
    return Status::error(
        "EAL is not running: call rte_eal_init() before Runtime::attach(), or use "
        "Runtime::start().");
  if (!e.lcores.empty() && e.lcores.size() != c.workers.size())
    return Status::error("the embedding names " + std::to_string(e.lcores.size()) + " lcores for " +
                         std::to_string(c.workers.size()) +
                         " workers: give one lcore per [[worker]].");
  for (size_t i = 0; i < c.workers.size(); ++i) {
    WorkerConfig& w = c.workers[i];
    if (!e.lcores.empty()) w.lcore = static_cast<int>(e.lcores[i]);
    w.seccomp = e.seccomp;
    const unsigned l = static_cast<unsigned>(w.lcore);
    if (w.lcore < 0 || !rte_lcore_is_enabled(l) || l == rte_get_main_lcore())
      return Status::error("worker " + std::to_string(i + 1) +
                           " needs an lcore of the program's EAL other than the main one: name it "
                           "in Embedding::lcores (enabled: " +
                           std::to_string(rte_lcore_count()) + " lcores).");
    for (size_t j = 0; j < i; ++j)
      if (c.workers[j].lcore == w.lcore)
        return Status::error("workers " + std::to_string(j + 1) + " and " + std::to_string(i + 1) +
                             " are both on lcore " + std::to_string(l) + ": give each its own.");
  }
  if (e.signals) {  // EAL's threads exist: only a mask they inherited keeps signals off them
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    if (!sigismember(&mask, SIGINT) || !sigismember(&mask, SIGTERM) || !sigismember(&mask, SIGHUP))
      return Status::error(
          "Embedding::signals needs SIGINT, SIGTERM and SIGHUP blocked before rte_eal_init(), so "
          "that EAL's threads inherit the mask: block them first, or leave signals off and call "
          "request_stop().");
  }
  if (e.seccomp) {
    // As Runtime::start() does, as far as it can this late: threads that
    // have allocated already keep their arenas (docs/embedding.md).
    prepare_allocator_for_workers();
    if (Status s = check_worker_filter(); !s) return s;
  }
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->signals_ = std::make_unique<StopSignals>(e.signals ? StopSignals::Handling::kSignals
                                                         : StopSignals::Handling::kManual);
  if (Status s = rt->open(c, program); !s) return s;
  return rt;
}

Status Runtime::open(const Config& c, const std::string& program) {
  using Ms = std::chrono::duration<double, std::milli>;
  auto t = std::chrono::steady_clock::now();
  auto lap = [&t] {
    const auto now = std::chrono::steady_clock::now();
    const double ms = Ms(now - t).count();
    t = now;
    return ms;
  };
  auto pool = PktPool::create(program + "_pool", c.memory);
  if (!pool) return pool.status();
  pool_.emplace(std::move(*pool));
  pool_watch_.emplace(pool_->get());
  const double pool_ms = lap();
  auto ports = PortSet::open(c, pool_->get());
  if (!ports) return ports.status();
  ports_.emplace(std::move(*ports));
  const double ports_ms = lap();
  spdlog::info(
      "start-up: EAL and memory {:.1f} ms, packet pool {:.1f} ms ({} mbufs), ports {:.1f} ms",
      eal_ms_, pool_ms, c.memory.pool_size, ports_ms);
  return Status::ok();
}

unsigned Runtime::finish() {
  if (finished_ || !pool_) return 0;
  finished_ = true;
  unsigned kept = 0;
  if (ports_) {
    ports_->stop();
    kept = ports_->kept_by_drivers();
    ports_.reset();  // closed: descriptors' mbufs are back
  }
  return print_exit_check(pool_->in_use(), kept);
}

Expected<RunResult> run_and_report(const std::vector<Worker*>& workers, const StatsCollector& stats,
                                   StopSignals& signals, double duration,
                                   const ReportOptions& opts) {
  std::FILE* json = nullptr;
  if (!opts.stats_json.empty()) {
    json = std::fopen(opts.stats_json.c_str(), "w");
    if (!json)
      return Status::error("cannot write the stats file '" + opts.stats_json +
                           "': check that its directory exists and is writable.");
  }
  auto write = [&](const StatsSnapshot& s, bool final) {
    if (!json) return;
    std::fprintf(json, "%s\n", stats_json(s, final).c_str());
    std::fflush(json);
  };
  // The program's snapshot, with the pool watch's count when there is one.
  auto take = [&](double secs) {
    StatsSnapshot s = stats.take(secs);
    if (opts.pool_watch) s.counters.emplace_back("pool.empty_looks", opts.pool_watch->empty());
    return s;
  };
  WorkerGroup group(workers);
  StatsSnapshot prev = take(0);
  TscClock clock;
  const uint64_t t0 = clock.now();
  auto elapsed = [&] {
    return static_cast<double>(clock.now() - t0) / static_cast<double>(clock.hz());
  };
  std::optional<ControlPlane> plane;
  if (opts.control) plane.emplace(*opts.control, opts.program, [&] { return take(elapsed()); });
  const bool telemetry = plane && opts.telemetry;
  if (telemetry) telemetry_attach(&*plane);
  if (plane && opts.journal) plane->set_journal(opts.journal);
  struct Detach {
    bool on;
    ~Detach() {
      if (on) telemetry_detach();
    }
  } detach{telemetry};
  std::function<void(int, std::chrono::milliseconds)> serve;
  if (opts.control)
    serve = [&](int fd, std::chrono::milliseconds t) { opts.control->serve(fd, t); };
  auto run = run_until_stopped(
      group, signals, duration,
      [&](double secs) {
        StatsSnapshot now = take(secs);
        if (!opts.quiet) {
          std::printf("%s\n", rate_line(prev, now).c_str());
          std::fflush(stdout);
        }
        write(now, false);
        if (plane) plane->tick(now);
        prev = std::move(now);
      },
      opts.stop_check, serve, opts.on_hangup);
  if (!run) {
    if (json) std::fclose(json);
    return run;
  }
  if (opts.journal) opts.journal->drain();  // what the workers handed over last
  if (opts.after_stop) opts.after_stop();
  if (run->signal == StopSignals::kRequested) spdlog::info("stop requested: stopping");
  if (run->signal > 0) spdlog::info("signal {} received: stopping", run->signal);
  if (!run->stopped.empty()) spdlog::error("{}", run->stopped);
  const StatsSnapshot last = take(run->seconds);
  if (opts.pool_watch && opts.pool_watch->empty() > 0)
    spdlog::warn(
        "the packet pool was empty at {} of {} looks (about one a millisecond per worker): "
        "the ports could not take what arrived meanwhile, and some drivers count none of it; "
        "raise [memory] pool_size ({} now)",
        opts.pool_watch->empty(), opts.pool_watch->looks(), opts.pool_watch->size());
  std::printf("%s", final_report(last).c_str());
  write(last, true);
  if (json) std::fclose(json);
  return run;
}

Expected<RunResult> Runtime::run(const std::vector<Worker*>& workers, const StatsCollector& stats,
                                 double duration, ReportOptions opts) {
  PortSet* ports = ports_ ? &*ports_ : nullptr;
  opts.stop_check = [ports, own = std::move(opts.stop_check)] {
    std::string reset = ports ? ports->reset_sentence() : std::string();
    if (reset.empty() && own) reset = own();
    return reset;
  };
  if (pool_watch_) {
    pool_watch_->arm(workers);  // each run counts from 0
    opts.pool_watch = &*pool_watch_;
  }
  auto run = run_and_report(workers, stats, *signals_, duration, opts);
  if (pool_watch_) pool_watch_->disarm();  // the workers have stopped
  return run;
}

Runtime::~Runtime() {
  pool_watch_.reset();
  ports_.reset();
  pool_.reset();
  eal_.reset();
}

}  // namespace bypass
