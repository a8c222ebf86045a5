// The rooms application on a MessageServer, with client sessions joined to
// it directly (no netcode: the transport is a queue per direction): join,
// publish in order to every member, leave, the bounds and their errors, and
// a slow member closed with 4001 while unreliable publications to it are
// dropped and counted; rooms across two workers linked by rings, and a
// publication framed once per worker, its chunks shared by every member.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "rooms_hub.hpp"

namespace bypass::msg::test {
namespace {

TEST(Rooms, EveryMemberGetsEveryPublicationInOrder) {
  Hub hub(3);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(2).opened == 1; }));
  for (int i = 0; i < 3; ++i) hub.say(i, "join lobby");
  ASSERT_TRUE(hub.run_until([&] { return hub.rooms().members("lobby") == 3; }));
  ASSERT_TRUE(hub.run_until([&] { return hub.client(2).got.size() == 1; }));
  EXPECT_EQ(text_of(hub.client(0).got[0]), "joined lobby 1");
  EXPECT_EQ(text_of(hub.client(2).got[0]), "joined lobby 3");
  for (int k = 0; k < 50; ++k) hub.say(0, "pub lobby\nline " + std::to_string(k));
  ASSERT_TRUE(hub.run_until([&] {
    return count_prefix(hub.client(1), "msg ") == 50 && count_prefix(hub.client(2), "msg ") == 50 &&
           count_prefix(hub.client(0), "msg ") == 50;
  }));
  for (int member = 0; member < 3; ++member) {
    int k = 0;
    for (const Got& g : hub.client(member).got) {
      const std::string t = text_of(g);
      if (t.rfind("msg ", 0) != 0) continue;
      EXPECT_EQ(t, "msg lobby 1000\nline " + std::to_string(k++));
      EXPECT_TRUE(g.text);
    }
  }
  // After leaving, nothing more arrives.
  hub.say(2, "leave lobby");
  ASSERT_TRUE(hub.run_until([&] { return hub.rooms().members("lobby") == 2; }));
  hub.say(1, "pub lobby\nafter");
  hub.run_until([&] { return count_prefix(hub.client(0), "msg ") == 51; });
  hub.run_until([] { return false; }, 50);
  EXPECT_EQ(count_prefix(hub.client(2), "msg "), 50u);
  EXPECT_EQ(count_prefix(hub.client(0), "msg lobby 1001\nafter"), 1u);
}

// The ring between two workers: records whole and in order across its end,
// refused (nothing written) when full, room again once read.
TEST(ByteRing, RecordsWrapWholeAndInOrder) {
  ByteRing r(4096);
  std::vector<uint8_t> head = {1, 2, 3, 4};
  uint32_t written = 0, read = 0;
  auto make = [](uint32_t n) {
    std::vector<uint8_t> v(1 + (n * 37) % 900);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>(n + i);
    return v;
  };
  for (int round = 0; round < 200; ++round) {
    while (r.push({head, make(written)})) ++written;
    EXPECT_FALSE(r.fits(1 + (written * 37) % 900 + head.size()));
    for (int k = 0; k < 3; ++k) {
      std::span<const uint8_t> rec = r.peek();
      ASSERT_FALSE(rec.empty());
      const std::vector<uint8_t> want = make(read);
      ASSERT_EQ(rec.size(), head.size() + want.size());
      EXPECT_TRUE(std::equal(head.begin(), head.end(), rec.begin()));
      EXPECT_TRUE(std::equal(want.begin(), want.end(), rec.begin() + head.size()));
      r.pop();
      ++read;
    }
  }
  EXPECT_GT(written, 600u);
  while (!r.peek().empty()) {
    r.pop();
    ++read;
  }
  EXPECT_EQ(read, written);
  EXPECT_FALSE(r.fits(4096));  // a record never spans more than the ring
}

// A record over half the ring, asked for where it does not fit before the
// ring's end, fits once the consumer reads on: the ring moves on to its
// start (it never fit, even with the ring empty).
TEST(ByteRing, ARecordThatFitsAnEmptyRingFitsAtAnyOffset) {
  ByteRing r(4096);
  const std::vector<uint8_t> a(2000, 1), b(3000, 2);
  ASSERT_TRUE(r.push({a}));
  ASSERT_EQ(r.peek().size(), 2000u);
  r.pop();
  ASSERT_EQ(r.read(), r.written());  // empty, 2008 bytes in
  EXPECT_FALSE(r.fits(b.size())) << "not before the ring's end";
  EXPECT_TRUE(r.peek().empty()) << "the consumer sees no record, and reads on to the start";
  ASSERT_TRUE(r.push({b}));
  const std::span<const uint8_t> got = r.peek();
  ASSERT_EQ(got.size(), 3000u);
  EXPECT_EQ(got[0], 2);
  r.pop();
  EXPECT_TRUE(r.peek().empty());
}

