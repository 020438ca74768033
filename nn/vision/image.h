#pragma once
// Image preprocessing for the vision encoder: an 8-bit RGB image (the task environments'
// render::Canvas, or a decoded PNG) -> a normalised f32 tensor.
//
//   pixel bytes [H, W, 3] --bilinear resize--> [S, S, 3] --(v / 255 - mean) / std--> [3, S, S]
//
// The resize samples at pixel centres (half-pixel offsets, PyTorch's align_corners=False)
// without antialiasing: the renders are a few hundred pixels and the encoder's input is of
// the same order, so there is little to alias.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "tensor/tensor.h"

namespace subtb::nn {

// A view of 8-bit RGB pixels: row-major, 3 bytes a pixel, no row padding, so pixel (x, y)
// starts at byte 3 * (y * width + x).
struct RgbImage {
  int width = 0, height = 0;
  std::span<const std::uint8_t> pixels;
};

struct ImageTransform {
  int64_t size = 224;  // the output is [3, size, size]
  // Per channel (R, G, B), applied to values in [0, 1]. 0.5 / 0.5 maps pixels to [-1, 1].
  std::array<float, 3> mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> std{0.5f, 0.5f, 0.5f};
};

// One image -> f32 [3, size, size] on the CPU. Throws when the pixel span does not hold
// width * height * 3 bytes, an extent is not positive, or a std is not positive.
Tensor image_to_tensor(const RgbImage& image, const ImageTransform& transform = {});

// A batch -> f32 [B, 3, size, size] on the CPU (B may be 0).
Tensor images_to_tensor(std::span<const RgbImage> images, const ImageTransform& transform = {});

}  // namespace subtb::nn
