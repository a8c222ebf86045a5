#include <bypass/udpd/sockets.hpp>

#include <bypass/udpd/server.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <bypass/control/control_plane.hpp>
#include <bypass/control/stats.hpp>
#include <bypass/core/sandbox.hpp>
#include <bypass/core/signals.hpp>
#include <bypass/udp/socket_backend.hpp>

namespace bypass::udpd {
namespace {

// The stats snapshot of the sockets backend: a worker per thread (datagrams
// as packets), the backend's counters, and its drops by reason under a
// module named "sockets" (there is no graph), so that --stats-json has the
// schema of the DPDK backend's.
StatsSnapshot sockets_snapshot(const SocketBackend& b, const std::vector<unsigned>& cpus,
                               double secs) {
  StatsSnapshot s;
  s.seconds = secs;
  s.unix_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (size_t w = 0; w < b.worker_count(); ++w) {
    const SocketStats ws = b.worker_stats(w);
    StatsSnapshot::WorkerStat st;
    st.index = static_cast<unsigned>(w);
    st.cpu = cpus[w];
    st.c.rx_packets = ws.rx_datagrams;
    st.c.rx_bytes = ws.rx_bytes;
    st.c.tx_packets = ws.tx_datagrams;
    st.c.tx_bytes = ws.tx_bytes;
    st.c.drops = ws.send_errors + ws.truncated + ws.kernel_dropped + ws.martian + ws.to_broadcast;
    s.workers.push_back(st);
    StatsSnapshot::ModuleStat m;
    m.name = "sockets";
    m.worker = st.index;
    m.packets = ws.rx_datagrams;
    if (ws.send_errors) m.drops.emplace_back("send_error", ws.send_errors);
    if (ws.truncated) m.drops.emplace_back("truncated", ws.truncated);
    if (ws.kernel_dropped) m.drops.emplace_back("kernel_dropped", ws.kernel_dropped);
    if (ws.martian) m.drops.emplace_back("martian", ws.martian);
    if (ws.to_broadcast) m.drops.emplace_back("to_broadcast", ws.to_broadcast);
    s.modules.push_back(std::move(m));
  }
  const SocketStats t = b.stats();
  s.counters = {{"udp.datagrams", t.rx_datagrams},         {"udp.replies", t.replies},
                {"udp.further_datagrams", t.outbox_sends}, {"udp.send_errors", t.send_errors},
                {"udp.recv_errors", t.recv_errors},        {"udp.truncated", t.truncated},
                {"udp.kernel_dropped", t.kernel_dropped},  {"udp.martian", t.martian},
                {"udp.to_broadcast", t.to_broadcast}};
  std::vector<std::pair<std::string, uint64_t>> own;
  b.handler_counters(own);
  sum_by_name(own, s.counters);
  return s;
}

}  // namespace

int run_sockets(const Config& c, const UdpdOptions& o, const SystemFacts& sys, double duration,
                bool quiet, bool check_only, const std::string& stats_json_path) {
  auto fail = [](const std::string& m) {
    std::fprintf(stderr, "bypass-udpd: %s\n", m.c_str());
    return 2;
  };
  if (c.workers.empty())
    return fail("the config names no workers: add a [[worker]] with the cpu it runs on.");
  if (!c.modules.empty())
    return fail("[[module]] '" + c.modules.front().name +
                "' needs packets, and the sockets backend has only datagrams: remove the "
                "[[module]] tables or set [udpd] backend = \"dpdk\".");
  if (!c.handoffs.empty())
    return fail("[[handoff]] before \"" + c.handoffs.front().before +
                "\" moves part of a packet graph, and the sockets backend has none: remove the "
                "[[handoff]] tables or set [udpd] backend = \"dpdk\".");
  std::vector<unsigned> cpus;
  for (size_t i = 0; i < c.workers.size(); ++i) {
    unsigned cpu = c.workers[i].cpu;
    if (std::find(sys.allowed_cpus.begin(), sys.allowed_cpus.end(), cpu) == sys.allowed_cpus.end())
      return fail("worker " + std::to_string(i + 1) + " is on CPU " + std::to_string(cpu) +
                  ", which this process may not use (its CPU set is " +
                  format_cpus(sys.allowed_cpus) + "): set its cpu to one of those.");
    cpus.push_back(cpu);
  }
  if (check_only) {
    std::printf("config ok\n");
    return 0;
  }
  // Workers run under seccomp as DPDK's do; every thread started from here
  // on allocates from the main arena (core/sandbox.hpp says why).
  if (c.eal.worker_seccomp) prepare_allocator_for_workers();
  std::FILE* json = nullptr;
  if (!stats_json_path.empty() && !(json = std::fopen(stats_json_path.c_str(), "w")))
    return fail("cannot write the stats file '" + stats_json_path +
                "': check that its directory exists and is writable.");
  auto control = ControlServer::open(c.control, "bypass-udpd");
  if (!control) {
    if (json) std::fclose(json);
    return fail(control.error());
  }
  StopSignals signals;
  SocketBackendOptions so;
  so.socket_buffer = static_cast<int>(o.socket_buffer_kib) * 1024;
  so.seccomp = c.eal.worker_seccomp;
  SocketBackend backend(o.services, o.bind, cpus, so,
                        [&o](const ServiceConfig& s) -> std::unique_ptr<DatagramHandler> {
                          auto h = make_service_handler(s, o.added);
                          if (h) return std::move(*h);
                          spdlog::error("{}",
                                        h.error());  // the backend stops with its own sentence
                          return nullptr;
                        });
  auto write = [&](double secs, bool final) {
    if (!json) return;
    std::fprintf(json, "%s\n", stats_json(sockets_snapshot(backend, cpus, secs), final).c_str());
    std::fflush(json);
  };
  if (Status s = backend.start(); !s) {
    if (json) std::fclose(json);
    return fail(s.message());
  }
  if (backend.receive_buffer() < so.socket_buffer)
    spdlog::warn(
        "the kernel gave each socket a receive buffer of {} KiB, not the {} KiB of [udpd] "
        "socket_buffer_kib: without CAP_NET_ADMIN net.core.rmem_max caps it; run with "
        "CAP_NET_ADMIN or raise it (sysctl -w net.core.rmem_max={}), or bursts past it are "
        "dropped (kernel_dropped)",
        backend.receive_buffer() / 1024, o.socket_buffer_kib, so.socket_buffer);
  std::string addrs, svcs;
  for (const auto& a : o.bind) addrs += " " + a.str();
  for (const auto& s : o.services) svcs += " " + std::to_string(s.port) + "/" + s.handler;
  spdlog::info("serving UDP{} on{} with {} worker(s) (Linux sockets)", svcs, addrs, cpus.size());
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto since = [&start] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  (*control)->add_view("conns", "the open connections, paged (--offset, --limit)",
                       [&backend](const CommandRequest& r) {
                         std::vector<ConnectionRow> rows;
                         backend.connections(rows);
                         return conns_reply(std::move(rows), r);
                       });
  ControlPlane plane(**control, "bypass-udpd",
                     [&] { return sockets_snapshot(backend, cpus, since()); });
  SocketStats prev = backend.stats();
  bool told_dropped = false;  // the kernel's drops and their fix are said once
  auto last = start;
  auto last_json = start;
  int sig = 0;
  while (true) {
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (duration > 0 && elapsed >= duration) break;
    double left = duration > 0 ? std::min(1.0, duration - elapsed) : 1.0;
    (*control)->serve(signals.fd(), std::chrono::milliseconds(static_cast<long>(left * 1000) + 1));
    if ((sig = signals.wait(std::chrono::milliseconds(0))) == SIGHUP) {
      spdlog::warn("SIGHUP: live reload is for the DPDK backend only; nothing changed");
      sig = 0;
    } else if (sig != 0) {
      break;
    }
    auto now = Clock::now();
    if (!told_dropped) {
      if (uint64_t d = backend.stats().kernel_dropped; d > 0) {
        spdlog::warn(
            "the kernel dropped {} datagrams at a worker's socket (counted as kernel_dropped): "
            "if `nstat -az UdpRcvbufErrors` grew, its receive buffer was full: raise [udpd] "
            "socket_buffer_kib (now {}) or add workers (UdpInCsumErrors counts bad checksums)",
            d, o.socket_buffer_kib);
        told_dropped = true;
      }
    }
    if (std::chrono::duration<double>(now - last_json).count() >= 1.0) {
      write(std::chrono::duration<double>(now - start).count(), false);
      plane.tick(sockets_snapshot(backend, cpus, since()));
      last_json = now;
    }
    double dt = std::chrono::duration<double>(now - last).count();
    if (!quiet && dt >= 0.5) {
      SocketStats s = backend.stats();
      std::printf(
          "[%6.1fs] rx %7.3f Mpps  tx %7.3f Mpps  send errors %llu  truncated %llu  kernel "
          "dropped %llu\n",
          std::chrono::duration<double>(now - start).count(),
          static_cast<double>(s.rx_datagrams - prev.rx_datagrams) / dt / 1e6,
          static_cast<double>(s.tx_datagrams - prev.tx_datagrams) / dt / 1e6,
          static_cast<unsigned long long>(s.send_errors),
          static_cast<unsigned long long>(s.truncated),
          static_cast<unsigned long long>(s.kernel_dropped));
      std::fflush(stdout);
      prev = s;
      last = now;
    }
  }
  if (sig) spdlog::info("signal {} received: stopping", sig);
  backend.stop();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  SocketStats s = backend.stats();
  std::printf(
      "%s",
      fmt::format(
          "final stats\n  total: rx {} tx {} in {:.2f}s ({:.3f} Mpps out)\n"
          "  udp: datagrams {} replies {} further datagrams {} send errors {} recv errors {} "
          "truncated {} kernel dropped {} martian {} to broadcast {}\n",
          s.rx_datagrams, s.tx_datagrams, secs, static_cast<double>(s.tx_datagrams) / secs / 1e6,
          s.rx_datagrams, s.replies, s.outbox_sends, s.send_errors, s.recv_errors, s.truncated,
          s.kernel_dropped, s.martian, s.to_broadcast)
          .c_str());
  std::vector<std::pair<std::string, uint64_t>> own, summed;
  backend.handler_counters(own);
  sum_by_name(own, summed);
  std::printf("%s", handler_lines(summed).c_str());
  for (size_t w = 0; w < backend.worker_count(); ++w) {
    SocketStats ws = backend.worker_stats(w);
    std::printf("  worker %zu: rx %llu tx %llu\n", w + 1,
                static_cast<unsigned long long>(ws.rx_datagrams),
                static_cast<unsigned long long>(ws.tx_datagrams));
  }
  std::fflush(stdout);
  write(secs, true);
  if (json) std::fclose(json);
  return 0;
}

}  // namespace bypass::udpd
