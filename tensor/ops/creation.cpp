#include "tensor/ops/creation.h"

#include <cmath>

#include "kernels/backend.h"
#include "tensor/ops/op_helpers.h"

namespace subtb {

Tensor empty(const Shape& shape, DType dtype, Device device) { return make_tensor(shape, dtype, device); }

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = make_tensor(shape, dtype, device);
  backend(device).fill(t, value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full(Shape{}, value, dtype, device); }

Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype(), t.device()); }

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  SUBTB_CHECK(step != 0.0, "arange: step must be non-zero");
  SUBTB_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step),
              "arange: start, end and step must be finite, got ", start, ", ", end, ", ", step);
  const double count = std::ceil((end - start) / step);
  SUBTB_CHECK(count >= 0, "arange: end ", end, " cannot be reached from start ", start, " with step ", step);
  Tensor t = make_tensor(Shape{static_cast<int64_t>(count)}, dtype, device);
  backend(device).iota(t, start, step);
  return t;
}

Tensor arange(int64_t end, DType dtype, Device device) {
  return arange(0.0, static_cast<double>(end), 1.0, dtype, device);
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  SUBTB_CHECK(steps >= 0, "linspace: steps must be >= 0, got ", steps);
  Tensor t = make_tensor(Shape{steps}, dtype, device);
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  backend(device).iota(t, start, step);
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  if (m < 0) m = n;
  SUBTB_CHECK(n >= 0, "eye: n must be >= 0, got ", n);
  Tensor t = zeros(Shape{n, m}, dtype, device);
  // The diagonal is a strided view with stride m + 1.
  const int64_t k = std::min(n, m);
  Tensor diag = make_view(t, Shape{k}, Shape{m + 1}, 0);
  backend(device).fill(diag, 1.0);
  return t;
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  SUBTB_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
              " values do not fill shape ", shape, " (", shape.numel(), " elements)");
  if constexpr (std::is_same_v<T, bool>) {
    std::unique_ptr<bool[]> tmp(new bool[values.size()]);
    for (size_t i = 0; i < values.size(); ++i) tmp[i] = values[i];
    return from_buffer(tmp.get(), shape, DType::b8, device);
  } else {
    return from_buffer(values.data(), shape, dtype_of<T>(), device);
  }
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, Device);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, Device);
template Tensor from_vector<BFloat16>(const std::vector<BFloat16>&, const Shape&, Device);
template Tensor from_vector<Half>(const std::vector<Half>&, const Shape&, Device);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, Device);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, Device);
template Tensor from_vector<bool>(const std::vector<bool>&, const Shape&, Device);

Tensor from_buffer(const void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t = make_tensor(shape, dtype, device);
  if (t.numel() > 0) backend(device).copy_from_host(data, t);
  return t;
}

Tensor borrow_buffer(void* data, const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(data, static_cast<size_t>(shape.numel()) * dtype_size(dtype), kCPU,
                                            nullptr);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

namespace detail {
Tensor scalar_like(double value, const Tensor& like) { return scalar_tensor(value, like.dtype(), like.device()); }
}  // namespace detail

}  // namespace subtb
