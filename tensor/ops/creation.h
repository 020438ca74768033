#pragma once
// Creating tensors. Every function takes the dtype (default f32) and device (default
// cpu) last.
#include <vector>

#include "tensor/tensor.h"

namespace subtb {

Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = kCPU);
// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = DType::f32, Device device = kCPU);

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);

// [start, end) in steps of `step` (1-d); throws for step == 0 or a negative count.
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::i64, Device device = kCPU);
Tensor arange(int64_t end, DType dtype = DType::i64, Device device = kCPU);
// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::f32, Device device = kCPU);
// n x m identity (m defaults to n).
Tensor eye(int64_t n, int64_t m = -1, DType dtype = DType::f32, Device device = kCPU);

// Copies host values; values.size() must equal shape.numel(). The dtype is T's.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = kCPU);
// 1-d convenience: from_vector<float>({1, 2, 3}).
template <class T>
Tensor from_vector(const std::vector<T>& values, Device device = kCPU) {
  return from_vector<T>(values, Shape{static_cast<int64_t>(values.size())}, device);
}
// Copies `shape.numel()` contiguous elements of `dtype` from host memory.
Tensor from_buffer(const void* data, const Shape& shape, DType dtype, Device device = kCPU);
// Zero-copy: wraps caller-owned CPU memory; the caller keeps it alive while the tensor
// (or any view of it) lives.
Tensor borrow_buffer(void* data, const Shape& shape, DType dtype);

}  // namespace subtb
