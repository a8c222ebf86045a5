// Rooms across workers, where a worker takes what the others sent only when
// it polls: a backlog that lands in one poll waits for members to drain
// instead of closing them, a member still full past the wait is closed with
// 4001, a poll ends while another worker keeps writing, and what waits or is
// dropped on the way is counted. Also: names are UTF-8 (answers are text),
// and a publisher's own copy skipped for its max_message is counted.
#include <gtest/gtest.h>

#include <string>

#include "rooms_hub.hpp"

namespace bypass::msg::test {
namespace {

// A publication that waits because the ring to another worker is full is
// counted as msg.links_ring_full, and reaches that worker once it polls.
TEST(RoomsAcross, APublicationThatWaitsForAFullRingIsCounted) {
  WorkerLinks links(WorkerLinks::kMinRingBytes);
  Hub a(2, {}, 256, 1000), b(2, {}, 256, 2000);
  a.link(links);
  b.link(links);
  auto both = [&](auto done) {
    for (int i = 0; i < 5000 && !done(); ++i) {
      a.step();
      b.step();
    }
    return done();
  };
  ASSERT_TRUE(both([&] { return a.client(1).opened == 1 && b.client(1).opened == 1; }));
  a.say(0, "join r");
  a.say(1, "join r");
  b.say(0, "join r");
  ASSERT_TRUE(both([&] { return a.rooms().members("r") == 2 && b.rooms().members("r") == 1; }));
  a.say(0, "pub r\n" + std::string(60000, 'x'));
  a.say(0, "pub r\n" + std::string(60000, 'y'));
  a.say(0, "pub r\n" + std::string(60000, 'z'));  // the 128 KiB ring holds two: this one waits
  for (int i = 0; i < 200; ++i) a.step();         // b does not poll
  EXPECT_EQ(count_prefix(a.client(1), "msg r 1000\nyyy"), 1u);
  EXPECT_EQ(count_prefix(a.client(1), "msg r 1000\nzzz"), 0u) << "it waited, for everyone";
  EXPECT_GT(server_counter(a, "msg.links_ring_full"), 0u);
  ASSERT_TRUE(both([&] {
    return count_prefix(b.client(0), "msg r 1000\nzzz") == 1 &&
           count_prefix(a.client(1), "msg r 1000\nzzz") == 1;
  }));
}

// Rings too small for the largest message (which would wait for room that
// never comes, holding its sender's channel) are refused when a worker joins,
// with what to set.
TEST(RoomsAcross, RingsTooSmallForTheLargestMessageAreRefused) {
  for (const size_t bytes :
       {size_t{4096}, WorkerLinks::kMinRingBytes / 2, WorkerLinks::kMinRingBytes + 4096}) {
    WorkerLinks links(bytes);
    auto me = links.join();
    ASSERT_FALSE(me.has_value()) << bytes;
    EXPECT_EQ(me.status().message(),
              "messages: the rings between workers are " + std::to_string(bytes) +
                  " bytes; make them a power of two of at least 131072, so that a 64 KiB "
                  "message fits");
  }
  WorkerLinks links(WorkerLinks::kMinRingBytes);
  EXPECT_TRUE(links.join().has_value());
}

// Another worker's application that publishes again for each record it gets.
struct Echoer : LinkedApp {
  MessageServer* from = nullptr;
  int calls = 0;
  bool on_linked(std::span<const uint8_t>, uint32_t, uint64_t) override {
    ++calls;
    const uint8_t x = 1;
    if (calls < 1000) from->broadcast({&x, 1}, {});
    return true;
  }
};

// A poll takes what was in the ring when it began: a worker that keeps
// writing cannot hold the reader in poll() (no flush, no ticks) for good.
TEST(RoomsAcross, APollEndsWhileAnotherWorkerKeepsWriting) {
  WorkerLinks links(WorkerLinks::kMinRingBytes);
  Hub a(1), b(1);
  Echoer echoer;
  echoer.from = &a.server();
  a.server().link(&links, *links.join(), nullptr);
  b.server().link(&links, *links.join(), &echoer);
  a.server().poll(0);
  b.server().poll(0);  // both take records from now on
  const uint8_t x = 1;
  ASSERT_TRUE(a.server().broadcast({&x, 1}, {}));
  b.server().poll(1);
  EXPECT_EQ(echoer.calls, 1) << "the record written during the poll waits for the next one";
  b.server().poll(2);
  EXPECT_EQ(echoer.calls, 2);
}

// An idle worker polls at its tick: 300 publications made over 10 ms on the
// other worker land in one poll, more than a member's queue (256) holds.
// Members that read are not closed: the rest waits in the ring and follows.
TEST(RoomsAcross, MembersOnAnIdleWorkerAreNotClosedByOnePollsBacklog) {
  TwoWorkers w(2);
  Hub& a = w.a;
  Hub& b = w.b;
  ASSERT_TRUE(w.all_join(2, "r"));
  for (int ms = 0; ms < 10; ++ms) {
    for (int k = 0; k < 30; ++k) a.say(0, "pub r\n" + std::to_string(ms * 30 + k));
    a.step();
  }
  b.step();
  EXPECT_EQ(rooms_counter(b, "rooms.slow_closed"), 0u);
  EXPECT_GT(rooms_counter(b, "rooms.waited_for_room"), 0u);
  ASSERT_TRUE(w.until([&] {
    return count_prefix(b.client(0), "msg r ") == 300 && count_prefix(b.client(1), "msg r ") == 300;
  })) << count_prefix(b.client(0), "msg r ");
  EXPECT_EQ(b.client(0).closed, 0);
  EXPECT_EQ(b.client(1).closed, 0);
  // In the publisher's order.
  size_t next = 0;
  for (const Got& g : b.client(1).got) {
    const std::string t = text_of(g);
    if (t.rfind("msg r ", 0) != 0) continue;
    EXPECT_EQ(t, "msg r 1000\n" + std::to_string(next));
    ++next;
  }
}

// A member that stops reading still holds the others up only for a while:
// past slow_member_ms (the default, and a shorter one) it is closed with 4001
// and the rest of the room on its worker gets everything.
TEST(RoomsAcross, AMemberStillFullAfterTheWaitIsClosedAsSlow) {
  for (const uint32_t wait_ms : {RoomsConfig{}.slow_member_ms, 200u}) {
    SCOPED_TRACE("slow_member_ms = " + std::to_string(wait_ms));
    RoomsConfig rc;
    rc.slow_member_ms = wait_ms;
    TwoWorkers w(2, rc);
    Hub& a = w.a;
    Hub& b = w.b;
    ASSERT_TRUE(w.all_join(2, "r"));
    b.deaf_[0] = true;  // b's first member stops reading (no acks)
    for (int k = 0; k < 400; ++k) a.say(0, "pub r\n" + std::to_string(k));
    int steps = 0;  // a step is a millisecond
    for (; steps < 5000 && rooms_counter(b, "rooms.slow_closed") == 0; ++steps) {
      if (steps == static_cast<int>(wait_ms) / 2) {
        EXPECT_LT(count_prefix(b.client(1), "msg r "), 400u) << "held up behind the full member";
      }
      w.step();
    }
    EXPECT_GE(steps, static_cast<int>(wait_ms)) << "closed before the wait was over";
    EXPECT_LE(steps, static_cast<int>(wait_ms) + 100) << "the wait is slow_member_ms";
    ASSERT_TRUE(w.until([&] { return count_prefix(b.client(1), "msg r ") == 400; }));
    EXPECT_EQ(rooms_counter(b, "rooms.slow_closed"), 1u);
    EXPECT_EQ(b.server().session(0)->close_code(), kCloseSlowConsumer);
    EXPECT_EQ(b.client(1).closed, 0);
  }
}

// A member that stalls for most of each wait and catches up just before it
// ends holds the ring (and every room behind it) only so long: the wait is
// the ring's debt, not each record's, so it is closed with 4001 as one that
// never reads would be, and the rest of the room gets everything.
TEST(RoomsAcross, AMemberThatCatchesUpJustBeforeEachDeadlineIsStillClosedAsSlow) {
  TwoWorkers w(2);
  Hub& a = w.a;
  Hub& b = w.b;
  ASSERT_TRUE(w.all_join(2, "r"));
  const int wait_ms = static_cast<int>(RoomsConfig{}.slow_member_ms);
  int published = 0;
  auto publish = [&](int most) {  // as many as the publisher's queue takes
    for (int k = 0;
         k < most && published < 6000 &&
         a.client(0).session.send(0, true, bytes_of("pub r\n" + std::to_string(published))) ==
             SendResult::kOk;
         ++k)
      ++published;
  };
  int steps = 0;  // a step is a millisecond
  for (; steps < 10 * wait_ms && rooms_counter(b, "rooms.slow_closed") == 0; ++steps) {
    // b's first member runs 20 ms of each 90 % of a wait.
    b.stalled_[0] = steps % (wait_ms * 9 / 10) >= 20;
    publish(2);
    w.step();
  }
  EXPECT_EQ(rooms_counter(b, "rooms.slow_closed"), 1u) << "held the ring for " << steps << " ms";
  b.stalled_[0] = false;
  ASSERT_TRUE(w.until([&] {
    publish(6000);
    return count_prefix(b.client(1), "msg r ") == 6000;
  })) << count_prefix(b.client(1), "msg r ");
  EXPECT_EQ(b.server().session(0)->close_code(), kCloseSlowConsumer);
  EXPECT_EQ(b.client(1).closed, 0);
}

// A reliable direct message that finds the queue full closes the connection
// with 4001; the message it could not deliver is counted.
TEST(RoomsAcross, ADirectMessageThatClosesASlowConsumerIsCounted) {
  WorkerLinks links;
  Hub a(1, {}, 256, 1000), b(1, {}, /*send_queue=*/4, 2000);
  a.link(links);
  b.link(links);
  for (int i = 0; i < 200 && !(a.client(0).opened == 1 && b.client(0).opened == 1); ++i) {
    a.step();
    b.step();
  }
  const ConnRef to = b.server().ref(*b.server().session(0));
  b.deaf_[0] = true;
  for (int k = 0; k < 8; ++k)
    ASSERT_EQ(a.server().send_to(to, 0, true, bytes_of(std::string("d"))), SendResult::kOk);
  b.step();
  ASSERT_EQ(b.server().session(0)->close_code(), kCloseSlowConsumer);
  EXPECT_EQ(server_counter(b, "msg.links_slow_closed"), 1u);
}

// Every answer is text: a binary join whose name is not UTF-8 is refused
// with an error the client gets (it was joined and never answered).
TEST(RoomsAcross, ARoomNameIsUtf8SoEveryAnswerCanBeSent) {
  Hub hub(1);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(0).opened == 1; }));
  const std::string m = "join \xff\xfe";
  ASSERT_EQ(hub.client(0).session.send(0, false, bytes_of(m)), SendResult::kOk);
  ASSERT_TRUE(hub.run_until([&] { return !hub.client(0).got.empty(); }, 200));
  EXPECT_EQ(text_of(hub.client(0).got[0]).rfind("error a room name is", 0), 0u)
      << text_of(hub.client(0).got[0]);
  EXPECT_EQ(hub.rooms().rooms(), 0u);
  EXPECT_EQ(rooms_counter(hub, "rooms.replies_refused"), 0u);
}

