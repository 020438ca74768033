#pragma once
// The scripted expert that produces demonstrations (SFT data, and the expert half of
// off-policy replay). Like ALFWorld's planner-based expert it reads the true state, so
// it goes straight to a receptacle that holds a goal object instead of searching:
// go there, open it if closed, take the object, transform it at the microwave, fridge
// or sink basin if the task asks, switch on the lamp or carry the object to a target
// receptacle (opening it if closed), put it. It works from any state, not only from the
// start: an object in hand that the task does not need is put away first.
//
// Every action it returns succeeds, and it solves every generated task in at most
// 12 steps (pick two: twice go, open, take, go, open, put).
#include "envs/household/command.h"
#include "envs/household/world.h"

namespace subtb::household {

// The expert's next action. Throws subtb::Error when the episode has ended.
Action expert_action(const World& world);

}  // namespace subtb::household