// One producer thread and one consumer thread: every record arrives whole,
// once and in order, across many wraps of a small ring.
TEST(ByteRing, TwoThreadsPassRecordsInOrder) {
  ByteRing r(4096);
  constexpr uint32_t kRecords = 200000;
  std::thread producer([&] {
    for (uint32_t n = 0; n < kRecords;) {
      std::array<uint8_t, 64> body{};
      const size_t len = 4 + n % 60;
      std::memcpy(body.data(), &n, 4);
      for (size_t i = 4; i < len; ++i) body[i] = static_cast<uint8_t>(n + i);
      if (r.push({std::span<const uint8_t>(body.data(), len)})) ++n;
    }
  });
  uint32_t expect = 0;
  bool ok = true;
  while (expect < kRecords && ok) {
    std::span<const uint8_t> rec = r.peek();
    if (rec.empty()) continue;
    uint32_t n;
    std::memcpy(&n, rec.data(), 4);
    ok = n == expect && rec.size() == 4 + n % 60;
    for (size_t i = 4; ok && i < rec.size(); ++i) ok = rec[i] == static_cast<uint8_t>(n + i);
    r.pop();
    ++expect;
  }
  producer.join();
  EXPECT_TRUE(ok) << "record " << expect;
  EXPECT_EQ(expect, kRecords);
  EXPECT_TRUE(r.peek().empty());
}

// Two workers, each with its own members, linked by rings: every member on
// either gets every publication from both once, in each publisher's order.
TEST(Rooms, RoomsSpanTwoWorkers) {
  TwoWorkers w(3);
  Hub& a = w.a;
  Hub& b = w.b;
  auto until = [&](auto done) { return w.until(done); };
  ASSERT_TRUE(w.all_join(3, "lobby"));
  for (int k = 0; k < 50; ++k) {
    a.say(0, "pub lobby\na" + std::to_string(k));
    b.say(1, "pub lobby\nb" + std::to_string(k));
  }
  ASSERT_TRUE(until([&] {
    for (Hub* h : {&a, &b})
      for (int i = 0; i < 3; ++i)
        if (count_prefix(h->client(i), "msg ") != 100) return false;
    return true;
  }));
  for (Hub* h : {&a, &b}) {
    for (int i = 0; i < 3; ++i) {
      int ka = 0, kb = 0;
      for (const Got& g : h->client(i).got) {
        const std::string t = text_of(g);
        if (t.rfind("msg lobby 1000\n", 0) == 0) {
          EXPECT_EQ(t, "msg lobby 1000\na" + std::to_string(ka++));
        }
        if (t.rfind("msg lobby 2001\n", 0) == 0) {
          EXPECT_EQ(t, "msg lobby 2001\nb" + std::to_string(kb++));
        }
      }
      EXPECT_EQ(ka, 50);
      EXPECT_EQ(kb, 50);
    }
  }
  std::vector<std::pair<std::string, uint64_t>> ra, rb;
  a.rooms().report(ra);
  b.rooms().report(rb);
  auto get = [](const auto& r, const std::string& k) {
    for (const auto& [n, v] : r)
      if (n == k) return v;
    return uint64_t{0};
  };
  EXPECT_EQ(get(ra, "rooms.sent_across"), 50u);
  EXPECT_EQ(get(rb, "rooms.received_across"), 50u);
  EXPECT_EQ(get(rb, "rooms.sent_across"), 50u);
  EXPECT_EQ(get(ra, "rooms.received_across"), 50u);
}

