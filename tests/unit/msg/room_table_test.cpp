// RoomTable: rooms by name through its open-addressing index (checked against
// a std::map through thousands of creations and removals, so a wrong
// backward shift loses a name), members exact through joins and leaves (the
// last takes a leaver's place), the bounds, and no heap allocation after
// construction (this binary counts operator new).
#include <bypass/msg/room_table.hpp>

#include "../../support/counting_new.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

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
  // Keyed: not std::hash, whose seed anyone knows (names chosen to collide
  // there would make every lookup a long probe).
  EXPECT_NE(RoomTable::hash_of("lobby"), std::hash<std::string_view>{}("lobby"));
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

std::set<uint32_t> member_set(const RoomTable& t, uint32_t room) {
  const std::vector<uint32_t> m = members_of(t, room);
  return {m.begin(), m.end()};
}

TEST(RoomTable, MembersAndTheRoomsOfAConnection) {
  RoomTable t(4, 2, 8);
  const uint32_t a = t.create("a"), b = t.create("b"), c = t.create("c");
  for (uint32_t conn : {5u, 1u, 6u, 2u}) ASSERT_TRUE(t.join(conn, a));
  EXPECT_EQ(members_of(t, a), (std::vector<uint32_t>{5, 1, 6, 2}));
  EXPECT_FALSE(t.leave(6, a));
  EXPECT_EQ(members_of(t, a), (std::vector<uint32_t>{5, 1, 2})) << "the last takes the place";
  EXPECT_FALSE(t.leave(5, a));
  ASSERT_TRUE(t.join(5, a));
  EXPECT_EQ(member_set(t, a), (std::set<uint32_t>{1, 2, 5}));
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

// Members join and leave three rooms at random, past many chunks of 14 and
// back to none: each room's members are always exactly who is in it.
TEST(RoomTable, MembersStayExactThroughJoinsAndLeaves) {
  constexpr uint32_t kConns = 500;
  RoomTable t(3, 3, kConns);
  const std::string names[3] = {"x", "y", "z"};
  uint32_t rooms[3] = {t.create(names[0]), t.create(names[1]), t.create(names[2])};
  std::set<uint32_t> model[3];
  size_t peak = 0;  // members of one room at most
  std::mt19937 rng(3);
  for (int step = 0; step < 30000; ++step) {
    const int k = static_cast<int>(rng() % 3);
    const uint32_t conn = rng() % kConns;
    // Fill up for the first third of the run, then mostly leave.
    const bool joining = step < 10000 ? rng() % 4 != 0 : rng() % 16 == 0;
    if (joining && !model[k].contains(conn)) {
      ASSERT_TRUE(t.join(conn, rooms[k]));
      model[k].insert(conn);
    } else if (!joining && model[k].contains(conn)) {
      const bool gone = t.leave(conn, rooms[k]);
      model[k].erase(conn);
      ASSERT_EQ(gone, model[k].empty()) << step;
      if (gone) {  // an emptied room is removed: made again for the next join
        ASSERT_EQ(t.find(names[k]), kNone);
        rooms[k] = t.create(names[k]);
        ASSERT_NE(rooms[k], kNone);
      }
    }
    peak = std::max(peak, model[k].size());
    if (step % 101 == 0)
      for (int j = 0; j < 3; ++j) {
        ASSERT_EQ(member_set(t, rooms[j]), model[j]) << step;
        ASSERT_EQ(t.members(rooms[j]), model[j].size()) << step;
        for (uint32_t c : model[j]) ASSERT_TRUE(t.is_member(c, rooms[j]));
      }
  }
  EXPECT_GT(peak, 250u) << "rooms of 18 chunks and more";
  EXPECT_LT(model[0].size() + model[1].size() + model[2].size(), peak / 2) << "most left again";
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
  const uint64_t before = test::allocations();
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
  EXPECT_EQ(test::allocations() - before, 0u);
  EXPECT_GT(joins, 2000u);
}

}  // namespace
}  // namespace bypass::msg
