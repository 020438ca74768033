// CPU matmul: f32/f64 through CBLAS (OpenBLAS), bf16/f16 through f32 BLAS, integers
// with a plain loop. Strided operands whose matrix dims have unit stride in either order
// go to BLAS as they are, through the transpose flags; anything else is copied first.
#include <cblas.h>
#include <omp.h>

#include <climits>
#include <optional>

#include "kernels/cpu/cpu_backend.h"

namespace subtb::cpu {

namespace {

// How BLAS reads one [rows, cols] matrix of a [B, rows, cols] operand.
struct GemmOperand {
  CBLAS_TRANSPOSE trans;
  blasint ld;
};

// The BLAS view of t's last two dims, or nothing when their strides need a copy.
// Strides of extent-1 dims are never used, so they do not constrain the layout.
std::optional<GemmOperand> gemm_operand(const Tensor& t) {
  const int64_t rows = t.shape()[1], cols = t.shape()[2];
  const int64_t rs = t.strides()[1], cs = t.strides()[2];
  if (cols == 1 || cs == 1) {
    const int64_t ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    if (ld >= std::max<int64_t>(cols, 1) && ld <= INT_MAX) return GemmOperand{CblasNoTrans, static_cast<blasint>(ld)};
  }
  if (rows == 1 || rs == 1) {
    const int64_t ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    if (ld >= std::max<int64_t>(rows, 1) && ld <= INT_MAX) return GemmOperand{CblasTrans, static_cast<blasint>(ld)};
  }
  return std::nullopt;
}

// A contiguous copy of a [B, rows, cols] operand in `dtype`; a batch broadcast with
// stride 0 stays broadcast rather than being copied B times.
Tensor pack(const Tensor& t, DType dtype) {
  const bool broadcast = t.strides()[0] == 0;
  const Shape shape{broadcast ? 1 : t.shape()[0], t.shape()[1], t.shape()[2]};
  Tensor packed = make_tensor(shape, dtype, kCPU);
  cpu_backend().copy(make_view(t, shape, t.strides(), t.offset()), packed);
  return broadcast ? make_view(packed, t.shape(), Strides{0, shape[2], 1}, 0) : packed;
}

// Below this many multiply-adds (m * n * k) a gemm runs on the calling thread: waking
// and joining BLAS's threads costs more than the second thread saves (a policy forward of
// 64 rows through a 256-wide MLP is about 4M).
constexpr int64_t kParallelGemmWork = int64_t{1} << 23;

// OpenMP builds of OpenBLAS size their team by the calling thread's omp_get_max_threads(),
// so lowering it for the length of one call runs that gemm serially and leaves every other
// thread's setting alone. (A pthreads OpenBLAS ignores it.)
class SerialGemmScope {
 public:
  SerialGemmScope(int64_t m, int64_t n, int64_t k)
      : threads_(m * n * k < kParallelGemmWork ? omp_get_max_threads() : 1) {
    if (threads_ > 1) omp_set_num_threads(1);
  }
  ~SerialGemmScope() {
    if (threads_ > 1) omp_set_num_threads(threads_);
  }
  SerialGemmScope(const SerialGemmScope&) = delete;
  SerialGemmScope& operator=(const SerialGemmScope&) = delete;

 private:
  int threads_;  // the caller's thread count, restored on exit; 1 when nothing changed
};

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, const float* a, blasint lda,
          const float* b, blasint ldb, float* c, blasint ldc) {
  const SerialGemmScope serial(m, n, k);
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, const double* a, blasint lda,
          const double* b, blasint ldb, double* c, blasint ldc) {
  const SerialGemmScope serial(m, n, k);
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

template <class T>
void blas_matmul(Tensor a, Tensor b, const Tensor& out) {
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  SUBTB_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX, "matmul: matrix extents of ", describe(a), " and ",
              describe(b), " exceed the BLAS index range");
  std::optional<GemmOperand> opa = gemm_operand(a), opb = gemm_operand(b);
  if (!opa) opa = gemm_operand(a = pack(a, a.dtype()));
  if (!opb) opb = gemm_operand(b = pack(b, b.dtype()));
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* pc = static_cast<T*>(out.raw_data());
  // b shared by every batch and a's matrices stacked evenly: one [B*M, K] x [K, N] gemm.
  const bool stacked = opa->trans == CblasNoTrans && (batch == 1 || a.strides()[0] == m * opa->ld);
  if ((batch == 1 || b.strides()[0] == 0) && stacked && batch * m <= INT_MAX) {
    gemm(opa->trans, opb->trans, static_cast<blasint>(batch * m), n, k, pa, opa->ld, pb, opb->ld, pc, n);
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    gemm(opa->trans, opb->trans, m, n, k, pa + i * a.strides()[0], opa->ld, pb + i * b.strides()[0], opb->ld,
         pc + i * m * n, n);
  }
}

// Integers: exact, i-k-j order so the inner loop runs along contiguous rows of out.
template <class T>
void loop_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t batch = out.shape()[0], m = out.shape()[1], n = out.shape()[2], k = a.shape()[2];
  const Strides& sa = a.strides();
  const Strides& sb = b.strides();
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* pc = static_cast<T*>(out.raw_data());
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t i = 0; i < m; ++i) {
      T* row = pc + (bi * m + i) * n;
      for (int64_t j = 0; j < n; ++j) row[j] = T(0);
      for (int64_t p = 0; p < k; ++p) {
        const T x = pa[bi * sa[0] + i * sa[1] + p * sa[2]];
        const T* brow = pb + bi * sb[0] + p * sb[1];
        for (int64_t j = 0; j < n; ++j) row[j] += x * brow[j * sb[2]];
      }
    }
  }
}

}  // namespace

void CpuBackend::matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (out.numel() == 0) return;
  if (a.shape()[2] == 0) {  // an empty sum: BLAS would not be asked, the answer is zeros
    fill(out, 0.0);
    return;
  }
  switch (a.dtype()) {
    case DType::f32: return blas_matmul<float>(a, b, out);
    case DType::f64: return blas_matmul<double>(a, b, out);
    case DType::bf16:
    case DType::f16: {
      // f32 accumulation, rounded once at the end.
      Tensor wide = make_tensor(out.shape(), DType::f32, kCPU);
      blas_matmul<float>(pack(a, DType::f32), pack(b, DType::f32), wide);
      copy(wide, out);
      return;
    }
    case DType::i32: return loop_matmul<int32_t>(a, b, out);
    case DType::i64: return loop_matmul<int64_t>(a, b, out);
    default: SUBTB_THROW("matmul: not implemented for ", a.dtype(), " on cpu");
  }
}

}  // namespace subtb::cpu
