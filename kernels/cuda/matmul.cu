// CUDA matmul: floating dtypes through cuBLAS (cublasGemmStridedBatchedEx on the device's
// stream), integers with a plain kernel (exact, like the CPU's loop).
//
// cuBLAS is column-major: the row-major product out[M, N] = a[M, K] b[K, N] is computed as
// the column-major out^T[N, M] = b^T[N, K] a^T[K, M]. A row-major operand with unit column
// stride already is its transpose in column-major order (no transpose flag); one with unit
// row stride (a transposed view) is the column-major matrix itself (transpose flag set).
// Anything else is packed into a contiguous copy first.
//
// f32 accumulates in f32, with TF32 tensor cores only when allow_tf32() is on; f64 in f64;
// bf16 and f16 read and write 16-bit values and accumulate in f32.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <climits>
#include <optional>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/loops.cuh"
#include "tensor/settings.h"

namespace subtb::cuda {

namespace {

// How cuBLAS reads the [rows, cols] matrices of a [B, rows, cols] operand, as the
// column-major [cols, rows] matrix it stands for in the transposed product.
struct GemmOperand {
  cublasOperation_t op;
  int64_t ld;
};

// Strides of extent-1 dims are never used, so they do not constrain the layout.
std::optional<GemmOperand> gemm_operand(const Tensor& t) {
  const int64_t rows = t.shape()[1], cols = t.shape()[2];
  const int64_t rs = t.strides()[1], cs = t.strides()[2];
  if (cols == 1 || cs == 1) {
    const int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    if (ld >= std::max<int64_t>(cols, 1) && ld <= INT_MAX) return GemmOperand{CUBLAS_OP_N, ld};
  }
  if (rows == 1 || rs == 1) {
    const int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    if (ld >= std::max<int64_t>(rows, 1) && ld <= INT_MAX) return GemmOperand{CUBLAS_OP_T, ld};
  }
  return std::nullopt;
}

// A contiguous copy of a [B, rows, cols] operand; a batch broadcast with stride 0 stays
// broadcast rather than being copied B times.
Tensor pack(CudaBackend& be, const Tensor& t) {
  const bool broadcast = t.strides()[0] == 0;
  const Shape shape{broadcast ? 1 : t.shape()[0], t.shape()[1], t.shape()[2]};
  Tensor packed = make_tensor(shape, t.dtype(), t.device());
  be.copy(make_view(t, shape, t.strides(), t.offset()), packed);
  return broadcast ? make_view(packed, t.shape(), Strides{0, shape[2], 1}, 0) : packed;
}

struct GemmTypes {
  cudaDataType_t data;
  cublasComputeType_t compute;
};

GemmTypes gemm_types(DType t) {
  switch (t) {
    case DType::f32:
      return {CUDA_R_32F, allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
    case DType::f64:
      return {CUDA_R_64F, CUBLAS_COMPUTE_64F};
    case DType::bf16:
      return {CUDA_R_16BF, CUBLAS_COMPUTE_32F};
    default:
      return {CUDA_R_16F, CUBLAS_COMPUTE_32F};
  }
}

void blas_matmul(CudaBackend& be, Tensor a, Tensor b, const Tensor& out) {
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  SUBTB_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX, "matmul: matrix extents of ", describe(a), " and ",
              describe(b), " exceed the cuBLAS index range");
  std::optional<GemmOperand> opa = gemm_operand(a), opb = gemm_operand(b);
  if (!opa) opa = gemm_operand(a = pack(be, a));
  if (!opb) opb = gemm_operand(b = pack(be, b));
  const GemmTypes types = gemm_types(a.dtype());
  // alpha and beta are in the compute type: double for f64, float otherwise.
  const double one_d = 1.0, zero_d = 0.0;
  const float one_f = 1.0f, zero_f = 0.0f;
  const bool f64 = a.dtype() == DType::f64;
  const void* alpha = f64 ? static_cast<const void*>(&one_d) : static_cast<const void*>(&one_f);
  const void* beta = f64 ? static_cast<const void*>(&zero_d) : static_cast<const void*>(&zero_f);
  cublasHandle_t handle = be.cublas();
  const size_t item = a.itemsize();
  auto gemm = [&](int64_t rows, const void* pa, int64_t stride_a, const void* pb, int64_t stride_b, void* pc,
                  int64_t count) {
    SUBTB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        handle, opb->op, opa->op, static_cast<int>(n), static_cast<int>(rows), static_cast<int>(k), alpha, pb,
        types.data, static_cast<int>(opb->ld), stride_b, pa, types.data, static_cast<int>(opa->ld), stride_a, beta, pc,
        types.data, static_cast<int>(n), rows * n, static_cast<int>(count), types.compute, CUBLAS_GEMM_DEFAULT));
  };
  const char* pa = static_cast<const char*>(a.raw_data());
  const char* pb = static_cast<const char*>(b.raw_data());
  char* pc = static_cast<char*>(out.raw_data());
  // b shared by every batch and a's matrices stacked evenly: one [B*M, K] x [K, N] gemm.
  const bool stacked = opa->op == CUBLAS_OP_N && (batch == 1 || a.strides()[0] == m * opa->ld);
  if ((batch == 1 || b.strides()[0] == 0) && stacked && batch * m <= INT_MAX) {
    gemm(batch * m, pa, 0, pb, 0, pc, 1);
  } else if (a.strides()[0] != 0 && b.strides()[0] != 0) {
    gemm(m, pa, a.strides()[0], pb, b.strides()[0], pc, batch);
  } else {
    // A batch broadcast that does not fold: one gemm per matrix, all queued on the stream.
    for (int64_t i = 0; i < batch; ++i) {
      gemm(m, pa + i * a.strides()[0] * static_cast<int64_t>(item), 0,
           pb + i * b.strides()[0] * static_cast<int64_t>(item), 0, pc + i * m * n * static_cast<int64_t>(item), 1);
    }
  }
}

