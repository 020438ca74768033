#pragma once
// What a household is made of: room types, receptacle types, object types and lamps,
// with the properties and compatibility tables the rules and the task generator read.
// The vocabulary is ALFWorld's (the names an agent sees are its lower-case type names);
// the tables are this project's own, chosen to match ALFRED's rooms in spirit.
#include <cstdint>
#include <string_view>

namespace subtb::household {

enum class Room : std::uint8_t { kitchen, living_room, bedroom, bathroom };
inline constexpr int kRoomCount = 4;

// Alphabetical, so that sorting by type sorts by name.
enum class RecepType : std::uint8_t {
  armchair, bathtubbasin, bed, box, cabinet, coffeemachine, coffeetable, countertop, desk,
  diningtable, drawer, dresser, fridge, garbagecan, handtowelholder, laundryhamper,
  microwave, ottoman, safe, shelf, sidetable, sinkbasin, sofa, stoveburner, toaster,
  toilet, toiletpaperhanger, towelholder, tvstand,
};
inline constexpr int kRecepTypeCount = 29;

enum class ObjectType : std::uint8_t {
  alarmclock, apple, book, bowl, bread, butterknife, candle, cd, cellphone, cloth,
  creditcard, cup, dishsponge, egg, fork, handtowel, kettle, keychain, knife, ladle,
  laptop, lettuce, mug, newspaper, pan, pen, pencil, peppershaker, pillow, plate, pot,
  potato, remotecontrol, saltshaker, soapbar, soapbottle, spatula, spoon, spraybottle,
  statue, tissuebox, toiletpaper, tomato, towel, vase, watch, winebottle,
};
inline constexpr int kObjectTypeCount = 47;

// Lamps are fixed furniture that can be switched on ("use desklamp 1"): a desk lamp
// stands on a receptacle and is listed with its contents; a floor lamp stands next to
// one and shows only when the agent looks around there.
enum class LampType : std::uint8_t { desklamp, floorlamp };
inline constexpr int kLampTypeCount = 2;

// A set of receptacle types, one bit each.
using RecepMask = std::uint32_t;
constexpr RecepMask bit(RecepType t) { return RecepMask{1} << static_cast<int>(t); }
static_assert(kRecepTypeCount <= 32);

std::string_view name(Room room);  // "kitchen", "living room", ...
std::string_view name(RecepType type);
std::string_view name(ObjectType type);
std::string_view name(LampType type);

// Openable receptacles (fridge, cabinet, microwave, drawer, safe, box) start closed;
// taking from or putting into them needs them open.
bool openable(RecepType type);

struct ObjectTraits {
  std::uint8_t rooms = 0;  // bit per Room: where the object type occurs
  bool heatable = false;   // in a microwave
  bool coolable = false;   // in a fridge
  bool cleanable = false;  // in a sink basin
  bool lookable = false;   // a goal object of "look at {obj} under the {lamp}"
  RecepMask accepts = 0;   // receptacle types that may hold it (put, and where it spawns)
};
const ObjectTraits& traits(ObjectType type);

constexpr std::uint8_t room_bit(Room room) { return std::uint8_t(1u << static_cast<int>(room)); }
inline bool occurs_in(ObjectType type, Room room) { return (traits(type).rooms & room_bit(room)) != 0; }
inline bool accepts(RecepType recep, ObjectType object) { return (traits(object).accepts & bit(recep)) != 0; }

}  // namespace subtb::household
