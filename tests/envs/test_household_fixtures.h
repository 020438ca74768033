#pragma once
// Small hand-built household scenarios whose every text the tests can spell out.
#include <string>

#include "envs/household/scenario.h"

namespace subtb::household::testing {

inline std::string numbered_name(std::string_view type, int number) { return std::string(type) + " " + std::to_string(number); }

inline void add_receptacle(Scenario& s, RecepType type, int number, int loc) {
  s.receptacles.push_back({type, number, loc, numbered_name(name(type), number)});
}
inline void add_object(Scenario& s, ObjectType type, int number, int start) {
  s.objects.push_back({type, number, start, numbered_name(name(type), number)});
}
inline void add_lamp(Scenario& s, LampType type, int number, int host) {
  s.lamps.push_back({type, number, host, numbered_name(name(type), number)});
}

// Receptacle indices of kitchen().
enum KitchenRecep { kCabinet1, kCabinet2, kCountertop1, kCountertop2, kDrawer1, kFridge1, kMicrowave1, kSinkbasin1 };
// Object indices of kitchen().
enum KitchenObject { kApple1, kApple2, kEgg1, kKnife2, kMug1, kSaltshaker1 };

// A kitchen: apple 1, knife 2 and salt shaker 1 on countertop 1, apple 2 on
// countertop 2, egg 1 in the fridge, mug 1 in cabinet 1.
inline Scenario kitchen(Goal goal, std::string goal_text) {
  Scenario s;
  s.room = Room::kitchen;
  s.goal = goal;
  s.goal_text = std::move(goal_text);
  add_receptacle(s, RecepType::cabinet, 1, 3);
  add_receptacle(s, RecepType::cabinet, 2, 6);
  add_receptacle(s, RecepType::countertop, 1, 1);
  add_receptacle(s, RecepType::countertop, 2, 8);
  add_receptacle(s, RecepType::drawer, 1, 5);
  add_receptacle(s, RecepType::fridge, 1, 2);
  add_receptacle(s, RecepType::microwave, 1, 4);
  add_receptacle(s, RecepType::sinkbasin, 1, 7);
  add_object(s, ObjectType::apple, 1, kCountertop1);
  add_object(s, ObjectType::apple, 2, kCountertop2);
  add_object(s, ObjectType::egg, 1, kFridge1);
  add_object(s, ObjectType::knife, 2, kCountertop1);
  add_object(s, ObjectType::mug, 1, kCabinet1);
  add_object(s, ObjectType::saltshaker, 1, kCountertop1);
  return s;
}

inline Scenario heat_mug_kitchen() {
  return kitchen({TaskType::pick_heat_then_place, ObjectType::mug, RecepType::countertop, LampType::desklamp},
                 "put a hot mug in countertop");
}

// Receptacle indices of bedroom().
enum BedroomRecep { kBed1, kDesk1, kDrawer1Bedroom, kSidetable1 };
enum BedroomObject { kBook1, kCellphone1 };

// A bedroom: desk lamp 1 on desk 1, floor lamp 1 next to side table 1, book 1 on the
// bed, cellphone 1 in drawer 1. Goal: look at the book under the `lamp`.
inline Scenario bedroom(LampType lamp) {
  Scenario s;
  s.room = Room::bedroom;
  s.goal = {TaskType::look_at_obj_in_light, ObjectType::book, RecepType::countertop, lamp};
  s.goal_text = std::string("look at book under the ") + std::string(name(lamp));
  add_receptacle(s, RecepType::bed, 1, 2);
  add_receptacle(s, RecepType::desk, 1, 4);
  add_receptacle(s, RecepType::drawer, 1, 1);
  add_receptacle(s, RecepType::sidetable, 1, 3);
  add_lamp(s, LampType::desklamp, 1, kDesk1);
  add_lamp(s, LampType::floorlamp, 1, kSidetable1);
  add_object(s, ObjectType::book, 1, kBed1);
  add_object(s, ObjectType::cellphone, 1, kDrawer1Bedroom);
  return s;
}

}  // namespace subtb::household::testing
