/// @file
/// ConfigSection: the one reader of config tables. Every area (EAL, ports,
/// workers, modules, services, streams, faults, each program's options) reads
/// its table through it into plain structs, and every message about a key is
/// written here, once: an unknown key (with the known ones), a wrong type, a
/// value out of range, each naming the key's path ("[[port]] 2.rx_desc") and
/// saying what to write instead.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <bypass/core/config_value.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

/// A table of the config, read key by key; see the file's description.
class ConfigSection {
 public:
  /// `table` must outlive the section. `path` names it in messages ("[eal]",
  /// "[[port]] 1", "port 'a'"); `dotted` is its TOML name ("gen", "udpd") for
  /// the hints that say how to write a sub-table; empty for the document.
  ConfigSection(const ConfigValue& table, std::string path, std::string dotted = "")
      : t_(table), path_(std::move(path)), dotted_(std::move(dotted)) {}

  /// The same table under another name in messages (once it has a name).
  ConfigSection renamed(std::string path) const { return {t_, std::move(path), dotted_}; }

  const std::string& path() const { return path_; }  ///< its name in messages
  const ConfigValue& value() const { return t_; }    ///< the table
  /// "<path>.<key>", or the key alone in the document.
  std::string where(std::string_view key) const;
  /// The value of `key`, or nullptr.
  const ConfigValue* get(std::string_view key) const { return t_.get(key); }
  /// Whether the table has `key`.
  bool has(std::string_view key) const { return t_.get(key) != nullptr; }

  ///@{
  /// Every key of the table is one of `known`.
  Status only(std::initializer_list<std::string_view> known) const;
  Status only_list(const std::vector<std::string>& known) const;
  ///@}
  /// `key` is there; else "<path> has no <key>: <fix>."
  Status require(std::string_view key, std::string_view fix) const;

  ///@{
  /// Each reader leaves `out` alone when the key is absent and returns the
  /// sentence that says what to write when it is there but wrong.
  Status integer(std::string_view key, int64_t* out, int64_t lo, int64_t hi) const;
  template <typename T>
  Status integer(std::string_view key, T* out, int64_t lo, int64_t hi) const {
    int64_t v = 0;
    if (!has(key)) return Status::ok();
    BYPASS_TRY(integer(key, &v, lo, hi));
    *out = static_cast<T>(v);
    return Status::ok();
  }
  Status number(std::string_view key, double* out, double lo, double hi) const;
  Status boolean(std::string_view key, bool* out) const;
  Status string(std::string_view key, std::string* out) const;
  Status strings(std::string_view key, std::vector<std::string>* out) const;
  /// An IPv4 address ("198.18.0.1"), written in network order.
  Status ipv4(std::string_view key, uint32_t* be) const;
  /// A list of IPv4 addresses, each in network order.
  Status ipv4s(std::string_view key, std::vector<uint32_t>* be) const;
  /// A MAC address ("02:00:00:00:00:01") into `out`'s 6 bytes.
  Status mac(std::string_view key, uint8_t* out) const;
  ///@}
  /// A string that must be one of `allowed`; `noun` names what it is ("a
  /// level", "a policy") in the message.
  Status choice(std::string_view key, std::string* out,
                std::initializer_list<std::string_view> allowed, std::string_view noun) const;
  /// The same, with the allowed strings known only at run time.
  Status choice(std::string_view key, std::string* out, std::span<const std::string> allowed,
                std::string_view noun) const;

  /// The sub-table "[<dotted>.<key>]", if written.
  Expected<std::optional<ConfigSection>> table(std::string_view key) const;
  /// Each table of the list "[[<dotted>.<key>]]" in order, handed to `f` with
  /// its index; the section is named "[[<dotted>.<key>]] <index + 1>".
  Status tables(std::string_view key,
                const std::function<Status(const ConfigSection&, size_t)>& f) const;

  /// "<path>.<key> <what>" as an error.
  Status error(std::string_view key, std::string_view what) const;

 private:
  std::string dotted(std::string_view key) const;

  const ConfigValue& t_;
  std::string path_;
  std::string dotted_;
};

}  // namespace bypass
