#include <bypass/core/file_read.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bypass {

namespace {

std::string quoted(std::string_view what, const std::string& path) {
  return std::string(what) + " '" + path + "'";
}

Status open_error(std::string_view what, const std::string& path, int err) {
  if (err == ENOENT || err == ENOTDIR)
    return Status::error(quoted(what, path) + " does not exist: check the path.");
  if (err == EACCES || err == EPERM)
    return Status::error("cannot read " + quoted(what, path) +
                         ": check its permissions (and its directories').");
  return Status::error("cannot read " + quoted(what, path) + " (error " + std::to_string(err) +
                       "): check the path and its permissions.");
}

// What was read is wiped before it is dropped on an error: the file may be
// a private key.
void wipe(std::vector<uint8_t>& bytes) {
  explicit_bzero(bytes.data(), bytes.size());
}

}  // namespace

Expected<std::vector<uint8_t>> read_user_file(const std::string& path, size_t max_bytes,
                                              std::string_view what) {
  if (path.empty()) return Status::error(std::string(what) + " has no path: give one.");
  // O_NONBLOCK: opening a FIFO does not wait for a writer (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return open_error(what, path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool dir = S_ISDIR(st.st_mode);
    ::close(fd);
    if (dir)
      return Status::error(quoted(what, path) + " is a directory: give the path of a file in it.");
    return Status::error(quoted(what, path) +
                         " is not a regular file (a device, pipe or socket): give the path of a "
                         "file.");
  }
  const auto too_big = [&] {
    return Status::error(quoted(what, path) + " is over " + std::to_string(max_bytes) +
                         " bytes: check that it is the right file.");
  };
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return too_big();
  }
  // One allocation: the size it had, and one byte more to see it grow past the limit.
  std::vector<uint8_t> bytes(std::min<size_t>(static_cast<size_t>(st.st_size), max_bytes) + 1);
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      wipe(bytes);
      return Status::error("cannot read " + quoted(what, path) + " (error " + std::to_string(err) +
                           " while reading): check the file.");
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got > max_bytes || got == bytes.size()) wipe(bytes);  // it may hold a key
  if (got > max_bytes) return too_big();
  if (got == bytes.size())
    return Status::error(quoted(what, path) +
                         " grew while it was read: try again once it is "
                         "written.");
  bytes.resize(got);  // shrinks: no reallocation
  return bytes;
}

}  // namespace bypass
