#include "envs/household/catalog.h"

#include <array>

namespace subtb::household {
namespace {

using enum RecepType;

constexpr std::array<std::string_view, kRoomCount> kRoomNames = {"kitchen", "living room", "bedroom", "bathroom"};

constexpr std::array<std::string_view, kRecepTypeCount> kRecepNames = {
    "armchair",   "bathtubbasin", "bed",     "box",        "cabinet",     "coffeemachine",
    "coffeetable", "countertop",  "desk",    "diningtable", "drawer",     "dresser",
    "fridge",     "garbagecan",   "handtowelholder", "laundryhamper", "microwave", "ottoman",
    "safe",       "shelf",        "sidetable", "sinkbasin", "sofa",       "stoveburner",
    "toaster",    "toilet",       "toiletpaperhanger", "towelholder", "tvstand",
};

constexpr std::array<std::string_view, kObjectTypeCount> kObjectNames = {
    "alarmclock", "apple",      "book",      "bowl",       "bread",     "butterknife",
    "candle",     "cd",         "cellphone", "cloth",      "creditcard", "cup",
    "dishsponge", "egg",        "fork",      "handtowel",  "kettle",    "keychain",
    "knife",      "ladle",      "laptop",    "lettuce",    "mug",       "newspaper",
    "pan",        "pen",        "pencil",    "peppershaker", "pillow",  "plate",
    "pot",        "potato",     "remotecontrol", "saltshaker", "soapbar", "soapbottle",
    "spatula",    "spoon",      "spraybottle", "statue",   "tissuebox", "toiletpaper",
    "tomato",     "towel",      "vase",      "watch",      "winebottle",
};

constexpr std::array<std::string_view, kLampTypeCount> kLampNames = {"desklamp", "floorlamp"};

constexpr std::uint8_t K = room_bit(Room::kitchen), L = room_bit(Room::living_room), B = room_bit(Room::bedroom),
                       W = room_bit(Room::bathroom);

template <class... T>
constexpr RecepMask any_of(T... types) {
  return (RecepMask{0} | ... | bit(types));
}

// Recurring places, named once.
constexpr RecepMask kFoodPlaces = any_of(countertop, diningtable, fridge, microwave, sinkbasin, garbagecan);
constexpr RecepMask kCutleryPlaces = any_of(countertop, diningtable, drawer, sinkbasin);
constexpr RecepMask kDishPlaces = any_of(countertop, diningtable, cabinet, fridge, microwave, sinkbasin, shelf);
constexpr RecepMask kPotPlaces = any_of(countertop, diningtable, cabinet, stoveburner, sinkbasin, fridge);
constexpr RecepMask kDeskTops = any_of(desk, dresser, sidetable, shelf, coffeetable);
constexpr RecepMask kSmallValuables = kDeskTops | any_of(drawer, safe, box);
constexpr RecepMask kSeats = any_of(sofa, armchair, ottoman);
constexpr RecepMask kOrnamentPlaces = any_of(shelf, coffeetable, sidetable, dresser, tvstand, cabinet);

//                                rooms    heat   cool   clean  look   accepts
constexpr std::array<ObjectTraits, kObjectTypeCount> kTraits = {{
    /* alarmclock    */ {B,         false, false, false, true,  any_of(desk, dresser, sidetable, shelf)},
    /* apple         */ {K,         true,  true,  true,  false, kFoodPlaces},
    /* book          */ {L | B,     false, false, false, true,  kDeskTops | kSeats | any_of(bed, drawer)},
    /* bowl          */ {K | L | B, false, true,  true,  true,  kDishPlaces | kDeskTops},
    /* bread         */ {K,         true,  true,  false, false, (kFoodPlaces & ~bit(sinkbasin)) | bit(cabinet)},
    /* butterknife   */ {K,         false, false, true,  false, kCutleryPlaces},
    /* candle        */ {W | L,     false, false, false, false, any_of(countertop, toilet, cabinet, shelf, drawer, sidetable, coffeetable)},
    /* cd            */ {L | B,     false, false, false, true,  kSmallValuables | bit(garbagecan)},
    /* cellphone     */ {L | B,     false, false, false, true,  kSmallValuables | kSeats | bit(bed)},
    /* cloth         */ {W | B,     false, false, true,  false, any_of(countertop, sinkbasin, bathtubbasin, toilet, cabinet, drawer, garbagecan, laundryhamper, dresser)},
    /* creditcard    */ {L | B,     false, false, false, true,  kSmallValuables | kSeats},
    /* cup           */ {K,         true,  true,  true,  false, kDishPlaces | bit(coffeemachine)},
    /* dishsponge    */ {K | W,     false, false, true,  false, any_of(countertop, diningtable, cabinet, drawer, sinkbasin, bathtubbasin, toilet, garbagecan)},
    /* egg           */ {K,         true,  true,  true,  false, kFoodPlaces},
    /* fork          */ {K,         false, false, true,  false, kCutleryPlaces},
    /* handtowel     */ {W,         false, false, false, false, any_of(handtowelholder, countertop, cabinet)},
    /* kettle        */ {K,         false, false, true,  false, any_of(countertop, diningtable, cabinet, stoveburner, sinkbasin, shelf)},
    /* keychain      */ {L | B,     false, false, false, true,  kSmallValuables | kSeats},
    /* knife         */ {K,         false, false, true,  false, kCutleryPlaces},
    /* ladle         */ {K,         false, false, true,  false, kCutleryPlaces},
    /* laptop        */ {L | B,     false, false, false, true,  kSeats | any_of(bed, desk, coffeetable, diningtable, dresser)},
    /* lettuce       */ {K,         false, true,  true,  false, kFoodPlaces & ~bit(microwave)},
    /* mug           */ {K | L | B, true,  true,  true,  true,  kDishPlaces | kDeskTops | bit(coffeemachine)},
    /* newspaper     */ {L,         false, false, false, true,  kSeats | any_of(coffeetable, sidetable, diningtable, tvstand, box, garbagecan)},
    /* pan           */ {K,         false, true,  true,  false, kPotPlaces},
    /* pen           */ {L | B,     false, false, false, true,  kDeskTops | bit(drawer)},
    /* pencil        */ {L | B,     false, false, false, true,  kDeskTops | bit(drawer)},
    /* peppershaker  */ {K,         false, false, false, false, any_of(countertop, diningtable, cabinet, drawer, shelf)},
    /* pillow        */ {L | B,     false, false, false, true,  kSeats | bit(bed)},
    /* plate         */ {K,         true,  true,  true,  false, kDishPlaces},
    /* pot           */ {K,         false, true,  true,  false, kPotPlaces},
    /* potato        */ {K,         true,  true,  true,  false, kFoodPlaces},
    /* remotecontrol */ {L | B,     false, false, false, true,  kSeats | any_of(coffeetable, sidetable, tvstand, dresser, drawer, box)},
    /* saltshaker    */ {K,         false, false, false, false, any_of(countertop, diningtable, cabinet, drawer, shelf)},
    /* soapbar       */ {W,         false, false, true,  false, any_of(countertop, sinkbasin, bathtubbasin, toilet, cabinet, garbagecan)},
    /* soapbottle    */ {W | K,     false, false, false, false, any_of(countertop, cabinet, toilet, shelf, garbagecan, diningtable)},
    /* spatula       */ {K,         false, false, true,  false, kCutleryPlaces},
    /* spoon         */ {K,         false, false, true,  false, kCutleryPlaces},
    /* spraybottle   */ {W,         false, false, false, false, any_of(toilet, countertop, cabinet, shelf, garbagecan, drawer)},
    /* statue        */ {L | B,     false, false, false, true,  kOrnamentPlaces | bit(desk)},
    /* tissuebox     */ {L | B | W, false, false, false, true,  kDeskTops | any_of(countertop, toilet, cabinet, drawer, garbagecan)},
    /* toiletpaper   */ {W,         false, false, false, false, any_of(toiletpaperhanger, toilet, countertop, cabinet, drawer, garbagecan, shelf)},
    /* tomato        */ {K,         true,  true,  true,  false, kFoodPlaces},
    /* towel         */ {W,         false, false, false, false, any_of(towelholder, countertop, bathtubbasin)},
    /* vase          */ {L | B,     false, false, false, true,  kOrnamentPlaces | bit(safe)},
    /* watch         */ {L | B,     false, false, false, true,  kSmallValuables},
    /* winebottle    */ {K,         false, true,  false, false, any_of(countertop, diningtable, fridge, cabinet, shelf, garbagecan)},
}};

template <class Enum, std::size_t N>
std::string_view lookup(const std::array<std::string_view, N>& names, Enum value) {
  return names[static_cast<std::size_t>(value)];
}

}  // namespace

std::string_view name(Room room) { return lookup(kRoomNames, room); }
std::string_view name(RecepType type) { return lookup(kRecepNames, type); }
std::string_view name(ObjectType type) { return lookup(kObjectNames, type); }
std::string_view name(LampType type) { return lookup(kLampNames, type); }

bool openable(RecepType type) { return (any_of(box, cabinet, drawer, fridge, microwave, safe) & bit(type)) != 0; }

const ObjectTraits& traits(ObjectType type) { return kTraits[static_cast<std::size_t>(type)]; }

}  // namespace subtb::household
