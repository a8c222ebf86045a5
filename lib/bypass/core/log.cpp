#include <bypass/core/log.hpp>

#include <spdlog/spdlog.h>

#include <rte_log.h>

#include <cstdio>
#include <deque>
#include <mutex>

namespace bypass {
namespace {

std::mutex g_mu;
std::deque<std::string> g_recent;
std::string g_partial;

ssize_t dpdk_write(void*, const char* buf, size_t size) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_partial.append(buf, size);
  size_t nl;
  while ((nl = g_partial.find('\n')) != std::string::npos) {
    std::string line = g_partial.substr(0, nl);
    g_partial.erase(0, nl + 1);
    if (line.empty()) continue;
    spdlog::debug("dpdk: {}", line);
    g_recent.push_back(std::move(line));
    if (g_recent.size() > 16) g_recent.pop_front();
  }
  return static_cast<ssize_t>(size);
}

}  // namespace

void route_dpdk_log() {
  static FILE* stream = [] {
    cookie_io_functions_t fns{};
    fns.write = dpdk_write;
    FILE* f = fopencookie(nullptr, "w", fns);
    if (f) setvbuf(f, nullptr, _IOLBF, 0);
    return f;
  }();
  if (stream) rte_openlog_stream(stream);
}

std::string recent_dpdk_log() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::string out;
  for (const auto& l : g_recent) out += l + "\n";
  return out;
}

}  // namespace bypass
