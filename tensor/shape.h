#pragma once
// Shape: a small inline array of extents (or strides). Tensors have at most kMaxDims
// dimensions; keeping the array inline means creating a tensor allocates nothing for
// its metadata, which matters when a training step runs thousands of tiny ops.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "tensor/error.h"

namespace subtb {

inline constexpr int kMaxDims = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}
  explicit Shape(std::span<const int64_t> dims) {
    SUBTB_CHECK(dims.size() <= kMaxDims, "Shape: ", dims.size(), " dimensions exceed the maximum of ", kMaxDims);
    n_ = static_cast<int>(dims.size());
    for (int i = 0; i < n_; ++i) d_[i] = dims[i];
  }
  explicit Shape(const std::vector<int64_t>& dims) : Shape(std::span<const int64_t>(dims)) {}
  // A shape of `ndim` copies of `value`.
  static Shape filled(int ndim, int64_t value) {
    Shape s;
    s.resize(ndim, value);
    return s;
  }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t back() const { return d_[n_ - 1]; }
  const int64_t* begin() const { return d_.data(); }
  const int64_t* end() const { return d_.data() + n_; }
  int64_t* begin() { return d_.data(); }
  int64_t* end() { return d_.data() + n_; }
  const int64_t* data() const { return d_.data(); }

  void push_back(int64_t v) {
    SUBTB_CHECK(n_ < kMaxDims, "Shape: more than ", kMaxDims, " dimensions");
    d_[n_++] = v;
  }
  void insert(int pos, int64_t v) {
    SUBTB_CHECK(n_ < kMaxDims, "Shape: more than ", kMaxDims, " dimensions");
    for (int i = n_; i > pos; --i) d_[i] = d_[i - 1];
    d_[pos] = v;
    ++n_;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
    --n_;
  }
  void resize(int n, int64_t fill = 0) {
    SUBTB_CHECK(n >= 0 && n <= kMaxDims, "Shape: ", n, " dimensions exceed the maximum of ", kMaxDims);
    for (int i = n_; i < n; ++i) d_[i] = fill;
    n_ = n;
  }

  // Product of the extents (1 for a 0-d shape).
  int64_t numel() const {
    int64_t p = 1;
    for (int i = 0; i < n_; ++i) p *= d_[i];
    return p;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  bool operator==(const Shape& o) const {
    if (n_ != o.n_) return false;
    for (int i = 0; i < n_; ++i)
      if (d_[i] != o.d_[i]) return false;
    return true;
  }
  std::string to_string() const;

 private:
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

using Strides = Shape;

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.to_string(); }

// Row-major (C-contiguous) strides of a shape, in elements.
Strides contiguous_strides(const Shape& shape);

// NumPy broadcasting of two shapes; throws naming `op` and both shapes when they do not
// broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Maps a possibly negative dim into [0, ndim); throws naming `op` when out of range.
// For ndim == 0, dims -1 and 0 are accepted as in NumPy's 0-d handling of reductions.
int normalize_dim(int64_t dim, int ndim, const char* op);

// A bit per dim, set for each dim listed (after normalisation). Throws on repeats.
// An empty list selects every dim.
uint32_t dim_mask(std::span<const int64_t> dims, int ndim, const char* op);

}  // namespace subtb
