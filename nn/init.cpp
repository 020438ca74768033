#include "nn/init.h"

#include <cmath>

namespace subtb::nn {

namespace {
Tensor uniform(const Shape& shape, double bound, const ParamInit& init) {
  return rand(shape, init.dtype, init.device, init.gen, -bound, bound);
}
}  // namespace

Tensor kaiming_uniform(const Shape& shape, int64_t fan_in, double a, const ParamInit& init) {
  SUBTB_CHECK(fan_in >= 0, "kaiming_uniform: negative fan_in ", fan_in, " for shape ", shape);
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  return uniform(shape, fan_in == 0 ? 0.0 : gain * std::sqrt(3.0 / static_cast<double>(fan_in)), init);
}

Tensor fan_in_uniform(const Shape& shape, int64_t fan_in, const ParamInit& init) {
  SUBTB_CHECK(fan_in >= 0, "fan_in_uniform: negative fan_in ", fan_in, " for shape ", shape);
  return uniform(shape, fan_in == 0 ? 0.0 : 1.0 / std::sqrt(static_cast<double>(fan_in)), init);
}

}  // namespace subtb::nn
