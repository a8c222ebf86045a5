#include <bypass/control/stats.hpp>

#include <rte_cycles.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace bypass {

uint64_t StatsSnapshot::ModuleStat::dropped() const {
  uint64_t n = 0;
  for (const auto& [reason, k] : drops) n += k;
  return n;
}

void StatsSnapshot::ModuleStat::add_drops(const std::vector<std::pair<std::string, uint64_t>>& d) {
  for (const auto& [reason, k] : d) {
    auto it =
        std::find_if(drops.begin(), drops.end(), [&](const auto& x) { return x.first == reason; });
    if (it == drops.end())
      drops.emplace_back(reason, k);
    else
      it->second += k;
  }
}

void sum_by_name(const std::vector<std::pair<std::string, uint64_t>>& in,
                 std::vector<std::pair<std::string, uint64_t>>& out) {
  const size_t first = out.size();
  for (const auto& [name, n] : in) {
    auto it = std::find_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                           [&](const auto& x) { return x.first == name; });
    if (it == out.end())
      out.emplace_back(name, n);
    else
      it->second += n;
  }
}

std::vector<std::pair<std::string, uint64_t>> StatsSnapshot::drops_by_reason() const {
  ModuleStat sum;
  for (const auto& m : modules) sum.add_drops(m.drops);
  return sum.drops;
}

double StatsSnapshot::ModuleStat::cycles_per_packet() const {
  if (profiled_packets == 0) return -1;
  const uint64_t own = cycles > child_cycles ? cycles - child_cycles : 0;
  return static_cast<double>(own) / static_cast<double>(profiled_packets);
}

CounterTotals StatsSnapshot::totals() const {
  CounterTotals t;
  for (const auto& w : workers) t.add(w.c);
  return t;
}

StatsSnapshot::ModuleStat read_module(const Module& m, unsigned worker) {
  const ModuleTally& t = m.tally();
  StatsSnapshot::ModuleStat ms;
  ms.name = m.name();
  ms.worker = worker;
  ms.calls = t.calls.get();
  ms.packets = t.packets.get();
  ms.cycles = t.cycles.get();
  ms.child_cycles = t.child_cycles.get();
  ms.profiled_packets = t.profiled_packets.get();
  const DropTable table = m.drop_table();
  for (size_t r = 0; r < kMaxDropReasons; ++r)
    if (const uint64_t k = t.drops[r].get())
      ms.drops.emplace_back(table.name(static_cast<DropReason>(r)), k);
  return ms;
}

namespace {

void add_counts(StatsSnapshot::ModuleStat& to, const StatsSnapshot::ModuleStat& from) {
  to.calls += from.calls;
  to.packets += from.packets;
  to.cycles += from.cycles;
  to.child_cycles += from.child_cycles;
  to.profiled_packets += from.profiled_packets;
  to.add_drops(from.drops);
}

}  // namespace

void StatsCollector::retire(const std::vector<StatsSnapshot::ModuleStat>& gone) {
  for (const StatsSnapshot::ModuleStat& g : gone) {
    auto kept = std::find_if(retired_.begin(), retired_.end(), [&](const auto& r) {
      return r.worker == g.worker && r.name == g.name;
    });
    if (kept == retired_.end())
      retired_.push_back(g);
    else
      add_counts(*kept, g);
  }
}

StatsSnapshot StatsCollector::take(double seconds) const {
  StatsSnapshot s;
  s.seconds = seconds;
  s.unix_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  s.tsc = TscClock().now();
  s.hz = rte_get_tsc_hz();
  for (const Worker* w : workers_) {
    StatsSnapshot::WorkerStat ws;
    ws.index = w->index();
    ws.cpu = w->config().cpu;
    ws.c.add(w->counters());
    s.workers.push_back(ws);
  }
  for (Port* p : ports_)
    s.ports.push_back({p->name(), p->link(), p->stats(), p->rx_queues(), p->rx_spread()});
  for (size_t gi = 0; gi < graphs_.size(); ++gi)
    for (const auto& m : graphs_[gi]->modules())
      s.modules.push_back(read_module(*m, static_cast<unsigned>(gi)));
  for (const StatsSnapshot::ModuleStat& r : retired_) {
    auto now = std::find_if(s.modules.begin(), s.modules.end(), [&](const auto& m) {
      return m.worker == r.worker && m.name == r.name;
    });
    if (now == s.modules.end()) {
      s.modules.push_back(r);
    } else {
      add_counts(*now, r);
    }
  }
  for (const auto& f : counter_fns_) f(s.counters);
  for (const auto& [name, f] : gauges_) s.gauges.emplace_back(name, f());
  for (const auto& f : histogram_fns_) f(s.histograms);
  return s;
}

