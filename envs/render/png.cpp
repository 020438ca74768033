#include "envs/render/png.h"

#include <fstream>

#include "tensor/error.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace subtb::render {

std::vector<std::uint8_t> encode_png(const Canvas& canvas) {
  SUBTB_CHECK(canvas.width() > 0 && canvas.height() > 0, "encode_png: cannot encode an empty ",
              canvas.width(), "x", canvas.height(), " canvas");
  std::vector<std::uint8_t> out;
  auto append = [](void* context, void* data, int size) {
    auto* sink = static_cast<std::vector<std::uint8_t>*>(context);
    auto* bytes = static_cast<std::uint8_t*>(data);
    sink->insert(sink->end(), bytes, bytes + size);
  };
  const int ok = stbi_write_png_to_func(append, &out, canvas.width(), canvas.height(), 3,
                                        canvas.bytes().data(), 3 * canvas.width());
  SUBTB_CHECK(ok != 0, "encode_png: stb_image_write failed on a ", canvas.width(), "x", canvas.height(),
              " canvas");
  return out;
}

void write_png(const Canvas& canvas, const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = encode_png(canvas);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  SUBTB_CHECK(out, "write_png: cannot open '", path.string(), "' for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  SUBTB_CHECK(out, "write_png: failed writing ", bytes.size(), " bytes to '", path.string(), "'");
}

}  // namespace subtb::render
