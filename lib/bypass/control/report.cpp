#include <bypass/control/report.hpp>

#include <fmt/format.h>
#include <rte_cycles.h>

#include <algorithm>
#include <cstdio>

namespace bypass {

std::string rate_line(const StatsSnapshot& prev, const StatsSnapshot& now) {
  double dt = static_cast<double>(now.tsc - prev.tsc) / static_cast<double>(now.hz ? now.hz : 1);
  if (dt <= 0) dt = 1;
  const CounterTotals a = prev.totals(), b = now.totals();
  auto rate = [&](uint64_t x, uint64_t y) { return static_cast<double>(y - x) / dt; };
  uint64_t imissed = 0, nombuf = 0;
  for (const auto& p : now.ports) {
    imissed += p.s.imissed;
    nombuf += p.s.rx_nombuf;
  }
  return fmt::format(
      "[{:6.1f}s] rx {:7.3f} Mpps  tx {:7.3f} Mpps  {:7.3f} Gbit/s  dropped {}  imissed {}  "
      "rx_nombuf {}",
      now.seconds, rate(a.rx_packets, b.rx_packets) / 1e6, rate(a.tx_packets, b.tx_packets) / 1e6,
      rate(a.tx_bytes, b.tx_bytes) * 8 / 1e9, b.dropped(), imissed, nombuf);
}

namespace {

// The modules of every worker summed by instance name, in first-seen order.
std::string module_lines(const StatsSnapshot& s) {
  std::vector<StatsSnapshot::ModuleStat> sums;
  for (const auto& m : s.modules) {
    auto it =
        std::find_if(sums.begin(), sums.end(), [&](const auto& x) { return x.name == m.name; });
    if (it == sums.end()) {
      sums.push_back(m);
      continue;
    }
    it->calls += m.calls;
    it->packets += m.packets;
    it->cycles += m.cycles;
    it->child_cycles += m.child_cycles;
    it->profiled_packets += m.profiled_packets;
    it->add_drops(m.drops);
  }
  std::string out;
  for (const auto& m : sums) {
    std::string why;
    for (const auto& [reason, k] : m.drops)
      why += fmt::format("{}{} {}", why.empty() ? " (" : ", ", reason, k);
    if (!why.empty()) why += ")";
    const double cpp = m.cycles_per_packet();
    out += fmt::format("  module {}: in {} dropped {}{} cycles/packet {}\n", m.name, m.packets,
                       m.dropped(), why, cpp < 0 ? std::string("-") : fmt::format("{:.1f}", cpp));
  }
  return out;
}

}  // namespace

std::string final_report(const StatsSnapshot& s) {
  std::string out = "final stats\n";
  const double ticks = s.seconds * static_cast<double>(s.hz);
  for (const auto& ws : s.workers) {
    const CounterTotals& w = ws.c;
    out += fmt::format(
        "  worker {}: rx {} tx {} dropped {} polls {} busy {:.1f}% of polls, {:.1f}% of the "
        "time, {:.1f} cycles/packet\n",
        ws.index + 1, w.rx_packets, w.tx_packets, w.dropped(), w.polls,
        w.polls ? 100.0 * static_cast<double>(w.busy_polls) / static_cast<double>(w.polls) : 0.0,
        ticks > 0 ? 100.0 * static_cast<double>(w.busy_cycles) / ticks : 0.0,
        w.rx_packets ? static_cast<double>(w.busy_cycles) / static_cast<double>(w.rx_packets)
                     : 0.0);
  }
  const CounterTotals t = s.totals();
  const double secs = s.seconds > 0 ? s.seconds : 1;
  out += fmt::format("  total: rx {} tx {} dropped {} in {:.2f}s ({:.3f} Mpps out)\n", t.rx_packets,
                     t.tx_packets, t.dropped(), s.seconds,
                     static_cast<double>(t.tx_packets) / secs / 1e6);
  for (const auto& [reason, k] : s.drops_by_reason())
    out += fmt::format("  drop {}: {}\n", reason, k);
  for (const auto& p : s.ports)
    out += fmt::format(
        "  port {}: link {} rx {} tx {} imissed {} rx_nombuf {} ierrors {} oerrors {}\n", p.name,
        p.link.up ? "up" : "down", p.s.ipackets, p.s.opackets, p.s.imissed, p.s.rx_nombuf,
        p.s.ierrors, p.s.oerrors);
  return out + module_lines(s);
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

std::string drain_fault_reports(const PortSet& ports) {
  std::string out;
  for (size_t i = 0; i < ports.size(); ++i)
    if (FaultyPort* fp = ports.faults(i)) {
      fp->drain();
      out += fault_report(ports.ports()[i]->name(), *fp);
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
