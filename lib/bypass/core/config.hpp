/// @file
/// Config: what a bypass process runs, as plain data. Parsed from TOML
/// (parse_config: the only code that sees TOML; each area reads its table
/// through core/config_reader.hpp), overridden by flags, then checked whole by check_config
/// before DPDK's EAL starts, so that every mistake is one sentence saying what
/// to change. Applications read their own section from `app`. Every struct
/// compares equal when equal, so that a reload can tell what changed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <bypass/core/config_value.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

/// What a worker does after an iteration that found no work.
enum class IdleMode {
  kBusy,   ///< polls again at once
  kPause,  ///< runs a few pause instructions first
  kSleep   ///< sleeps idle_sleep_us first
};

/// Mbufs a worker may hold outside the pool's rings and caches at any moment.
inline constexpr uint32_t kInFlightPerWorker = 4 * 32;

/// [eal]: how DPDK's EAL starts.
struct EalConfig {
  unsigned control_cpu = 0;           ///< the CPU of the control thread (lcore 0)
  bool huge_pages = true;             ///< false runs EAL with --no-huge (IOVA as VA)
  unsigned memory_mb = 0;             ///< 0: EAL's default with huge pages, 512 without
  std::string file_prefix;            ///< empty: "bypass-<pid>"
  std::string log_level = "warning";  ///< DPDK's own log, routed to our logger
  std::vector<std::string> args;      ///< passed to EAL unchanged (also after `--`)
  bool worker_seccomp = true;         ///< workers run under a seccomp filter (core/sandbox.hpp)
  /// Equal when every field is.
  bool operator==(const EalConfig&) const = default;
};

/// [memory]: the packet pool and the hand-off rings.
struct MemoryConfig {
  uint32_t pool_size = 16383;       ///< mbufs per pool; 2^n - 1 is best for the ring
  uint32_t pool_cache = 256;        ///< per-lcore cache
  uint16_t data_room = 2048 + 128;  ///< RTE_MBUF_DEFAULT_BUF_SIZE
  uint32_t ring_size = 1024;        ///< hand-off rings between workers
  /// Equal when every field is.
  bool operator==(const MemoryConfig&) const = default;
};

/// [[port]]: one network device.
struct PortConfig {
  std::string name;         ///< how the rest of the config refers to it
  std::string device;       ///< PCI address or vdev string ("net_memif0,role=server")
  uint16_t rx_queues = 1;   ///< RX queues to configure
  uint16_t tx_queues = 0;   ///< 0: one per worker
  uint16_t rx_desc = 1024;  ///< descriptors per RX queue
  uint16_t tx_desc = 1024;  ///< descriptors per TX queue
  bool rss = true;          ///< spread received packets over the RX queues by hash
  bool promiscuous = true;  ///< receive frames for any MAC address
  std::vector<std::string>
      addresses;  ///< IP host addresses ("198.18.0.2/24"), for programs with an Endpoint
  std::optional<ConfigValue> faults;  ///< [port.faults]: wrap in a FaultyPort (io/fault_config.hpp)
  bool rx_timestamp = false;  ///< set by programs that want device RX timestamps (bypass-gen)
  /// Equal when every field is.
  bool operator==(const PortConfig&) const = default;

  /// Whether `device` is a PCI address ("0000:01:00.0" or "01:00.0"), not a vdev.
  bool is_pci() const;
  std::string device_name() const;  ///< the part before the first comma
  /// For a PCI device: its address as DPDK names it, 0000:bb:dd.f in lower case.
  std::string pci_address() const;
};

/// One RX queue of one port.
struct QueueRef {
  uint16_t port = 0;   ///< index into Config::ports
  uint16_t queue = 0;  ///< the queue of that port
  /// Equal when every field is.
  bool operator==(const QueueRef&) const = default;
};

/// [[worker]]: one worker thread.
struct WorkerConfig {
  unsigned cpu = 1;                 ///< the CPU it runs on
  std::vector<QueueRef> rx;         ///< RX queues this worker polls
  IdleMode idle = IdleMode::kBusy;  ///< what it does when an iteration found no work
  unsigned idle_sleep_us = 100;     ///< with IdleMode::kSleep: how long it sleeps
  bool seccomp = true;  ///< confine the worker thread (core/sandbox.hpp); from [eal] worker_seccomp
  /// The EAL lcore it runs on; -1: the one Eal::start made for it (index + 1).
  /// A program that attaches bypass to its own EAL names its lcores here.
  int lcore = -1;
  /// Equal when every field is.
  bool operator==(const WorkerConfig&) const = default;
};

