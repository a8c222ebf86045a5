// TOML -> Config. Every type or spelling mistake becomes one sentence.
#include <rte_mempool.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <bypass/core/config.hpp>

namespace bypass {
namespace {

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& k : s) out += (out.empty() ? "" : ", ") + k;
  return out;
}

class Reader {
 public:
  Reader(const toml::table& t, std::string where) : t_(t), where_(std::move(where)) {}

  // Every key of the table must be one we know.
  Status only(const std::set<std::string>& known) const {
    for (const auto& [k, v] : t_) {
      (void)v;
      if (!known.count(std::string(k.str())))
        return Status::error("unknown key '" + std::string(k.str()) + "' in " + where_ +
                             ": check its spelling (known keys: " + join(known) + ").");
    }
    return Status::ok();
  }

  template <typename T>
  Status integer(const char* key, T* out, int64_t lo, int64_t hi) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::ok();
    auto v = n->value<int64_t>();
    if (!n->is_integer() || !v)
      return Status::error(where_ + "." + key + " must be a whole number.");
    if (*v < lo || *v > hi)
      return Status::error(where_ + "." + key + " = " + std::to_string(*v) +
                           " is out of range: use a value from " + std::to_string(lo) + " to " +
                           std::to_string(hi) + ".");
    *out = static_cast<T>(*v);
    return Status::ok();
  }

  Status boolean(const char* key, bool* out) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::ok();
    if (!n->is_boolean()) return Status::error(where_ + "." + key + " must be true or false.");
    *out = *n->value<bool>();
    return Status::ok();
  }

  Status string(const char* key, std::string* out) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::ok();
    if (!n->is_string()) return Status::error(where_ + "." + key + " must be a string in quotes.");
    *out = *n->value<std::string>();
    return Status::ok();
  }

  Status strings(const char* key, std::vector<std::string>* out) const {
    const toml::node* n = t_.get(key);
    if (!n) return Status::ok();
    const toml::array* a = n->as_array();
    if (!a)
      return Status::error(where_ + "." + key + " must be a list of strings, like [\"a\", \"b\"].");
    out->clear();
    for (const auto& e : *a) {
      if (!e.is_string())
        return Status::error(where_ + "." + key +
                             " must be a list of strings, like [\"a\", \"b\"].");
      out->push_back(*e.value<std::string>());
    }
    return Status::ok();
  }

 private:
  const toml::table& t_;
  std::string where_;
};

Status read_eal(const toml::table& t, EalConfig* e) {
  Reader r(t, "[eal]");
  BYPASS_TRY(r.only({"control_cpu", "huge_pages", "memory_mb", "file_prefix", "log_level", "args",
                     "worker_seccomp"}));
  BYPASS_TRY(r.boolean("worker_seccomp", &e->worker_seccomp));
  BYPASS_TRY(r.integer("control_cpu", &e->control_cpu, 0, RTE_MAX_LCORE - 1));
  BYPASS_TRY(r.boolean("huge_pages", &e->huge_pages));
  BYPASS_TRY(r.integer("memory_mb", &e->memory_mb, 0, 1 << 20));
  BYPASS_TRY(r.string("file_prefix", &e->file_prefix));
  BYPASS_TRY(r.string("log_level", &e->log_level));
  BYPASS_TRY(r.strings("args", &e->args));
  static const std::set<std::string> kLevels = {"emerg",   "alert",  "crit", "error",
                                                "warning", "notice", "info", "debug"};
  if (!kLevels.count(e->log_level))
    return Status::error("[eal].log_level = \"" + e->log_level + "\" is not a level: use one of " +
                         join(kLevels) + ".");
  return Status::ok();
}

Status read_memory(const toml::table& t, MemoryConfig* m) {
  Reader r(t, "[memory]");
  BYPASS_TRY(r.only({"pool_size", "pool_cache", "data_room", "ring_size"}));
  BYPASS_TRY(r.integer("pool_size", &m->pool_size, 64, 1 << 26));
  BYPASS_TRY(r.integer("pool_cache", &m->pool_cache, 0, RTE_MEMPOOL_CACHE_MAX_SIZE));
  BYPASS_TRY(r.integer("data_room", &m->data_room, 256 + RTE_PKTMBUF_HEADROOM, 65535));
  BYPASS_TRY(r.integer("ring_size", &m->ring_size, 64, 1 << 20));
  return Status::ok();
}

