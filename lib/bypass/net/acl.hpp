/// @file
/// AclTable: first-match 5-tuple rules (protocol, source and destination
/// prefixes, source and destination port ranges) for IPv4 and IPv6,
/// compiled into DPDK's rte_acl tries, one per family. Rules are read from a
/// config's tables; a table is built on the control thread and then only
/// read, by any number of workers at once. Replacing rules means building a
/// new table and handing it to the workers (Worker::run_on).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/config_reader.hpp>
#include <bypass/core/status.hpp>

struct rte_acl_ctx;

namespace bypass {

/// One rule. A rule without an address is for both families.
struct AclRule {
  std::string name;    ///< for the counters ("rule_3" unless named)
  bool allow = false;  ///< allow, or deny
  uint8_t proto = 0;   ///< IPPROTO_*; 0: any
  int family = 0;      ///< 4 or 6 (from its addresses); 0: both
  ///@{
  /// Source and destination prefixes: network order (IPv4 in the first 4 bytes).
  uint8_t src[16] = {}, dst[16] = {};
  ///@}
  ///@{
  /// Their prefix lengths; 0: any.
  uint8_t src_len = 0, dst_len = 0;
  ///@}
  ///@{
  /// Source ports, inclusive.
  uint16_t sport_lo = 0, sport_hi = 65535;
  ///@}
  ///@{
  /// Destination ports, inclusive.
  uint16_t dport_lo = 0, dport_hi = 65535;
  ///@}
};

/// Reads one rule from a table: action = "allow" | "deny", proto = "udp" |
/// "tcp" | "icmp" | "icmpv6" | "any" | a number, src and dst = "any" or a
/// prefix ("198.18.0.0/15", "2001:db8::/32"), sport and dport = "any", a
/// port or a range ("1024-65535"), name (optional).
Expected<AclRule> read_acl_rule(const ConfigSection& t, size_t index);

/// A rule set as a config gives it: `[NAME]` with default = "allow" |
/// "deny" (for what no rule matches) and its `[[NAME.rule]]` tables.
struct AclConfig {
  std::vector<AclRule> rules;  ///< in order: the first that matches decides
  bool default_allow = false;  ///< the action when none matches
};
/// Reads the table `name` of `c` (read_acl_rule for each rule).
Expected<AclConfig> read_acl_config(const Config& c, const std::string& name);

/// Rules compiled for matching; see the file's description.
class AclTable {
 public:
  /// Both tries for `rules`, first match wins; one sentence on a mistake.
  static Expected<std::unique_ptr<AclTable>> build(std::vector<AclRule> rules);
  /// Frees the tries.
  ~AclTable();
  AclTable(const AclTable&) = delete;
  AclTable& operator=(const AclTable&) = delete;

  /// For each IPv4 header (with its first 4 bytes of L4 right after 20
  /// bytes of header), the matching rule's index + 1, or 0 for none.
  void classify4(const uint8_t** l3, uint32_t* results, uint32_t n) const;
  /// The same for IPv6 headers (L4 right after the fixed 40 bytes).
  void classify6(const uint8_t** l3, uint32_t* results, uint32_t n) const;
  const std::vector<AclRule>& rules() const { return rules_; }  ///< in order

 private:
  AclTable() = default;
  std::vector<AclRule> rules_;
  rte_acl_ctx* v4_ = nullptr;
  rte_acl_ctx* v6_ = nullptr;
};

}  // namespace bypass
