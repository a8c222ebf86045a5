// Reading a file a user named (a config, a static service's content, a
// connect token, a private key): only a regular file is read, at most a
// stated size, with one sentence naming the path and what to change when it
// is missing, unreadable, a directory, a pipe or device, or too large. Never
// throws, never blocks on a FIFO, never reads /dev/zero without end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <bypass/core/status.hpp>

namespace bypass {

// The bytes of the regular file at `path`, if it holds at most `max_bytes`.
// `what` names the file in an error ("the token file", "static file"); the
// bytes are read into one allocation (a caller holding a secret can wipe it).
Expected<std::vector<uint8_t>> read_user_file(const std::string& path, size_t max_bytes,
                                              std::string_view what);

}  // namespace bypass
