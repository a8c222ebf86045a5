#include "spoofed_requests.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bypass::it {

namespace {

// Moves the calling thread (only it) into network namespace `name`.
bool enter_netns(const std::string& name) {
  const int ns = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) return false;
  const bool ok = setns(ns, CLONE_NEWNET) == 0;
  close(ns);
  return ok;
}

}  // namespace

bool wait_for_flood(const Flood& f, uint64_t n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (f.sent.load() < n) {
    if (f.ended.load() || std::chrono::steady_clock::now() > until) return f.sent.load() >= n;
    std::this_thread::yield();
  }
  return true;
}

uint64_t flood_requests(Flood& f, const std::atomic<bool>& stop) {
  struct End {
    Flood& f;
    ~End() { f.ended = true; }
  } end{f};
  if (!f.netns.empty() && !enter_netns(f.netns)) return 0;
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return 0;
  constexpr size_t kRequest = 1078;
  std::vector<uint8_t> pkt(20 + 8 + kRequest, 0);
  uint8_t* ip = pkt.data();
  uint8_t* udp = ip + 20;
  uint8_t* req = udp + 8;
  ip[0] = 0x45;
  ip[8] = 64;
  ip[9] = 17;
  std::memcpy(ip + 16, f.to, 4);
  udp[2] = static_cast<uint8_t>(f.port >> 8);
  udp[3] = static_cast<uint8_t>(f.port);
  udp[4] = static_cast<uint8_t>((8 + kRequest) >> 8);
  udp[5] = static_cast<uint8_t>(8 + kRequest);  // UDP checksum 0: none (IPv4)
  const char version[13] = "NETCODE 1.02";
  std::memcpy(req + 1, version, 13);
  for (int i = 0; i < 8; ++i) req[14 + i] = static_cast<uint8_t>(f.protocol_id >> (8 * i));
  const uint64_t expire = static_cast<uint64_t>(time(nullptr)) + 3600;
  for (int i = 0; i < 8; ++i) req[22 + i] = static_cast<uint8_t>(expire >> (8 * i));
  std::mt19937 rng(42);
  for (size_t i = 30; i < kRequest; ++i) req[i] = static_cast<uint8_t>(rng());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  std::memcpy(&to.sin_addr, f.to, 4);
  const auto start = std::chrono::steady_clock::now();
  uint64_t sent = 0;
  constexpr uint64_t kBurst = 100;  // first, from one source at once: most are over its limit
  while (!stop.load()) {
    const uint64_t paced = sent > kBurst ? sent - kBurst : 0;
    const auto due = start + std::chrono::nanoseconds(paced * 1'000'000'000ull / f.rate);
    if (std::chrono::steady_clock::now() < due) {
      std::this_thread::sleep_until(due);
      continue;
    }
    const uint32_t k = sent < kBurst ? 0 : static_cast<uint32_t>(sent % f.sources);
    const uint8_t src[4] = {f.from[0], f.from[1], static_cast<uint8_t>(k >> 8),
                            static_cast<uint8_t>(k)};
    std::memcpy(ip + 12, src, 4);
    udp[0] = static_cast<uint8_t>(0xc0 | (k & 0x3f));
    udp[1] = static_cast<uint8_t>(k >> 6);
    req[30] = static_cast<uint8_t>(sent);  // every token differs
    if (sendto(fd, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0)
      f.sent = ++sent;
  }
  close(fd);
  return sent;
}

namespace {

// The non-empty lines of a --stats-json file that are whole: a line the
// server is still writing (no newline yet) is left out, so no number in it
// is read cut short.
std::vector<std::string> whole_lines(const std::string& path) {
  std::ifstream f(path);
  std::stringstream whole;
  whole << f.rdbuf();
  std::string text = whole.str();
  const size_t end = text.rfind('\n');
  text.resize(end == std::string::npos ? 0 : end + 1);
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// The first number after "key": in `line`, or UINT64_MAX.
uint64_t stat_in(const std::string& line, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("\"" + key + "\":(\\d+)"))) return UINT64_MAX;
  return std::stoull(m[1]);
}

}  // namespace

uint64_t last_stat(const std::string& path, const std::string& key) {
  const std::vector<std::string> lines = whole_lines(path);
  return lines.empty() ? UINT64_MAX : stat_in(lines.back(), key);
}

bool wait_for_quiet(const std::string& path, const std::string& key) {
  size_t before = SIZE_MAX;  // lines when called: the two compared are both written later
  for (int i = 0; i < 300; ++i) {
    const std::vector<std::string> lines = whole_lines(path);
    if (before == SIZE_MAX) before = lines.size();
    if (lines.size() >= before + 2) {
      const uint64_t a = stat_in(lines[lines.size() - 2], key);
      if (a != UINT64_MAX && a == stat_in(lines.back(), key)) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace bypass::it
