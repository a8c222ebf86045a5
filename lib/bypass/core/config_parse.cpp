// TOML -> Config. The TOML library is used here only: the document becomes
// a ConfigValue, and each part is read through a ConfigSection, which writes
// every message about a key.
#include <arpa/inet.h>
#include <rte_mempool.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include <bypass/core/config.hpp>
#include <bypass/core/config_reader.hpp>
#include <bypass/core/host_name.hpp>

namespace bypass {
namespace {

ConfigValue from_toml(const toml::node& n) {
  if (const toml::table* t = n.as_table()) {
    ConfigValue v = ConfigValue::table();
    for (const auto& [k, e] : *t) v.set(std::string(k.str()), from_toml(e));
    return v;
  }
  if (const toml::array* a = n.as_array()) {
    ConfigValue v = ConfigValue::array();
    for (const auto& e : *a) v.push(from_toml(e));
    return v;
  }
  if (auto b = n.value_exact<bool>()) return ConfigValue::of(*b);
  if (auto i = n.value_exact<int64_t>()) return ConfigValue::of(*i);
  if (auto d = n.value_exact<double>()) return ConfigValue::of(*d);
  if (auto str = n.value_exact<std::string>()) return ConfigValue::of(*str);
  // Dates and times: no reader takes one, so each reads as a wrong type.
  return ConfigValue::of("a date or time");
}

Status read_eal(const ConfigSection& r, EalConfig* e) {
  BYPASS_TRY(r.only({"control_cpu", "huge_pages", "memory_mb", "file_prefix", "log_level", "args",
                     "worker_seccomp"}));
  BYPASS_TRY(r.boolean("worker_seccomp", &e->worker_seccomp));
  // CPU numbers, not lcore ids: EAL maps lcores onto any CPU of the host.
  BYPASS_TRY(r.integer("control_cpu", &e->control_cpu, 0, CPU_SETSIZE - 1));
  BYPASS_TRY(r.boolean("huge_pages", &e->huge_pages));
  BYPASS_TRY(r.integer("memory_mb", &e->memory_mb, 0, 1 << 20));
  BYPASS_TRY(r.string("file_prefix", &e->file_prefix));
  // DPDK makes a directory and files of it (and the telemetry socket's name).
  if (e->file_prefix.find_first_of("/ \t") != std::string::npos || e->file_prefix == "." ||
      e->file_prefix == ".." || e->file_prefix.size() > 64)
    return Status::error(r.path() + ".file_prefix \"" + e->file_prefix +
                         "\" names DPDK's run directory: use up to 64 letters, digits, '-', '_' "
                         "or '.'.");
  BYPASS_TRY(r.choice("log_level", &e->log_level,
                      {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"},
                      "a level"));
  BYPASS_TRY(r.strings("args", &e->args));
  return Status::ok();
}

namespace {

// "127.0.0.1:9100" or "[::1]:9100" (port 0 picks one), as the metrics
// server binds it: said by --check, not only once the run has started.
bool is_listen_address(const std::string& a) {
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon + 1 == a.size() || colon + 6 < a.size()) return false;
  const std::string port = a.substr(colon + 1);
  if (!std::all_of(port.begin(), port.end(), [](unsigned char ch) { return std::isdigit(ch); }) ||
      std::stoul(port) > 65535)
    return false;
  const std::string host = a.substr(0, colon);
  unsigned char buf[16];
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1;
  return inet_pton(AF_INET, host.c_str(), buf) == 1;
}

}  // namespace

Status read_control(const ConfigSection& r, ControlConfig* c) {
  BYPASS_TRY(r.only(
      {"name", "socket", "metrics", "metrics_hosts", "telemetry", "journal", "journal_rotate_mb"}));
  BYPASS_TRY(r.string("journal", &c->journal));
  BYPASS_TRY(r.integer("journal_rotate_mb", &c->journal_rotate_mb, 1, 1 << 20));
  BYPASS_TRY(r.string("name", &c->name));
  if (c->name.find_first_of("/ \t") != std::string::npos || c->name == "." || c->name == "..")
    return Status::error(r.path() + ".name \"" + c->name +
                         "\" names a socket file: use letters, digits, '-', '_' or '.' only.");
  BYPASS_TRY(r.string("socket", &c->socket));
  if (c->socket == "off") {
    c->socket_on = false;
    c->socket.clear();
  }
  BYPASS_TRY(r.string("metrics", &c->metrics));
  if (!c->metrics.empty() && !is_listen_address(c->metrics))
    return Status::error(r.path() + ".metrics = \"" + c->metrics +
                         "\" is not an address to listen on: write it as \"127.0.0.1:9100\" or "
                         "\"[::1]:9100\".");
  BYPASS_TRY(r.strings("metrics_hosts", &c->metrics_hosts));
  for (std::string& h : c->metrics_hosts) {
    if (!is_host_name(h) && h != "*")
      return Status::error(r.path() + ".metrics_hosts: \"" + h +
                           "\" is not a host name: write a DNS name such as "
                           "\"metrics.example.net\" (letters, digits, '-' and '.'), or \"*\" to "
                           "answer any name.");
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (h.size() > 1 && h.back() == '.') h.pop_back();  // "name." is the name
  }
  BYPASS_TRY(r.boolean("telemetry", &c->telemetry));
  return Status::ok();
}

Status read_memory(const ConfigSection& r, MemoryConfig* m) {
  BYPASS_TRY(r.only({"pool_size", "pool_cache", "data_room", "ring_size"}));
  BYPASS_TRY(r.integer("pool_size", &m->pool_size, 64, 1 << 26));
  BYPASS_TRY(r.integer("pool_cache", &m->pool_cache, 0, RTE_MEMPOOL_CACHE_MAX_SIZE));
  BYPASS_TRY(r.integer("data_room", &m->data_room, 256 + RTE_PKTMBUF_HEADROOM, 65535));
  BYPASS_TRY(r.integer("ring_size", &m->ring_size, 64, 1 << 20));
  return Status::ok();
}

Status read_port(const ConfigSection& r, size_t i, PortConfig* p) {
  BYPASS_TRY(r.only({"name", "device", "rx_queues", "tx_queues", "rx_desc", "tx_desc", "rss",
                     "promiscuous", "faults", "addresses"}));
  p->name = "p" + std::to_string(i);
  BYPASS_TRY(r.string("name", &p->name));
  BYPASS_TRY(r.string("device", &p->device));
  const ConfigSection named = r.renamed("port '" + p->name + "'");
  if (p->device.empty())
    return Status::error("port '" + p->name +
                         "' has no device: set device to a PCI address like \"0000:01:00.0\" or a "
                         "vdev like \"net_null0\".");
  if (p->name.empty() || p->name.find(':') != std::string::npos)
    return Status::error("port name '" + p->name +
                         "' is not usable: use letters, digits, '_' or '-'.");
  if (p->is_pci()) {
    // DPDK names a PCI device 0000:bb:dd.f, lower case: "3B:00.0" is that too
    // (and a second port on "0000:3b:00.0" the same device).
    const size_t comma = p->device.find(',');
    p->device = p->pci_address() + (comma == std::string::npos ? "" : p->device.substr(comma));
  }
  BYPASS_TRY(named.integer("rx_queues", &p->rx_queues, 1, RTE_MAX_QUEUES_PER_PORT));
  BYPASS_TRY(named.integer("tx_queues", &p->tx_queues, 1, RTE_MAX_QUEUES_PER_PORT));
  BYPASS_TRY(named.integer("rx_desc", &p->rx_desc, 32, 32768));
  BYPASS_TRY(named.integer("tx_desc", &p->tx_desc, 32, 32768));
  BYPASS_TRY(named.boolean("rss", &p->rss));
  BYPASS_TRY(named.boolean("promiscuous", &p->promiscuous));
  BYPASS_TRY(named.strings("addresses", &p->addresses));
  auto faults = named.table("faults");
  if (!faults) return faults.status();
  if (*faults) p->faults = (*faults)->value();
  return Status::ok();
}

Status parse_queue_ref(const Config& c, const std::string& where, const std::string& s,
                       std::vector<QueueRef>* out) {
  auto colon = s.rfind(':');
  std::string pname = colon == std::string::npos ? s : s.substr(0, colon);
  int pi = c.port_index(pname);
  if (pi < 0)
    return Status::error(where + " polls \"" + s + "\" but no port is named '" + pname +
                         "': use \"<port name>:<queue>\" with a name from [[port]].");
  const PortConfig& p = c.ports[pi];
  if (colon == std::string::npos || s.substr(colon + 1) == "*") {
    for (uint16_t q = 0; q < p.rx_queues; ++q) out->push_back({static_cast<uint16_t>(pi), q});
    return Status::ok();
  }
  std::string qs = s.substr(colon + 1);
  if (qs.empty() || qs.find_first_not_of("0123456789") != std::string::npos || qs.size() > 5)
    return Status::error(where + " polls \"" + s +
                         "\": the queue after ':' must be a number or '*'.");
  unsigned q = std::stoul(qs);
  if (q >= p.rx_queues)
    return Status::error(where + " polls queue " + qs + " of port '" + pname + "', which has " +
                         std::to_string(p.rx_queues) + " RX queue(s): use a queue below " +
                         std::to_string(p.rx_queues) + " or raise rx_queues.");
  out->push_back({static_cast<uint16_t>(pi), static_cast<uint16_t>(q)});
  return Status::ok();
}

Status read_worker(const Config& c, const ConfigSection& r, WorkerConfig* w) {
  BYPASS_TRY(r.only({"cpu", "rx", "idle", "idle_sleep_us"}));
  BYPASS_TRY(r.require("cpu", "set cpu to the CPU it runs on"));
  BYPASS_TRY(r.integer("cpu", &w->cpu, 0, CPU_SETSIZE - 1));
  std::vector<std::string> rx;
  BYPASS_TRY(r.strings("rx", &rx));
  for (const auto& s : rx) BYPASS_TRY(parse_queue_ref(c, r.path(), s, &w->rx));
  std::string idle = "busy";
  BYPASS_TRY(r.choice("idle", &idle, {"busy", "pause", "sleep"}, "a policy"));
  w->idle = idle == "busy"    ? IdleMode::kBusy
            : idle == "pause" ? IdleMode::kPause
                              : IdleMode::kSleep;
  BYPASS_TRY(r.integer("idle_sleep_us", &w->idle_sleep_us, 1, 1000000));
  return Status::ok();
}

Status read_module(const ConfigSection& r, ModuleSpec* m) {
  BYPASS_TRY(r.string("name", &m->name));
  BYPASS_TRY(r.string("class", &m->cls));
  BYPASS_TRY(r.string("before", &m->before));
  const std::string named = m->name.empty() ? r.path() : "[[module]] '" + m->name + "'";
  if (m->name.empty())
    return Status::error(r.path() + " has no name: add name = \"blocklist\" (any unique name).");
  if (m->cls.empty())
    return Status::error(named +
                         " has no class: add class = \"SourceBlocklist\" (or another "
                         "module class).");
  if (m->before.empty())
    return Status::error(named +
                         " says nowhere to go: add before = \"udp_dispatch\" (a named "
                         "point of the program's graph; --graph lists them).");
  // Every other key is a parameter, read by the class's factory (ModuleParams).
  m->params = r.value();
  for (const char* k : {"name", "class", "before"}) m->params.erase(k);
  return Status::ok();
}

}  // namespace

bool PortConfig::is_pci() const {
  // 0000:01:00.0 or 01:00.0
  std::string d = device_name();
  auto hex = [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; };
  auto match = [&](const std::string& s) {
    return s.size() == 7 && hex(s[0]) && hex(s[1]) && s[2] == ':' && hex(s[3]) && hex(s[4]) &&
           s[5] == '.' && s[6] >= '0' && s[6] <= '7';
  };
  if (d.size() == 12 && d[4] == ':' && hex(d[0]) && hex(d[1]) && hex(d[2]) && hex(d[3]))
    return match(d.substr(5));
  return match(d);
}

std::string PortConfig::device_name() const {
  return device.substr(0, device.find(','));
}

std::string PortConfig::pci_address() const {
  std::string addr = device_name();
  std::transform(addr.begin(), addr.end(), addr.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return addr.size() == 7 ? "0000:" + addr : addr;
}

int Config::port_index(const std::string& name) const {
  for (size_t i = 0; i < ports.size(); ++i)
    if (ports[i].name == name) return static_cast<int>(i);
  return -1;
}

uint64_t Config::mbufs_needed() const {
  uint64_t n = 0;
  for (const auto& p : ports)
    n += uint64_t(p.rx_queues) * p.rx_desc + uint64_t(tx_queues(p)) * p.tx_desc;
  // Each worker may hold a full cache plus a few bursts in flight (RX batch,
  // TX buffers per port), and a cache may briefly grow to 1.5x its size.
  n += workers.size() * (memory.pool_cache * 3 / 2 + kInFlightPerWorker * (ports.size() + 1));
  // A [[handoff]] gives each other worker a ring to it per port (a point is
  // one module per port), which a slow consumer may leave full.
  if (workers.size() > 1)
    n += handoffs.size() * (workers.size() - 1) * std::max<size_t>(1, ports.size()) *
         uint64_t(memory.ring_size);
  return n;
}

Expected<Config> parse_config(std::string_view text, const std::string& origin) {
  Config c;
  try {
    c.app = from_toml(toml::parse(text, origin));
  } catch (const toml::parse_error& err) {
    std::ostringstream os;
    os << origin << " line " << err.source().begin.line << ": " << err.description()
       << ": fix the TOML syntax there.";
    return Status::error(os.str());
  }
  const ConfigSection doc(c.app, "");
  if (auto eal = doc.table("eal"); !eal) {
    return eal.status();
  } else if (*eal) {
    BYPASS_TRY(read_eal(**eal, &c.eal));
  }
  if (auto ctl = doc.table("control"); !ctl) {
    return ctl.status();
  } else if (*ctl) {
    BYPASS_TRY(read_control(**ctl, &c.control));
  }
  if (auto mem = doc.table("memory"); !mem) {
    return mem.status();
  } else if (*mem) {
    BYPASS_TRY(read_memory(**mem, &c.memory));
  }
  BYPASS_TRY(doc.tables("port", [&](const ConfigSection& t, size_t i) {
    PortConfig p;
    BYPASS_TRY(read_port(t, i, &p));
    c.ports.push_back(std::move(p));
    return Status::ok();
  }));
  BYPASS_TRY(doc.tables("worker", [&](const ConfigSection& t, size_t i) {
    // Each worker is an lcore of its own, and the control thread lcore 0.
    if (i + 1 >= RTE_MAX_LCORE)
      return Status::error("[[worker]] " + std::to_string(i + 1) + ": at most " +
                           std::to_string(RTE_MAX_LCORE - 1) +
                           " workers fit DPDK's lcores (RTE_MAX_LCORE " +
                           std::to_string(RTE_MAX_LCORE) + "): remove some.");
    WorkerConfig w;
    BYPASS_TRY(read_worker(c, t, &w));
    c.workers.push_back(std::move(w));
    return Status::ok();
  }));
  BYPASS_TRY(doc.tables("module", [&](const ConfigSection& t, size_t) {
    ModuleSpec m;
    BYPASS_TRY(read_module(t, &m));
    for (const auto& other : c.modules)
      if (other.name == m.name)
        return Status::error("two [[module]] tables are named '" + m.name +
                             "': give each its own name.");
    c.modules.push_back(std::move(m));
    return Status::ok();
  }));
  BYPASS_TRY(doc.tables("handoff", [&](const ConfigSection& t, size_t) {
    HandoffSpec h;
    BYPASS_TRY(t.only({"before", "worker"}));
    BYPASS_TRY(t.require("before",
                         "add before = \"udp_dispatch\" (a named point; --graph lists "
                         "them)"));
    BYPASS_TRY(t.require("worker", "add worker = 2 (the [[worker]] that runs the point, from 1)"));
    BYPASS_TRY(t.string("before", &h.before));
    if (c.workers.empty())
      return Status::error(t.path() +
                           " hands packets to a worker, but the config has no "
                           "[[worker]]: add them first.");
    int64_t w = 0;
    BYPASS_TRY(t.integer("worker", &w, 1, static_cast<int64_t>(c.workers.size())));
    h.worker = static_cast<unsigned>(w - 1);
    for (const auto& other : c.handoffs)
      if (other.before == h.before)
        return Status::error("two [[handoff]] tables move '" + h.before +
                             "': keep one (a point runs on one worker).");
    c.handoffs.push_back(std::move(h));
    return Status::ok();
  }));
  for (auto& w : c.workers) w.seccomp = c.eal.worker_seccomp;
  // One worker with no rx list polls every RX queue.
  if (c.workers.size() == 1 && c.workers[0].rx.empty())
    for (uint16_t p = 0; p < c.ports.size(); ++p)
      for (uint16_t q = 0; q < c.ports[p].rx_queues; ++q) c.workers[0].rx.push_back({p, q});
  return c;
}

namespace {

// Edits (insert, delete, change) from a to b, for "did you mean".
size_t edits(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

Status check_top_level(const Config& c, const std::vector<std::string>& own) {
  std::vector<std::string> known = {"eal",    "control", "memory", "port",
                                    "worker", "module",  "handoff"};
  known.insert(known.end(), own.begin(), own.end());
  for (size_t i = 0; i < c.app.keys().size(); ++i) {
    const std::string& k = c.app.keys()[i];
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string list, near;
    for (const auto& n : known) {
      list += (list.empty() ? "[" : ", [") + n + "]";
      if (near.empty() && edits(k, n) <= 2) near = n;
    }
    const ConfigValue& v = c.app.items()[i];
    const bool table =
        v.is_table() || (v.is_array() && !v.items().empty() && v.items()[0].is_table());
    return Status::error(
        (table ? "unknown table [" + k + "] at the top of the config: fix its name"
               : "unknown key '" + k + "' at the top of the config: move it into its table") +
        " (this program reads " + list + (near.empty() ? "" : "; [" + near + "] is the nearest") +
        ").");
  }
  return Status::ok();
}

Expected<Config> load_config(const std::string& path, bool live) {
  // A FIFO or a device would block the control thread of a reload (and
  // SIGTERM with it): live, only a regular file is read. Whatever it is, at
  // most a config's size is read.
  constexpr size_t kMaxConfigBytes = 1 << 20;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return Status::error("cannot read config file '" + path +
                         "': check the path and its permissions.");
  if (S_ISDIR(st.st_mode))
    return Status::error("config file '" + path +
                         "' is a directory: give the path of a TOML file in it.");
  if (live && !S_ISREG(st.st_mode))
    return Status::error("config file '" + path +
                         "' is not a regular file: give the path of a TOML file.");
  std::ifstream f(path);
  if (!f)
    return Status::error("cannot read config file '" + path +
                         "': check the path and its permissions.");
  std::string text(kMaxConfigBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (text.size() > kMaxConfigBytes)
    return Status::error("config file '" + path +
                         "' is over the 1 MiB a config may have: check that it is the config.");
  return parse_config(text, path);
}

}  // namespace bypass
