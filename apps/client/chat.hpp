// bypass-client's `chat`: an interactive terminal chat over the rooms
// application (application = "rooms"): connects with a token, joins a room,
// publishes each line typed and prints what the room says; Ctrl-D closes
// with 1000.
#pragma once

#include <string>

namespace bypass::client {

int run_chat(const std::string& token_file, const std::string& room, int connect_timeout_ms);

}  // namespace bypass::client
