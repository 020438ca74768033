// Layouts, the seen/unseen splits and determinism of the task generator.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "envs/household/expert.h"
#include "envs/household/layout.h"
#include "envs/household/world.h"
#include "tensor/error.h"

namespace subtb::household {
namespace {

constexpr std::array kRooms = {Room::kitchen, Room::living_room, Room::bedroom, Room::bathroom};

// What makes a room a room: its receptacle types and counts, and its lamps.
std::vector<int> furniture_signature(const Layout& lay) {
  std::vector<int> sig(kRecepTypeCount + kLampTypeCount, 0);
  for (const auto& r : lay.receptacles) ++sig[static_cast<int>(r.type)];
  for (const auto& l : lay.lamps) ++sig[kRecepTypeCount + static_cast<int>(l.type)];
  return sig;
}

TEST(HouseholdLayouts, AreDistinctWellFormedRooms) {
  std::set<std::pair<Room, std::vector<int>>> signatures;
  for (Room room : kRooms) {
    for (int i = 0; i < kLayoutsPerRoom; ++i) {
      const Layout& lay = layout(room, i);
      SCOPED_TRACE(std::string(name(room)) + " layout " + std::to_string(i));
      EXPECT_EQ(lay.room, room);
      EXPECT_EQ(lay.index, i);
      EXPECT_TRUE(signatures.insert({room, furniture_signature(lay)}).second) << "a duplicate layout";
      // Locations are a permutation of 1..n; numbers count up within a type.
      std::set<int> locs;
      for (std::size_t r = 0; r < lay.receptacles.size(); ++r) {
        locs.insert(lay.receptacles[r].loc);
        const bool first_of_type = r == 0 || lay.receptacles[r - 1].type != lay.receptacles[r].type;
        EXPECT_EQ(lay.receptacles[r].number, first_of_type ? 1 : lay.receptacles[r - 1].number + 1);
      }
      EXPECT_EQ(locs.size(), lay.receptacles.size());
      EXPECT_EQ(*locs.begin(), 1);
      EXPECT_EQ(*locs.rbegin(), static_cast<int>(lay.receptacles.size()));
      const bool lit_room = room == Room::living_room || room == Room::bedroom;
      EXPECT_EQ(!lay.lamps.empty(), lit_room);
      for (const auto& l : lay.lamps) {
        ASSERT_GE(l.host, 0);
        ASSERT_LT(l.host, static_cast<int>(lay.receptacles.size()));
        EXPECT_FALSE(openable(lay.receptacles[l.host].type));
      }
    }
  }
  EXPECT_THROW(layout(Room::kitchen, kLayoutsPerRoom), Error);
  EXPECT_THROW(layout(Room::kitchen, -1), Error);
}

TEST(HouseholdSplits, GenerationIsDeterministic) {
  for (Split split : {Split::seen, Split::unseen}) {
    for (std::uint64_t seed : {0ull, 1ull, 12345ull, 0xffffffffffffffffull}) {
      const Scenario a = generate_scenario(seed, split), b = generate_scenario(seed, split);
      EXPECT_EQ(a.goal_text, b.goal_text);
      EXPECT_EQ(a.room, b.room);
      EXPECT_EQ(a.layout_index, b.layout_index);
      ASSERT_EQ(a.objects.size(), b.objects.size());
      for (std::size_t o = 0; o < a.objects.size(); ++o) {
        EXPECT_EQ(a.objects[o].name, b.objects[o].name);
        EXPECT_EQ(a.objects[o].start, b.objects[o].start);
      }
      // And the same episode plays out the same, text for text.
      World wa, wb;
      EXPECT_EQ(std::string(wa.reset(a)), std::string(wb.reset(b)));
      while (!wa.done()) {
        const Action act = expert_action(wa);
        EXPECT_EQ(std::string(wa.step(act).observation), std::string(wb.step(act).observation));
      }
    }
  }
}

TEST(HouseholdSplits, SeedsGiveVariedTasks) {
  std::set<std::string> goals;
  std::set<std::pair<Room, int>> layouts;
  int per_type[kTaskTypeCount] = {};
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    const Scenario s = generate_scenario(seed, Split::seen);
    goals.insert(s.goal_text);
    layouts.insert({s.room, s.layout_index});
    ++per_type[static_cast<int>(s.goal.type)];
  }
  EXPECT_GT(goals.size(), 150u);
  EXPECT_GT(layouts.size(), 60u);
  for (int count : per_type) EXPECT_GT(count, 25);  // about 50 each
}

// (object type, place): the place is a receptacle type, or 32 + a lamp type. The split
// does not look at the task type.
using Combination = std::pair<ObjectType, int>;
Combination combination(const Goal& g) {
  const int place = g.type == TaskType::look_at_obj_in_light ? 32 + static_cast<int>(g.lamp) : static_cast<int>(g.target);
  return {g.object, place};
}

TEST(HouseholdSplits, AreDisjoint) {
  std::set<std::pair<Room, int>> layouts[2];
  std::set<std::vector<int>> furniture[2];
  std::set<Combination> combos[2];
  for (int sp = 0; sp < 2; ++sp) {
    const auto split = static_cast<Split>(sp);
    for (std::uint64_t seed = 0; seed < 600; ++seed) {
      const Scenario s = generate_scenario(seed, split);
      EXPECT_EQ(s.split, split);
      EXPECT_EQ(held_out_layout(s.layout_index), split == Split::unseen) << seed;
      EXPECT_EQ(held_out_combination(s.goal), split == Split::unseen) << seed;
      layouts[sp].insert({s.room, s.layout_index});
      furniture[sp].insert(furniture_signature(layout(s.room, s.layout_index)));
      combos[sp].insert(combination(s.goal));
    }
  }
  auto disjoint = [](const auto& a, const auto& b) {
    for (const auto& x : a)
      if (b.count(x)) return false;
    return true;
  };
  EXPECT_TRUE(disjoint(layouts[0], layouts[1]));
  EXPECT_TRUE(disjoint(furniture[0], furniture[1]));
  EXPECT_TRUE(disjoint(combos[0], combos[1]));
  // The unseen split covers its held-out layouts of every room type.
  EXPECT_EQ(layouts[1].size(), static_cast<std::size_t>(kRoomCount * kHeldOutLayoutsPerRoom));
}

TEST(HouseholdSplits, AboutAQuarterOfCombinationsAreHeldOut) {
  int held = 0, total = 0;
  for (int o = 0; o < kObjectTypeCount; ++o)
    for (int r = 0; r < kRecepTypeCount; ++r) {
      held += held_out_combination({TaskType::pick_and_place, static_cast<ObjectType>(o), static_cast<RecepType>(r)});
      ++total;
    }
  EXPECT_GT(held, total / 6);
  EXPECT_LT(held, total / 3);
}

}  // namespace
}  // namespace subtb::household
