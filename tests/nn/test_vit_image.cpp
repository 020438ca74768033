// Image preprocessing: bilinear resize at pixel centres (checked against values worked
// out by hand, which PyTorch's interpolate(mode="bilinear", align_corners=False) also
// gives), per-channel normalisation, batching and argument errors.
#include <vector>

#include "nn/vision/image.h"
#include "tests/support/test_util.h"

namespace subtb::nn {
namespace {

using testing::all_close;
using testing::values;

// A grey-level image (the same value in R, G and B) from row-major levels.
std::vector<std::uint8_t> grey(const std::vector<int>& levels) {
  std::vector<std::uint8_t> px;
  for (int v : levels) px.insert(px.end(), 3, static_cast<std::uint8_t>(v));
  return px;
}

// mean 0, std 1/255: the output is the resized pixel value itself.
ImageTransform raw(int64_t size) { return {size, {0, 0, 0}, {1 / 255.0f, 1 / 255.0f, 1 / 255.0f}}; }

TEST(ImagePreprocess, SameSizeKeepsEveryPixel) {
  std::vector<std::uint8_t> px;
  for (int i = 0; i < 3 * 3 * 3; ++i) px.push_back(static_cast<std::uint8_t>(i * 9));
  const Tensor t = image_to_tensor({3, 3, px}, raw(3));
  EXPECT_EQ(t.shape(), (Shape{3, 3, 3}));
  std::vector<double> planar;  // [3, H, W] from interleaved RGB
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 9; ++i) planar.push_back(px[static_cast<size_t>(3 * i + c)]);
  }
  EXPECT_TRUE(all_close(t, planar, 1e-4));
}

TEST(ImagePreprocess, UpscalesByInterpolatingBetweenPixelCentres) {
  const std::vector<std::uint8_t> px = grey({0, 200, 100, 40});  // 2x2
  const Tensor t = image_to_tensor({2, 2, px}, raw(4));
  // Along a row of (p, q): output x samples 0 (clamped), 0.25, 0.75, 1.
  auto row = [](double p, double q) { return std::vector<double>{p, 0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q, q}; };
  const std::vector<double> top = row(0, 200), bottom = row(100, 40);
  std::vector<double> expected;
  for (double wy : {0.0, 0.25, 0.75, 1.0}) {
    for (size_t x = 0; x < 4; ++x) expected.push_back((1 - wy) * top[x] + wy * bottom[x]);
  }
  EXPECT_TRUE(all_close(t.select(0, 0), expected, 1e-4));
  EXPECT_TRUE(all_close(t.select(0, 2), expected, 1e-4));
}

TEST(ImagePreprocess, HalvingAveragesEachTwoByTwoBlock) {
  const std::vector<std::uint8_t> px = grey({10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160});
  const Tensor t = image_to_tensor({4, 4, px}, raw(2));
  EXPECT_TRUE(all_close(t.select(0, 1), {35, 55, 115, 135}, 1e-4));
}

TEST(ImagePreprocess, NormalisesEachChannel) {
  std::vector<std::uint8_t> px;
  for (int i = 0; i < 5 * 2; ++i) px.insert(px.end(), {255, 0, 51});  // a 5x2 (wide) image
  const ImageTransform tf{3, {0.5f, 0.25f, 0.1f}, {0.5f, 0.2f, 0.4f}};
  const Tensor t = image_to_tensor({5, 2, px}, tf);
  EXPECT_EQ(t.shape(), (Shape{3, 3, 3}));
  const double expected[3] = {(1.0 - 0.5) / 0.5, (0.0 - 0.25) / 0.2, (0.2 - 0.1) / 0.4};
  for (int c = 0; c < 3; ++c) {
    EXPECT_TRUE(all_close(t.select(0, c), std::vector<double>(9, expected[c]), 1e-6)) << "channel " << c;
  }
}

TEST(ImagePreprocess, BatchStacksTheImages) {
  const std::vector<std::uint8_t> a = grey({0, 255, 255, 0}), b = grey({9, 9, 9, 9, 9, 9, 9, 9, 9});
  const std::vector<RgbImage> batch{{2, 2, a}, {3, 3, b}};
  const Tensor t = images_to_tensor(batch, raw(2));
  EXPECT_EQ(t.shape(), (Shape{2, 3, 2, 2}));
  EXPECT_EQ(values(t.select(0, 0)), values(image_to_tensor(batch[0], raw(2))));
  EXPECT_TRUE(all_close(t.select(0, 1), std::vector<double>(12, 9.0), 1e-4));
  EXPECT_EQ(images_to_tensor({}, raw(2)).shape(), (Shape{0, 3, 2, 2}));
}

TEST(ImagePreprocess, ErrorsNameTheProblem) {
  const std::vector<std::uint8_t> px = grey({1, 2, 3, 4});
  EXPECT_THROW_MSG(image_to_tensor({2, 3, px}), "image_to_tensor", "2x3", "18 bytes", "got 12");
  EXPECT_THROW_MSG(image_to_tensor({0, 2, px}), "image_to_tensor", "0x2", "positive");
  EXPECT_THROW_MSG(image_to_tensor({2, 2, px}, {0}), "image_to_tensor", "size", "got 0");
  EXPECT_THROW_MSG(image_to_tensor({2, 2, px}, {4, {0, 0, 0}, {1, 0, 1}}), "image_to_tensor", "channel 1", "std 0");
}

}  // namespace
}  // namespace subtb::nn
