// Philox draws on the CPU. Each element is computed from (seed, offset, index) alone, so
// the loop parallelises freely and matches the CUDA kernels bit for bit (tensor/philox.h).
#include <cmath>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"
#include "tensor/philox.h"

namespace subtb::cpu {

void CpuBackend::random(RandomOp op, const Tensor& out, PhiloxDraw d, double a, double b, const Tensor& p) {
  const int64_t n = out.numel();
  visit_dtype(out.dtype(), [&]<class T>() {
    T* o = out.data<T>();
    if constexpr (std::is_same_v<T, double>) {
      // Two elements per block: words (0, 1) and (2, 3) are one f64 uniform each.
#pragma omp parallel for if (n >= kParallelThreshold) schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        const philox::Block blk = philox::philox4x32_10(d.offset + static_cast<uint64_t>(i) / 2, d.seed);
        const int lane = static_cast<int>(i % 2);
        const double u = philox::uniform_f64(blk.x[2 * lane], blk.x[2 * lane + 1]);
        switch (op) {
          case RandomOp::uniform: {
            const double v = a + (b - a) * u;
            o[i] = v < b || !(a < b) ? v : philox::largest_below<double>(b);
            break;
          }
          case RandomOp::normal: {
            double z0, z1;
            philox::box_muller(1.0 - philox::uniform_f64(blk.x[0], blk.x[1]), philox::uniform_f64(blk.x[2], blk.x[3]),
                               z0, z1);
            o[i] = a + b * (lane == 0 ? z0 : z1);
            break;
          }
          case RandomOp::bernoulli: o[i] = u < p.data<double>()[i] ? 1.0 : 0.0; break;
          case RandomOp::gumbel: o[i] = -std::log(-std::log(philox::open_uniform(blk.x[2 * lane]))); break;
          default: SUBTB_THROW("random: op ", static_cast<int>(op), " does not produce f64");
        }
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      SUBTB_THROW("random: cannot draw into a bool tensor");
    } else {
#pragma omp parallel for if (n >= kParallelThreshold) schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        const philox::Block blk = philox::philox4x32_10(d.offset + static_cast<uint64_t>(i) / 4, d.seed);
        const int lane = static_cast<int>(i % 4);
        const uint32_t w = blk.x[lane];
        double v = 0;
        switch (op) {
          case RandomOp::uniform: v = a + (b - a) * philox::uniform_f32(w); break;
          case RandomOp::normal: {
            const int pair = lane / 2;
            double z0, z1;
            philox::box_muller(philox::open_uniform(blk.x[2 * pair]), philox::open_uniform(blk.x[2 * pair + 1]), z0,
                               z1);
            v = a + b * (lane % 2 == 0 ? z0 : z1);
            break;
          }
          case RandomOp::randint: {
            const uint64_t range = static_cast<uint64_t>(b - a);
            v = a + static_cast<double>((static_cast<uint64_t>(w) * range) >> 32);
            break;
          }
          case RandomOp::bernoulli: {
            const double prob = static_cast<double>(static_cast<compute_t<T>>(static_cast<const T*>(p.raw_data())[i]));
            v = w * 0x1.0p-32 < prob ? 1.0 : 0.0;
            break;
          }
          case RandomOp::gumbel: v = -std::log(-std::log(philox::open_uniform(w))); break;
        }
        if constexpr (std::is_integral_v<T>) {
          o[i] = static_cast<T>(v);
        } else {
          const T t(static_cast<compute_t<T>>(v));
          const bool on_top = op == RandomOp::uniform && a < b && !(static_cast<double>(compute_t<T>(t)) < b);
          o[i] = on_top ? philox::largest_below<T>(b) : t;
        }
      }
    }
  });
}

}  // namespace subtb::cpu