// The room directory: a publication crosses to a worker only while that
// worker has members of the room; the worker's first member gets every
// publication after its "joined", and after its last member leaves nothing
// crosses again.
TEST(Rooms, APublicationCrossesOnlyToWorkersWithMembers) {
  TwoWorkers w(2);
  Hub& a = w.a;
  Hub& b = w.b;
  auto until = [&](auto done) { return w.until(done); };
  auto get = [](Hub& h, const std::string& k) {
    std::vector<std::pair<std::string, uint64_t>> r;
    h.rooms().report(r);
    h.server().report(r);
    for (const auto& [n, v] : r)
      if (n == k) return v;
    return uint64_t{0};
  };
  ASSERT_TRUE(until([&] { return a.client(1).opened == 1 && b.client(1).opened == 1; }));
  a.say(0, "join local");
  a.say(1, "join local");
  ASSERT_TRUE(until([&] { return a.rooms().members("local") == 2; }));
  for (int k = 0; k < 10; ++k) a.say(0, "pub local\nx" + std::to_string(k));
  ASSERT_TRUE(until([&] { return count_prefix(a.client(1), "msg local ") == 10; }));
  EXPECT_EQ(get(a, "rooms.sent_across"), 0u);
  EXPECT_EQ(get(a, "msg.links_sent"), 0u);
  EXPECT_EQ(get(b, "rooms.received_across"), 0u);
  // A member on b: from its "joined" on, every publication reaches it.
  b.say(0, "join local");
  ASSERT_TRUE(until([&] { return count_prefix(b.client(0), "joined local") == 1; }));
  for (int k = 0; k < 10; ++k) a.say(0, "pub local\ny" + std::to_string(k));
  ASSERT_TRUE(until([&] { return count_prefix(b.client(0), "msg local ") == 10; }));
  EXPECT_EQ(get(a, "rooms.sent_across"), 10u);
  // It leaves: nothing crosses any more.
  b.say(0, "leave local");
  ASSERT_TRUE(until([&] { return b.rooms().members("local") == 0; }));
  for (int k = 0; k < 10; ++k) a.say(0, "pub local\nz" + std::to_string(k));
  ASSERT_TRUE(until([&] { return count_prefix(a.client(1), "msg local ") == 30; }));
  EXPECT_EQ(get(a, "rooms.sent_across"), 10u);
  EXPECT_EQ(count_prefix(b.client(0), "msg local "), 10u);
}

