#pragma once
// Room layouts: the furniture of a room (receptacles and lamps), fixed like ALFRED's
// floor plans. Each room type has kLayoutsPerRoom layouts, generated once from fixed
// seeds and pairwise distinct; the last kHeldOutLayoutsPerRoom of each room type are
// held out for the unseen split and never appear in a seen task.
#include <vector>

#include "envs/household/catalog.h"

namespace subtb::household {

inline constexpr int kLayoutsPerRoom = 30;
inline constexpr int kHeldOutLayoutsPerRoom = 5;

struct LayoutReceptacle {
  RecepType type;
  int number;  // 1-based within its type: "cabinet 4"
  int loc;     // the "loc N" an agent arrives at, a permutation of 1..#receptacles
};

struct LayoutLamp {
  LampType type;
  int number;
  int host;  // index of the receptacle it stands on (desk lamp) or next to (floor lamp)
};

struct Layout {
  Room room;
  int index;  // 0 .. kLayoutsPerRoom - 1
  // Ordered by type, then number.
  std::vector<LayoutReceptacle> receptacles;
  std::vector<LayoutLamp> lamps;

  bool has(RecepType type) const;
  bool has(LampType type) const;
};

constexpr bool held_out_layout(int index) { return index >= kLayoutsPerRoom - kHeldOutLayoutsPerRoom; }

// Throws subtb::Error for an index outside 0 .. kLayoutsPerRoom - 1.
const Layout& layout(Room room, int index);

}  // namespace subtb::household