// A name reads as it is: controls (C1 too), a no-break space and the
// invisible characters that reorder the text around them are refused with
// the error; other UTF-8 is a name.
TEST(RoomsAcross, ARoomNameHoldsNoCharacterThatHidesWhatItSays) {
  Hub hub(1);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(0).opened == 1; }));
  const char* bad[] = {
      "a\xc2\x85"
      "b",
      "a\xc2\xa0"
      "b",
      "admin\xe2\x80\xae"
      "gnp",
      "a\xe2\x80\x8f",
      "a\xe2\x81\xa6"
      "b",
      "a\xe2\x80\xa8"
      "b",
      "\xef\xbb\xbf"
      "a"};
  for (const char* name : bad) hub.say(0, std::string("join ") + name);
  hub.say(0, "join caf\xc3\xa9");
  ASSERT_TRUE(hub.run_until([&] { return hub.client(0).got.size() == std::size(bad) + 1; }, 500));
  for (size_t i = 0; i < std::size(bad); ++i) {
    EXPECT_EQ(text_of(hub.client(0).got[i]).rfind("error a room name is", 0), 0u) << i;
  }
  EXPECT_EQ(text_of(hub.client(0).got.back()), "joined caf\xc3\xa9 1");
  EXPECT_EQ(hub.rooms().rooms(), 1u);
}

