#include <bypass/control/report.hpp>

#include <fmt/format.h>
#include <rte_cycles.h>

#include <cstdio>

namespace bypass {

std::string rate_line(double seconds, const Snapshot& prev, const Snapshot& now, uint64_t hz,
                      const std::vector<Port*>& ports) {
  double dt = static_cast<double>(now.tsc - prev.tsc) / static_cast<double>(hz);
  if (dt <= 0) dt = 1;
  auto rate = [&](uint64_t a, uint64_t b) { return static_cast<double>(b - a) / dt; };
  uint64_t imissed = 0, nombuf = 0;
  for (Port* p : ports) {
    PortStats s = p->stats();
    imissed += s.imissed;
    nombuf += s.rx_nombuf;
  }
  return fmt::format(
      "[{:6.1f}s] rx {:7.3f} Mpps  tx {:7.3f} Mpps  {:7.3f} Gbit/s  dropped {}  imissed {}  "
      "rx_nombuf {}",
      seconds, rate(prev.totals.rx_packets, now.totals.rx_packets) / 1e6,
      rate(prev.totals.tx_packets, now.totals.tx_packets) / 1e6,
      rate(prev.totals.tx_bytes, now.totals.tx_bytes) * 8 / 1e9, now.totals.dropped(), imissed,
      nombuf);
}

std::string final_report(const std::vector<const WorkerCounters*>& workers,
                         const std::vector<Port*>& ports, double seconds) {
  CounterTotals t;
  std::string out = "final stats\n";
  for (size_t i = 0; i < workers.size(); ++i) {
    CounterTotals w;
    w.add(*workers[i]);
    t.add(*workers[i]);
    const double ticks = seconds * static_cast<double>(rte_get_tsc_hz());
    out += fmt::format(
        "  worker {}: rx {} tx {} dropped {} polls {} busy {:.1f}% of polls, {:.1f}% of the "
        "time, {:.1f} cycles/packet\n",
        i + 1, w.rx_packets, w.tx_packets, w.dropped(), w.polls,
        w.polls ? 100.0 * static_cast<double>(w.busy_polls) / static_cast<double>(w.polls) : 0.0,
        ticks > 0 ? 100.0 * static_cast<double>(w.busy_cycles) / ticks : 0.0,
        w.rx_packets ? static_cast<double>(w.busy_cycles) / static_cast<double>(w.rx_packets)
                     : 0.0);
  }
  double secs = seconds > 0 ? seconds : 1;
  out += fmt::format("  total: rx {} tx {} dropped {} in {:.2f}s ({:.3f} Mpps out)\n", t.rx_packets,
                     t.tx_packets, t.dropped(), seconds,
                     static_cast<double>(t.tx_packets) / secs / 1e6);
  for (size_t r = 0; r < kDropReasonCount; ++r)
    if (t.drops[r])
      out +=
          fmt::format("  drop {}: {}\n", drop_reason_name(static_cast<DropReason>(r)), t.drops[r]);
  for (Port* p : ports) {
    PortStats s = p->stats();
    LinkStatus l = p->link();
    out += fmt::format(
        "  port {}: link {} rx {} tx {} imissed {} rx_nombuf {} ierrors {} oerrors {}\n", p->name(),
        l.up ? "up" : "down", s.ipackets, s.opackets, s.imissed, s.rx_nombuf, s.ierrors, s.oerrors);
  }
  return out;
}

std::string fault_report(const std::string& port, const FaultyPort& f) {
  FaultCounters c = f.counters();
  std::string out;
  for (auto [dir, k] : {std::pair<const char*, const FaultCounts*>{"rx", &c.rx}, {"tx", &c.tx}}) {
    out += fmt::format("  faults {} {}:", port, dir);
#define BYPASS_X(name) out += fmt::format(" " #name " {}", k->name);
    BYPASS_FAULT_COUNTS(BYPASS_X)
#undef BYPASS_X
    out += "\n";
  }
  return out;
}

unsigned print_exit_check(unsigned in_use, unsigned kept) {
  unsigned leaked = in_use > kept ? in_use - kept : 0;
  if (kept)
    std::printf(
        "  (net_af_xdp keeps %u mbufs of its fill ring after close, a DPDK 22.11 driver limit; %u "
        "were out)\n",
        kept, in_use);
  std::printf("mbufs in use at exit: %u\n", leaked);
  std::fflush(stdout);
  return leaked;
}

}  // namespace bypass
