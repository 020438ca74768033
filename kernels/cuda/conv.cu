// CUDA conv2d through cuDNN's convolution API: forward (plus cudnnAddTensor for the
// bias), backward data, backward filter and backward bias, each queued on the device's
// stream with a workspace from the caching allocator.
//
// Algorithms come from cuDNN's heuristics (the _v7 queries, no benchmarking runs), taking
// the best one that supports the shapes; with deterministic() on, only algorithms that give
// the same bits on every run are taken. f32 uses FMA math unless allow_tf32() is on, so
// the default result is a true f32 convolution, as with matmul.
#include <cudnn.h>

#include <array>
#include <mutex>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "tensor/settings.h"

#define SUBTB_CUDNN_CHECK(call)                                                                                   \
  do {                                                                                                            \
    const cudnnStatus_t subtb_status_ = (call);                                                                   \
    if (subtb_status_ != CUDNN_STATUS_SUCCESS) [[unlikely]] {                                                     \
      throw ::subtb::Error(                                                                                       \
          ::subtb::str(#call, " failed at ", __FILE__, ":", __LINE__, ": ", cudnnGetErrorString(subtb_status_))); \
    }                                                                                                             \
  } while (0)

namespace subtb::cuda {

namespace {

constexpr int kMaxDevices = 64;

// The device's cuDNN handle, bound to its stream, made on first use. Handles live as long
// as the process: destroying them from a static destructor could run after the driver
// has shut down.
cudnnHandle_t cudnn_handle(CudaBackend& be) {
  static std::mutex mutex;
  static std::array<cudnnHandle_t, kMaxDevices> handles{};
  SUBTB_CHECK(be.index() < kMaxDevices, "conv2d: cuda:", be.index(), " is beyond the ", kMaxDevices,
              " devices this build supports");
  std::lock_guard<std::mutex> lock(mutex);
  cudnnHandle_t& h = handles[static_cast<size_t>(be.index())];
  if (h == nullptr) {
    SUBTB_CUDNN_CHECK(cudnnCreate(&h));
    SUBTB_CUDNN_CHECK(cudnnSetStream(h, be.stream()));
  }
  return h;
}

cudnnDataType_t data_type(DType d) {
  switch (d) {
    case DType::f32:
      return CUDNN_DATA_FLOAT;
    case DType::f64:
      return CUDNN_DATA_DOUBLE;
    case DType::f16:
      return CUDNN_DATA_HALF;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    default:
      SUBTB_THROW("conv2d: not implemented for ", d, " on cuda");
  }
}

// 16-bit inputs accumulate in f32; f64 in f64.
cudnnDataType_t compute_type(DType d) { return d == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

int to_int(int64_t v, const char* what) {
  SUBTB_CHECK(v >= 0 && v <= INT32_MAX, "conv2d: ", what, " ", v, " exceeds cuDNN's int range");
  return static_cast<int>(v);
}

// RAII wrappers over the descriptors, each set up for one contiguous NCHW tensor.
class TensorDesc {
 public:
  explicit TensorDesc(const Tensor& t) : TensorDesc(t.shape(), t.dtype()) {}
  TensorDesc(const Shape& s, DType dtype) {
    SUBTB_CUDNN_CHECK(cudnnCreateTensorDescriptor(&desc_));
    SUBTB_CUDNN_CHECK(cudnnSetTensor4dDescriptor(desc_, CUDNN_TENSOR_NCHW, data_type(dtype), to_int(s[0], "batch"),
                                                 to_int(s[1], "channels"), to_int(s[2], "height"),
                                                 to_int(s[3], "width")));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(desc_); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  operator cudnnTensorDescriptor_t() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc(const Shape& s, DType dtype) {
    SUBTB_CUDNN_CHECK(cudnnCreateFilterDescriptor(&desc_));
    SUBTB_CUDNN_CHECK(cudnnSetFilter4dDescriptor(desc_, data_type(dtype), CUDNN_TENSOR_NCHW, to_int(s[0], "filters"),
                                                 to_int(s[1], "channels"), to_int(s[2], "kernel height"),
                                                 to_int(s[3], "kernel width")));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(desc_); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  operator cudnnFilterDescriptor_t() const { return desc_; }

 private:
  cudnnFilterDescriptor_t desc_ = nullptr;
};

// f32 without allow_tf32() must not round its products to TF32.
bool exact_f32(DType dtype) { return dtype == DType::f32 && !allow_tf32(); }

bool uses_tensor_cores(cudnnMathType_t math) {
  return math == CUDNN_TENSOR_OP_MATH || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

class ConvDesc {
 public:
  ConvDesc(const Conv2dParams& p, DType dtype) {
    SUBTB_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&desc_));
    SUBTB_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
        desc_, to_int(p.padding[0], "padding"), to_int(p.padding[1], "padding"), to_int(p.stride[0], "stride"),
        to_int(p.stride[1], "stride"), to_int(p.dilation[0], "dilation"), to_int(p.dilation[1], "dilation"),
        CUDNN_CROSS_CORRELATION, compute_type(dtype)));
    const bool tensor_cores = dtype == DType::f16 || dtype == DType::bf16 || (dtype == DType::f32 && !exact_f32(dtype));
    SUBTB_CUDNN_CHECK(cudnnSetConvolutionMathType(desc_, tensor_cores ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(desc_); }
  // Runs with the math type the chosen algorithm was ranked with, except that an exact f32
  // convolution stays on FMA math (CUDNN_DEFAULT_MATH would permit TF32).
  void use_math_of(cudnnMathType_t ranked, DType dtype) {
    SUBTB_CUDNN_CHECK(cudnnSetConvolutionMathType(desc_, exact_f32(dtype) ? CUDNN_FMA_MATH : ranked));
  }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  operator cudnnConvolutionDescriptor_t() const { return desc_; }

 private:
  cudnnConvolutionDescriptor_t desc_ = nullptr;
};

// The scaling factors cuDNN reads: double for f64 data, float otherwise.
struct Scale {
  explicit Scale(DType d, double v) : as_double(v), as_float(static_cast<float>(v)), is_double(d == DType::f64) {}
  const void* ptr() const { return is_double ? static_cast<const void*>(&as_double) : &as_float; }
  double as_double;
  float as_float;
  bool is_double;
};

// The best of cuDNN's ranked candidates that supports the problem, is deterministic when
// asked, and keeps an exact f32 convolution off the tensor cores.
template <class Perf>
const Perf& pick(const Perf* perfs, int count, DType dtype, const char* what) {
  for (int i = 0; i < count; ++i) {
    if (perfs[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (deterministic() && perfs[i].determinism != CUDNN_DETERMINISTIC) continue;
    if (exact_f32(dtype) && uses_tensor_cores(perfs[i].mathType)) continue;
    return perfs[i];
  }
  SUBTB_THROW("conv2d: cuDNN offers no ", deterministic() ? "deterministic " : "", what, " algorithm for these ", dtype,
              " shapes");
}

// Scratch memory from the caching allocator, released in stream order.
Tensor workspace(size_t nbytes, Device device) {
  return make_tensor({static_cast<int64_t>(nbytes)}, DType::b8, device);
}

constexpr int kCandidates = 8;

}  // namespace

void CudaBackend::conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                         const Tensor& out) {
  DeviceGuard guard(index_);
  if (out.numel() == 0) return;
  cudnnHandle_t h = cudnn_handle(*this);
  const DType dt = x.dtype();
  const TensorDesc xd(x), yd(out);
  const FilterDesc wd(weight.shape(), dt);
  ConvDesc cd(params, dt);
  cudnnConvolutionFwdAlgoPerf_t perfs[kCandidates];
  int count = 0;
  SUBTB_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, kCandidates, &count, perfs));
  const cudnnConvolutionFwdAlgoPerf_t& best = pick(perfs, count, dt, "forward");
  const cudnnConvolutionFwdAlgo_t algo = best.algo;
  cd.use_math_of(best.mathType, dt);
  size_t bytes = 0;
  SUBTB_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, algo, &bytes));
  const Tensor ws = workspace(bytes, device());
  const Scale one(dt, 1.0), zero(dt, 0.0);
  SUBTB_CUDNN_CHECK(cudnnConvolutionForward(h, one.ptr(), xd, x.raw_data(), wd, weight.raw_data(), cd, algo,
                                            ws.raw_data(), bytes, zero.ptr(), yd, out.raw_data()));
  if (bias.defined()) {
    const TensorDesc bd(Shape{1, bias.shape()[0], 1, 1}, dt);
    SUBTB_CUDNN_CHECK(cudnnAddTensor(h, one.ptr(), bd, bias.raw_data(), one.ptr(), yd, out.raw_data()));
  }
}

void CudaBackend::conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& params,
                                        const Tensor& grad_x) {
  DeviceGuard guard(index_);
  if (grad_x.numel() == 0) return;
  cudnnHandle_t h = cudnn_handle(*this);
  const DType dt = grad_out.dtype();
  const TensorDesc dyd(grad_out), dxd(grad_x);
  const FilterDesc wd(weight.shape(), dt);
  ConvDesc cd(params, dt);
  cudnnConvolutionBwdDataAlgoPerf_t perfs[kCandidates];
  int count = 0;
  SUBTB_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, wd, dyd, cd, dxd, kCandidates, &count, perfs));
  const cudnnConvolutionBwdDataAlgoPerf_t& best = pick(perfs, count, dt, "backward-data");
  const cudnnConvolutionBwdDataAlgo_t algo = best.algo;
  cd.use_math_of(best.mathType, dt);
  size_t bytes = 0;
  SUBTB_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd, dyd, cd, dxd, algo, &bytes));
  const Tensor ws = workspace(bytes, device());
  const Scale one(dt, 1.0), zero(dt, 0.0);
  SUBTB_CUDNN_CHECK(cudnnConvolutionBackwardData(h, one.ptr(), wd, weight.raw_data(), dyd, grad_out.raw_data(), cd,
                                                 algo, ws.raw_data(), bytes, zero.ptr(), dxd, grad_x.raw_data()));
}

