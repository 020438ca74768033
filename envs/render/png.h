#pragma once
// PNG encoding of a Canvas (stb_image_write).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "envs/render/canvas.h"

namespace subtb::render {

// The canvas as PNG file bytes (8-bit RGB).
std::vector<std::uint8_t> encode_png(const Canvas& canvas);
// Writes the canvas to `path` as PNG; throws subtb::Error naming the path on failure.
void write_png(const Canvas& canvas, const std::filesystem::path& path);

}  // namespace subtb::render