// The publisher's own copy, over its max_message, is skipped and counted
// like any member's.
TEST(RoomsAcross, APublisherSkippedForItsMaxMessageIsCounted) {
  Hub hub(3, {}, 256, 1000, /*last_max_message=*/100);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(2).opened == 1; }));
  for (int i = 0; i < 3; ++i) hub.say(i, "join r");
  ASSERT_TRUE(hub.run_until([&] { return hub.rooms().members("r") == 3; }));
  hub.say(2, "pub r\n" + std::string(500, 'x'));
  ASSERT_TRUE(hub.run_until([&] { return count_prefix(hub.client(0), "msg r 1002\nxxx") == 1; }));
  EXPECT_EQ(count_prefix(hub.client(2), "msg r 1002\nxxx"), 0u);
  EXPECT_EQ(rooms_counter(hub, "rooms.skipped_too_big"), 1u);
}

// With three workers, one ring's record that waits for a full member is not
// kept waiting for good by the records other rings bring meanwhile (one
// timer for all rings started over whenever any record went out).
TEST(RoomsAcross, AThirdWorkersTrafficDoesNotKeepAFullMemberOpen) {
  WorkerLinks links;
  Hub a(2, {}, 256, 1000), b(2, {}, 256, 2000), c(2, {}, 256, 3000);
  a.link(links);
  b.link(links);
  c.link(links);
  auto step = [&] {
    a.step();
    b.step();
    c.step();
  };
  auto until = [&](auto done) {
    for (int i = 0; i < 5000 && !done(); ++i) step();
    return done();
  };
  ASSERT_TRUE(until([&] {
    return a.client(1).opened == 1 && b.client(1).opened == 1 && c.client(1).opened == 1;
  }));
  a.say(0, "join r");
  b.say(0, "join r");
  b.say(1, "join s");
  c.say(0, "join s");
  ASSERT_TRUE(until([&] {
    return b.rooms().members("r") == 1 && b.rooms().members("s") == 1 &&
           a.rooms().members("r") == 1 && c.rooms().members("s") == 1;
  }));
  b.deaf_[0] = true;  // b's member of r stops reading
  for (int k = 0; k < 400; ++k) a.say(0, "pub r\n" + std::to_string(k));
  const int steps = static_cast<int>(3 * RoomsConfig{}.slow_member_ms);
  for (int i = 0; i < steps; ++i) {
    if (i % 5 == 0) c.say(0, "pub s\n" + std::to_string(i));  // c's ring to b keeps moving
    step();
  }
  EXPECT_EQ(rooms_counter(b, "rooms.slow_closed"), 1u) << "a member full for 3 s is still open";
  EXPECT_GT(count_prefix(b.client(1), "msg s "), 0u);
}

}  // namespace
}  // namespace bypass::msg::test
