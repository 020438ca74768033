#include "nn/vision/image.h"

#include <algorithm>
#include <cmath>

namespace subtb::nn {

namespace {

// Where output coordinate d samples the input: (1 - w) * p[i0] + w * p[i1].
struct Tap {
  int64_t i0, i1;
  float w;
};

// Half-pixel sampling: output pixel d covers input coordinate (d + 0.5) * in / out - 0.5,
// clamped to the first pixel's centre on the left (the last on the right via i1).
std::vector<Tap> taps(int64_t in, int64_t out) {
  std::vector<Tap> t(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t d = 0; d < out; ++d) {
    const double src = std::max(0.0, (static_cast<double>(d) + 0.5) * scale - 0.5);
    const int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
    t[static_cast<size_t>(d)] = {i0, std::min(i0 + 1, in - 1), static_cast<float>(src - static_cast<double>(i0))};
  }
  return t;
}

void check_image(const RgbImage& image, int64_t index) {
  SUBTB_CHECK(image.width > 0 && image.height > 0, "image_to_tensor: image ", index, " is ", image.width, "x",
              image.height, "; both extents must be positive");
  const size_t expected = static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3;
  SUBTB_CHECK(image.pixels.size() == expected, "image_to_tensor: image ", index, " is ", image.width, "x", image.height,
              " RGB and needs ", expected, " bytes, got ", image.pixels.size());
}

void check_transform(const ImageTransform& t) {
  SUBTB_CHECK(t.size > 0, "image_to_tensor: size must be positive, got ", t.size);
  for (int c = 0; c < 3; ++c) {
    SUBTB_CHECK(t.std[c] > 0 && std::isfinite(t.std[c]) && std::isfinite(t.mean[c]), "image_to_tensor: channel ", c,
                " has mean ", t.mean[c], " and std ", t.std[c], " (std must be positive and both finite)");
  }
}

// Writes image's [3, S, S] planes at out.
void resize_normalise(const RgbImage& image, const ImageTransform& t, float* out) {
  const int64_t s = t.size, w = image.width;
  const std::vector<Tap> ty = taps(image.height, s), tx = taps(w, s);
  float scale[3], shift[3];  // (v / 255 - mean) / std = v * scale - shift
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * t.std[c]);
    shift[c] = t.mean[c] / t.std[c];
  }
  const std::uint8_t* px = image.pixels.data();
  for (int64_t y = 0; y < s; ++y) {
    const Tap& a = ty[static_cast<size_t>(y)];
    const std::uint8_t* r0 = px + a.i0 * w * 3;
    const std::uint8_t* r1 = px + a.i1 * w * 3;
    for (int64_t x = 0; x < s; ++x) {
      const Tap& b = tx[static_cast<size_t>(x)];
      for (int c = 0; c < 3; ++c) {
        const float top = (1 - b.w) * r0[b.i0 * 3 + c] + b.w * r0[b.i1 * 3 + c];
        const float bottom = (1 - b.w) * r1[b.i0 * 3 + c] + b.w * r1[b.i1 * 3 + c];
        const float v = (1 - a.w) * top + a.w * bottom;
        out[(c * s + y) * s + x] = v * scale[c] - shift[c];
      }
    }
  }
}

}  // namespace

Tensor image_to_tensor(const RgbImage& image, const ImageTransform& transform) {
  return images_to_tensor(std::span<const RgbImage>(&image, 1), transform).squeeze(0);
}

Tensor images_to_tensor(std::span<const RgbImage> images, const ImageTransform& transform) {
  check_transform(transform);
  const int64_t n = static_cast<int64_t>(images.size()), s = transform.size;
  for (int64_t i = 0; i < n; ++i) check_image(images[static_cast<size_t>(i)], i);
  Tensor out = make_tensor({n, 3, s, s}, DType::f32, kCPU);
  float* data = out.data<float>();
#pragma omp parallel for schedule(static) if (n > 1)
  for (int64_t i = 0; i < n; ++i) resize_normalise(images[static_cast<size_t>(i)], transform, data + i * 3 * s * s);
  return out;
}

}  // namespace subtb::nn