Status read_port(const toml::table& t, size_t i, PortConfig* p) {
  Reader r(t, "[[port]] " + std::to_string(i + 1));
  BYPASS_TRY(r.only({"name", "device", "rx_queues", "tx_queues", "rx_desc", "tx_desc", "rss",
                     "promiscuous", "faults", "addresses"}));
  p->name = "p" + std::to_string(i);
  BYPASS_TRY(r.string("name", &p->name));
  BYPASS_TRY(r.string("device", &p->device));
  Reader named(t, "port '" + p->name + "'");
  if (p->device.empty())
    return Status::error("port '" + p->name +
                         "' has no device: set device to a PCI address like \"0000:01:00.0\" or a "
                         "vdev like \"net_null0\".");
  if (p->name.empty() || p->name.find(':') != std::string::npos)
    return Status::error("port name '" + p->name +
                         "' is not usable: use letters, digits, '_' or '-'.");
  BYPASS_TRY(named.integer("rx_queues", &p->rx_queues, 1, RTE_MAX_QUEUES_PER_PORT));
  BYPASS_TRY(named.integer("tx_queues", &p->tx_queues, 1, RTE_MAX_QUEUES_PER_PORT));
  BYPASS_TRY(named.integer("rx_desc", &p->rx_desc, 32, 32768));
  BYPASS_TRY(named.integer("tx_desc", &p->tx_desc, 32, 32768));
  BYPASS_TRY(named.boolean("rss", &p->rss));
  BYPASS_TRY(named.boolean("promiscuous", &p->promiscuous));
  BYPASS_TRY(named.strings("addresses", &p->addresses));
  if (const toml::node* f = t.get("faults")) {
    if (!f->is_table())
      return Status::error(
          "port '" + p->name +
          "' faults must be a table: write it as [port.faults] under its [[port]].");
    p->faults = *f->as_table();
  }
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

Status read_worker(const Config& c, const toml::table& t, size_t i, WorkerConfig* w) {
  std::string where = "[[worker]] " + std::to_string(i + 1);
  Reader r(t, where);
  BYPASS_TRY(r.only({"cpu", "rx", "idle", "idle_sleep_us"}));
  if (!t.get("cpu")) return Status::error(where + " has no cpu: set cpu to the CPU it runs on.");
  BYPASS_TRY(r.integer("cpu", &w->cpu, 0, RTE_MAX_LCORE - 1));
  std::vector<std::string> rx;
  BYPASS_TRY(r.strings("rx", &rx));
  for (const auto& s : rx) BYPASS_TRY(parse_queue_ref(c, where, s, &w->rx));
  std::string idle = "busy";
  BYPASS_TRY(r.string("idle", &idle));
  if (idle == "busy")
    w->idle = IdleMode::kBusy;
  else if (idle == "pause")
    w->idle = IdleMode::kPause;
  else if (idle == "sleep")
    w->idle = IdleMode::kSleep;
  else
    return Status::error(where + ".idle = \"" + idle +
                         "\" is not a policy: use \"busy\", \"pause\" or \"sleep\".");
  BYPASS_TRY(r.integer("idle_sleep_us", &w->idle_sleep_us, 1, 1000000));
  return Status::ok();
}

template <typename F>
Status each_table(const toml::table& doc, const char* key, F&& f) {
  const toml::node* n = doc.get(key);
  if (!n) return Status::ok();
  const toml::array* a = n->as_array();
  if (!a)
    return Status::error(std::string("'") + key + "' must be written as [[" + key + "]] tables.");
  size_t i = 0;
  for (const auto& e : *a) {
    const toml::table* t = e.as_table();
    if (!t)
      return Status::error(std::string("'") + key + "' must be written as [[" + key + "]] tables.");
    BYPASS_TRY(f(*t, i++));
  }
  return Status::ok();
}

Status read_module(const toml::table& t, size_t i, ModuleSpec* m) {
  const std::string where = "[[module]] " + std::to_string(i + 1);
  Reader r(t, where);
  BYPASS_TRY(r.string("name", &m->name));
  BYPASS_TRY(r.string("class", &m->cls));
  BYPASS_TRY(r.string("before", &m->before));
  const std::string named = m->name.empty() ? where : "[[module]] '" + m->name + "'";
  if (m->name.empty())
    return Status::error(where + " has no name: add name = \"blocklist\" (any unique name).");
  if (m->cls.empty())
    return Status::error(named +
                         " has no class: add class = \"SourceBlocklist\" (or another "
                         "module class).");
  if (m->before.empty())
    return Status::error(named +
                         " says nowhere to go: add before = \"udp_dispatch\" (a named "
                         "point of the program's graph; --graph lists them).");
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    if (key == "name" || key == "class" || key == "before") continue;
    const std::string bad =
        named + "." + key + " must be true/false, a number, a string or a list of strings.";
    if (auto b = v.value_exact<bool>()) {
      m->params[key] = *b;
    } else if (auto n = v.value_exact<int64_t>()) {
      m->params[key] = *n;
    } else if (auto d = v.value_exact<double>()) {
      m->params[key] = *d;
    } else if (auto str = v.value_exact<std::string>()) {
      m->params[key] = *str;
    } else if (const toml::array* a = v.as_array()) {
      std::vector<std::string> list;
      for (const auto& e : *a) {
        auto es = e.value_exact<std::string>();
        if (!es) return Status::error(bad);
        list.push_back(*es);
      }
      m->params[key] = std::move(list);
    } else {
      return Status::error(bad);
    }
  }
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
  return n;
}

