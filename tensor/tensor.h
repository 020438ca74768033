#pragma once
// Tensor: a reference-counted handle to (storage, shape, strides, offset, dtype) plus the
// autograd fields. Copying a Tensor copies the handle, not the data; views share
// storage. Op front ends are free functions declared in tensor/ops.h; the methods
// below are the ones a reader reaches for most, and forward to them.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace subtb {

namespace autograd {
class Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;     // in elements; 0 for broadcast (expanded) dims
  int64_t offset = 0;  // in elements, from storage->data()
  DType dtype = DType::f32;

  // Autograd. A tensor requires grad either as a leaf (requires_grad set by the user) or
  // as the output of a recorded op (grad_fn set, output_nr its slot in that node).
  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;
  int output_nr = 0;
  std::shared_ptr<TensorImpl> grad;                  // leaves only
  // Leaves only, made on first use and kept, so that recording an op on a leaf does not
  // build a fresh accumulator each time. It refers back to the leaf weakly: no cycle.
  std::shared_ptr<autograd::Node> grad_accumulator;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: holds nothing
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ----- metadata
  const Shape& shape() const { return checked().shape; }
  const Strides& strides() const { return checked().strides; }
  int64_t offset() const { return checked().offset; }
  int dim() const { return checked().shape.size(); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t numel() const { return checked().shape.numel(); }
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().storage->device(); }
  size_t itemsize() const { return dtype_size(dtype()); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return checked().storage; }
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }

  // Pointer to the first element (storage data + offset). data<T>() checks that T matches.
  void* raw_data() const {
    return static_cast<char*>(storage()->data()) + offset() * static_cast<int64_t>(itemsize());
  }
  template <class T>
  T* data() const {
    SUBTB_CHECK(dtype_of<T>() == dtype(), "Tensor::data: requested ", dtype_of<T>(), " from a ", dtype(),
                " tensor");
    return static_cast<T*>(raw_data());
  }

  // ----- autograd
  bool requires_grad() const { return checked().requires_grad; }
  // Marks a leaf as requiring grad. Throws for non-leaves and for non-floating dtypes.
  Tensor& requires_grad_(bool value = true);
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return checked().grad_fn; }
  // The accumulated gradient of a leaf (undefined until a backward reaches it).
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void zero_grad() { checked().grad.reset(); }
  // Reverse-mode differentiation from this tensor. `seed` defaults to 1 for a
  // one-element tensor and must be given otherwise.
  void backward(const Tensor& seed = Tensor(), bool retain_graph = false) const;
  // Same data, no history.
  Tensor detach() const;

  // ----- data movement
  Tensor to(Device device) const;  // returns *this when already there
  Tensor to(DType dtype) const;    // returns *this when already that dtype
  Tensor contiguous() const;       // returns *this when already contiguous
  Tensor clone() const;            // always a fresh contiguous copy (differentiable)
  double item() const;             // one-element tensors; synchronises with the device
  template <class T>
  std::vector<T> to_vector() const;  // host copy in row-major order; T must match dtype
  std::string to_string() const;     // a readable printout, like PyTorch's repr

  // ----- in-place (bump the version counter; refused on tensors that need grad while
  // grad mode is on, since autograd does not rebase history in this code base)
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // src broadcasts to this tensor's shape; dtype converts

  // ----- views (forward to tensor/ops/views.h)
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const { return transpose(-2, -1); }
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;

 private:
  TensorImpl& checked() const {
    SUBTB_CHECK(impl_ != nullptr, "Tensor: use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Describes a tensor for error messages: "f32[2, 3] on cpu".
std::string describe(const Tensor& t);

// Creates the metadata for a fresh, contiguous tensor (uninitialised memory).
Tensor make_tensor(const Shape& shape, DType dtype, Device device);
// A view: same storage, new shape/strides/offset, no autograd history.
Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset);

}  // namespace subtb
