#include "envs/household/render.h"

#include <algorithm>
#include <string>
#include <vector>

#include "envs/household/rng.h"
#include "envs/render/font.h"

namespace subtb::household {
namespace {

using render::Canvas;
using render::Font;
using render::hex;
using render::Rgb;

constexpr Rgb kBackground = hex(0xefe9dc);
constexpr Rgb kHeader = hex(0x3b4a5a);
constexpr Rgb kInk = hex(0x202020);
constexpr Rgb kWood = hex(0xa47148);
constexpr Rgb kWoodDark = hex(0x6b4429);
constexpr Rgb kInterior = hex(0x4a3526);
constexpr Rgb kSurface = hex(0xd9c7a7);
constexpr Rgb kBar = hex(0xdcd3c0);
constexpr Rgb kHot = hex(0xd7301f), kCold = hex(0x3182bd), kClean = hex(0x31a37a);
constexpr Rgb kLampOn = hex(0xffd92f), kLampOff = hex(0x8c8060);

constexpr int kHeaderHeight = 34;
constexpr int kBarTop = 262;
constexpr int kChipRow = 22;

// A fixed colour per object type, spread over a palette that reads on dark and light.
Rgb object_color(ObjectType type) {
  static constexpr Rgb kPalette[] = {hex(0xe41a1c), hex(0x377eb8), hex(0x4daf4a), hex(0x984ea3), hex(0xff7f00),
                                     hex(0xa6cee3), hex(0xa65628), hex(0xf781bf), hex(0x999999), hex(0x66c2a5),
                                     hex(0xfc8d62), hex(0x8da0cb), hex(0xe78ac3), hex(0xa6d854), hex(0xe5c494)};
  return kPalette[mix64(static_cast<std::uint64_t>(type)) % std::size(kPalette)];
}

// The largest size up to `size` at which the text fits in `width` pixels.
int fitting_size(const Font& font, std::string_view text, int width, int size) {
  while (size > 6 && font.text_width(text, size) > width) --size;
  return size;
}

void draw_text(Canvas& c, std::string_view text, int x, int y, int width, int size, Rgb color) {
  const Font& font = Font::dejavu_sans_bold();
  font.draw(c, text, x, y, fitting_size(font, text, width, size), color);
}

// A chip: a coloured disc with its state marks, then the label.
void draw_chip(Canvas& c, int x, int y, int width, Rgb color, std::string_view label, Rgb ink,
               std::initializer_list<Rgb> marks = {}) {
  c.fill_circle(static_cast<float>(x + 7), static_cast<float>(y + 8), 7.0f, color);
  int mark_x = x + 18;
  for (Rgb m : marks) {
    c.fill_circle(static_cast<float>(mark_x + 3), static_cast<float>(y + 8), 3.5f, m);
    mark_x += 9;
  }
  draw_text(c, label, mark_x + 2, y, width - (mark_x + 2 - x), 12, ink);
}

void draw_object(Canvas& c, const World& w, int object, int x, int y, int width, Rgb ink) {
  const Object& o = w.scenario().objects[object];
  const bool hot = w.is_hot(object), cold = w.is_cool(object), clean = w.is_clean(object);
  if (hot && clean) return draw_chip(c, x, y, width, object_color(o.type), o.name, ink, {kHot, kClean});
  if (cold && clean) return draw_chip(c, x, y, width, object_color(o.type), o.name, ink, {kCold, kClean});
  if (hot) return draw_chip(c, x, y, width, object_color(o.type), o.name, ink, {kHot});
  if (cold) return draw_chip(c, x, y, width, object_color(o.type), o.name, ink, {kCold});
  if (clean) return draw_chip(c, x, y, width, object_color(o.type), o.name, ink, {kClean});
  draw_chip(c, x, y, width, object_color(o.type), o.name, ink);
}

void draw_lamp(Canvas& c, const World& w, int lamp, int x, int y, int width, Rgb ink) {
  const bool on = w.lamp_on(lamp);
  if (on) c.fill_circle(static_cast<float>(x + 7), static_cast<float>(y + 8), 10.0f, hex(0xfff3b0));
  draw_chip(c, x, y, width, on ? kLampOn : kLampOff, w.scenario().lamps[lamp].name + (on ? " (on)" : " (off)"), ink);
}

// The room from its middle: one tile per receptacle, closed ones darker.
void draw_room(Canvas& c, const World& w) {
  const auto& receps = w.scenario().receptacles;
  const int n = static_cast<int>(receps.size());
  constexpr int kColumns = 2, kLeft = 10, kTop = kHeaderHeight + 8, kGap = 4;
  const int rows = (n + kColumns - 1) / kColumns;
  const int tile_w = (kImageSize - 2 * kLeft - kGap) / kColumns;
  const int row_h = std::min(28, (kBarTop - 8 - kTop) / std::max(rows, 1));
  for (int i = 0; i < n; ++i) {
    const int x = kLeft + (i % kColumns) * (tile_w + kGap), y = kTop + (i / kColumns) * row_h;
    const bool closed = !w.accessible(i);
    c.fill_rounded_rect(x, y, tile_w, row_h - 2, 4, closed ? kWood : kSurface);
    const int size = std::min(12, row_h - 5);
    draw_text(c, receps[i].name, x + 5, y + (row_h - 2 - size) / 2 - 1, tile_w - 10, size, closed ? render::colors::white : kInk);
  }
}

// The receptacle the agent faces, with what can be seen in and next to it.
void draw_receptacle(Canvas& c, const World& w) {
  const int here = w.location();
  const Scenario& s = w.scenario();
  const RecepType type = s.receptacles[here].type;
  constexpr int kX = 14, kY = kHeaderHeight + 10, kW = kImageSize - 2 * kX, kH = 180;

  if (openable(type) && !w.is_open(here)) {
    // Two closed doors with handles.
    c.fill_rounded_rect(kX, kY, kW, kH, 6, kWood);
    c.stroke_rect(kX + 8, kY + 8, kW / 2 - 12, kH - 16, kWoodDark, 3);
    c.stroke_rect(kX + kW / 2 + 4, kY + 8, kW / 2 - 12, kH - 16, kWoodDark, 3);
    c.fill_circle(static_cast<float>(kX + kW / 2 - 14), static_cast<float>(kY + kH / 2), 5.0f, kWoodDark);
    c.fill_circle(static_cast<float>(kX + kW / 2 + 14), static_cast<float>(kY + kH / 2), 5.0f, kWoodDark);
    return;
  }
  const bool inside = openable(type);
  if (inside) {
    c.fill_rounded_rect(kX, kY, kW, kH, 6, kWood);
    c.fill_rect(kX + 8, kY + 8, kW - 16, kH - 16, kInterior);
  } else {
    c.fill_rounded_rect(kX, kY, kW, kH, 6, kSurface);
    c.fill_rect(kX, kY + kH - 12, kW, 12, kWood);
  }
  const Rgb ink = inside ? render::colors::white : kInk;

  // Things in view (desk lamps first), two columns; when they do not all fit, the last
  // slot counts the rest.
  std::vector<Ref> things;
  for (int l = 0; l < static_cast<int>(s.lamps.size()); ++l)
    if (s.lamps[l].host == here && s.lamps[l].type == LampType::desklamp) things.push_back(lamp_ref(l));
  for (int o = 0; o < static_cast<int>(s.objects.size()); ++o)
    if (w.where(o) == here) things.push_back(object_ref(o));
  constexpr int kColumns = 2, kPad = 14;
  const int col_w = (kW - 2 * kPad) / kColumns;
  const int capacity = kColumns * ((kH - 2 * kPad - 12) / kChipRow);
  const int shown = static_cast<int>(things.size()) <= capacity ? static_cast<int>(things.size()) : capacity - 1;
  auto slot_x = [&](int i) { return kX + kPad + (i % kColumns) * col_w; };
  auto slot_y = [&](int i) { return kY + kPad + (i / kColumns) * kChipRow; };
  for (int i = 0; i < shown; ++i) {
    if (things[i].kind == Ref::Kind::lamp)
      draw_lamp(c, w, things[i].index, slot_x(i), slot_y(i), col_w - 4, ink);
    else
      draw_object(c, w, things[i].index, slot_x(i), slot_y(i), col_w - 4, ink);
  }
  if (shown < static_cast<int>(things.size())) {
    std::string more = "+";
    more += std::to_string(things.size() - shown);
    more += " more";
    draw_text(c, more, slot_x(shown), slot_y(shown), col_w - 4, 12, ink);
  }

  // Floor lamps stand beside the receptacle.
  int y = kY + kH + 6;
  for (int l = 0; l < static_cast<int>(s.lamps.size()); ++l)
    if (s.lamps[l].host == here && s.lamps[l].type == LampType::floorlamp) {
      draw_lamp(c, w, l, kX + kPad, y, kW - 2 * kPad, kInk);
      y += kChipRow;
    }
}

}  // namespace

void render_location(const World& world, render::Canvas& canvas) {
  canvas.reset(kImageSize, kImageSize, kBackground);
  canvas.fill_rect(0, 0, kImageSize, kHeaderHeight, kHeader);
  const int here = world.location();
  std::string title = "middle of the ";
  if (here == World::kMiddleOfRoom)
    title += name(world.scenario().room);
  else
    title = world.scenario().receptacles[here].name;
  draw_text(canvas, title, 10, 7, kImageSize - 20, 17, render::colors::white);

  if (here == World::kMiddleOfRoom)
    draw_room(canvas, world);
  else
    draw_receptacle(canvas, world);

  canvas.fill_rect(0, kBarTop, kImageSize, kImageSize - kBarTop, kBar);
  draw_text(canvas, "holding:", 10, kBarTop + 11, 80, 13, kInk);
  if (world.held() >= 0)
    draw_object(canvas, world, world.held(), 84, kBarTop + 10, kImageSize - 94, kInk);
  else
    draw_text(canvas, "nothing", 84, kBarTop + 11, kImageSize - 94, 13, kInk);
}

}  // namespace subtb::household
