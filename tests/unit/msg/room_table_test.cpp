// RoomTable: rooms by name through its open-addressing index (checked against
// a std::map through thousands of creations and removals, so a wrong
// backward shift loses a name), members in join order, the bounds, and no
// heap allocation after construction (this binary counts operator new).
#include <bypass/msg/room_table.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <string>
#include <vector>

namespace {
std::atomic<uint64_t> g_news{0};
}  // namespace

void* operator new(size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
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

constexpr uint32_t kNone = RoomTable::kNone;

std::vector<uint32_t> members_of(const RoomTable& t, uint32_t room) {
  std::vector<uint32_t> m;
  t.for_each_member(room, [&](uint32_t c) { m.push_back(c); });
  return m;
}

TEST(RoomTable, FindsRoomsByNameAndRemovesThemWhenTheyEmpty) {
  RoomTable t(8, 4, 10);
  EXPECT_EQ(t.find("lobby"), kNone);
  const uint32_t lobby = t.create("lobby");
  ASSERT_NE(lobby, kNone);
  EXPECT_EQ(t.find("lobby"), lobby);
  EXPECT_EQ(t.name(lobby), "lobby");
  EXPECT_EQ(t.key(lobby), RoomTable::hash_of("lobby"));
  EXPECT_EQ(t.find("lobb"), kNone);
  EXPECT_EQ(t.rooms(), 1u);
  ASSERT_TRUE(t.join(3, lobby));
  ASSERT_TRUE(t.join(7, lobby));
  EXPECT_FALSE(t.leave(3, lobby)) << "7 is still in it";
  EXPECT_EQ(t.find("lobby"), lobby);
  EXPECT_FALSE(t.leave(3, lobby)) << "3 is not a member any more";
  EXPECT_TRUE(t.leave(7, lobby)) << "emptied: removed";
  EXPECT_EQ(t.find("lobby"), kNone);
  EXPECT_EQ(t.rooms(), 0u);
}

TEST(RoomTable, MembersInTheOrderTheyJoined) {
  RoomTable t(4, 2, 8);
  const uint32_t a = t.create("a"), b = t.create("b"), c = t.create("c");
  for (uint32_t conn : {5u, 1u, 6u, 2u}) ASSERT_TRUE(t.join(conn, a));
  EXPECT_EQ(members_of(t, a), (std::vector<uint32_t>{5, 1, 6, 2}));
  EXPECT_FALSE(t.leave(6, a));
  EXPECT_FALSE(t.leave(5, a));
  ASSERT_TRUE(t.join(5, a));
  EXPECT_EQ(members_of(t, a), (std::vector<uint32_t>{1, 2, 5}));
  EXPECT_EQ(t.members(a), 3u);
  // Two rooms a connection: a third is refused until it leaves one.
  ASSERT_TRUE(t.join(1, b));
  EXPECT_EQ(t.joined(1), 2u);
  EXPECT_FALSE(t.join(1, c));
  EXPECT_TRUE(t.is_member(1, b));
  EXPECT_FALSE(t.is_member(1, c));
  EXPECT_TRUE(t.leave(1, b));
  EXPECT_TRUE(t.join(1, c));
  EXPECT_EQ(t.any_room_of(1) == a || t.any_room_of(1) == c, true);
  EXPECT_EQ(t.any_room_of(0), kNone);
}

TEST(RoomTable, RefusesARoomPastItsMost) {
  RoomTable t(3, 1, 1);
  EXPECT_NE(t.create("a"), kNone);
  EXPECT_NE(t.create("b"), kNone);
  EXPECT_NE(t.create("c"), kNone);
  EXPECT_EQ(t.create("d"), kNone);
  EXPECT_EQ(t.create(""), kNone);
  EXPECT_EQ(t.create(std::string(RoomTable::kMaxName + 1, 'x')), kNone);
}

// Rooms made and emptied at random, 64 at most: the index stays exact.
TEST(RoomTable, ManyRoomsComeAndGoAndEveryNameIsStillFound) {
  constexpr uint32_t kRooms = 64;
  RoomTable t(kRooms, 1, 200);
  std::map<std::string, uint32_t> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t conn = rng() % 200;  // room N's one member is connection N
    const std::string name = "room" + std::to_string(conn);
    auto it = model.find(name);
    if (it == model.end()) {
      const uint32_t r = t.create(name);
      if (model.size() == kRooms) {
        ASSERT_EQ(r, kNone) << step;
        continue;
      }
      ASSERT_NE(r, kNone) << step;
      ASSERT_TRUE(t.join(conn, r));
      model.emplace(name, r);
    } else {
      ASSERT_TRUE(t.leave(conn, it->second)) << step;
      model.erase(it);
    }
    if (step % 97 == 0) {
      for (const auto& [n, r] : model) ASSERT_EQ(t.find(n), r) << step << " " << n;
      for (int k = 200; k < 210; ++k) ASSERT_EQ(t.find("room" + std::to_string(k)), kNone);
    }
    ASSERT_EQ(t.rooms(), model.size());
  }
}

TEST(RoomTable, JoiningLeavingAndFindingNeverAllocate) {
  RoomTable t(256, 4, 1000);
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("r" + std::to_string(i));
  std::mt19937 rng(1);
  const uint64_t before = g_news.load();
  uint64_t joins = 0;
  for (int step = 0; step < 50000; ++step) {
    const std::string& n = names[rng() % names.size()];
    const uint32_t conn = rng() % 1000;
    uint32_t r = t.find(n);
    if (r != kNone && t.is_member(conn, r)) {
      t.leave(conn, r);
      continue;
    }
    if (t.joined(conn) == 4) continue;  // as RoomsApp: no room is made for a join that fails
    if (r == kNone) r = t.create(n);
    if (r != kNone) joins += t.join(conn, r);
  }
  EXPECT_EQ(g_news.load() - before, 0u);
  EXPECT_GT(joins, 2000u);
}

}  // namespace
}  // namespace bypass::msg
