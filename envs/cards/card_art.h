#pragma once
// Card faces and backs drawn with the render library: 70x98 pixels, as in RL4VLM's images.
#include "envs/cards/card.h"
#include "envs/render/canvas.h"

namespace subtb::cards {

inline constexpr int card_width = 70;
inline constexpr int card_height = 98;

// A white card with its rank and suit in the top-left and bottom-right corners and a
// large suit symbol in the middle; red for hearts and diamonds, black otherwise.
void draw_card(render::Canvas& canvas, Card card, int x, int y);
// The back of a card: a blue diamond lattice inside a white border.
void draw_card_back(render::Canvas& canvas, int x, int y);

}  // namespace subtb::cards
