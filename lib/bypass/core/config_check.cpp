// check_config: the whole config against itself and the machine, before EAL.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <bypass/core/config.hpp>

namespace bypass {

namespace {
// The largest [memory] data_room net_af_xdp (DPDK 22.11) sets an RX queue up
// with: mbuf, mempool header and buffer within one page (measured).
constexpr unsigned kAfXdpMaxDataRoom = 3840;
}  // namespace
namespace {

std::vector<unsigned> parse_cpu_list(const std::string& s) {
  std::vector<unsigned> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty() || !std::isdigit(static_cast<unsigned char>(part[0]))) continue;
    auto dash = part.find('-');
    unsigned a = std::stoul(part.substr(0, dash));
    unsigned b = dash == std::string::npos ? a : std::stoul(part.substr(dash + 1));
    for (unsigned i = a; i <= b; ++i) out.push_back(i);
  }
  return out;
}

uint64_t read_u64(const std::filesystem::path& p) {
  std::ifstream f(p);
  uint64_t v = 0;
  f >> v;
  return v;
}

bool contains(const std::vector<unsigned>& v, unsigned x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string queue_name(const Config& c, QueueRef q) {
  return "\"" + c.ports[q.port].name + ":" + std::to_string(q.queue) + "\"";
}

Status check_cpu(const std::string& who, unsigned cpu, const SystemFacts& sys, const char* key) {
  if (!contains(sys.online_cpus, cpu))
    return Status::error(who + " is on CPU " + std::to_string(cpu) +
                         ", which this machine does not have (CPUs " +
                         format_cpus(sys.online_cpus) + "): set " + key + " to one of those.");
  if (!contains(sys.allowed_cpus, cpu))
    return Status::error(who + " is on CPU " + std::to_string(cpu) +
                         ", which this process may not use (its CPU set is " +
                         format_cpus(sys.allowed_cpus) + "): set " + key +
                         " to one of those or widen the cpuset.");
  return Status::ok();
}

}  // namespace

std::string format_cpus(const std::vector<unsigned>& cpus) {
  std::vector<unsigned> v(cpus);
  std::sort(v.begin(), v.end());
  std::string out;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out.empty() ? "none" : out;
}

SystemFacts SystemFacts::read() {
  SystemFacts s;
  {
    std::ifstream f("/sys/devices/system/cpu/online");
    std::string line;
    std::getline(f, line);
    s.online_cpus = parse_cpu_list(line);
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (unsigned i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &set)) s.allowed_cpus.push_back(i);
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/sys/kernel/mm/hugepages", ec))
    s.hugepages_free += read_u64(d.path() / "free_hugepages");
  {
    std::ifstream f("/proc/meminfo");
    std::string key;
    uint64_t v;
    std::string unit;
    while (f >> key >> v) {
      std::getline(f, unit);
      if (key == "Hugepagesize:") s.hugepage_bytes = v * 1024;
    }
  }
  {
    std::ifstream f("/proc/mounts");
    std::string dev, mnt, type, rest;
    while (f >> dev >> mnt >> type && std::getline(f, rest))
      if (type == "hugetlbfs") s.hugetlbfs_mounted = true;
  }
  s.is_root = geteuid() == 0;
  return s;
}

