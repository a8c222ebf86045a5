// bypassctl: asks a running bypass program what it is doing, over its
// control socket (control/control_server.hpp). With no -s or -n it finds the
// one instance running on this machine.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <bypass/control/run_dir.hpp>

namespace {

constexpr const char* kUsage =
    "usage: bypassctl [-s SOCKET | -n NAME] COMMAND [ARG...] [--json] [--offset N] [--limit N]\n"
    "       bypassctl list                 the instances running here\n"
    "       bypassctl [-n NAME] top [--interval SECONDS] [--count N]\n"
    "Commands of a running instance: bypassctl help.\n";

int fail(const std::string& sentence) {
  std::fprintf(stderr, "bypassctl: %s\n", sentence.c_str());
  return 1;
}

// A connected socket, or -1 with errno. A server whose backlog is full (it
// stopped serving) makes a blocking connect wait for ever: this one tries
// again for `patience` and then gives up with EAGAIN.
int connect_to(const std::string& path,
               std::chrono::milliseconds patience = std::chrono::milliseconds(5000)) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  const auto until = std::chrono::steady_clock::now() + patience;
  while (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    if (errno != EAGAIN || std::chrono::steady_clock::now() >= until) {
      const int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// A socket left by a program that was killed answers nobody: not listed.
bool alive(const std::string& path) {
  int fd = connect_to(path, std::chrono::milliseconds(200));
  if (fd < 0) return false;
  close(fd);
  return true;
}

// The names of the instances whose sockets answer in `dir`.
std::vector<std::string> instances(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".sock") == 0 && alive(dir + "/" + n))
        names.push_back(n.substr(0, n.size() - 5));
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Sends one request line; returns false with `out` holding the sentence on failure.
bool ask(const std::string& path, const std::string& line, std::string* out) {
  int fd = connect_to(path);
  if (fd < 0) {
    *out = errno == EAGAIN
               ? "the instance at " + path + " takes no connection (its queue stayed full for 5 s)"
               : "cannot reach " + path + " (" + std::strerror(errno) +
                     "): is the program running, and may this user open its socket?";
    return false;
  }
  std::string req = line + "\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    *out = "the instance at " + path + " closed the connection";
    close(fd);
    return false;
  }
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      *out = "the instance at " + path + " did not answer within 5 s";
      close(fd);
      return false;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t nl = reply.find('\n');
  std::string status = reply.substr(0, nl);
  *out = nl == std::string::npos ? "" : reply.substr(nl + 1);
  if (status == "ok") return true;
  if (status != "error") *out = "the instance at " + path + " answered something else than bypass";
  while (!out->empty() && out->back() == '\n') out->pop_back();
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, name;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (words.empty() && (a == "-s" || a == "--socket" || a == "-n" || a == "--name")) {
      const bool path = a == "-s" || a == "--socket";
      if (i + 1 >= argc || argv[i + 1][0] == '\0')
        return fail(a + " needs a value: " + a + (path ? " /run/bypass/NAME.sock." : " NAME."));
      (path ? socket_path : name) = argv[++i];
      if (path && socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
        return fail("the socket path '" + socket_path + "' is over " +
                    std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                    " bytes, which a Unix socket cannot have: give a shorter one.");
    } else if (words.empty() && (a == "-h" || a == "--help")) {
      std::printf("%s", kUsage);
      return 0;
    } else if (words.empty() && !a.empty() && a[0] == '-') {
      return fail("unknown option " + a + ": see bypassctl --help.");
    } else {
      words.push_back(a);
    }
  }
  if (words.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  const std::string dir = bypass::control_socket_dir();
  if (words[0] == "list") {
    for (const auto& n : instances(dir))
      std::printf("%s\t%s/%s.sock\n", n.c_str(), dir.c_str(), n.c_str());
    return 0;
  }
  if (socket_path.empty()) {
    if (!name.empty()) {
      socket_path = dir + "/" + name + ".sock";
    } else {
      auto all = instances(dir);
      if (all.empty())
        return fail("no bypass is running here (no socket in " + dir +
                    "): start one, or point to its socket with -s PATH.");
      if (all.size() > 1) {
        std::string list;
        for (const auto& n : all) list += (list.empty() ? "" : ", ") + n;
        return fail("several bypass instances run here (" + list + "): choose one with -n NAME.");
      }
      socket_path = dir + "/" + all[0] + ".sock";
    }
  }
  // top: asks once per interval and redraws.
  if (words[0] == "top") {
    double interval = 1;
    long count = isatty(STDOUT_FILENO) ? 0 : 1;  // 0: until interrupted
    std::string line = "top";
    for (size_t i = 1; i < words.size(); ++i) {
      if ((words[i] == "--interval" || words[i] == "--count") && i + 1 < words.size()) {
        const std::string& flag = words[i];
        const std::string& v = words[++i];
        char* end = nullptr;
        errno = 0;
        if (flag == "--interval") {
          interval = std::strtod(v.c_str(), &end);
          if (v.empty() || *end || errno || !std::isfinite(interval) || interval < 0.1 ||
              interval > 86400)
            return fail("--interval takes seconds from 0.1 to 86400, not '" + v + "'.");
        } else {
          count = std::strtol(v.c_str(), &end, 10);
          if (v.empty() || *end || errno || count < 0)
            return fail("--count takes a whole number of 0 or more (0: until stopped), not '" + v +
                        "'.");
        }
      } else {
        line += " " + words[i];
      }
    }
    const bool tty = isatty(STDOUT_FILENO);
    for (long n = 0; count == 0 || n < count; ++n) {
      if (n) std::this_thread::sleep_for(std::chrono::duration<double>(interval));
      std::string out;
      if (!ask(socket_path, line, &out)) return fail(out);
      std::printf("%s%s%s", tty ? "\x1b[H\x1b[2J" : (n ? "\n" : ""), out.c_str(),
                  out.empty() || out.back() == '\n' ? "" : "\n");
      std::fflush(stdout);
    }
    return 0;
  }
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  std::string out;
  if (!ask(socket_path, line, &out)) return fail(out);
  std::printf("%s", out.c_str());
  if (!out.empty() && out.back() != '\n') std::printf("\n");
  return 0;
}