// send_to(): a message to a connection on another worker goes there through
// the ring and arrives once, in order; one whose slot now holds another
// client (a stale ConnRef) is counted, not delivered to the newcomer.
TEST(Rooms, SendToReachesAConnectionOnAnotherWorker) {
  TwoWorkers w(2);
  Hub& a = w.a;
  Hub& b = w.b;
  auto until = [&](auto done) { return w.until(done); };
  ASSERT_TRUE(until([&] { return a.client(1).opened == 1 && b.client(1).opened == 1; }));
  Session* target = b.server().session(1);
  ASSERT_NE(target, nullptr);
  const ConnRef to = b.server().ref(*target);
  EXPECT_EQ(to.worker, 1u);
  EXPECT_EQ(to.client_id, 2001u);
  for (int k = 0; k < 20; ++k) {
    const std::string m = "direct " + std::to_string(k);
    ASSERT_EQ(a.server().send_to(to, 0, true, bytes_of(m)), SendResult::kOk);
  }
  ASSERT_TRUE(until([&] { return count_prefix(b.client(1), "direct ") == 20; }));
  int k = 0;
  for (const Got& g : b.client(1).got) {
    const std::string t = text_of(g);
    if (t.rfind("direct ", 0) == 0) {
      EXPECT_EQ(t, "direct " + std::to_string(k++));
    }
  }
  EXPECT_EQ(count_prefix(b.client(0), "direct "), 0u);
  // The same worker: queued at once.
  ASSERT_EQ(b.server().send_to(to, 0, true, bytes_of(std::string("local"))), SendResult::kOk);
  ASSERT_TRUE(until([&] { return count_prefix(b.client(1), "local") == 1; }));
  // Slot 1 on b now belongs to another client: the old reference reaches nobody.
  b.server().on_disconnect(1);
  b.server().on_connect(1, 2999, {}, 2'000'000'000);
  ASSERT_EQ(a.server().send_to(to, 0, true, bytes_of(std::string("stale"))), SendResult::kOk);
  for (int i = 0; i < 50; ++i) w.step();
  std::vector<std::pair<std::string, uint64_t>> rb;
  b.server().report(rb);
  uint64_t stale = 0;
  for (const auto& [n, v] : rb)
    if (n == "msg.links_stale") stale = v;
  EXPECT_EQ(stale, 1u);
  EXPECT_EQ(b.server().send_to(to, 0, true, bytes_of(std::string("x"))), SendResult::kNotOpen);
}

// A message from another worker that finds this worker's chunk pool empty
// waits in the ring and is delivered once there is memory: the pool is the
// worker's, not the connection's fault (it closed the connection with 4001).
TEST(Rooms, ADirectMessageWaitsForMemoryRatherThanClosing) {
  TwoWorkers w(2);
  Hub& a = w.a;
  Hub& b = w.b;
  ASSERT_TRUE(w.until([&] { return a.client(1).opened == 1 && b.client(1).opened == 1; }));
  Session* target = b.server().session(1);
  ASSERT_NE(target, nullptr);
  const ConnRef to = b.server().ref(*target);
  std::vector<uint32_t> held;
  for (uint32_t c; (c = b.server().pool().take()) != ChunkPool::kNone;) held.push_back(c);
  ASSERT_EQ(a.server().send_to(to, 0, true, bytes_of(std::string("later"))), SendResult::kOk);
  for (int i = 0; i < 50; ++i) w.step();
  EXPECT_EQ(count_prefix(b.client(1), "later"), 0u);
  EXPECT_FALSE(target->finished()) << "not closed as a slow consumer";
  for (uint32_t c : held) b.server().pool().give(c);
  ASSERT_TRUE(w.until([&] { return count_prefix(b.client(1), "later") == 1; }));
}

// A publication from another worker is framed into this worker's pool for
// no session of its own, so it does not take the pool's reserve (kept for
// sessions that hold little, ChunkPool::may_take): it waits in the ring until
// the pool has more, then every member gets it. (It took the reserve.)
TEST(Rooms, APublicationFromAnotherWorkerLeavesThePoolsReserve) {
  TwoWorkers w(2);
  Hub& a = w.a;
  Hub& b = w.b;
  ASSERT_TRUE(w.all_join(2, "lobby"));
  w.until([] { return false; });  // replies acked: the queues give their chunks back
  ChunkPool& pool = b.server().pool();
  std::vector<uint32_t> held;
  while (pool.available() > pool.reserve()) held.push_back(pool.take());
  a.say(0, "pub lobby\nacross");
  for (int i = 0; i < 50; ++i) w.step();
  EXPECT_EQ(count_prefix(b.client(0), "msg lobby 1000\nacross"), 0u) << "waited";
  EXPECT_GE(pool.available(), pool.reserve());
  for (uint32_t c : held) pool.give(c);
  ASSERT_TRUE(w.until([&] {
    return count_prefix(b.client(0), "msg lobby 1000\nacross") == 1 &&
           count_prefix(b.client(1), "msg lobby 1000\nacross") == 1;
  }));
}

// A publication to 20 members on each of two workers takes its fragments once
// per worker: the members' queues share them.
TEST(Rooms, APublicationIsFramedOncePerWorkerNotOncePerMember) {
  TwoWorkers w(20);
  Hub& a = w.a;
  Hub& b = w.b;
  auto until = [&](auto done) { return w.until(done); };
  ASSERT_TRUE(w.all_join(20, "lobby"));
  until([] { return false; });  // replies acked: queues empty
  auto in_use = [](Hub& h) { return h.server().pool().capacity() - h.server().pool().available(); };
  const uint32_t a0 = in_use(a), b0 = in_use(b);
  // Everyone stops reading, so every queued copy stays queued.
  a.deaf_.assign(20, true);
  b.deaf_.assign(20, true);
  a.say(0, "pub lobby\n" + std::string(3000, 'x'));  // 3 fragments of 1024
  ASSERT_TRUE(until([&] { return in_use(b) > b0; }));
  for (int i = 0; i < 20; ++i) w.step();
  EXPECT_EQ(in_use(a) - a0, 3u) << "20 members, one framing";
  EXPECT_EQ(in_use(b) - b0, 3u) << "20 members, one framing";
}

// Not a rooms test: the server under it skips idle sessions until a ping or
// a timeout is due, so 50 quiet connections cost no ticks between pings.
TEST(Rooms, IdleSessionsAreNotTickedBetweenPings) {
  Hub hub(50);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(49).opened == 1; }));
  hub.run_until([] { return false; }, 100);  // the hellos' acks settle
  const uint64_t before = hub.server().ticked();
  hub.run_until([] { return false; }, 300);  // 30 ticks, no traffic
  EXPECT_EQ(hub.server().ticked(), before);
  hub.run_until([] { return false; }, 1000);  // pings fall due: each session is ticked again
  EXPECT_GE(hub.server().ticked(), before + 50);
  EXPECT_LT(hub.server().ticked(), before + 50 * 20);
  EXPECT_EQ(hub.client(0).closed, 0);
}