Expected<Config> parse_config(std::string_view text, const std::string& origin) {
  Config c;
  try {
    c.app = toml::parse(text, origin);
  } catch (const toml::parse_error& err) {
    std::ostringstream os;
    os << origin << " line " << err.source().begin.line << ": " << err.description()
       << ": fix the TOML syntax there.";
    return Status::error(os.str());
  }
  const toml::table& doc = c.app;
  if (const toml::node* n = doc.get("eal")) {
    if (!n->is_table()) return Status::error("'eal' must be a [eal] table.");
    BYPASS_TRY(read_eal(*n->as_table(), &c.eal));
  }
  if (const toml::node* n = doc.get("memory")) {
    if (!n->is_table()) return Status::error("'memory' must be a [memory] table.");
    BYPASS_TRY(read_memory(*n->as_table(), &c.memory));
  }
  BYPASS_TRY(each_table(doc, "port", [&](const toml::table& t, size_t i) {
    PortConfig p;
    BYPASS_TRY(read_port(t, i, &p));
    c.ports.push_back(std::move(p));
    return Status::ok();
  }));
  BYPASS_TRY(each_table(doc, "worker", [&](const toml::table& t, size_t i) {
    WorkerConfig w;
    BYPASS_TRY(read_worker(c, t, i, &w));
    c.workers.push_back(std::move(w));
    return Status::ok();
  }));
  BYPASS_TRY(each_table(doc, "module", [&](const toml::table& t, size_t i) {
    ModuleSpec m;
    BYPASS_TRY(read_module(t, i, &m));
    for (const auto& other : c.modules)
      if (other.name == m.name)
        return Status::error("two [[module]] tables are named '" + m.name +
                             "': give each its own name.");
    c.modules.push_back(std::move(m));
    return Status::ok();
  }));
  for (auto& w : c.workers) w.seccomp = c.eal.worker_seccomp;
  // One worker with no rx list polls every RX queue.
  if (c.workers.size() == 1 && c.workers[0].rx.empty())
    for (uint16_t p = 0; p < c.ports.size(); ++p)
      for (uint16_t q = 0; q < c.ports[p].rx_queues; ++q) c.workers[0].rx.push_back({p, q});
  return c;
}

Expected<Config> load_config(const std::string& path) {
  std::ifstream f(path);
  if (!f)
    return Status::error("cannot read config file '" + path +
                         "': check the path and its permissions.");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace bypass