/// [[module]]: a module inserted into the program's default graph, in front of
/// the module (one per port and worker) named `before`.
struct ModuleSpec {
  std::string name;                           ///< its instance name
  std::string cls;                            ///< its class, as registered
  std::string before;                         ///< a named point of the default graph
  ConfigValue params = ConfigValue::table();  ///< every other key of the table
  /// Equal when every field is.
  bool operator==(const ModuleSpec&) const = default;
};

/// [[handoff]]: the worker `worker` runs the named point `before` of the
/// program's graph and everything after it; the workers that reach the point
/// hand their packets to it through a ring each (graph/placement.hpp).
struct HandoffSpec {
  std::string before;   ///< a named point of the default graph
  unsigned worker = 0;  ///< index into Config::workers
  /// Equal when every field is.
  bool operator==(const HandoffSpec&) const = default;
};

/// [control]: how operators reach a running program (control/control_server.hpp).
struct ControlConfig {
  std::string name;       ///< the instance's name; empty: the program's ("bypass-udpd")
  std::string socket;     ///< its Unix socket; empty: `<runtime dir>/bypass/<name>.sock`
  bool socket_on = true;  ///< socket = "off" turns it off
  std::string metrics;    ///< "host:port" of the HTTP endpoint (Prometheus, live page); empty: none
  /// Host names the HTTP endpoint answers to besides IP addresses and
  /// localhost (lower case; "*": any); see control/http_host.hpp.
  std::vector<std::string> metrics_hosts;
  bool telemetry = true;  ///< /bypass/* commands on DPDK's telemetry socket (DPDK backends)
  std::string journal;    ///< a file for the journal of state changes; empty: memory only
  unsigned journal_rotate_mb = 16;  ///< the file becomes `<journal>.1` at this size
  /// Equal when every field is.
  bool operator==(const ControlConfig&) const = default;
};

/// A whole config; see the file's description.
struct Config {
  EalConfig eal;                      ///< [eal]
  ControlConfig control;              ///< [control]
  MemoryConfig memory;                ///< [memory]
  std::vector<PortConfig> ports;      ///< [[port]], in order
  std::vector<WorkerConfig> workers;  ///< [[worker]], in order
  std::vector<ModuleSpec> modules;    ///< [[module]], in order
  std::vector<HandoffSpec> handoffs;  ///< [[handoff]], in order
  ConfigValue app;                    ///< the whole document, for application sections
  /// Equal when every field is.
  bool operator==(const Config&) const = default;

  /// The index of the port named `name` in `ports`, or -1.
  int port_index(const std::string& name) const;
  /// The TX queues of `p`: as configured, or one per worker.
  uint16_t tx_queues(const PortConfig& p) const {
    return p.tx_queues ? p.tx_queues : static_cast<uint16_t>(workers.size());
  }
  /// Mbufs the ports' descriptor rings and the workers' caches can hold at once.
  uint64_t mbufs_needed() const;
};

/// Parses TOML text; `origin` names the file in messages.
Expected<Config> parse_config(std::string_view toml_text, const std::string& origin = "config");
/// Reads the file at `path` (1 MiB at most) and parses it (parse_config).
/// `live`: for a reload, on a control thread that must not wait, a regular
/// file only (at start a pipe is fine: -c <(envsubst < t.toml)).
Expected<Config> load_config(const std::string& path, bool live = false);

/// Refuses a table or key at the top of the config that neither bypass
/// (eal, control, memory, port, worker, module, handoff) nor the program
/// reads: `own` lists the program's tables ("udpd", "fwd", an appliance's).
/// Without it a misspelt [memroy] or [[wroker]] would be ignored.
Status check_top_level(const Config& c, const std::vector<std::string>& own);

/// What check_config needs to know of the machine; tests supply their own.
struct SystemFacts {
  std::vector<unsigned> online_cpus;   ///< CPUs that exist
  std::vector<unsigned> allowed_cpus;  ///< CPUs this process may run on
  uint64_t hugepages_free = 0;         ///< free huge pages, any size
  uint64_t hugepage_bytes = 0;         ///< size of the default huge page
  bool hugetlbfs_mounted = false;      ///< a hugetlbfs is mounted
  bool is_root = false;                ///< the process runs as root
  static SystemFacts read();           ///< from /proc and /sys
};

/// Checks the config against itself and the machine. Returns the first mistake;
/// `warnings` collects what works but is probably not intended.
Status check_config(const Config& c, const SystemFacts& sys,
                    std::vector<std::string>* warnings = nullptr);

/// Formats a CPU list as "0-3,6".
std::string format_cpus(const std::vector<unsigned>& cpus);

}  // namespace bypass
