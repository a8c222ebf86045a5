// A message session is allocated when its slot first opens. Without the
// memory for it, the connection is closed and counted, and the process goes
// on; the slot opens normally once memory is there again. Allocation failure
// and counting come from this binary's operator new (counting_new.hpp), which
// also shows that the rooms application's commands and replies allocate
// nothing on a worker.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <bypass/msg/echo_app.hpp>
#include <bypass/msg/message_server.hpp>
#include <bypass/msg/rooms_app.hpp>

#include "../../support/counting_new.hpp"

namespace bypass::msg {
namespace {

struct Recorder final : ConnectionTransport {
  size_t send_payloads(std::span<const OutPacket>) override { return 0; }
  void disconnect(uint32_t conn) override { closed.push_back(conn); }
  std::vector<uint32_t> closed;
};

uint64_t counter(const MessageServer& s, const std::string& name) {
  std::vector<std::pair<std::string, uint64_t>> all;
  s.report(all);
  for (const auto& [n, v] : all)
    if (n == name) return v;
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

TEST(MessageServer, ASessionWithoutMemoryClosesItsConnectionAndIsCounted) {
  Recorder transport;
  transport.closed.reserve(4);
  EchoApp app;
  MessageServer server(MessageServerConfig{}, &app, &transport, 4);
  constexpr uint64_t kNow = 1'000'000'000;

  bypass::test::fail_allocations_from(1024);  // a session and its queues are larger
  EXPECT_NO_THROW(server.on_connect(1, 77, {}, kNow));
  bypass::test::fail_allocations_from(0);
  EXPECT_EQ(transport.closed, std::vector<uint32_t>{1});
  EXPECT_EQ(server.session(1), nullptr);
  EXPECT_EQ(counter(server, "msg.closed_no_session_memory"), 1u);
  server.on_disconnect(1);  // what the transport's disconnect calls back

  // With memory again, the slot opens.
  server.on_connect(1, 78, {}, kNow);
  ASSERT_NE(server.session(1), nullptr);
  EXPECT_EQ(server.session(1)->client_id, 78u);
  EXPECT_EQ(transport.closed.size(), 1u);
  EXPECT_EQ(counter(server, "msg.closed_no_session_memory"), 1u);
}

// Every command and every reply of the rooms application, with room names
// longer than the 15 bytes a std::string keeps inline: once the sessions are
// open, nothing allocates (the replies are formatted on the stack, the rooms
// live in a table sized when the app is attached).
TEST(RoomsApp, CommandsAndRepliesAllocateNothing) {
  Recorder transport;
  transport.closed.reserve(4);
  RoomsConfig rc;
  rc.rooms_per_connection = 2;
  RoomsApp app(rc);
  MessageServer server(MessageServerConfig{}, &app, &transport, 4);
  ASSERT_TRUE(app.attach(&server).is_ok());
  constexpr uint64_t kNow = 1'000'000'000;
  server.on_connect(1, 71, {}, kNow);
  server.on_connect(2, 72, {}, kNow);
  Session& a = *server.session(1);
  Session& b = *server.session(2);
  const std::string r1(40, 'a'), r2(50, 'b'), r3(60, 'c');
  const std::vector<std::pair<Session*, std::string>> lines = {
      {&a, "join " + r1},        {&a, "join " + r1},       {&b, "join " + r1},
      {&a, "join " + r2},        {&a, "join " + r3},       {&a, "pub " + r1 + "\nhello"},
      {&a, "pub " + r3 + "\nx"}, {&b, "leave " + r2},      {&a, "frob"},
      {&a, "join two words"},    {&a, "leave " + r1},      {&a, "leave " + r2},
      {&b, "leave " + r1},       {&a, "pub " + r1 + "\nx"}};
  auto run = [&] {
    for (const auto& [s, line] : lines)
      app.on_message(*s, 0, true, {reinterpret_cast<const uint8_t*>(line.data()), line.size()});
  };
  run();  // the first round may warm up what the sessions keep
  EXPECT_EQ(app.rooms(), 0u) << "every room emptied again";
  const uint64_t before = bypass::test::allocations();
  for (int round = 0; round < 3; ++round) run();
  EXPECT_EQ(bypass::test::allocations() - before, 0u);
  EXPECT_EQ(app.rooms(), 0u);
}

}  // namespace
}  // namespace bypass::msg
