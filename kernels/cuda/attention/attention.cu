// The CUDA backend's attention entry points: they describe the tensors to the kernels,
// pick a kernel family for the device and the problem, and own the backward's scratch
// buffers (delta = rowsum(dO * O) and, without determinism, the f32 dQ accumulator).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "kernels/cuda/attention/kernels.cuh"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace subtb::cuda {

namespace {

using attention::BackwardArgs;
using attention::ForwardArgs;
using attention::Heads;
using attention::Problem;

// The CUDA element type of a tensor dtype.
template <class F>
void visit_attention_dtype(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::f32:
      return f.template operator()<float, float>();
    case DType::f64:
      return f.template operator()<double, double>();
    case DType::bf16:
      return f.template operator()<__nv_bfloat16, float>();
    case DType::f16:
      return f.template operator()<__half, float>();
    default:
      SUBTB_THROW(op, ": expected a floating dtype, got ", dtype);
  }
}

template <class T>
Heads<const T> heads(const Tensor& t) {
  return {static_cast<const T*>(t.raw_data()), t.strides()[0], t.strides()[1], t.strides()[2]};
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

Problem problem_of(const Tensor& q, const Tensor& k, const Tensor& key_lengths, const Tensor& key_mask,
                   const AttentionParams& params) {
  Problem p;
  p.batch = static_cast<int>(q.shape()[0]);
  p.heads_q = static_cast<int>(q.shape()[1]);
  p.heads_kv = static_cast<int>(k.shape()[1]);
  p.tq = static_cast<int>(q.shape()[2]);
  p.tk = static_cast<int>(k.shape()[2]);
  p.dim = static_cast<int>(q.shape()[3]);
  p.causal = params.causal;
  if (key_lengths.defined()) {
    p.lengths = key_lengths.data<int64_t>();
    p.lengths_stride = key_lengths.strides()[0];
  }
  if (key_mask.defined()) {
    p.key_mask = key_mask.data<bool>();
    p.mask_sb = key_mask.strides()[0];
    p.mask_sj = key_mask.strides()[1];
  }
  return p;
}

// cp.async copies 16-byte chunks: each row of D 16-bit values must start 16-byte aligned.
bool rows_aligned(const Tensor& t) {
  if (reinterpret_cast<uintptr_t>(t.raw_data()) % 16 != 0) return false;
  for (int d = 0; d < 3; ++d) {
    if (t.shape()[d] > 1 && t.strides()[d] % 8 != 0) return false;
  }
  return true;
}

enum class Family {
  tiled,       // tiled.cu: CUDA cores, any dtype and head dim
  flash_sm80,  // flash_forward.cu, flash_backward.cu: mma.sync tensor cores, sm_80+
};

// The kernel family for a problem on the current device. A Hopper family (sm_90a:
// wgmma fed by TMA, producer and consumer warps, FlashAttention-3 style) goes here,
// ahead of flash_sm80 for compute capability 9.0, with the same operand checks.
Family choose_family(const Tensor& q, std::initializer_list<const Tensor*> rows) {
  if (q.dtype() != DType::bf16 && q.dtype() != DType::f16) return Family::tiled;
  if (!attention::flash_head_dim_supported(static_cast<int>(q.shape()[3]))) return Family::tiled;
  int device = 0, major = 0;
  SUBTB_CUDA_CHECK(cudaGetDevice(&device));
  SUBTB_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 8) return Family::tiled;
  for (const Tensor* t : rows) {
    if (t->defined() && !rows_aligned(*t)) return Family::tiled;
  }
  return Family::flash_sm80;
}

