// A message session is allocated when its slot first opens. Without the
// memory for it, the connection is closed and counted, and the process goes
// on; the slot opens normally once memory is there again. Allocation failure
// is made by this test executable's own operator new: while a threshold is
// set, every allocation of at least that many bytes throws std::bad_alloc.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <bypass/msg/echo_app.hpp>
#include <bypass/msg/message_server.hpp>

namespace {
std::atomic<size_t> g_fail_from{0};  // 0: allocations do not fail
}  // namespace

void* operator new(size_t n) {
  const size_t from = g_fail_from.load(std::memory_order_relaxed);
  if (from != 0 && n >= from) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The replacement pair is malloc / free, which GCC cannot see through.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

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

  g_fail_from = 1024;  // a session and its queues are larger
  EXPECT_NO_THROW(server.on_connect(1, 77, {}, kNow));
  g_fail_from = 0;
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

}  // namespace
}  // namespace bypass::msg
