// Philox draws on the GPU: element i of a draw is computed from (seed, offset, i) alone,
// with the layout and the arithmetic of the CPU kernel (kernels/cpu/random.cpp), so both
// devices draw the same numbers. The affine maps a + (b - a) u and a + b z are written
// with explicitly rounded operations: nvcc would otherwise fuse them into an FMA, whose
// single rounding differs from the CPU's two. uniform, randint and bernoulli are then
// bit-identical; normal and gumbel go through the device's log, sin and cos (within an ulp
// or two of the CPU's libm), so their f64 draws may differ in the last bits, and their
// narrower draws, rounded from f64, virtually never.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/loops.cuh"
#include "tensor/philox.h"

namespace subtb::cuda {

namespace {

__device__ __forceinline__ double affine(double a, double scale, double u) { return __dadd_rn(a, __dmul_rn(scale, u)); }

__global__ void random_f64_kernel(RandomOp op, double* out, int64_t n, PhiloxDraw d, double a, double b,
                                  const double* p) {
  for (int64_t i = global_thread(); i < n; i += global_threads()) {
    // Two elements per block: words (0, 1) and (2, 3) are one f64 uniform each.
    const philox::Block blk = philox::philox4x32_10(d.offset + static_cast<uint64_t>(i) / 2, d.seed);
    const int lane = static_cast<int>(i % 2);
    const double u = philox::uniform_f64(blk.x[2 * lane], blk.x[2 * lane + 1]);
    switch (op) {
      case RandomOp::uniform: {
        const double v = affine(a, __dsub_rn(b, a), u);
        out[i] = v < b || !(a < b) ? v : philox::largest_below<double>(b);
        break;
      }
      case RandomOp::normal: {
        double z0, z1;
        philox::box_muller(1.0 - philox::uniform_f64(blk.x[0], blk.x[1]), philox::uniform_f64(blk.x[2], blk.x[3]), z0,
                           z1);
        out[i] = affine(a, b, lane == 0 ? z0 : z1);
        break;
      }
      case RandomOp::bernoulli:
        out[i] = u < p[i] ? 1.0 : 0.0;
        break;
      default:
        out[i] = -log(-log(philox::open_uniform(blk.x[2 * lane])));
        break;  // gumbel
    }
  }
}

template <class T>
__global__ void random_kernel(RandomOp op, T* out, int64_t n, PhiloxDraw d, double a, double b, const T* p) {
  for (int64_t i = global_thread(); i < n; i += global_threads()) {
    const philox::Block blk = philox::philox4x32_10(d.offset + static_cast<uint64_t>(i) / 4, d.seed);
    const int lane = static_cast<int>(i % 4);
    const uint32_t w = blk.x[lane];
    double v = 0;
    switch (op) {
      case RandomOp::uniform:
        v = affine(a, __dsub_rn(b, a), philox::uniform_f32(w));
        break;
      case RandomOp::normal: {
        const int pair = lane / 2;
        double z0, z1;
        philox::box_muller(philox::open_uniform(blk.x[2 * pair]), philox::open_uniform(blk.x[2 * pair + 1]), z0, z1);
        v = affine(a, b, lane % 2 == 0 ? z0 : z1);
        break;
      }
      case RandomOp::randint: {
        const uint64_t range = static_cast<uint64_t>(__dsub_rn(b, a));
        v = __dadd_rn(a, static_cast<double>((static_cast<uint64_t>(w) * range) >> 32));
        break;
      }
      case RandomOp::bernoulli: {
        const double prob = static_cast<double>(static_cast<compute_t<T>>(p[i]));
        v = w * 0x1.0p-32 < prob ? 1.0 : 0.0;
        break;
      }
      case RandomOp::gumbel:
        v = -log(-log(philox::open_uniform(w)));
        break;
    }
    if constexpr (std::is_integral_v<T>) {
      out[i] = static_cast<T>(v);
    } else {
      const T t(static_cast<compute_t<T>>(v));
      const bool on_top = op == RandomOp::uniform && a < b && !(static_cast<double>(compute_t<T>(t)) < b);
      out[i] = on_top ? philox::largest_below<T>(b) : t;
    }
  }
}

}  // namespace

void CudaBackend::random(RandomOp op, const Tensor& out, PhiloxDraw draw, double a, double b, const Tensor& p) {
  DeviceGuard guard(index_);
  const int64_t n = out.numel();
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      SUBTB_THROW("random: cannot draw into a bool tensor");
    } else if constexpr (std::is_same_v<T, double>) {
      SUBTB_CHECK(op != RandomOp::randint, "random: op ", static_cast<int>(op), " does not produce f64");
      if (n == 0) return;
      const Tensor pc = op == RandomOp::bernoulli ? contiguous_on_device(p) : Tensor();
      random_f64_kernel<<<grid_for(n), kThreads, 0, stream_>>>(op, out.data<double>(), n, draw, a, b,
                                                               pc.defined() ? pc.data<double>() : nullptr);
    } else {
      if (n == 0) return;
      const Tensor pc = op == RandomOp::bernoulli ? contiguous_on_device(p) : Tensor();
      random_kernel<T>
          <<<grid_for(n), kThreads, 0, stream_>>>(op, static_cast<T*>(out.raw_data()), n, draw, a, b,
                                                  pc.defined() ? static_cast<const T*>(pc.raw_data()) : nullptr);
    }
  });
  check_launch("random", stream_);
}

}  // namespace subtb::cuda