void CudaBackend::conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& params,
                                         const Tensor& grad_weight, const Tensor& grad_bias) {
  DeviceGuard guard(index_);
  const DType dt = grad_out.dtype();
  const Scale one(dt, 1.0), zero(dt, 0.0);
  if (grad_out.numel() == 0) {  // an empty batch: cuDNN rejects zero extents; the sums are 0
    if (grad_weight.defined()) fill(grad_weight, 0.0);
    if (grad_bias.defined()) fill(grad_bias, 0.0);
    return;
  }
  cudnnHandle_t h = cudnn_handle(*this);
  const TensorDesc dyd(grad_out);
  if (grad_weight.defined()) {
    const TensorDesc xd(x);
    const FilterDesc dwd(grad_weight.shape(), dt);
    ConvDesc cd(params, dt);
    cudnnConvolutionBwdFilterAlgoPerf_t perfs[kCandidates];
    int count = 0;
    SUBTB_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, xd, dyd, cd, dwd, kCandidates, &count, perfs));
    const cudnnConvolutionBwdFilterAlgoPerf_t& best = pick(perfs, count, dt, "backward-filter");
    const cudnnConvolutionBwdFilterAlgo_t algo = best.algo;
    cd.use_math_of(best.mathType, dt);
    size_t bytes = 0;
    SUBTB_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd, dyd, cd, dwd, algo, &bytes));
    const Tensor ws = workspace(bytes, device());
    SUBTB_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, one.ptr(), xd, x.raw_data(), dyd, grad_out.raw_data(), cd, algo,
                                                     ws.raw_data(), bytes, zero.ptr(), dwd, grad_weight.raw_data()));
  }
  if (grad_bias.defined()) {
    const TensorDesc dbd(Shape{1, grad_bias.shape()[0], 1, 1}, dt);
    SUBTB_CUDNN_CHECK(
        cudnnConvolutionBackwardBias(h, one.ptr(), dyd, grad_out.raw_data(), zero.ptr(), dbd, grad_bias.raw_data()));
  }
}

}  // namespace subtb::cuda
