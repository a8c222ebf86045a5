#include <bypass/control/telemetry.hpp>

#include <rte_telemetry.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <bypass/control/control_plane.hpp>

namespace bypass {

namespace {

std::mutex g_mu;  // held by a callback while it reads, and by attach/detach
const ControlPlane* g_plane = nullptr;

// DPDK 22.11 does not escape strings in its JSON: keep them plain.
std::string plain(const std::string& s) {
  std::string o = s.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
  for (char& ch : o)
    if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20) ch = '_';
  return o;
}

// A parameter that must be a count: nullopt-like -1 when junk, 0 when absent.
long count_param(const char* params) {
  if (!params || !*params) return 0;
  char* end = nullptr;
  long v = std::strtol(params, &end, 10);
  return (*end || v < 0) ? -1 : v;
}

// DPDK 22.11 takes dict keys of letters, digits, '_' and '/' only (others
// are refused without a word): "service.7" -> "service_7".
std::string key(const std::string& s) {
  std::string o = s.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
  for (char& ch : o)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '/') ch = '_';
  return o;
}

// DPDK 22.11 builds a reply in 16 KiB and leaves out, silently, an entry
// that does not fit: a page stops before its entries could pass this.
constexpr size_t kPageBytes = 12 * 1024;

// Adds (key, value) pairs from `all`, from `skip` on, while the page has
// room (256 entries, kPageBytes); if some are left, "next_offset" says where
// the next page starts.
void add_page(rte_tel_data* t, const std::vector<std::pair<std::string, uint64_t>>& all,
              size_t skip) {
  rte_tel_data_start_dict(t);
  size_t bytes = 0, i = skip;
  for (; i < all.size() && i - skip + 1 < RTE_TEL_MAX_DICT_ENTRIES; ++i) {
    const size_t entry = all[i].first.size() + 26;  // quotes, colon, comma, 20 digits
    if (bytes + entry > kPageBytes) break;
    bytes += entry;
    rte_tel_data_add_dict_u64(t, all[i].first.c_str(), all[i].second);
  }
  if (i < all.size()) rte_tel_data_add_dict_u64(t, "next_offset", i);
}

using Fill = int (*)(const StatsSnapshot&, const char*, rte_tel_data*);

// Runs `fill` on the latest snapshot: -1 (DPDK answers null) when no plane.
int with_snapshot(const char* params, rte_tel_data* d, Fill fill) {
  std::shared_ptr<const StatsSnapshot> s;
  std::string program;
  {
    std::lock_guard lock(g_mu);
    if (!g_plane) return -1;
    s = g_plane->latest();
  }
  return fill(*s, params, d);
}

void add_totals(rte_tel_data* d, const CounterTotals& c) {
  rte_tel_data_add_dict_u64(d, "rx_packets", c.rx_packets);
  rte_tel_data_add_dict_u64(d, "tx_packets", c.tx_packets);
  rte_tel_data_add_dict_u64(d, "rx_bytes", c.rx_bytes);
  rte_tel_data_add_dict_u64(d, "tx_bytes", c.tx_bytes);
  rte_tel_data_add_dict_u64(d, "dropped", c.dropped());
  rte_tel_data_add_dict_u64(d, "polls", c.polls);
  rte_tel_data_add_dict_u64(d, "busy_polls", c.busy_polls);
}

int info(const char*, const char* params, rte_tel_data* d) {
  if (params && *params) return -1;
  std::string program;
  std::shared_ptr<const StatsSnapshot> s;
  {
    std::lock_guard lock(g_mu);
    if (!g_plane) return -1;
    s = g_plane->latest();
    program = g_plane->program();
  }
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "program", plain(program).c_str());
  rte_tel_data_add_dict_u64(d, "seconds", static_cast<uint64_t>(s->seconds));
  rte_tel_data_add_dict_u64(d, "workers", s->workers.size());
  rte_tel_data_add_dict_u64(d, "ports", s->ports.size());
  return 0;
}

int stats(const char*, const char* params, rte_tel_data* d) {
  if (params && *params) return -1;
  return with_snapshot(params, d, [](const StatsSnapshot& s, const char*, rte_tel_data* t) {
    rte_tel_data_start_dict(t);
    add_totals(t, s.totals());
    return 0;
  });
}

int ports(const char*, const char* params, rte_tel_data* d) {
  if (params && *params) return -1;
  return with_snapshot(params, d, [](const StatsSnapshot& s, const char*, rte_tel_data* t) {
    rte_tel_data_start_array(t, RTE_TEL_STRING_VAL);
    for (const auto& p : s.ports) rte_tel_data_add_array_string(t, plain(p.name).c_str());
    return 0;
  });
}