Status check_config(const Config& c, const SystemFacts& sys, std::vector<std::string>* warnings) {
  auto warn = [&](std::string w) {
    if (warnings) warnings->push_back(std::move(w));
  };
  // Memory.
  if (c.eal.huge_pages) {
    if (!sys.hugetlbfs_mounted || sys.hugepages_free == 0)
      return Status::error(
          std::string(!sys.hugetlbfs_mounted ? "hugetlbfs is not mounted"
                                             : "no huge pages are free") +
          ": run scripts/bootstrap as root (or `echo 1024 > /proc/sys/vm/nr_hugepages` and "
          "`mount -t hugetlbfs nodev /dev/hugepages`), or set [eal] huge_pages = false to run with "
          "--no-huge.");
    uint64_t need = uint64_t(c.eal.memory_mb) << 20;
    uint64_t have = sys.hugepages_free * sys.hugepage_bytes;
    if (need > have)
      return Status::error("[eal].memory_mb = " + std::to_string(c.eal.memory_mb) + " but only " +
                           std::to_string(have >> 20) +
                           " MB of huge pages are free: reserve more pages or lower memory_mb.");
  }
  // Ports.
  if (c.ports.empty())
    return Status::error(
        "the config names no ports: add a [[port]] with a device, for example device = "
        "\"net_null0\".");
  std::set<std::string> names, devices;
  for (const auto& p : c.ports) {
    if (!names.insert(p.name).second)
      return Status::error("two ports are named '" + p.name +
                           "': give each [[port]] its own name.");
    if (!devices.insert(p.device_name()).second)
      return Status::error(
          "two ports use device '" + p.device_name() +
          "': each [[port]] needs its own device (for vdevs, number them: net_null0, net_null1).");
    if (p.is_pci()) {
      // The parser wrote it as DPDK names it: 0000:bb:dd.f, lower case.
      if (!std::filesystem::exists("/sys/bus/pci/devices/" + p.device_name()))
        return Status::error(
            "port '" + p.name + "' names PCI device " + p.device_name() +
            ", which this machine does not have: check `lspci -D` or dpdk-devbind.py --status.");
    } else if (p.device.rfind("net_af_xdp", 0) == 0 && c.memory.data_room > kAfXdpMaxDataRoom) {
      // DPDK 22.11's af_xdp makes its UMEM of the pool's mbufs, one per 4 KiB
      // page: a larger buffer fails its RX queue setup with a bare EINVAL.
      return Status::error("port '" + p.name +
                           "' is net_af_xdp, which keeps each packet buffer in one 4 KiB page: "
                           "lower [memory] data_room to " +
                           std::to_string(kAfXdpMaxDataRoom) + " at most (frames up to " +
                           std::to_string(kAfXdpMaxDataRoom - RTE_PKTMBUF_HEADROOM) +
                           " bytes; af_xdp takes no jumbo frames).");
    } else if (p.device.rfind("net_", 0) != 0 && p.device.rfind("eth_", 0) != 0) {
      return Status::error("port '" + p.name + "' device \"" + p.device +
                           "\" is neither a PCI address (0000:01:00.0) nor a DPDK vdev (net_null0, "
                           "net_memif0, net_af_xdp0,iface=veth0, ...): fix the device string.");
    }
  }
  // A PCI device given to EAL directly (-a, --allow) that the machine does
  // not have: EAL goes on without it, and nothing says so.
  for (size_t i = 0; i < c.eal.args.size(); ++i) {
    const std::string& a = c.eal.args[i];
    std::string dev;
    if ((a == "-a" || a == "--allow") && i + 1 < c.eal.args.size())
      dev = c.eal.args[i + 1];
    else if (a.rfind("--allow=", 0) == 0)
      dev = a.substr(8);
    else if (a.rfind("-a", 0) == 0 && a.size() > 2 && a[2] != '-')
      dev = a.substr(2);
    if (dev.empty()) continue;
    PortConfig probe;
    probe.device = dev;
    if (!probe.is_pci()) continue;
    const std::string addr = probe.pci_address();
    if (!std::filesystem::exists("/sys/bus/pci/devices/" + addr))
      return Status::error("the EAL argument '" + a + "' allows PCI device " + addr +
                           ", which this machine does not have (EAL would go on without it): "
                           "check `lspci -D`, or name the device in a [[port]].");
  }
  // Workers and their CPUs.
  if (c.workers.empty())
    return Status::error("the config names no workers: add a [[worker]] with the cpu it runs on.");
  if (Status s = check_cpu("the control thread", c.eal.control_cpu, sys, "[eal].control_cpu"); !s)
    return s;
  std::set<unsigned> used = {c.eal.control_cpu};
  for (size_t i = 0; i < c.workers.size(); ++i) {
    const auto& w = c.workers[i];
    std::string who = "worker " + std::to_string(i + 1);
    if (Status s = check_cpu(who, w.cpu, sys, "its cpu"); !s) return s;
    if (!used.insert(w.cpu).second)
      warn(who + " shares CPU " + std::to_string(w.cpu) +
           " with another thread: a busy-polling worker runs best on a CPU of its own.");
    if (w.rx.empty()) warn(who + " polls no RX queue: it runs only what other workers hand it.");
  }
  // Every RX queue is polled by exactly one worker.
  for (uint16_t p = 0; p < c.ports.size(); ++p)
    for (uint16_t q = 0; q < c.ports[p].rx_queues; ++q) {
      int owners = 0;
      for (const auto& w : c.workers)
        owners += static_cast<int>(std::count(w.rx.begin(), w.rx.end(), QueueRef{p, q}));
      if (owners == 0)
        return Status::error("RX queue " + queue_name(c, {p, q}) +
                             " is polled by no worker: add it to a "
                             "[[worker]] rx list or lower rx_queues of port '" +
                             c.ports[p].name + "'.");
      if (owners > 1)
        return Status::error("RX queue " + queue_name(c, {p, q}) + " is polled by " +
                             std::to_string(owners) +
                             " workers: a queue belongs to one worker, so list it once.");
    }
  // Every worker gets its own TX queue on every port.
  for (const auto& p : c.ports)
    if (c.tx_queues(p) < c.workers.size())
      return Status::error("port '" + p.name + "' has " + std::to_string(c.tx_queues(p)) +
                           " TX queue(s) but " + std::to_string(c.workers.size()) +
                           " workers send on it: set tx_queues = " +
                           std::to_string(c.workers.size()) + " (or leave it out).");
  // The pool must fill every descriptor ring and still have room to work.
  uint64_t need = c.mbufs_needed();
  if (c.memory.pool_size < need)
    return Status::error(
        "[memory].pool_size = " + std::to_string(c.memory.pool_size) +
        " is too small: the ports' descriptor rings, the workers' caches and the hand-off "
        "rings hold up to " +
        std::to_string(need) + " mbufs; raise pool_size to at least " + std::to_string(need) +
        " or lower rx_desc/tx_desc.");
  if (c.memory.pool_cache > c.memory.pool_size / 4)
    return Status::error(
        "[memory].pool_cache = " + std::to_string(c.memory.pool_cache) +
        " is more than a quarter of pool_size: lower pool_cache or raise pool_size.");
  if (!c.eal.huge_pages && c.eal.memory_mb != 0 && c.eal.memory_mb < 64)
    return Status::error("[eal].memory_mb = " + std::to_string(c.eal.memory_mb) +
                         " is too little to run without huge pages: use at least 64.");
  return Status::ok();
}

}  // namespace bypass
