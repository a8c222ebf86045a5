/// @file
/// ConfigValue: a config document as plain data (true, 42, 0.5, "text", a
/// list, a table of named values), so that no header of
/// bypass names a TOML library's types. parse_config turns TOML into it once;
/// every area reads its part through a ConfigSection (core/config_reader.hpp),
/// which owns the error messages. Values compare equal when equal, so a reload
/// can tell what changed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bypass {

/// One value of a config document; see the file's description.
class ConfigValue {
 public:
  /// What a value holds.
  enum class Kind : uint8_t {
    kNone,    ///< nothing (a value made by the default constructor)
    kBool,    ///< true or false
    kInt,     ///< a whole number
    kFloat,   ///< a number with a fraction or an exponent
    kString,  ///< text
    kArray,   ///< a list of values
    kTable    ///< named values
  };

  /// Nothing (Kind::kNone).
  ConfigValue() = default;
  ///@{
  /// A value holding a bool, a whole number, a float, text, or (an array) a list of strings.
  static ConfigValue of(bool b) { return ConfigValue(Kind::kBool, b, 0, 0); }
  static ConfigValue of(int64_t i) { return ConfigValue(Kind::kInt, false, i, 0); }
  static ConfigValue of(double d) { return ConfigValue(Kind::kFloat, false, 0, d); }
  static ConfigValue of(std::string s) {
    ConfigValue v(Kind::kString, false, 0, 0);
    v.s_ = std::move(s);
    return v;
  }
  static ConfigValue of(const char* s) { return of(std::string(s)); }
  static ConfigValue of(const std::vector<std::string>& list) {
    ConfigValue v = array();
    for (const auto& s : list) v.push(of(s));
    return v;
  }
  ///@}
  /// An empty array.
  static ConfigValue array() { return ConfigValue(Kind::kArray, false, 0, 0); }
  /// An empty table.
  static ConfigValue table() { return ConfigValue(Kind::kTable, false, 0, 0); }

  Kind kind() const { return kind_; }                        ///< what it holds
  bool is_table() const { return kind_ == Kind::kTable; }    ///< a table
  bool is_array() const { return kind_ == Kind::kArray; }    ///< an array
  bool is_string() const { return kind_ == Kind::kString; }  ///< text
  bool is_integer() const { return kind_ == Kind::kInt; }    ///< a whole number

  /// The bool, if it is one.
  std::optional<bool> as_bool() const {
    return kind_ == Kind::kBool ? std::optional<bool>(b_) : std::nullopt;
  }
  /// The whole number, if it is one.
  std::optional<int64_t> as_int() const {
    return kind_ == Kind::kInt ? std::optional<int64_t>(i_) : std::nullopt;
  }
  /// A whole number or a float.
  std::optional<double> as_number() const {
    if (kind_ == Kind::kInt) return static_cast<double>(i_);
    if (kind_ == Kind::kFloat) return d_;
    return std::nullopt;
  }
  /// The text, if it is text; else nullptr.
  const std::string* as_string() const { return kind_ == Kind::kString ? &s_ : nullptr; }

  /// A list's elements, or a table's values (in the order of keys()).
  const std::vector<ConfigValue>& items() const { return items_; }
  /// Appends `v` to an array.
  void push(ConfigValue v) { items_.push_back(std::move(v)); }

  /// A table's keys (parse_config gives them sorted).
  const std::vector<std::string>& keys() const { return keys_; }
  /// The value of `key` in a table, or nullptr.
  const ConfigValue* get(std::string_view key) const {
    for (size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] == key) return &items_[i];
    return nullptr;
  }
  /// Sets `key` in a table (replacing a value it had).
  void set(std::string key, ConfigValue v) {
    for (size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] == key) {
        items_[i] = std::move(v);
        return;
      }
    keys_.push_back(std::move(key));
    items_.push_back(std::move(v));
  }
  /// Removes `key` from a table, if it is there.
  void erase(std::string_view key) {
    for (size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] == key) {
        keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(i));
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
  }
  size_t size() const { return items_.size(); }  ///< elements of a list, keys of a table

  /// What a person would call its kind: "a string", "a table".
  std::string_view kind_name() const;
  /// The value as written in TOML, for messages ("\"x\"", "42", "[...]").
  std::string shown() const;

  /// Equal kinds and equal contents (a table's keys in the same order).
  bool operator==(const ConfigValue&) const = default;

 private:
  ConfigValue(Kind k, bool b, int64_t i, double d) : kind_(k), b_(b), i_(i), d_(d) {}

  Kind kind_ = Kind::kNone;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<std::string> keys_;
  std::vector<ConfigValue> items_;
};

}  // namespace bypass