// Integers: one thread per output element, exact (wrapping) arithmetic in T.
template <class T>
__global__ void integer_matmul_kernel(const T* a, const T* b, T* out, int64_t batch, int64_t m, int64_t n, int64_t k,
                                      int64_t sa0, int64_t sa1, int64_t sa2, int64_t sb0, int64_t sb1, int64_t sb2) {
  using U = std::make_unsigned_t<T>;
  for (int64_t e = global_thread(); e < batch * m * n; e += global_threads()) {
    const int64_t j = e % n, i = e / n % m, bi = e / (m * n);
    U acc = 0;
    for (int64_t p = 0; p < k; ++p)
      acc += static_cast<U>(a[bi * sa0 + i * sa1 + p * sa2]) * static_cast<U>(b[bi * sb0 + p * sb1 + j * sb2]);
    out[e] = static_cast<T>(acc);
  }
}

template <class T>
void integer_matmul(CudaBackend& be, const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  integer_matmul_kernel<T><<<grid_for(out.numel()), kThreads, 0, be.stream()>>>(
      static_cast<const T*>(a.raw_data()), static_cast<const T*>(b.raw_data()), static_cast<T*>(out.raw_data()), batch,
      m, n, k, a.strides()[0], a.strides()[1], a.strides()[2], b.strides()[0], b.strides()[1], b.strides()[2]);
  check_launch("matmul", be.stream());
}

}  // namespace

void CudaBackend::matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  DeviceGuard guard(index_);
  if (out.numel() == 0) return;
  if (a.shape()[2] == 0) {  // an empty sum: the answer is zeros
    fill(out, 0.0);
    return;
  }
  switch (a.dtype()) {
    case DType::f32:
    case DType::f64:
    case DType::bf16:
    case DType::f16:
      return blas_matmul(*this, a, b, out);
    case DType::i32:
      return integer_matmul<int32_t>(*this, a, b, out);
    case DType::i64:
      return integer_matmul<int64_t>(*this, a, b, out);
    default:
      SUBTB_THROW("matmul: not implemented for ", a.dtype(), " on ", device());
  }
}

}  // namespace subtb::cuda
