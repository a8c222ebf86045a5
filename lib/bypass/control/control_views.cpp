#include <bypass/control/control_views.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace bypass {

namespace {

double rate(uint64_t before, uint64_t after, double secs) {
  return after >= before ? static_cast<double>(after - before) / secs : 0.0;
}

const StatsSnapshot::PortStat* find_port(const StatsSnapshot& s, const std::string& name) {
  for (const auto& p : s.ports)
    if (p.name == name) return &p;
  return nullptr;
}

const StatsSnapshot::WorkerStat* find_worker(const StatsSnapshot& s, unsigned index) {
  for (const auto& w : s.workers)
    if (w.index == index) return &w;
  return nullptr;
}

uint64_t drop_count(const StatsSnapshot& s, const std::string& module, unsigned worker,
                    const std::string& reason) {
  for (const auto& m : s.modules)
    if (m.name == module && m.worker == worker)
      for (const auto& [r, n] : m.drops)
        if (r == reason) return n;
  return 0;
}

// Busy share of the worker's time over the window, in percent; -1 if unknown.
double busy_percent(const RateWindow& w, const StatsSnapshot::WorkerStat& now) {
  if (!w.now.hz) return -1;
  const auto* before = find_worker(w.prev, now.index);
  uint64_t b0 = before ? before->c.busy_cycles : 0;
  double span = w.seconds() * static_cast<double>(w.now.hz);
  return span > 0 ? std::min(100.0, 100.0 * rate(b0, now.c.busy_cycles, 1) / span) : -1;
}

std::string mpps(double pps) {
  return fmt::format("{:.3f}", pps / 1e6);
}

}  // namespace

double RateWindow::seconds() const {
  double dt = now.seconds - prev.seconds;
  return dt > 1e-6 ? dt : 1.0;
}

std::string ports_view(const RateWindow& w, bool json) {
  const double dt = w.seconds();
  std::string out =
      json ? "["
           : fmt::format("{:<12} {:>5} {:>14} {:>14} {:>9} {:>9} {:>10} {:>10}\n", "port", "link",
                         "rx", "tx", "rx Mpps", "tx Mpps", "imissed", "rx_nombuf");
  for (size_t i = 0; i < w.now.ports.size(); ++i) {
    const auto& p = w.now.ports[i];
    const auto* b = find_port(w.prev, p.name);
    double rx = rate(b ? b->s.ipackets : 0, p.s.ipackets, dt);
    double tx = rate(b ? b->s.opackets : 0, p.s.opackets, dt);
    if (json) {
      out += fmt::format(
          "{}{{\"name\":{},\"link_up\":{},\"speed_mbps\":{},\"ipackets\":{},\"opackets\":{},"
          "\"ibytes\":{},\"obytes\":{},\"imissed\":{},\"ierrors\":{},\"oerrors\":{},"
          "\"rx_nombuf\":{},\"rx_pps\":{:.1f},\"tx_pps\":{:.1f}}}",
          i ? "," : "", json_quote(p.name), p.link.up ? "true" : "false", p.link.speed_mbps,
          p.s.ipackets, p.s.opackets, p.s.ibytes, p.s.obytes, p.s.imissed, p.s.ierrors, p.s.oerrors,
          p.s.rx_nombuf, rx, tx);
    } else {
      out += fmt::format("{:<12} {:>5} {:>14} {:>14} {:>9} {:>9} {:>10} {:>10}\n", p.name,
                         p.link.up ? "up" : "down", p.s.ipackets, p.s.opackets, mpps(rx), mpps(tx),
                         p.s.imissed, p.s.rx_nombuf);
    }
  }
  return json ? out + "]" : out;
}

