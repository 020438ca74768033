#include "nn/vision/image_file.h"

#include <memory>

#include "tensor/error.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace subtb::nn {

OwnedImage read_image(const std::filesystem::path& path) {
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> data(stbi_load(path.c_str(), &w, &h, &channels, 3), stbi_image_free);
  SUBTB_CHECK(data != nullptr, "read_image: cannot decode '", path.string(), "': ", stbi_failure_reason());
  OwnedImage image{w, h, {}};
  image.pixels.assign(data.get(), data.get() + static_cast<size_t>(w) * static_cast<size_t>(h) * 3);
  return image;
}

}  // namespace subtb::nn
