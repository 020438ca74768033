#pragma once
// The household's picture: where ALFWorld shows a 3D frame of the agent's view, this
// draws a 300x300 schematic of the agent's location. At a receptacle: its name, the
// receptacle (closed doors, an open interior or a surface) with the things visible in
// it as labelled colour chips (hot, cold and clean marked), lamps with their switch
// state; in the middle of the room: a tile per receptacle. A bar at the bottom shows
// the held object. The picture shows no more than the text observations reveal.
#include "envs/household/world.h"
#include "envs/render/canvas.h"

namespace subtb::household {

inline constexpr int kImageSize = 300;

// Redraws `canvas` (resized to kImageSize x kImageSize) from the world's state.
void render_location(const World& world, render::Canvas& canvas);

}  // namespace subtb::household
