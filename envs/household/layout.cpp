#include "envs/household/layout.h"

#include <algorithm>
#include <array>
#include <span>

#include "envs/household/rng.h"
#include "tensor/error.h"

namespace subtb::household {
namespace {

using enum RecepType;

// How many of a receptacle type a room has: none with probability 100 - percent,
// otherwise uniform in [min, max].
struct Furniture {
  RecepType type;
  int min, max, percent;
};

constexpr std::array kKitchen = {
    Furniture{cabinet, 3, 12, 100},    Furniture{countertop, 1, 3, 100}, Furniture{drawer, 1, 6, 100},
    Furniture{fridge, 1, 1, 100},      Furniture{microwave, 1, 1, 100},  Furniture{sinkbasin, 1, 1, 100},
    Furniture{stoveburner, 2, 4, 100}, Furniture{garbagecan, 1, 1, 100}, Furniture{coffeemachine, 1, 1, 80},
    Furniture{toaster, 1, 1, 70},      Furniture{diningtable, 1, 1, 60}, Furniture{shelf, 1, 3, 40},
};
constexpr std::array kLivingRoom = {
    Furniture{sofa, 1, 2, 100},     Furniture{sidetable, 1, 3, 100}, Furniture{garbagecan, 1, 1, 100},
    Furniture{armchair, 1, 2, 60},  Furniture{coffeetable, 1, 2, 70}, Furniture{tvstand, 1, 1, 60},
    Furniture{drawer, 1, 4, 60},    Furniture{cabinet, 1, 4, 50},   Furniture{shelf, 1, 5, 50},
    Furniture{dresser, 1, 1, 30},   Furniture{diningtable, 1, 1, 30}, Furniture{safe, 1, 1, 20},
    Furniture{box, 1, 1, 30},       Furniture{ottoman, 1, 1, 20},
};
constexpr std::array kBedroom = {
    Furniture{bed, 1, 1, 100},     Furniture{drawer, 1, 6, 100},   Furniture{garbagecan, 1, 1, 100},
    Furniture{desk, 1, 1, 60},     Furniture{dresser, 1, 1, 70},   Furniture{shelf, 1, 4, 50},
    Furniture{sidetable, 1, 2, 70}, Furniture{safe, 1, 1, 30},     Furniture{armchair, 1, 1, 30},
    Furniture{laundryhamper, 1, 1, 40}, Furniture{cabinet, 1, 2, 20}, Furniture{box, 1, 1, 20},
};
constexpr std::array kBathroom = {
    Furniture{toilet, 1, 1, 100},       Furniture{sinkbasin, 1, 2, 100}, Furniture{countertop, 1, 1, 100},
    Furniture{cabinet, 1, 4, 100},      Furniture{toiletpaperhanger, 1, 1, 100}, Furniture{garbagecan, 1, 1, 100},
    Furniture{bathtubbasin, 1, 1, 60},  Furniture{drawer, 1, 4, 60},     Furniture{towelholder, 1, 1, 70},
    Furniture{handtowelholder, 1, 2, 70}, Furniture{shelf, 1, 3, 40},    Furniture{dresser, 1, 1, 20},
};

std::span<const Furniture> furniture_of(Room room) {
  switch (room) {
    case Room::kitchen: return kKitchen;
    case Room::living_room: return kLivingRoom;
    case Room::bedroom: return kBedroom;
    case Room::bathroom: return kBathroom;
  }
  SUBTB_THROW("household layout: unknown room ", static_cast<int>(room));
}

// Desk lamps stand on these; floor lamps stand next to these.
constexpr RecepMask kDeskLampHosts = bit(desk) | bit(sidetable) | bit(dresser);
constexpr RecepMask kFloorLampHosts = bit(sofa) | bit(armchair) | bit(bed) | bit(sidetable) | bit(dresser) | bit(desk);

// What makes two layouts the same room: the receptacle counts and the lamps.
struct Signature {
  std::array<int, kRecepTypeCount> counts{};
  std::array<int, kLampTypeCount> lamps{};
  friend bool operator==(const Signature&, const Signature&) = default;
};

Signature signature_of(const Layout& layout) {
  Signature s;
  for (const auto& r : layout.receptacles) ++s.counts[static_cast<int>(r.type)];
  for (const auto& l : layout.lamps) ++s.lamps[static_cast<int>(l.type)];
  return s;
}

int pick_host(const Layout& layout, RecepMask hosts, Rng& rng) {
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(layout.receptacles.size()); ++i)
    if (hosts & bit(layout.receptacles[i].type)) candidates.push_back(i);
  if (candidates.empty()) return -1;
  return candidates[rng.below(static_cast<std::uint32_t>(candidates.size()))];
}

Layout random_layout(Room room, int index, Rng& rng) {
  Layout layout{room, index, {}, {}};
  for (const Furniture& f : furniture_of(room)) {
    if (!rng.chance(f.percent)) continue;
    const int count = rng.between(f.min, f.max);
    for (int n = 1; n <= count; ++n) layout.receptacles.push_back({f.type, n, 0});
  }
  std::sort(layout.receptacles.begin(), layout.receptacles.end(),
            [](const auto& a, const auto& b) { return a.type != b.type ? a.type < b.type : a.number < b.number; });

  // Locations are numbered in an order unrelated to the names, as in ALFWorld.
  std::vector<int> locs(layout.receptacles.size());
  for (std::size_t i = 0; i < locs.size(); ++i) locs[i] = static_cast<int>(i) + 1;
  for (std::size_t i = locs.size(); i > 1; --i) std::swap(locs[i - 1], locs[rng.below(static_cast<std::uint32_t>(i))]);
  for (std::size_t i = 0; i < locs.size(); ++i) layout.receptacles[i].loc = locs[i];

  // Living rooms and bedrooms always have a lamp, so that "look" tasks exist there.
  if (room == Room::living_room || room == Room::bedroom) {
    const int desk_host = rng.chance(70) ? pick_host(layout, kDeskLampHosts, rng) : -1;
    if (desk_host >= 0) layout.lamps.push_back({LampType::desklamp, 1, desk_host});
    if (desk_host < 0 || rng.chance(30)) layout.lamps.push_back({LampType::floorlamp, 1, pick_host(layout, kFloorLampHosts, rng)});
  }
  return layout;
}

std::vector<Layout> layouts_of(Room room) {
  Rng rng(mix64(0x1a7f0c5eull + static_cast<std::uint64_t>(room)));
  std::vector<Layout> layouts;
  std::vector<Signature> taken;
  while (static_cast<int>(layouts.size()) < kLayoutsPerRoom) {
    Layout candidate = random_layout(room, static_cast<int>(layouts.size()), rng);
    const Signature s = signature_of(candidate);
    if (std::find(taken.begin(), taken.end(), s) != taken.end()) continue;
    taken.push_back(s);
    layouts.push_back(std::move(candidate));
  }
  return layouts;
}

}  // namespace

bool Layout::has(RecepType type) const {
  return std::any_of(receptacles.begin(), receptacles.end(), [&](const auto& r) { return r.type == type; });
}

bool Layout::has(LampType type) const {
  return std::any_of(lamps.begin(), lamps.end(), [&](const auto& l) { return l.type == type; });
}

const Layout& layout(Room room, int index) {
  static const std::array<std::vector<Layout>, kRoomCount> all = {
      layouts_of(Room::kitchen), layouts_of(Room::living_room), layouts_of(Room::bedroom), layouts_of(Room::bathroom)};
  SUBTB_CHECK(index >= 0 && index < kLayoutsPerRoom, "household layout: index ", index, " of a ", name(room),
              " is outside [0, ", kLayoutsPerRoom, ")");
  return all[static_cast<int>(room)][index];
}

}  // namespace subtb::household
