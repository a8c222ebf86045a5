#include <bypass/control/journal.hpp>

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <fcntl.h>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include <bypass/control/stats.hpp>

namespace bypass {

namespace {

const char* kind_name(JournalKind k) {
  switch (k) {
    case JournalKind::kNeighborLearned:
      return "neighbour_learned";
    case JournalKind::kNeighborChanged:
      return "neighbour_changed";
    case JournalKind::kNeighborExpired:
      return "neighbour_expired";
    case JournalKind::kLinkUp:
      return "link_up";
    case JournalKind::kLinkDown:
      return "link_down";
    case JournalKind::kConnectionOpened:
      return "connection_opened";
    case JournalKind::kConnectionClosed:
      return "connection_closed";
    case JournalKind::kConfigApplied:
      return "config_applied";
  }
  return "unknown";
}

std::string mac_str(const std::array<uint8_t, 6>& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

std::string ip_str(const JournalEvent& e) {
  char buf[INET6_ADDRSTRLEN] = "";
  inet_ntop(e.family == 6 ? AF_INET6 : AF_INET, e.ip.data(), buf, sizeof(buf));
  return buf;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string journal_line(const JournalEvent& e, const std::string& text) {
  const time_t secs = static_cast<time_t>(e.unix_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = fmt::format(
      "{{\"time\":\"{}.{:06d}Z\",\"unix\":{:.6f},\"worker\":{},\"event\":\"{}\"", when,
      static_cast<int>((e.unix_ns % 1000000000) / 1000), static_cast<double>(e.unix_ns) / 1e9,
      e.worker == 0 ? std::string("\"control\"") : std::to_string(e.worker), kind_name(e.kind));
  switch (e.kind) {
    case JournalKind::kNeighborChanged:
      out += fmt::format(",\"port\":{},\"ip\":\"{}\",\"mac\":\"{}\",\"old_mac\":\"{}\"", e.port,
                         ip_str(e), mac_str(e.mac), mac_str(e.old_mac));
      break;
    case JournalKind::kNeighborLearned:
    case JournalKind::kNeighborExpired:
      out += fmt::format(",\"port\":{},\"ip\":\"{}\",\"mac\":\"{}\"", e.port, ip_str(e),
                         mac_str(e.mac));
      break;
    case JournalKind::kLinkUp:
    case JournalKind::kLinkDown:
      out += fmt::format(",\"port\":{}", e.port);
      break;
    case JournalKind::kConnectionOpened:
      out += fmt::format(",\"client_id\":{},\"ip\":\"{}\"", e.id, ip_str(e));
      break;
    case JournalKind::kConnectionClosed: {
      static const char* const kWhy[] = {"timed_out", "by_peer", "by_us"};
      out += fmt::format(",\"client_id\":{},\"ip\":\"{}\",\"reason\":\"{}\"", e.id, ip_str(e),
                         e.code < 3 ? kWhy[e.code] : "other");
      break;
    }
    case JournalKind::kConfigApplied:
      break;
  }
  if (!text.empty()) out += ",\"what\":" + json_quote(text);
  return out + "}";
}

double parse_since(const std::string& s, double now_unix) {
  if (s.empty()) return -1;
  double mult = 1;
  std::string num = s;
  switch (s.back()) {
    case 's':
      num.pop_back();
      break;
    case 'm':
      mult = 60;
      num.pop_back();
      break;
    case 'h':
      mult = 3600;
      num.pop_back();
      break;
    default:
      break;
  }
  if (num.empty() || num.find_first_not_of("0123456789.") != std::string::npos) return -1;
  double v = std::strtod(num.c_str(), nullptr);
  if (mult == 1 && v > 1e9) return v;  // a Unix time
  return now_unix - v * mult;
}

namespace {

// The journal holds peers' addresses: owner and group only, appended to,
// never through a symlink.
std::FILE* open_journal(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) return nullptr;
  std::FILE* f = fdopen(fd, "a");
  if (!f) close(fd);
  return f;
}

}  // namespace

Expected<std::unique_ptr<Journal>> Journal::open(JournalOptions o) {
  std::unique_ptr<Journal> j(new Journal(std::move(o)));
  if (!j->opt_.path.empty()) {
    j->file_ = open_journal(j->opt_.path);
    if (!j->file_)
      return Status::error("cannot write the journal '" + j->opt_.path + "' (" +
                           std::strerror(errno) +
                           "): set [control] journal to a file in a writable directory.");
    struct stat st {};
    if (fstat(fileno(j->file_), &st) == 0) j->file_bytes_ = static_cast<uint64_t>(st.st_size);
  }
  return j;
}

Journal::~Journal() {
  if (file_) std::fclose(file_);
}

JournalSink* Journal::sink(uint32_t worker) {
  for (auto& s : sinks_)
    if (s->worker() == worker) return s.get();
  sinks_.push_back(std::make_unique<JournalSink>(worker));
  return sinks_.back().get();
}

uint64_t Journal::dropped() const {
  uint64_t n = 0;
  for (const auto& s : sinks_) n += s->dropped();
  return n;
}

bool Journal::duplicate(const JournalEvent& e) {
  const auto key = std::make_pair(e.family, e.ip);
  switch (e.kind) {
    case JournalKind::kNeighborLearned:
    case JournalKind::kNeighborChanged: {
      auto it = known_.find(key);
      if (it != known_.end() && it->second == e.mac) return true;
      known_[key] = e.mac;
      return false;
    }
    case JournalKind::kNeighborExpired:
      // Said once, by the first worker to let it go.
      return known_.erase(key) == 0;
    default:
      return false;
  }
}

void Journal::record(JournalEvent e) {
  if (e.unix_ns == 0) e.unix_ns = now_ns();
  if (!duplicate(e)) append(e);
}

void Journal::record_config(const std::string& what) {
  JournalEvent e;
  e.kind = JournalKind::kConfigApplied;
  e.unix_ns = now_ns();
  append(e, what);
}

void Journal::drain() {
  // In time order across workers, so that one worker's "expired" does not
  // come before another's "learned" that happened first.
  pending_.clear();
  JournalEvent e;
  for (auto& s : sinks_)
    while (s->pop(&e)) pending_.push_back(e);
  // Sorted by time, then by the order taken (std::stable_sort would need a
  // temporary buffer that libstdc++ 12 marks deprecated for clang).
  order_.resize(pending_.size());
  for (size_t k = 0; k < order_.size(); ++k) order_[k] = k;
  std::sort(order_.begin(), order_.end(), [this](size_t a, size_t b) {
    return pending_[a].unix_ns != pending_[b].unix_ns ? pending_[a].unix_ns < pending_[b].unix_ns
                                                      : a < b;
  });
  for (size_t k : order_)
    if (!duplicate(pending_[k])) append(pending_[k]);
}

void Journal::rotate() {
  std::fclose(file_);
  std::rename(opt_.path.c_str(), (opt_.path + ".1").c_str());
  file_ = open_journal(opt_.path);
  if (!file_)  // said once; the journal goes on in memory (bypassctl journal)
    spdlog::error(
        "journal: cannot open '{}' again after rotating it ({}): it is kept in memory only "
        "from now on; check the directory.",
        opt_.path, std::strerror(errno));
  file_bytes_ = 0;
}

void Journal::append(const JournalEvent& e, const std::string& text) {
  std::string line = journal_line(e, text);
  ++written_;
  if (file_) {
    if (file_bytes_ + line.size() + 1 > opt_.rotate_bytes && file_bytes_ > 0) rotate();
    if (file_) {
      std::fprintf(file_, "%s\n", line.c_str());
      std::fflush(file_);
      file_bytes_ += line.size() + 1;
    }
  }
  recent_.emplace_back(static_cast<double>(e.unix_ns) / 1e9, std::move(line));
  if (recent_.size() > opt_.keep) recent_.pop_front();
}

std::string Journal::query(double since_unix, size_t offset, size_t limit) const {
  // Pages back from the newest (as `journalctl -n`): skip the `offset`
  // newest entries since the time, take `limit` before them, oldest first.
  std::vector<const std::string*> page;
  size_t skipped = 0;
  for (auto it = recent_.rbegin(); it != recent_.rend() && page.size() < limit; ++it) {
    if (it->first < since_unix) continue;
    if (skipped++ < offset) continue;
    page.push_back(&it->second);
  }
  std::string out;
  for (auto it = page.rbegin(); it != page.rend(); ++it) out += **it + "\n";
  return out;
}

void Journal::serve_on(ControlServer& server) {
  server.add_view(
      "journal", "state changes (neighbours, links, connections, config); --since 5m",
      [this](const CommandRequest& r) {
        drain();
        double since = 0;
        for (size_t i = 0; i < r.args.size(); ++i) {
          if (r.args[i] == "--since" && i + 1 < r.args.size()) {
            since = parse_since(r.args[++i], static_cast<double>(now_ns()) / 1e9);
            if (since < 0)
              return CommandReply::error("--since takes a time: 90s, 5m, 2h ago or a Unix time.");
          } else {
            return CommandReply::error("journal takes --since TIME (and --offset, --limit): '" +
                                       r.args[i] + "' is neither.");
          }
        }
        std::string lines = query(since, r.offset, r.limit);
        if (!r.json) return CommandReply{true, lines};
        std::string arr = "[";
        for (size_t p = 0; p < lines.size();) {
          size_t nl = lines.find('\n', p);
          arr += (arr.size() > 1 ? "," : "") + lines.substr(p, nl - p);
          p = nl + 1;
        }
        return CommandReply{true, arr + "]"};
      });
}

}  // namespace bypass