TEST(Rooms, MistakesAreAnsweredWithWhatToChange) {
  RoomsConfig rc;
  rc.rooms_per_connection = 2;
  Hub hub(1, rc);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(0).opened == 1; }));
  for (const char* m :
       {"join a", "join b", "join c", "pub zzz\nhi", "join bad name", "dance", "leave nope"}) {
    hub.say(0, m);
  }
  ASSERT_TRUE(hub.run_until([&] { return hub.client(0).got.size() == 7; }));
  std::vector<std::string> said;
  for (const Got& g : hub.client(0).got) said.push_back(text_of(g));
  EXPECT_EQ(said[0], "joined a 1");
  EXPECT_EQ(said[1], "joined b 1");
  EXPECT_EQ(said[2], "error this connection is in 2 rooms, the most allowed: leave one first");
  EXPECT_EQ(said[3], "error join room zzz before publishing to it");
  EXPECT_EQ(said[4],
            "error a room name is 1 to 64 bytes of UTF-8 with no spaces or control characters");
  EXPECT_EQ(said[5],
            "error unknown command: send \"join ROOM\", \"leave ROOM\" or \"pub ROOM\\n...\"");
  EXPECT_EQ(said[6], "error not in room nope");
}

// An embedder's RoomsConfig is checked when the app attaches, with a
// sentence naming the field: a bound of 0 made a table nobody could join, and
// too many memberships overflowed the table's 32-bit slots.
TEST(Rooms, ABadConfigIsRefusedWithWhatToChange) {
  Hub hub(4);
  auto refused = [&](RoomsConfig rc) {
    RoomsApp app(rc);
    const Status st = app.attach(&hub.server());
    EXPECT_EQ(st.message(), rc.check(4).message());
    return st.message();
  };
  RoomsConfig rc;
  rc.members_per_room = 0;
  EXPECT_EQ(refused(rc), "rooms: members_per_room is 0; set it from 2 to 1048576.");
  rc = {};
  rc.rooms_per_connection = 0;
  EXPECT_EQ(refused(rc), "rooms: rooms_per_connection is 0; set it from 1 to 1024.");
  rc = {};
  rc.max_rooms = 0;
  EXPECT_EQ(refused(rc), "rooms: max_rooms is 0; set it from 1 to 1048576.");
  rc = {};
  rc.slow_member_ms = 5;
  EXPECT_EQ(refused(rc), "rooms: slow_member_ms is 5; set it from 10 to 600000.");
  rc = {};
  rc.rooms_per_connection = 1024;
  EXPECT_EQ(rc.check(1 << 20).message(),
            "rooms: rooms_per_connection times 1048576 connections is 1073741824 room "
            "memberships, more than 16777216 a worker: lower rooms_per_connection or the "
            "connections.");
  EXPECT_TRUE(rc.check(1 << 14).is_ok());
  EXPECT_EQ(refused(RoomsConfig{}), "");
}

TEST(Rooms, ASlowMemberLosesUnreliableAndIsClosedWith4001) {
  Hub hub(3, {}, /*send_queue=*/32);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(2).opened == 1; }));
  for (int i = 0; i < 3; ++i) hub.say(i, "join r");
  ASSERT_TRUE(hub.run_until([&] { return hub.rooms().members("r") == 3; }));
  hub.deaf_[2] = true;  // client 2 stops reading
  uint64_t published = 0;
  int steps = 0;
  for (; steps < 5000 && hub.server().session(2) && !hub.server().session(2)->finished(); ++steps) {
    // Unreliable first, then reliable ones pile up; as the publisher's own
    // queue takes them (its publications wait while client 2 is full).
    for (int n = 0; n < 4; ++n) {
      const std::string m = "pub r\nu" + std::to_string(published);
      if (hub.client(0).session.send(steps < 100 ? 1 : 0, true, bytes_of(m)) == SendResult::kOk)
        ++published;
    }
    hub.step();
  }
  auto get = [&](const std::string& k) { return rooms_counter(hub, k); };
  EXPECT_GT(get("rooms.dropped_unreliable"), 0u);
  EXPECT_EQ(get("rooms.slow_closed"), 1u);
  // Not at once: reliable publications waited for it, a second of debt.
  EXPECT_GT(get("rooms.waited_for_room"), 0u);
  EXPECT_GE(steps, 100 + static_cast<int>(RoomsConfig{}.slow_member_ms));
  EXPECT_EQ(hub.client(0).closed, 0) << "the publisher is not closed for the wait";
  ASSERT_TRUE(hub.run_until([&] { return hub.rooms().members("r") == 2; }));
  EXPECT_NE(std::find(hub.disconnected_.begin(), hub.disconnected_.end(), 2u),
            hub.disconnected_.end());
  // The members that kept up got every reliable one.
  hub.run_until([] { return false; }, 500);
  EXPECT_GT(published, 100u);
  EXPECT_EQ(count_prefix(hub.client(1), "msg r 1000\nu"),
            count_prefix(hub.client(0), "msg r 1000\nu"));
}

