#include <bypass/control/prometheus.hpp>

#include <fmt/format.h>

#include <functional>

namespace bypass {

namespace {

// A label value: backslash, quote and newline escaped.
std::string label(const std::string& v) {
  std::string o;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') {
      o += '\\';
      o += ch;
    } else if (ch == '\n') {
      o += "\\n";
    } else {
      o += ch;
    }
  }
  return o;
}

class Writer {
 public:
  void family(const std::string& name, const char* type, const std::string& help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    name_ = name;
  }
  void sample(const std::string& labels, double v) {
    out_ += name_;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += fmt::format(" {}\n", v);
  }
  void sample(const std::string& labels, uint64_t v) {
    out_ += name_;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += fmt::format(" {}\n", v);
  }
  void raw(const std::string& line) { out_ += line; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_, name_;
};

}  // namespace

bool is_level(const std::string& name) {
  static const char* const kLevels[] = {"netcode.connected", "msg.open",        "msg.pool_free",
                                        "rooms.rooms",       "host.neighbours", "fanout.members"};
  for (const char* l : kLevels)
    if (name == l) return true;
  return false;
}

std::string prometheus_name(const std::string& s) {
  std::string o;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_';
    o += ok ? ch : '_';
  }
  return o;
}

std::string prometheus_text(const StatsSnapshot& s, const std::string& program) {
  Writer w;
  w.family("bypass_info", "gauge", "The program serving these metrics (always 1).");
  w.sample(fmt::format("program=\"{}\"", label(program)), uint64_t{1});
  w.family("bypass_uptime_seconds", "gauge", "Seconds since the workers started.");
  w.sample("", s.seconds);

  using PortField = std::function<uint64_t(const PortStats&)>;
  const struct {
    const char* name;
    const char* help;
    PortField get;
  } port_fields[] = {
      {"bypass_rx_packets_total", "Packets a port received.",
       [](const PortStats& p) { return p.ipackets; }},
      {"bypass_tx_packets_total", "Packets a port sent.",
       [](const PortStats& p) { return p.opackets; }},
      {"bypass_rx_bytes_total", "Bytes a port received.",
       [](const PortStats& p) { return p.ibytes; }},
      {"bypass_tx_bytes_total", "Bytes a port sent.", [](const PortStats& p) { return p.obytes; }},
      {"bypass_rx_missed_total", "Packets the device dropped with its RX ring full.",
       [](const PortStats& p) { return p.imissed; }},
      {"bypass_rx_errors_total", "Erroneous packets a port received.",
       [](const PortStats& p) { return p.ierrors; }},
      {"bypass_tx_errors_total", "Packets a port failed to send.",
       [](const PortStats& p) { return p.oerrors; }},
      {"bypass_rx_nombuf_total", "RX refills that failed with the packet pool empty.",
       [](const PortStats& p) { return p.rx_nombuf; }},
  };
  for (const auto& f : port_fields) {
    w.family(f.name, "counter", f.help);
    for (const auto& p : s.ports) w.sample(fmt::format("port=\"{}\"", label(p.name)), f.get(p.s));
  }
  bool any_queue = false;
  for (const auto& p : s.ports) any_queue |= !p.s.q_ipackets.empty() || !p.s.q_opackets.empty();
  if (any_queue) {
    w.family("bypass_queue_rx_packets_total", "counter", "Packets an RX queue received.");
    for (const auto& p : s.ports)
      for (size_t q = 0; q < p.s.q_ipackets.size(); ++q)
        w.sample(fmt::format("port=\"{}\",queue=\"{}\"", label(p.name), q), p.s.q_ipackets[q]);
    w.family("bypass_queue_tx_packets_total", "counter", "Packets a TX queue sent.");
    for (const auto& p : s.ports)
      for (size_t q = 0; q < p.s.q_opackets.size(); ++q)
        w.sample(fmt::format("port=\"{}\",queue=\"{}\"", label(p.name), q), p.s.q_opackets[q]);
  }
  w.family("bypass_link_up", "gauge", "1 if a port's link is up.");
  for (const auto& p : s.ports)
    w.sample(fmt::format("port=\"{}\"", label(p.name)), uint64_t{p.link.up ? 1u : 0u});
  w.family("bypass_link_speed_bytes_per_second", "gauge", "A port's link speed.");
  for (const auto& p : s.ports)
    if (p.link.speed_mbps != 0)  // 0: the driver does not know it (no sample, not a speed of 0)
      w.sample(fmt::format("port=\"{}\"", label(p.name)),
               static_cast<double>(p.link.speed_mbps) * 1e6 / 8);

  using WorkerField = std::function<uint64_t(const CounterTotals&)>;
  const struct {
    const char* name;
    const char* help;
    WorkerField get;
  } worker_fields[] = {
      {"bypass_worker_rx_packets_total", "Packets a worker took in.",
       [](const CounterTotals& c) { return c.rx_packets; }},
      {"bypass_worker_tx_packets_total", "Packets a worker sent.",
       [](const CounterTotals& c) { return c.tx_packets; }},
      {"bypass_worker_dropped_packets_total", "Packets a worker dropped, for any reason.",
       [](const CounterTotals& c) { return c.dropped(); }},
      {"bypass_worker_polls_total", "Times a worker polled its queues.",
       [](const CounterTotals& c) { return c.polls; }},
  };
  for (const auto& f : worker_fields) {
    w.family(f.name, "counter", f.help);
    for (const auto& ws : s.workers)
      w.sample(fmt::format("worker=\"{}\",cpu=\"{}\"", ws.index + 1, ws.cpu), f.get(ws.c));
  }
  if (s.hz) {
    w.family("bypass_worker_busy_seconds_total", "counter",
             "Time a worker spent on polls that found work.");
    for (const auto& ws : s.workers)
      w.sample(fmt::format("worker=\"{}\",cpu=\"{}\"", ws.index + 1, ws.cpu),
               static_cast<double>(ws.c.busy_cycles) / static_cast<double>(s.hz));
  }
  w.family("bypass_drops_total", "counter", "Packets dropped, by module, worker and reason.");
  for (const auto& m : s.modules)
    for (const auto& [reason, n] : m.drops)
      w.sample(fmt::format("module=\"{}\",worker=\"{}\",reason=\"{}\"", label(m.name), m.worker + 1,
                           label(reason)),
               n);
  w.family("bypass_module_packets_total", "counter", "Packets a module instance took in.");
  for (const auto& m : s.modules)
    w.sample(fmt::format("module=\"{}\",worker=\"{}\"", label(m.name), m.worker + 1), m.packets);
  // Latency histograms (the generator's), in seconds as Prometheus wants.
  bool any_hist = false;
  for (const auto& h : s.histograms) any_hist |= !h.cumulative.empty() && h.unit == "ns";
  if (any_hist) {
    w.family("bypass_latency_seconds", "histogram", "Latency, by the histogram it is kept in.");
    for (const auto& h : s.histograms) {
      if (h.cumulative.empty() || h.unit != "ns") continue;
      const std::string name = label(h.name);
      for (const auto& [le, n] : h.cumulative)
        w.raw(fmt::format("bypass_latency_seconds_bucket{{histogram=\"{}\",le=\"{}\"}} {}\n", name,
                          le / 1e9, n));
      w.raw(fmt::format("bypass_latency_seconds_bucket{{histogram=\"{}\",le=\"+Inf\"}} {}\n", name,
                        h.count));
      w.raw(fmt::format("bypass_latency_seconds_sum{{histogram=\"{}\"}} {}\n", name, h.sum / 1e9));
      w.raw(fmt::format("bypass_latency_seconds_count{{histogram=\"{}\"}} {}\n", name, h.count));
    }
  }
  std::vector<std::pair<std::string, uint64_t>> counters;
  sum_by_name(s.counters, counters);
  for (const auto& [name, n] : counters) {
    if (is_level(name)) {
      w.family("bypass_" + prometheus_name(name), "gauge", "The program's level " + name + ".");
    } else {
      w.family("bypass_" + prometheus_name(name) + "_total", "counter",
               "The program's counter " + name + ".");
    }
    w.sample("", n);
  }
  for (const auto& [name, v] : s.gauges) {
    w.family("bypass_" + prometheus_name(name), "gauge", "The program's level " + name + ".");
    w.sample("", v);
  }
  return w.take();
}

}  // namespace bypass
