/// @file
/// ModuleRegistry: the module classes a config may name in [[module]], each
/// with a factory that reads its parameters (every mistake one sentence naming
/// the module and key) and builds an instance. A program starts from the
/// built-in classes and user code adds its own; there is no global registry.
/// Factories run once before EAL starts, to check the config, and again per
/// worker when the graph is built; constructors must not need EAL.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <bypass/core/config.hpp>
#include <bypass/core/config_reader.hpp>
#include <bypass/core/status.hpp>
#include <bypass/graph/module.hpp>

namespace bypass {

/// A [[module]]'s parameters, read like any config table (its messages name
/// the module: "[[module]] 'bl'.sources ...").
class ModuleParams : public ConfigSection {
 public:
  /// The parameters of `s`, which must outlive them.
  explicit ModuleParams(const ModuleSpec& s)
      : ConfigSection(s.params, "[[module]] '" + s.name + "'", "module"), s_(s) {}
  const ModuleSpec& spec() const { return s_; }  ///< the [[module]] they come from

 private:
  const ModuleSpec& s_;
};

/// Builds a module from its parameters, or says what to change.
using ModuleFactory = std::function<Expected<std::unique_ptr<Module>>(const ModuleParams&)>;

/// A named point of a program's default graph: a [[module]] can go in front of
/// it. `parsed`: packets there carry the Endpoint's parse (net/parsed_field.hpp).
struct GraphPoint {
  std::string name;     ///< the name a [[module]]'s `before` gives
  bool parsed = false;  ///< packets there carry the Endpoint's parse
};

/// The module classes a program knows; see the file's description.
class ModuleRegistry {
 public:
  /// Adds a class; a second one with the same name replaces the first.
  /// `needs_parse`: its packets must carry the Endpoint's parse.
  void add(std::string cls, std::string help, ModuleFactory make, bool needs_parse = false);
  /// Whether there is a class named `cls`.
  bool has(const std::string& cls) const;
  /// The class names, sorted.
  std::vector<std::string> classes() const;
  /// An instance for `spec`, or the sentence that says what to change.
  Expected<std::unique_ptr<Module>> make(const ModuleSpec& spec) const;
  /// Checks every spec before EAL: its class exists, its parameters are good,
  /// `before` is one of the program's `points`, and the packets there carry
  /// the parse the class needs.
  Status check(const std::vector<ModuleSpec>& specs, const std::vector<GraphPoint>& points) const;

 private:
  struct Entry {
    std::string cls, help;
    ModuleFactory make;
    bool needs_parse = false;
  };
  std::vector<Entry> entries_;
};

/// The graph's own classes: Io, MacSwap, FiveTupleSwap.
void add_graph_modules(ModuleRegistry& r);

}  // namespace bypass
