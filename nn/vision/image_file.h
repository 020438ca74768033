#pragma once
// Reading images from disk (PNG, and the other formats stb_image decodes) as 8-bit RGB.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "nn/vision/image.h"

namespace subtb::nn {

// An image that owns its pixels (row-major RGB, 3 bytes a pixel).
struct OwnedImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
  RgbImage view() const { return {width, height, pixels}; }
};

// Decodes the file at `path` to RGB (grey and alpha channels are converted). Throws
// naming the path and the decoder's reason on failure.
OwnedImage read_image(const std::filesystem::path& path);

}  // namespace subtb::nn