// "/bypass/port,<index>": one port by its index in /bypass/ports.
int port(const char*, const char* params, rte_tel_data* d) {
  if (!params || !*params) return -1;
  return with_snapshot(params, d, [](const StatsSnapshot& s, const char* p, rte_tel_data* t) {
    long i = count_param(p);
    if (i < 0 || static_cast<size_t>(i) >= s.ports.size()) return -1;
    const auto& ps = s.ports[static_cast<size_t>(i)];
    rte_tel_data_start_dict(t);
    rte_tel_data_add_dict_string(t, "name", plain(ps.name).c_str());
    rte_tel_data_add_dict_int(t, "link_up", ps.link.up ? 1 : 0);
    rte_tel_data_add_dict_u64(t, "speed_mbps", ps.link.speed_mbps);
    rte_tel_data_add_dict_u64(t, "rx_queues", ps.rx_queues);
    rte_tel_data_add_dict_string(t, "rx_spread", ps.rx_spread.c_str());
    rte_tel_data_add_dict_u64(t, "ipackets", ps.s.ipackets);
    rte_tel_data_add_dict_u64(t, "opackets", ps.s.opackets);
    rte_tel_data_add_dict_u64(t, "ibytes", ps.s.ibytes);
    rte_tel_data_add_dict_u64(t, "obytes", ps.s.obytes);
    rte_tel_data_add_dict_u64(t, "imissed", ps.s.imissed);
    rte_tel_data_add_dict_u64(t, "ierrors", ps.s.ierrors);
    rte_tel_data_add_dict_u64(t, "oerrors", ps.s.oerrors);
    rte_tel_data_add_dict_u64(t, "rx_nombuf", ps.s.rx_nombuf);
    return 0;
  });
}

int workers(const char*, const char* params, rte_tel_data* d) {
  if (params && *params) return -1;
  return with_snapshot(params, d, [](const StatsSnapshot& s, const char*, rte_tel_data* t) {
    rte_tel_data_start_array(t, RTE_TEL_INT_VAL);
    for (const auto& w : s.workers) rte_tel_data_add_array_int(t, static_cast<int>(w.index + 1));
    return 0;
  });
}

// "/bypass/worker,<n>": worker n, counted from 1 as everywhere in bypass.
int worker(const char*, const char* params, rte_tel_data* d) {
  if (!params || !*params) return -1;
  return with_snapshot(params, d, [](const StatsSnapshot& s, const char* p, rte_tel_data* t) {
    long n = count_param(p);
    for (const auto& w : s.workers)
      if (static_cast<long>(w.index) + 1 == n) {
        rte_tel_data_start_dict(t);
        rte_tel_data_add_dict_u64(t, "cpu", w.cpu);
        add_totals(t, w.c);
        rte_tel_data_add_dict_u64(t, "busy_cycles", w.c.busy_cycles);
        return 0;
      }
    return -1;
  });
}

// "/bypass/drops[,offset]": "<module>/<worker>/<reason>" -> count, a page at a time.
int drops(const char*, const char* params, rte_tel_data* d) {
  if (count_param(params) < 0) return -1;
  return with_snapshot(params, d, [](const StatsSnapshot& s, const char* p, rte_tel_data* t) {
    std::vector<std::pair<std::string, uint64_t>> all;
    for (const auto& m : s.modules)
      for (const auto& [reason, n] : m.drops)
        all.emplace_back(key(m.name + "/" + std::to_string(m.worker + 1) + "/" + reason), n);
    add_page(t, all, static_cast<size_t>(count_param(p)));
    return 0;
  });
}

// "/bypass/counters[,offset]": the program's own counters and levels.
int counters(const char*, const char* params, rte_tel_data* d) {
  if (count_param(params) < 0) return -1;
  return with_snapshot(params, d, [](const StatsSnapshot& s, const char* p, rte_tel_data* t) {
    std::vector<std::pair<std::string, uint64_t>> all;
    sum_by_name(s.counters, all);
    for (const auto& [name, v] : s.gauges) all.emplace_back(name, static_cast<uint64_t>(v));
    for (auto& e : all) e.first = key(e.first);
    add_page(t, all, static_cast<size_t>(count_param(p)));
    return 0;
  });
}

void register_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    rte_telemetry_register_cmd("/bypass/info", info, "The program, its uptime, workers, ports.");
    rte_telemetry_register_cmd("/bypass/stats", stats, "Totals of every worker.");
    rte_telemetry_register_cmd("/bypass/ports", ports, "The ports' names, by index.");
    rte_telemetry_register_cmd("/bypass/port", port, "One port. Parameters: int port index");
    rte_telemetry_register_cmd("/bypass/workers", workers, "The workers, numbered from 1.");
    rte_telemetry_register_cmd("/bypass/worker", worker, "One worker. Parameters: int worker");
    rte_telemetry_register_cmd("/bypass/drops", drops,
                               "Drops by module/worker/reason. Parameters: int offset");
    rte_telemetry_register_cmd("/bypass/counters", counters,
                               "The program's counters and levels. Parameters: int offset");
  });
}

}  // namespace

void telemetry_attach(const ControlPlane* plane) {
  register_once();
  std::lock_guard lock(g_mu);
  g_plane = plane;
}

void telemetry_detach() {
  std::lock_guard lock(g_mu);
  g_plane = nullptr;
}

}  // namespace bypass