// Device scratch memory from the backend's caching allocator, given back when the
// scope ends. The allocator is stream ordered: the kernels queued before that point
// still finish before the block is handed out again.
class Scratch {
 public:
  Scratch(CudaBackend& backend, size_t bytes) : backend_(backend), bytes_(bytes), ptr_(backend.allocate(bytes)) {}
  ~Scratch() {
    if (ptr_ != nullptr) backend_.deallocate(ptr_, bytes_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class U>
  U* as() const {
    return static_cast<U*>(ptr_);
  }

 private:
  CudaBackend& backend_;
  size_t bytes_;
  void* ptr_;
};

void check_outputs(const char* op, const Tensor& q, const Tensor& lse, std::initializer_list<const Tensor*> outs) {
  for (const Tensor* t : outs) {
    if (t->defined()) SUBTB_CHECK(t->is_contiguous(), op, ": outputs must be contiguous, got ", describe(*t));
  }
  const DType want = q.dtype() == DType::f64 ? DType::f64 : DType::f32;
  SUBTB_CHECK(lse.dtype() == want && lse.is_contiguous(), op, ": lse must be a contiguous ", want, " tensor, got ",
              describe(lse));
}

}  // namespace

void CudaBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_lengths,
                            const Tensor& key_mask, const AttentionParams& params, const Tensor& out,
                            const Tensor& lse) {
  check_outputs("attention", q, lse, {&out});
  DeviceGuard guard(index_);
  if (lse.numel() == 0) return;
  const Family family = choose_family(q, {&q, &k, &v, &out});
  visit_attention_dtype(q.dtype(), "attention", [&]<class T, class L>() {
    ForwardArgs<T, L> args;
    args.problem = problem_of(q, k, key_lengths, key_mask, params);
    args.q = heads<T>(q);
    args.k = heads<T>(k);
    args.v = heads<T>(v);
    args.out = static_cast<T*>(out.raw_data());
    args.lse = static_cast<L*>(lse.raw_data());
    args.scale = params.scale;
    if constexpr (std::is_same_v<L, float> && (std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>)) {
      if (family == Family::flash_sm80) return attention::launch_flash_forward<T>(args, stream());
    }
    attention::launch_tiled_forward<T, L>(args, stream());
  });
}

void CudaBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                     const Tensor& grad_out, const Tensor& lse, const Tensor& key_lengths,
                                     const Tensor& key_mask, const AttentionParams& params, const Tensor& grad_q,
                                     const Tensor& grad_k, const Tensor& grad_v) {
  check_outputs("attention_backward", q, lse, {&grad_q, &grad_k, &grad_v});
  DeviceGuard guard(index_);
  const Family family = choose_family(q, {&q, &k, &v, &out, &grad_out, &grad_q, &grad_k, &grad_v});
  visit_attention_dtype(q.dtype(), "attention_backward", [&]<class T, class L>() {
    BackwardArgs<T, L> args;
    args.problem = problem_of(q, k, key_lengths, key_mask, params);
    args.q = heads<T>(q);
    args.k = heads<T>(k);
    args.v = heads<T>(v);
    args.out = heads<T>(out);
    args.grad_out = heads<T>(grad_out);
    args.lse = static_cast<const L*>(lse.raw_data());
    args.grad_q = data_or_null<T>(grad_q);
    args.grad_k = data_or_null<T>(grad_k);
    args.grad_v = data_or_null<T>(grad_v);
    args.scale = params.scale;
    const Problem& pr = args.problem;
    const int64_t rows = static_cast<int64_t>(pr.batch) * pr.heads_q * pr.tq;
    Scratch delta(*this, sizeof(L) * static_cast<size_t>(rows));
    args.delta = delta.as<L>();
    if (rows > 0) attention::launch_row_dot<T, L>(args, delta.as<L>(), stream());
    if constexpr (std::is_same_v<L, float> && (std::is_same_v<T, __nv_bfloat16> || std::is_same_v<T, __half>)) {
      if (family == Family::flash_sm80) {
        const bool atomic_dq = args.grad_q != nullptr && !params.deterministic;
        Scratch dq_accum(*this, atomic_dq ? sizeof(float) * static_cast<size_t>(grad_q.numel()) : 0);
        if (atomic_dq) {
          args.dq_accum = dq_accum.as<float>();
          SUBTB_CUDA_CHECK(cudaMemsetAsync(args.dq_accum, 0, sizeof(float) * grad_q.numel(), stream()));
        }
        if (args.grad_k != nullptr || args.grad_v != nullptr || atomic_dq)
          attention::launch_flash_backward_kv<T>(args, stream());
        if (atomic_dq) {
          attention::launch_flash_convert_dq<T>(args, stream());
        } else if (args.grad_q != nullptr) {
          attention::launch_flash_backward_dq<T>(args, stream());
        }
        return;
      }
    }
    attention::launch_tiled_backward<T, L>(args, stream());
  });
}

}  // namespace subtb::cuda
