// The six task types: goal conditions, success and rewards on hand-built scenarios,
// and the rules every generated task obeys.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "envs/household/layout.h"
#include "envs/household/world.h"
#include "tests/envs/test_household_fixtures.h"

namespace subtb::household {
namespace {

using namespace testing;

struct Expected {
  std::string command;
  int met;        // goal conditions met after the command
  double reward;  // its reward
};

// Plays the commands, checking each one succeeds and the conditions and rewards.
void play(World& world, const std::vector<Expected>& script) {
  for (const Expected& e : script) {
    ASSERT_FALSE(world.done()) << e.command;
    const StepResult r = world.step(e.command);
    EXPECT_TRUE(r.valid) << e.command << " -> " << r.observation;
    EXPECT_EQ(r.conditions_met, e.met) << e.command;
    EXPECT_EQ(r.reward, e.reward) << e.command;
    EXPECT_EQ(r.success, e.met == world.conditions_total()) << e.command;
    EXPECT_EQ(r.done, r.success) << e.command;
  }
}

TEST(HouseholdTasks, PickAndPlace) {
  World world;
  world.reset(kitchen({TaskType::pick_and_place, ObjectType::apple, RecepType::fridge, LampType::desklamp},
                      "put a apple in fridge"));
  EXPECT_EQ(world.conditions_total(), 1);
  EXPECT_EQ(world.conditions_met(), 0);
  play(world, {{"go to countertop 1", 0, 0},
               {"take apple 1 from countertop 1", 0, 0},
               {"go to fridge 1", 0, 0},
               {"open fridge 1", 0, 0},
               {"put apple 1 in/on fridge 1", 1, 51}});
  EXPECT_TRUE(world.success());
}

TEST(HouseholdTasks, PickTwoNeedsBothInOneReceptacle) {
  World world;
  world.reset(kitchen({TaskType::pick_two_and_place, ObjectType::apple, RecepType::countertop, LampType::desklamp},
                      "put two apple in countertop"));
  EXPECT_EQ(world.conditions_total(), 2);
  // Apple 1 and apple 2 lie on different countertops: one condition, not two.
  EXPECT_EQ(world.conditions_met(), 1);
  play(world, {{"go to countertop 2", 1, 0},
               {"take apple 2 from countertop 2", 1, 0},
               {"go to fridge 1", 1, 0},
               {"open fridge 1", 1, 0},
               {"put apple 2 in/on fridge 1", 1, 0},
               {"go to countertop 1", 1, 0},
               {"take apple 1 from countertop 1", 0, 0},
               {"go to countertop 2", 0, 0},
               {"put apple 1 in/on countertop 2", 1, 0},
               {"go to fridge 1", 1, 0},
               {"take apple 2 from fridge 1", 1, 0},
               {"go to countertop 2", 1, 0},
               {"put apple 2 in/on countertop 2", 2, 51}});
}

TEST(HouseholdTasks, LookNeedsTheObjectInHandAndTheLampOnHere) {
  World world;
  world.reset(bedroom(LampType::desklamp));
  EXPECT_EQ(world.conditions_total(), 2);
  play(world, {{"go to desk 1", 0, 0},
               {"use desklamp 1", 1, 1},  // a lit lamp here: one condition
               {"go to bed 1", 0, 0},     // the lamp is not here any more
               {"take book 1 from bed 1", 1, 0},
               {"go to desk 1", 2, 51}});
}

TEST(HouseholdTasks, LookWantsTheNamedLampType) {
  World world;
  world.reset(bedroom(LampType::floorlamp));
  play(world, {{"go to bed 1", 0, 0},
               {"take book 1 from bed 1", 1, 1},
               {"go to desk 1", 1, 0},
               {"use desklamp 1", 1, 0},  // a desk lamp is not a floor lamp
               {"go to sidetable 1", 1, 0},
               {"use floorlamp 1", 2, 51}});
}

TEST(HouseholdTasks, HeatThenPlace) {
  World world;
  world.reset(heat_mug_kitchen());
  EXPECT_EQ(world.conditions_total(), 3);
  play(world, {{"go to cabinet 1", 0, 0},
               {"open cabinet 1", 0, 0},
               {"take mug 1 from cabinet 1", 0, 0},
               {"go to countertop 1", 0, 0},
               {"put mug 1 in/on countertop 1", 1, 1},  // placed, not hot
               {"take mug 1 from countertop 1", 0, 0},
               {"go to microwave 1", 0, 0},
               {"heat mug 1 with microwave 1", 1, 0},  // hot; no new best
               {"go to countertop 2", 1, 0},
               {"put mug 1 in/on countertop 2", 3, 51}});
}

TEST(HouseholdTasks, CoolingUndoesHeat) {
  World world;
  world.reset(heat_mug_kitchen());
  play(world, {{"go to cabinet 1", 0, 0},
               {"open cabinet 1", 0, 0},
               {"take mug 1 from cabinet 1", 0, 0},
               {"go to microwave 1", 0, 0},
               {"heat mug 1 with microwave 1", 1, 1},
               {"go to fridge 1", 1, 0},
               {"cool mug 1 with fridge 1", 0, 0},
               {"go to countertop 1", 0, 0},
               {"put mug 1 in/on countertop 1", 1, 0}});
  EXPECT_FALSE(world.success());
}

TEST(HouseholdTasks, CleanThenPlace) {
  World world;
  world.reset(kitchen({TaskType::pick_clean_then_place, ObjectType::knife, RecepType::drawer, LampType::desklamp},
                      "put a clean knife in drawer"));
  play(world, {{"go to countertop 1", 0, 0},
               {"take knife 2 from countertop 1", 0, 0},
               {"go to sinkbasin 1", 0, 0},
               {"clean knife 2 with sinkbasin 1", 1, 1},
               {"go to drawer 1", 1, 0},
               {"open drawer 1", 1, 0},
               {"put knife 2 in/on drawer 1", 3, 51}});
}

TEST(HouseholdTasks, CoolThenPlace) {
  World world;
  world.reset(kitchen({TaskType::pick_cool_then_place, ObjectType::apple, RecepType::microwave, LampType::desklamp},
                      "put a cool apple in microwave"));
  play(world, {{"go to countertop 2", 0, 0},
               {"take apple 2 from countertop 2", 0, 0},
               {"go to fridge 1", 0, 0},
               {"cool apple 2 with fridge 1", 1, 1},
               {"go to microwave 1", 1, 0},
               {"open microwave 1", 1, 0},
               {"put apple 2 in/on microwave 1", 3, 51}});
}

TEST(HouseholdTasks, ConditionCounts) {
  EXPECT_EQ((Goal{TaskType::pick_and_place}).conditions(), 1);
  EXPECT_EQ((Goal{TaskType::look_at_obj_in_light}).conditions(), 2);
  EXPECT_EQ((Goal{TaskType::pick_two_and_place}).conditions(), 2);
  EXPECT_EQ((Goal{TaskType::pick_clean_then_place}).conditions(), 3);
  EXPECT_EQ((Goal{TaskType::pick_heat_then_place}).conditions(), 3);
  EXPECT_EQ((Goal{TaskType::pick_cool_then_place}).conditions(), 3);
}

TEST(HouseholdTasks, RoomsOfEachTaskType) {
  const auto K = Room::kitchen, L = Room::living_room, B = Room::bedroom, W = Room::bathroom;
  for (Room r : {K, L, B, W}) {
    EXPECT_TRUE(allowed_room(TaskType::pick_and_place, r));
    EXPECT_TRUE(allowed_room(TaskType::pick_two_and_place, r));
    EXPECT_EQ(allowed_room(TaskType::pick_heat_then_place, r), r == K);
    EXPECT_EQ(allowed_room(TaskType::pick_cool_then_place, r), r == K);
    EXPECT_EQ(allowed_room(TaskType::pick_clean_then_place, r), r == K || r == W);
    EXPECT_EQ(allowed_room(TaskType::look_at_obj_in_light, r), r == L || r == B);
  }
}

// The phrasings of ALFWorld, one of two per task type.
bool phrased_like_alfworld(const Goal& g, const std::string& text) {
  const std::string o(name(g.object)), p(name(g.target)), l(name(g.lamp));
  switch (g.type) {
    case TaskType::pick_and_place: return text == "put a " + o + " in " + p || text == "put some " + o + " on " + p;
    case TaskType::look_at_obj_in_light:
      return text == "look at " + o + " under the " + l || text == "examine the " + o + " with the " + l;
    case TaskType::pick_clean_then_place:
      return text == "put a clean " + o + " in " + p || text == "clean some " + o + " and put it in " + p;
    case TaskType::pick_heat_then_place:
      return text == "put a hot " + o + " in " + p || text == "heat some " + o + " and put it in " + p;
    case TaskType::pick_cool_then_place:
      return text == "put a cool " + o + " in " + p || text == "cool some " + o + " and put it in " + p;
    case TaskType::pick_two_and_place:
      return text == "put two " + o + " in " + p || text == "find two " + o + " and put them in " + p;
  }
  return false;
}

class HouseholdGenerated : public ::testing::TestWithParam<Split> {};

TEST_P(HouseholdGenerated, TasksObeyTheRules) {
  const Split split = GetParam();
  for (int t = 0; t < kTaskTypeCount; ++t) {
    const auto type = static_cast<TaskType>(t);
    for (std::uint64_t seed = 0; seed < 60; ++seed) {
      const Scenario s = generate_scenario(seed, split, type);
      SCOPED_TRACE(std::string(name(type)) + " seed " + std::to_string(seed) + ": " + s.goal_text);
      const Goal& g = s.goal;
      EXPECT_EQ(g.type, type);
      EXPECT_TRUE(allowed_room(type, s.room));
      EXPECT_TRUE(occurs_in(g.object, s.room));
      EXPECT_TRUE(phrased_like_alfworld(g, s.goal_text));
      const Layout& lay = layout(s.room, s.layout_index);
      ASSERT_EQ(s.receptacles.size(), lay.receptacles.size());

      int goal_objects = 0;
      for (const Object& o : s.objects) {
        EXPECT_TRUE(accepts(s.receptacles[o.start].type, o.type)) << o.name;
        EXPECT_TRUE(occurs_in(o.type, s.room)) << o.name;
        if (o.type != g.object) continue;
        ++goal_objects;
        if (type != TaskType::look_at_obj_in_light) {
          EXPECT_NE(s.receptacles[o.start].type, g.target) << o.name;
        }
      }
      EXPECT_GE(goal_objects, type == TaskType::pick_two_and_place ? 2 : 1);

      switch (type) {
        case TaskType::look_at_obj_in_light:
          EXPECT_TRUE(traits(g.object).lookable);
          EXPECT_TRUE(lay.has(g.lamp));
          break;
        case TaskType::pick_clean_then_place:
          EXPECT_TRUE(traits(g.object).cleanable);
          EXPECT_NE(g.target, RecepType::sinkbasin);
          EXPECT_TRUE(lay.has(RecepType::sinkbasin));
          break;
        case TaskType::pick_heat_then_place:
          EXPECT_TRUE(traits(g.object).heatable);
          EXPECT_NE(g.target, RecepType::microwave);
          EXPECT_TRUE(lay.has(RecepType::microwave));
          break;
        case TaskType::pick_cool_then_place:
          EXPECT_TRUE(traits(g.object).coolable);
          EXPECT_NE(g.target, RecepType::fridge);
          EXPECT_TRUE(lay.has(RecepType::fridge));
          break;
        default: break;
      }
      if (type != TaskType::look_at_obj_in_light) {
        EXPECT_TRUE(lay.has(g.target));
        EXPECT_TRUE(accepts(g.target, g.object));
      }

      World world;
      world.reset(s);
      EXPECT_EQ(world.conditions_met(), 0);
      for (std::size_t r = 0; r < s.receptacles.size(); ++r) EXPECT_FALSE(world.is_open(static_cast<int>(r)));
      for (std::size_t l = 0; l < s.lamps.size(); ++l) EXPECT_FALSE(world.lamp_on(static_cast<int>(l)));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Splits, HouseholdGenerated, ::testing::Values(Split::seen, Split::unseen),
                         [](const auto& info) { return std::string(name(info.param)); });

}  // namespace
}  // namespace subtb::household