// A member on the publisher's worker whose queue fills for a while (its
// packets held up, none lost) is not a slow member: the publications wait
// for it, the publisher's messages offered again, and every member gets
// every one, in order; nobody is closed.
TEST(Rooms, ALocalMemberFullForAWhileIsWaitedForNotClosed) {
  Hub hub(3, {}, /*send_queue=*/32);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(2).opened == 1; }));
  for (int i = 0; i < 3; ++i) hub.say(i, "join r");
  ASSERT_TRUE(hub.run_until([&] { return hub.rooms().members("r") == 3; }));
  hub.stalled_[2] = true;
  constexpr int kPublications = 200;
  int published = 0;
  for (int k = 0; k < 300; ++k) {  // 300 ms: under slow_member_ms
    while (published < kPublications &&
           hub.client(0).session.send(0, true, bytes_of("pub r\n" + std::to_string(published))) ==
               SendResult::kOk)
      ++published;
    hub.step();
  }
  auto get = [&](const std::string& k) { return rooms_counter(hub, k); };
  EXPECT_GT(get("rooms.waited_for_room"), 0u) << "client 2's queue never filled";
  hub.stalled_[2] = false;
  ASSERT_TRUE(hub.run_until([&] {
    while (published < kPublications &&
           hub.client(0).session.send(0, true, bytes_of("pub r\n" + std::to_string(published))) ==
               SendResult::kOk)
      ++published;
    return count_prefix(hub.client(2), "msg r 1000\n") == kPublications &&
           count_prefix(hub.client(1), "msg r 1000\n") == kPublications;
  }));
  EXPECT_EQ(get("rooms.slow_closed"), 0u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(hub.client(i).closed, 0) << i;
  int next = 0;
  for (const Got& g : hub.client(2).got) {
    const std::string t = text_of(g);
    if (t.rfind("msg r 1000\n", 0) == 0) {
      EXPECT_EQ(t.substr(11), std::to_string(next++));
    }
  }
  EXPECT_EQ(next, kPublications);
}

TEST(Rooms, APublicationOverAMembersMaxMessageSkipsItAndClosesNobody) {
  Hub hub(3, {}, 256, 1000, /*last_max_message=*/100);
  ASSERT_TRUE(hub.run_until([&] { return hub.client(2).opened == 1; }));
  for (int i = 0; i < 3; ++i) hub.say(i, "join r");
  ASSERT_TRUE(hub.run_until([&] { return hub.rooms().members("r") == 3; }));
  hub.say(0, "pub r\n" + std::string(500, 'x'));
  hub.say(0, "pub r\nsmall");
  ASSERT_TRUE(hub.run_until([&] { return count_prefix(hub.client(2), "msg r 1000\nsmall") == 1; }));
  EXPECT_EQ(count_prefix(hub.client(1), "msg r 1000\nxxx"), 1);
  EXPECT_EQ(count_prefix(hub.client(2), "msg r 1000\nxxx"), 0);
  auto get = [&](const std::string& k) { return rooms_counter(hub, k); };
  EXPECT_EQ(get("rooms.skipped_too_big"), 1u);
  EXPECT_EQ(get("rooms.slow_closed"), 0u);
  EXPECT_EQ(hub.client(2).closed, 0);
}

TEST(MessageServer, ASessionOpenedAndClosedByOnePacketIsCountedOnceEachWay) {
  Hub hub(1);
  // A client's first packet: HELLO (no channels, max_message 65536), then CLOSE 1000.
  std::vector<uint8_t> p(kHeaderBytes, 0);
  const std::vector<uint8_t> frames = {0x01, 1, 0, 0x00, 0x00, 0x01, 0x00, 0x04, 0xe8, 0x03, 0};
  p.insert(p.end(), frames.begin(), frames.end());
  hub.server().on_payload(0, p, 1'000'000'000);
  EXPECT_EQ(hub.server().open_sessions(), 1u);
  hub.server().on_disconnect(0);
  EXPECT_EQ(hub.server().open_sessions(), 0u);  // wrapped to 4294967295 before
}

}  // namespace
}  // namespace bypass::msg::test
