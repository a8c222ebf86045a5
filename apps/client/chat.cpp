#include "chat.hpp"

#include "netcode_io.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <bypass/conn/connect_token.hpp>
#include <bypass/conn/keys.hpp>
#include <bypass/msg/udp_message_client.hpp>

namespace bypass::client {
namespace {

// What others wrote, fit for a terminal: control characters (C0 but tab,
// DEL, and C1 as UTF-8) become '?', so a member cannot move the cursor,
// clear the screen or retitle the window of everyone in the room.
std::string printable(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const auto c = static_cast<uint8_t>(t[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      out += '?';
    } else if (c == 0xC2 && i + 1 < t.size() && static_cast<uint8_t>(t[i + 1]) >= 0x80 &&
               static_cast<uint8_t>(t[i + 1]) <= 0x9f) {
      out += '?';
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

struct Chat final : msg::MessageHandler {
  std::string room;
  bool open = false, closed = false;
  uint16_t code = 0;

  void on_open(msg::Session& s) override {
    open = true;
    const std::string join = "join " + room;
    s.send(0, true, {reinterpret_cast<const uint8_t*>(join.data()), join.size()});
  }
  bool on_message(msg::Session&, uint8_t, bool, std::span<const uint8_t> b) override {
    const std::string t(b.begin(), b.end());
    const size_t nl = t.find('\n');
    if (t.rfind("msg ", 0) == 0 && nl != std::string::npos) {
      // "msg ROOM CLIENT\n<text>" -> "[CLIENT] text"
      const std::string head = t.substr(4, nl - 4);
      const size_t sp = head.find(' ');
      const std::string who = printable(sp == std::string::npos ? head : head.substr(sp + 1));
      std::printf("[%s] %s\n", who.c_str(), printable(t.substr(nl + 1)).c_str());
    } else {
      std::printf("* %s\n", printable(t).c_str());
    }
    std::fflush(stdout);
    return true;
  }
  void on_close(msg::Session&, uint16_t c, std::string_view reason) override {
    closed = true;
    code = c;
    std::printf("* closed %u %s\n", c, printable(reason).c_str());
    std::fflush(stdout);
  }
};

}  // namespace

int run_chat(const std::string& token_file, const std::string& room, int connect_timeout_ms) {
  if (Status s = conn::crypto_init(); !s) return fail(s.message());
  if (room.empty()) return fail("chat needs --room NAME.");
  auto bytes = read_user_file(token_file, kMaxTokenFileBytes, "the token file");
  if (!bytes) return fail(bytes.error());
  auto token = conn::read_connect_token(*bytes);
  if (!token) return fail("the token in '" + token_file + "': " + token.error());
  if (token->expire_timestamp <= static_cast<uint64_t>(std::time(nullptr)))
    return fail("the token in '" + token_file + "' has expired: mint a new one.");
  Chat chat;
  chat.room = room;
  msg::UdpMessageClient client(&chat);
  if (Status s = client.connect(*bytes); !s) return fail(s.message());
  const conn::Now start = clock_now();
  std::printf("* connecting to the room %s\n", room.c_str());
  std::fflush(stdout);
  std::string line;
  bool input_done = false;
  for (;;) {
    const conn::Now t = clock_now();
    if (!chat.open && t.mono_ns - start.mono_ns > uint64_t(connect_timeout_ms) * 1'000'000)
      return fail("no answer from the server within " + std::to_string(connect_timeout_ms) +
                  " ms (" + std::string(conn::client_state_name(client.state())) + ").");
    if (client.state() < conn::ClientState::kDisconnected)
      return fail("the connection failed: " + std::string(conn::client_state_name(client.state())) +
                  ".");
    if (chat.closed && client.finished()) break;
    // Input is read once the session is open (the join goes first): lines
    // typed or piped before wait in the terminal or the pipe, and an early
    // end of input closes after them. The client's own socket is polled
    // too, and client.run() takes what it has (a bounded number a pass, so
    // a flood cannot keep the keep-alives, acks and terminal from their
    // turn), runs its timers and sends.
    pollfd pfds[2] = {{client.fd(), POLLIN, 0}, {input_done || !chat.open ? -1 : 0, POLLIN, 0}};
    const int ready = poll(pfds, 2, 10);
    client.run();
    if (ready <= 0) continue;
    if (pfds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
      char buf[4096];
      const ssize_t n = (pfds[1].revents & POLLNVAL) ? 0 : read(0, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      const bool end = n <= 0;  // Ctrl-D, the pipe's end, or no input at all
      if (!end) line.append(buf, static_cast<size_t>(n));
      if (end && !line.empty()) line += '\n';  // a last line without its newline
      for (size_t nl; (nl = line.find('\n')) != std::string::npos; line.erase(0, nl + 1)) {
        const std::string pub = "pub " + room + "\n" + line.substr(0, nl);
        const msg::SendResult r = client.session().send(
            0, true, {reinterpret_cast<const uint8_t*>(pub.data()), pub.size()});
        if (r != msg::SendResult::kOk) std::printf("* not sent: %s\n", msg::to_string(r));
      }
      if (end) {
        input_done = true;
        client.close(msg::kCloseNormal, "bye");  // after what was queued
      }
      client.run();  // what was typed goes now, not after the next wait
    }
  }
  return chat.code == msg::kCloseNormal ? 0 : 1;
}

}  // namespace bypass::client
