// The household world's commands and texts, on hand-built scenarios.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "envs/household/world.h"
#include "tensor/error.h"
#include "tests/envs/test_household_fixtures.h"

namespace subtb::household {
namespace {

using namespace testing;

std::string step_text(World& w, std::string_view command) { return std::string(w.step(command).observation); }

class HouseholdKitchen : public ::testing::Test {
 protected:
  void SetUp() override { opening_ = std::string(world_.reset(heat_mug_kitchen())); }
  World world_;
  std::string opening_;
};

TEST_F(HouseholdKitchen, OpeningTextListsTheRoomAndTheTask) {
  EXPECT_EQ(opening_,
            "-= Welcome to TextWorld, ALFRED! =-\n\n"
            "You are in the middle of a room. Looking quickly around you, you see a cabinet 2, a cabinet 1, "
            "a countertop 2, a countertop 1, a drawer 1, a fridge 1, a microwave 1, and a sinkbasin 1.\n\n"
            "Your task is to: put a hot mug in countertop.");
  EXPECT_EQ(world_.location(), World::kMiddleOfRoom);
  EXPECT_FALSE(world_.done());
}

TEST_F(HouseholdKitchen, GoToDescribesWhatIsThere) {
  EXPECT_EQ(step_text(world_, "go to countertop 1"),
            "You arrive at loc 1. On the countertop 1, you see a apple 1, a knife 2, and a saltshaker 1.");
  EXPECT_EQ(step_text(world_, "go to countertop 2"), "You arrive at loc 8. On the countertop 2, you see a apple 2.");
  EXPECT_EQ(step_text(world_, "go to cabinet 1"), "You arrive at loc 3. The cabinet 1 is closed.");
  EXPECT_EQ(step_text(world_, "go to drawer 1"), "You arrive at loc 5. The drawer 1 is closed.");
  EXPECT_EQ(step_text(world_, "open drawer 1"), "You open the drawer 1. The drawer 1 is open. In it, you see nothing.");
  EXPECT_EQ(step_text(world_, "go to cabinet 1"), "You arrive at loc 3. The cabinet 1 is closed.");
  EXPECT_EQ(step_text(world_, "go to drawer 1"), "You arrive at loc 5. The drawer 1 is open. In it, you see nothing.");
  EXPECT_EQ(step_text(world_, "go to sinkbasin 1"), "You arrive at loc 7. On the sinkbasin 1, you see nothing.");
  EXPECT_EQ(world_.location(), kSinkbasin1);
}

TEST_F(HouseholdKitchen, OpenTakeCloseAndInventory) {
  EXPECT_EQ(step_text(world_, "inventory"), "You are not carrying anything.");
  step_text(world_, "go to cabinet 1");
  EXPECT_EQ(step_text(world_, "open cabinet 1"), "You open the cabinet 1. The cabinet 1 is open. In it, you see a mug 1.");
  EXPECT_TRUE(world_.is_open(kCabinet1));
  EXPECT_EQ(step_text(world_, "take mug 1 from cabinet 1"), "You pick up the mug 1 from the cabinet 1.");
  EXPECT_EQ(world_.held(), kMug1);
  EXPECT_EQ(world_.where(kMug1), World::kHeld);
  EXPECT_EQ(step_text(world_, "inventory"), "You are carrying: a mug 1.");
  EXPECT_EQ(step_text(world_, "examine cabinet 1"), "The cabinet 1 is open. In it, you see nothing.");
  EXPECT_EQ(step_text(world_, "close cabinet 1"), "You close the cabinet 1.");
  EXPECT_FALSE(world_.is_open(kCabinet1));
}

TEST_F(HouseholdKitchen, PutUsesTheLiteralInOn) {
  step_text(world_, "go to countertop 1");
  step_text(world_, "take apple 1 from countertop 1");
  step_text(world_, "go to countertop 2");
  EXPECT_EQ(step_text(world_, "put apple 1 in countertop 2"), "Nothing happens.");
  EXPECT_EQ(step_text(world_, "put apple 1 on countertop 2"), "Nothing happens.");
  EXPECT_EQ(step_text(world_, "put apple 1 in/on countertop 2"), "You put the apple 1 in/on the countertop 2.");
  EXPECT_EQ(world_.where(kApple1), kCountertop2);
  EXPECT_EQ(world_.held(), -1);
  EXPECT_EQ(step_text(world_, "examine countertop 2"), "On the countertop 2, you see a apple 1, and a apple 2.");
}

TEST_F(HouseholdKitchen, HeatCoolCleanAndExamine) {
  step_text(world_, "go to countertop 1");
  step_text(world_, "take apple 1 from countertop 1");
  EXPECT_EQ(step_text(world_, "examine apple 1"), "There's nothing special about apple 1.");
  step_text(world_, "go to microwave 1");
  EXPECT_EQ(step_text(world_, "heat apple 1 with microwave 1"), "You heat the apple 1 using the microwave 1.");
  EXPECT_EQ(step_text(world_, "examine apple 1"), "This is a hot apple 1.");
  step_text(world_, "go to sinkbasin 1");
  EXPECT_EQ(step_text(world_, "clean apple 1 with sinkbasin 1"), "You clean the apple 1 using the sinkbasin 1.");
  EXPECT_EQ(step_text(world_, "examine apple 1"), "This is a hot and clean apple 1.");
  step_text(world_, "go to fridge 1");
  // Cooling undoes heating, as in ALFWorld's PDDL.
  EXPECT_EQ(step_text(world_, "cool apple 1 with fridge 1"), "You cool the apple 1 using the fridge 1.");
  EXPECT_TRUE(world_.is_cool(kApple1));
  EXPECT_FALSE(world_.is_hot(kApple1));
  EXPECT_EQ(step_text(world_, "examine apple 1"), "This is a cool and clean apple 1.");
}

TEST_F(HouseholdKitchen, ExamineObjectsInView) {
  step_text(world_, "go to countertop 1");
  EXPECT_EQ(step_text(world_, "examine knife 2"), "There's nothing special about knife 2.");
  EXPECT_EQ(step_text(world_, "examine mug 1"), "Nothing happens.");  // in a closed cabinet elsewhere
  step_text(world_, "go to fridge 1");
  EXPECT_EQ(step_text(world_, "examine egg 1"), "Nothing happens.");  // the fridge is closed
  step_text(world_, "open fridge 1");
  EXPECT_EQ(step_text(world_, "examine egg 1"), "There's nothing special about egg 1.");
}

TEST_F(HouseholdKitchen, CoolWithoutCleanReadsCold) {
  step_text(world_, "go to countertop 1");
  step_text(world_, "take apple 1 from countertop 1");
  step_text(world_, "go to fridge 1");
  step_text(world_, "cool apple 1 with fridge 1");
  EXPECT_EQ(step_text(world_, "examine apple 1"), "This is a cold apple 1.");
}

TEST_F(HouseholdKitchen, Look) {
  EXPECT_EQ(step_text(world_, "look"),
            "You are in the middle of a room. Looking quickly around you, you see a cabinet 2, a cabinet 1, "
            "a countertop 2, a countertop 1, a drawer 1, a fridge 1, a microwave 1, and a sinkbasin 1.");
  step_text(world_, "go to fridge 1");
  EXPECT_EQ(step_text(world_, "look"), "You are facing the fridge 1. Next to it, you see nothing.");
}

// Every command that breaks a rule answers "Nothing happens." and changes nothing.
TEST_F(HouseholdKitchen, FailingCommandsAnswerNothingHappens) {
  const std::vector<std::string> from_the_middle = {
      "take apple 1 from countertop 1",  // not there
      "open cabinet 1",                  // not there
      "examine countertop 1",            // not there
      "go to kitchen",                   // unknown receptacle
      "go to apple 1",                   // not a receptacle
      "dance",                           // not a command
      "",                                //
      "go to",                           //
      "take apple 1",                    // no receptacle
      "take apple 1 from",               //
      "put apple 1 in/on countertop 1",  // not holding it
  };
  for (const std::string& c : from_the_middle) {
    const StepResult r = world_.step(c);
    EXPECT_EQ(r.observation, "Nothing happens.") << c;
    EXPECT_FALSE(r.valid) << c;
  }
  EXPECT_EQ(world_.location(), World::kMiddleOfRoom);

  step_text(world_, "go to countertop 1");
  const std::vector<std::string> at_the_countertop = {
      "go to countertop 1",               // already there
      "open countertop 1",                // not openable
      "close countertop 1",               //
      "take apple 2 from countertop 1",   // apple 2 is on countertop 2
      "take apple 2 from countertop 2",   // countertop 2 is elsewhere
      "heat apple 1 with microwave 1",    // not holding it, not there
      "use desklamp 1",                   // there is none
      "take  apple 1 from countertop 1",  // names must match exactly
      "Take apple 1 from countertop 1",   //
  };
  for (const std::string& c : at_the_countertop) EXPECT_EQ(step_text(world_, c), "Nothing happens.") << c;

  step_text(world_, "take knife 2 from countertop 1");
  EXPECT_EQ(step_text(world_, "take apple 1 from countertop 1"), "Nothing happens.");  // hands full
  step_text(world_, "go to microwave 1");
  EXPECT_EQ(step_text(world_, "heat knife 2 with microwave 1"), "Nothing happens.");  // not heatable
  EXPECT_EQ(step_text(world_, "put knife 2 in/on microwave 1"), "Nothing happens.");  // closed
  step_text(world_, "open microwave 1");
  EXPECT_EQ(step_text(world_, "put knife 2 in/on microwave 1"), "Nothing happens.");  // does not take knives
  EXPECT_EQ(step_text(world_, "cool knife 2 with microwave 1"), "Nothing happens.");  // wrong appliance
  EXPECT_EQ(step_text(world_, "open microwave 1"), "Nothing happens.");               // already open
  step_text(world_, "go to fridge 1");
  EXPECT_EQ(step_text(world_, "cool knife 2 with fridge 1"), "Nothing happens.");    // not coolable
  EXPECT_EQ(step_text(world_, "close fridge 1"), "Nothing happens.");                // already closed
  EXPECT_EQ(world_.held(), kKnife2);
  EXPECT_FALSE(world_.is_cool(kKnife2));
  EXPECT_FALSE(world_.is_open(kFridge1));
}

TEST_F(HouseholdKitchen, SurroundingWhiteSpaceIsIgnored) {
  EXPECT_EQ(step_text(world_, "  go to countertop 1 \n"),
            "You arrive at loc 1. On the countertop 1, you see a apple 1, a knife 2, and a saltshaker 1.");
}

TEST_F(HouseholdKitchen, TypedActionsMatchTheirText) {
  const Grammar g = world_.grammar();
  const Action go{Verb::go_to, recep_ref(kCountertop1), {}};
  EXPECT_EQ(g.format(go), "go to countertop 1");
  EXPECT_EQ(g.parse("go to countertop 1"), go);
  const Action put{Verb::put, object_ref(kApple1), recep_ref(kCountertop2)};
  EXPECT_EQ(g.format(put), "put apple 1 in/on countertop 2");
  EXPECT_EQ(g.parse(g.format(put)), put);
  EXPECT_EQ(g.format(Action{Verb::clean, object_ref(kMug1), recep_ref(kSinkbasin1)}), "clean mug 1 with sinkbasin 1");
  EXPECT_EQ(g.parse("look"), (Action{Verb::look, {}, {}}));
  EXPECT_FALSE(g.parse("look around").has_value());
  EXPECT_EQ(std::string(world_.step(go).observation),
            "You arrive at loc 1. On the countertop 1, you see a apple 1, a knife 2, and a saltshaker 1.");
}

TEST(HouseholdWorld, StepLimitEndsTheEpisode) {
  for (int limit : {35, 50}) {
    World world(WorldOptions{limit});
    world.reset(heat_mug_kitchen());
    for (int i = 1; i < limit; ++i) {
      const StepResult r = world.step(i % 2 ? "go to fridge 1" : "go to drawer 1");
      ASSERT_FALSE(r.done) << i;
    }
    const StepResult last = world.step("look");
    EXPECT_TRUE(last.done);
    EXPECT_FALSE(last.success);
    EXPECT_EQ(world.steps(), limit);
    EXPECT_THROW(world.step("look"), Error);
  }
  EXPECT_THROW(World(WorldOptions{0}), Error);
}

TEST_F(HouseholdKitchen, RestartPlaysTheSameTaskAgain) {
  step_text(world_, "go to cabinet 1");
  step_text(world_, "open cabinet 1");
  step_text(world_, "take mug 1 from cabinet 1");
  EXPECT_EQ(std::string(world_.restart()), opening_);
  EXPECT_EQ(world_.steps(), 0);
  EXPECT_EQ(world_.held(), -1);
  EXPECT_EQ(world_.where(kMug1), kCabinet1);
  EXPECT_FALSE(world_.is_open(kCabinet1));
  EXPECT_EQ(step_text(world_, "go to cabinet 1"), "You arrive at loc 3. The cabinet 1 is closed.");
}

TEST(HouseholdWorld, StepBeforeResetThrows) {
  World world;
  EXPECT_THROW(world.step("look"), Error);
}

TEST(HouseholdWorld, LampsAndFloorLamps) {
  World world;
  world.reset(bedroom(LampType::desklamp));
  EXPECT_EQ(step_text(world, "go to desk 1"), "You arrive at loc 4. On the desk 1, you see a desklamp 1.");
  EXPECT_EQ(step_text(world, "examine desklamp 1"), "This desklamp 1 is off.");
  EXPECT_EQ(step_text(world, "take desklamp 1 from desk 1"), "Nothing happens.");  // furniture
  EXPECT_EQ(step_text(world, "use floorlamp 1"), "Nothing happens.");              // elsewhere
  EXPECT_EQ(step_text(world, "use desklamp 1"), "You turn on the desklamp 1.");
  EXPECT_EQ(step_text(world, "examine desklamp 1"), "This desklamp 1 is on.");
  EXPECT_EQ(step_text(world, "use desklamp 1"), "You turn off the desklamp 1.");
  // A floor lamp is not on the side table; looking around there shows it.
  EXPECT_EQ(step_text(world, "go to sidetable 1"), "You arrive at loc 3. On the sidetable 1, you see nothing.");
  EXPECT_EQ(step_text(world, "look"), "You are facing the sidetable 1. Next to it, you see a floorlamp 1.");
  EXPECT_EQ(step_text(world, "use floorlamp 1"), "You turn on the floorlamp 1.");
}

}  // namespace
}  // namespace subtb::household
