#include "tensor/device.h"

#include <charconv>

#include "tensor/error.h"

namespace subtb {

Device Device::parse(std::string_view text) {
  if (text == "cpu") return kCPU;
  if (text == "cuda") return cuda_device(0);
  if (text.starts_with("cuda:")) {
    std::string_view num = text.substr(5);
    int index = -1;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), index);
    if (ec == std::errc() && ptr == num.data() + num.size() && index >= 0) return cuda_device(index);
  }
  SUBTB_THROW("Device: cannot parse '", text, "' (expected cpu, cuda or cuda:N)");
}

std::string Device::to_string() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

}  // namespace subtb
