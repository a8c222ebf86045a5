/// @file
/// Journal: the changelog of a running program's state. Workers hand events
/// through their JournalSinks; the control thread drains them (drain()),
/// adds its own (links, the config), writes each as one JSON line with its
/// time and worker to a file rotated at a size, and keeps the last ones in
/// memory for `bypassctl journal --since`. A neighbour that several workers
/// learn is one entry: an event that says what the journal already says about
/// an address is not repeated.
#pragma once

#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <bypass/control/control_server.hpp>
#include <bypass/core/journal_sink.hpp>
#include <bypass/core/status.hpp>

namespace bypass {

/// Where a Journal writes and how much it keeps.
struct JournalOptions {
  std::string path;                     ///< empty: in memory only
  uint64_t rotate_bytes = 16ull << 20;  ///< then path becomes path.1 and a new file starts
  size_t keep = 10000;                  ///< entries kept in memory
};

/// The journal of one running program; see the file's description.
class Journal {
 public:
  /// Opens `o.path` for appending (when set); the error names the file.
  static Expected<std::unique_ptr<Journal>> open(JournalOptions o);
  /// Closes the file.
  ~Journal();

  /// One sink per worker (numbered from 1), made before the workers start.
  JournalSink* sink(uint32_t worker);
  /// Control-thread events (worker 0), stamped now.
  void record(JournalEvent e);
  /// A config applied (worker 0), stamped now; `what` is written in its line.
  void record_config(const std::string& what);
  /// Takes what the workers handed over.
  void drain();

  /// Lines with a time at or after `since_unix` (seconds): the `limit`
  /// newest after skipping the `offset` newest, oldest first; JSON lines
  /// either way (the text form is the same lines).
  std::string query(double since_unix, size_t offset, size_t limit) const;
  /// Entries journaled so far (repeats left out).
  uint64_t written() const { return written_; }
  uint64_t dropped() const;  ///< what the sinks could not take
  /// Adds the `journal` command to `server`.
  void serve_on(ControlServer& server);

 private:
  explicit Journal(JournalOptions o) : opt_(std::move(o)) {}
  bool duplicate(const JournalEvent& e);
  void append(const JournalEvent& e, const std::string& text = {});
  void rotate();

  JournalOptions opt_;
  std::FILE* file_ = nullptr;
  uint64_t file_bytes_ = 0, written_ = 0;
  std::vector<std::unique_ptr<JournalSink>> sinks_;
  std::vector<JournalEvent> pending_;  // one drain's events
  std::vector<size_t> order_;          // their order by time
  std::map<std::pair<uint8_t, std::array<uint8_t, 16>>, std::array<uint8_t, 6>> known_;
  std::deque<std::pair<double, std::string>> recent_;  // unix seconds, JSON line
};

/// The JSON line of an event, without the newline.
std::string journal_line(const JournalEvent& e, const std::string& text = {});
/// "--since" as bypassctl gives it: "90" or "90s", "5m", "2h" ago, or a Unix
/// time; nullopt-like -1 if it is none of those.
double parse_since(const std::string& s, double now_unix);

}  // namespace bypass