namespace {

std::string drops_json(const std::vector<std::pair<std::string, uint64_t>>& d) {
  std::string out = "{";
  for (const auto& [reason, k] : d)
    out += fmt::format("{}{}:{}", out.size() > 1 ? "," : "", json_quote(reason), k);
  return out + "}";
}

std::string counters_json(const CounterTotals& c) {
  return fmt::format(
      "\"rx_packets\":{},\"rx_bytes\":{},\"tx_packets\":{},\"tx_bytes\":{},\"dropped\":{},"
      "\"polls\":{},\"busy_polls\":{},\"busy_cycles\":{}",
      c.rx_packets, c.rx_bytes, c.tx_packets, c.tx_bytes, c.dropped(), c.polls, c.busy_polls,
      c.busy_cycles);
}

}  // namespace

// Names here are ours (reasons, module and port names from the config):
// escape what JSON needs all the same.
std::string json_quote(const std::string& v) {
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(ch));
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string stats_json(const StatsSnapshot& s, bool final) {
  std::string out = fmt::format(
      "{{\"schema\":{},\"final\":{},\"seconds\":{:.6f},\"time\":{:.6f},\"tsc_hz\":{},"
      "\"totals\":{{{},\"drops\":{}}}",
      StatsSnapshot::kSchemaVersion, final ? "true" : "false", s.seconds, s.unix_time, s.hz,
      counters_json(s.totals()), drops_json(s.drops_by_reason()));
  out += ",\"workers\":[";
  for (size_t i = 0; i < s.workers.size(); ++i)
    out += fmt::format("{}{{\"index\":{},\"cpu\":{},{}}}", i ? "," : "", s.workers[i].index,
                       s.workers[i].cpu, counters_json(s.workers[i].c));
  out += "],\"ports\":[";
  for (size_t i = 0; i < s.ports.size(); ++i) {
    const auto& p = s.ports[i];
    out += fmt::format(
        "{}{{\"name\":{},\"link_up\":{},\"speed_mbps\":{},\"ipackets\":{},\"opackets\":{},"
        "\"ibytes\":{},\"obytes\":{},\"imissed\":{},\"ierrors\":{},\"oerrors\":{},"
        "\"rx_nombuf\":{}}}",
        i ? "," : "", json_quote(p.name), p.link.up ? "true" : "false", p.link.speed_mbps,
        p.s.ipackets, p.s.opackets, p.s.ibytes, p.s.obytes, p.s.imissed, p.s.ierrors, p.s.oerrors,
        p.s.rx_nombuf);
  }
  out += "],\"modules\":[";
  for (size_t i = 0; i < s.modules.size(); ++i) {
    const auto& m = s.modules[i];
    const double cpp = m.cycles_per_packet();
    out += fmt::format(
        "{}{{\"name\":{},\"worker\":{},\"calls\":{},\"packets\":{},\"dropped\":{},\"drops\":{},"
        "\"cycles_per_packet\":{}}}",
        i ? "," : "", json_quote(m.name), m.worker, m.calls, m.packets, m.dropped(),
        drops_json(m.drops), cpp < 0 ? std::string("null") : fmt::format("{:.2f}", cpp));
  }
  out += "],\"counters\":{";
  for (size_t i = 0; i < s.counters.size(); ++i)
    out +=
        fmt::format("{}{}:{}", i ? "," : "", json_quote(s.counters[i].first), s.counters[i].second);
  out += "},\"gauges\":{";
  for (size_t i = 0; i < s.gauges.size(); ++i)
    out += fmt::format("{}{}:{}", i ? "," : "", json_quote(s.gauges[i].first), s.gauges[i].second);
  out += "},\"histograms\":[";
  for (size_t i = 0; i < s.histograms.size(); ++i) {
    const auto& h = s.histograms[i];
    out += fmt::format(
        "{}{{\"name\":{},\"unit\":{},\"count\":{},\"min\":{},\"p50\":{},\"p90\":{},"
        "\"p99\":{},\"p999\":{},\"max\":{}}}",
        i ? "," : "", json_quote(h.name), json_quote(h.unit), h.count, h.min, h.p50, h.p90, h.p99,
        h.p999, h.max);
  }
  return out + "]}";
}

}  // namespace bypass
