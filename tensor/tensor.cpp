#include "tensor/tensor.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/backend.h"
#include "tensor/ops.h"

namespace subtb {

Tensor make_tensor(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) SUBTB_CHECK(d >= 0, "empty: negative extent in shape ", shape);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined tensor";
  return str(t.dtype(), t.shape(), " on ", t.device());
}

int64_t Tensor::size(int64_t dim) const {
  const int d = normalize_dim(dim, this->dim(), "size");
  return this->dim() == 0 ? 1 : shape()[d];
}

bool Tensor::is_contiguous() const {
  const TensorImpl& t = checked();
  int64_t expected = 1;
  for (int i = t.shape.size() - 1; i >= 0; --i) {
    if (t.shape[i] == 1) continue;
    if (t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

// ----- autograd

Tensor& Tensor::requires_grad_(bool value) {
  TensorImpl& t = checked();
  SUBTB_CHECK(t.grad_fn == nullptr, "requires_grad_: only leaf tensors can be marked (this one is the output of ",
              "another op; use detach() to make a leaf)");
  SUBTB_CHECK(!value || is_floating(t.dtype), "requires_grad_: only floating tensors can require grad, got ",
              describe(*this));
  t.requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  const TensorImpl& t = checked();
  return t.grad ? Tensor(t.grad) : Tensor();
}

void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    SUBTB_CHECK(g.shape() == shape() && g.dtype() == dtype() && g.device() == device(), "set_grad: gradient ",
                describe(g), " does not match tensor ", describe(*this));
  }
  checked().grad = g.defined() ? g.impl_ptr() : nullptr;
}

void Tensor::backward(const Tensor& seed, bool retain_graph) const {
  autograd::backward({*this}, {seed}, retain_graph);
}

Tensor Tensor::detach() const { return make_view(*this, shape(), strides(), offset()); }

// ----- data movement

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  SUBTB_CHECK(!autograd::needs_grad({this}), "to(", target, "): moving a tensor that requires grad across ",
              "devices is not differentiable here; detach() it or move the leaf before building the graph");
  Tensor src = contiguous();
  Tensor out = make_tensor(shape(), dtype(), target);
  if (target.is_cpu()) {
    backend(src.device()).copy_to_host(src, out.raw_data());
  } else {
    backend(target).copy_from_host(src.raw_data(), out);
  }
  return out;
}

Tensor Tensor::to(DType target) const { return dtype() == target ? *this : cast(*this, target); }

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

double Tensor::item() const {
  SUBTB_CHECK(numel() == 1, "item: expected a tensor with one element, got ", describe(*this));
  double value = 0;
  visit_dtype(dtype(), [&]<class T>() {
    T host;
    backend(device()).copy_to_host(*this, &host);
    value = static_cast<double>(static_cast<compute_t<T>>(host));
  });
  return value;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  SUBTB_CHECK(dtype_of<T>() == dtype(), "to_vector: requested ", dtype_of<T>(), " from ", describe(*this));
  std::vector<T> out(static_cast<size_t>(numel()));
  if (!out.empty()) {
    if constexpr (std::is_same_v<T, bool>) {
      std::unique_ptr<bool[]> tmp(new bool[out.size()]);
      backend(device()).copy_to_host(*this, tmp.get());
      for (size_t i = 0; i < out.size(); ++i) out[i] = tmp[i];
    } else {
      backend(device()).copy_to_host(*this, out.data());
    }
  }
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<BFloat16> Tensor::to_vector<BFloat16>() const;
template std::vector<Half> Tensor::to_vector<Half>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

// ----- printing

namespace {

// Formats the elements (as doubles) of a row-major host copy, nested by dim, with
// rows elided in the middle past 1000 elements as PyTorch does.
void print_nested(std::ostream& os, const std::vector<double>& v, const Shape& shape, int d, int64_t base,
                  int64_t stride_prod, bool elide, int width, bool integral, int indent) {
  const int64_t n = shape[d];
  const int64_t inner = stride_prod / std::max<int64_t>(n, 1);
  os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (elide && n > 6 && i == 3) {
      os << "...";
      i = n - 3;
      os << (d + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
    }
    if (d + 1 == shape.size()) {
      const double x = v[base + i];
      std::ostringstream cell;
      if (integral) {
        cell << static_cast<int64_t>(x);
      } else if (std::isnan(x) || std::isinf(x)) {
        cell << x;
      } else {
        cell << std::setprecision(4) << std::fixed << x;
      }
      os << std::setw(width) << cell.str();
    } else {
      print_nested(os, v, shape, d + 1, base + i * inner, inner, elide, width, integral, indent + 1);
    }
    if (i + 1 < n) os << (d + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << ']';
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  Tensor host = to(kCPU).to(DType::f64).contiguous();
  std::vector<double> v = host.to_vector<double>();
  const bool integral = !is_floating(dtype());
  int width = 1;
  for (double x : v) {
    std::ostringstream cell;
    if (integral) cell << static_cast<int64_t>(x);
    else if (std::isnan(x) || std::isinf(x)) cell << x;
    else cell << std::setprecision(4) << std::fixed << x;
    width = std::max<int>(width, static_cast<int>(cell.str().size()));
  }
  os << "tensor(";
  if (dim() == 0) {
    std::ostringstream cell;
    if (integral) cell << static_cast<int64_t>(v[0]);
    else cell << std::setprecision(4) << std::fixed << v[0];
    os << cell.str();
  } else {
    print_nested(os, v, shape(), 0, 0, numel(), numel() > 1000, width, integral, 7);
  }
  os << ", dtype=" << dtype() << ", shape=" << shape();
  if (!device().is_cpu()) os << ", device=" << device();
  if (grad_fn()) os << ", grad_fn=" << grad_fn()->name();
  else if (requires_grad()) os << ", requires_grad";
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

// ----- in place

namespace {
void check_in_place(const Tensor& t, const char* op) {
  SUBTB_CHECK(!(autograd::grad_enabled() && t.requires_grad()), op, ": in-place modification of ", describe(t),
              ", which requires grad, is not supported while grad mode is on (wrap it in NoGradGuard or use ",
              "the out-of-place op)");
}
}  // namespace

Tensor& Tensor::fill_(double value) {
  check_in_place(*this, "fill_");
  backend(device()).fill(*this, value);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_in_place(*this, "copy_");
  SUBTB_CHECK(src.device() == device(), "copy_: source ", describe(src), " and destination ", describe(*this),
              " are on different devices (use to(device) first)");
  backend(device()).copy(subtb::expand(src, shape()), *this);
  storage()->bump_version();
  return *this;
}

// ----- views

Tensor Tensor::reshape(const Shape& s) const { return subtb::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return subtb::view(*this, s); }
Tensor Tensor::permute(const Shape& dims) const { return subtb::permute(*this, dims); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return subtb::transpose(*this, d0, d1); }
Tensor Tensor::squeeze(int64_t dim) const { return subtb::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(int64_t dim) const { return subtb::unsqueeze(*this, dim); }
Tensor Tensor::expand(const Shape& s) const { return subtb::expand(*this, s); }
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  return subtb::narrow(*this, dim, start, length);
}
Tensor Tensor::select(int64_t dim, int64_t index) const { return subtb::select(*this, dim, index); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return subtb::flatten(*this, s, e); }

}  // namespace subtb