std::string workers_view(const RateWindow& w, bool json) {
  const double dt = w.seconds();
  std::string out =
      json ? "["
           : fmt::format("{:<7} {:>4} {:>14} {:>14} {:>9} {:>9} {:>10} {:>6}\n", "worker", "cpu",
                         "rx", "tx", "rx Mpps", "tx Mpps", "dropped", "busy");
  for (size_t i = 0; i < w.now.workers.size(); ++i) {
    const auto& ws = w.now.workers[i];
    const auto* b = find_worker(w.prev, ws.index);
    double rx = rate(b ? b->c.rx_packets : 0, ws.c.rx_packets, dt);
    double tx = rate(b ? b->c.tx_packets : 0, ws.c.tx_packets, dt);
    double busy = busy_percent(w, ws);
    if (json) {
      out += fmt::format(
          "{}{{\"worker\":{},\"cpu\":{},\"rx_packets\":{},\"tx_packets\":{},\"rx_bytes\":{},"
          "\"tx_bytes\":{},\"dropped\":{},\"polls\":{},\"rx_pps\":{:.1f},\"tx_pps\":{:.1f},"
          "\"busy_percent\":{}}}",
          i ? "," : "", ws.index + 1, ws.cpu, ws.c.rx_packets, ws.c.tx_packets, ws.c.rx_bytes,
          ws.c.tx_bytes, ws.c.dropped(), ws.c.polls, rx, tx,
          busy < 0 ? std::string("null") : fmt::format("{:.1f}", busy));
    } else {
      out +=
          fmt::format("{:<7} {:>4} {:>14} {:>14} {:>9} {:>9} {:>10} {:>6}\n", ws.index + 1, ws.cpu,
                      ws.c.rx_packets, ws.c.tx_packets, mpps(rx), mpps(tx), ws.c.dropped(),
                      busy < 0 ? std::string("-") : fmt::format("{:.1f}%", busy));
    }
  }
  return json ? out + "]" : out;
}

std::string drops_view(const RateWindow& w, bool json, size_t offset, size_t limit) {
  const double dt = w.seconds();
  std::string out = json ? "["
                         : fmt::format("{:<20} {:>6} {:<28} {:>14} {:>12}\n", "module", "worker",
                                       "reason", "count", "per second");
  bool first = true;
  size_t row = 0;
  for (const auto& m : w.now.modules)
    for (const auto& [reason, n] : m.drops) {
      if (row++ < offset || row - offset > limit) continue;
      double r = rate(drop_count(w.prev, m.name, m.worker, reason), n, dt);
      if (json) {
        out += fmt::format(
            "{}{{\"module\":{},\"worker\":{},\"reason\":{},\"count\":{},\"per_second\":{:.1f}}}",
            first ? "" : ",", json_quote(m.name), m.worker + 1, json_quote(reason), n, r);
      } else {
        out += fmt::format("{:<20} {:>6} {:<28} {:>14} {:>12.1f}\n", m.name, m.worker + 1, reason,
                           n, r);
      }
      first = false;
    }
  if (!json && first) out += row > 0 ? "(no rows from this offset)\n" : "(nothing dropped)\n";
  if (!json && row > offset && row - offset > limit)
    out += fmt::format("({} more: --offset {})\n", row - offset - limit, offset + limit);
  return json ? out + "]" : out;
}

std::string top_view(const RateWindow& w, const std::string& program, bool json) {
  const double dt = w.seconds();
  const CounterTotals a = w.prev.totals(), b = w.now.totals();
  double rx = rate(a.rx_packets, b.rx_packets, dt), tx = rate(a.tx_packets, b.tx_packets, dt);
  double gbit = rate(a.tx_bytes, b.tx_bytes, dt) * 8 / 1e9;
  double drops = rate(a.dropped(), b.dropped(), dt);
  if (json) {
    std::string hist;
    for (const auto& h : w.now.histograms)
      hist += fmt::format("{}{{\"name\":{},\"unit\":{},\"count\":{},\"p50\":{},\"p99\":{}}}",
                          hist.empty() ? "" : ",", json_quote(h.name), json_quote(h.unit), h.count,
                          h.p50, h.p99);
    return fmt::format(
        "{{\"program\":{},\"seconds\":{:.3f},\"rx_packets\":{},\"tx_packets\":{},"
        "\"dropped\":{},\"rx_pps\":{:.1f},\"tx_pps\":{:.1f},\"tx_gbps\":{:.4f},"
        "\"drops_per_second\":{:.1f},\"ports\":{},\"workers\":{},\"drops\":{},"
        "\"histograms\":[{}]}}",
        json_quote(program), w.now.seconds, b.rx_packets, b.tx_packets, b.dropped(), rx, tx, gbit,
        drops, ports_view(w, true), workers_view(w, true), drops_view(w, true), hist);
  }
  std::string out =
      fmt::format("{} up {:.0f}s   rx {} Mpps   tx {} Mpps   {:.3f} Gbit/s   drops {:.0f}/s\n\n",
                  program, w.now.seconds, mpps(rx), mpps(tx), gbit, drops);
  out += ports_view(w, false) + "\n" + workers_view(w, false) + "\n" + drops_view(w, false);
  for (const auto& [name, v] : w.now.gauges) out += fmt::format("{} {}\n", name, v);
  return out;
}

}  // namespace bypass
