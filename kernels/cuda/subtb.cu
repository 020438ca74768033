// The fused SubTB(lambda) loss on the GPU. One thread per trajectory, f64 accumulators,
// the same two sweeps as kernels/cpu/subtb.cpp (read that file for the derivation):
// forward, an exponentially weighted running mean and spread of A[i] = logF[i] - C[i]
// give every sub-trajectory ending at j at once; backward, a running mean of the B's
// gives the ones starting at i, with the prefix sums C recomputed in reverse instead of
// stored. No scratch memory: the gradient buffers hold the intermediate dB.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_math.cuh"

namespace subtb::cuda {

namespace {

struct RowPointers {
  const void* pf;
  const void* pb;
  const void* flow;
  const void* reward;  // null without FL rewards
  const int64_t* lengths;
  const double* coefficients;  // per_length mode only
  void* losses;
  void* grad_pf;  // null: no gradients wanted
  void* grad_pb;
  void* grad_flow;
};

template <class T>
__device__ double flow_at(const RowPointers& p, int64_t b, int64_t L, int64_t t, int64_t n) {
  const double f = load_as<double>(static_cast<const T*>(p.flow), b * (L + 1) + t);
  return (p.reward != nullptr && t < n) ? f + load_as<double>(static_cast<const T*>(p.reward), b * (L + 1) + t) : f;
}

template <class T>
__device__ double step_at(const RowPointers& p, int64_t b, int64_t L, int64_t t) {
  return load_as<double>(static_cast<const T*>(p.pf), b * L + t) - load_as<double>(static_cast<const T*>(p.pb), b * L + t);
}

// Pair by pair, O(n^2): per-length coefficients and rows with non-finite values. Raw
// gradients accumulate into grad_flow; returns the (unnormalised) loss and total weight.
template <class T>
__device__ double pairwise(const RowPointers& p, int64_t b, int64_t L, int64_t n, const SubTBParams::Mode mode,
                           double lambda, double& total_weight) {
  T* gfl = static_cast<T*>(p.grad_flow);
  double loss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    double segment = 0.0, weight = 1.0;
    const double fi = flow_at<T>(p, b, L, i, n);
    for (int64_t j = i + 1; j <= n; ++j) {
      segment += step_at<T>(p, b, L, j - 1);
      if (mode == SubTBParams::Mode::per_length) {
        weight = p.coefficients[j - i - 1];
      } else if (j > i + 1) {
        weight *= lambda;
      }
      if (weight == 0.0) continue;
      const double d = fi + segment - flow_at<T>(p, b, L, j, n);
      loss += weight * d * d;
      total_weight += weight;
      if (gfl != nullptr) {
        const int64_t row = b * (L + 1);
        store_as(gfl, row + i, load_as<double>(gfl, row + i) + 2.0 * weight * d);
        store_as(gfl, row + j, load_as<double>(gfl, row + j) - 2.0 * weight * d);
      }
    }
  }
  return loss;
}

template <class T>
__global__ void subtb_kernel(RowPointers p, int64_t B, int64_t L, SubTBParams::Mode mode, double lambda,
                             bool normalize) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= B) return;
  const int64_t n = p.lengths[b];
  T* gfl = static_cast<T*>(p.grad_flow);
  T* gpf = static_cast<T*>(p.grad_pf);
  T* gpb = static_cast<T*>(p.grad_pb);
  const bool grads = gfl != nullptr;
  if (grads) {
    for (int64_t t = 0; t <= L; ++t) store_as(gfl, b * (L + 1) + t, 0.0);
  }

  // Is the row finite? (Rows with -inf steps take the pair-by-pair path, like the CPU.)
  bool finite = true;
  for (int64_t t = 0; t <= n && finite; ++t) {
    finite = isfinite(flow_at<T>(p, b, L, t, n)) && (t == n || isfinite(step_at<T>(p, b, L, t)));
  }

  double loss = 0.0, total_weight = 0.0;
  bool pairwise_path = false;
  if (n == 0) {
    // nothing: a padding row
  } else if (mode == SubTBParams::Mode::full_only) {
    double d = flow_at<T>(p, b, L, 0, n) - flow_at<T>(p, b, L, n, n);
    for (int64_t t = 0; t < n; ++t) d += step_at<T>(p, b, L, t);
    loss = d * d;
    total_weight = 1.0;
    if (grads) {
      store_as(gfl, b * (L + 1), 2.0 * d);
      store_as(gfl, b * (L + 1) + n, -2.0 * d);
    }
    pairwise_path = true;  // the gradients sit in grad_flow like the pairwise path's
  } else if (mode == SubTBParams::Mode::per_length || !finite) {
    loss = pairwise<T>(p, b, L, n, mode, lambda, total_weight);
    pairwise_path = true;
  } else {
    // Forward sweep: (w, mean, m2) summarise A[0..j-1]; dB[j] goes to grad_flow[j].
    double w = 0.0, mean = 0.0, m2 = 0.0, c = 0.0;
    double a_prev = flow_at<T>(p, b, L, 0, n);  // A[0] = logF[0] - C[0], C[0] = 0
    for (int64_t j = 1; j <= n; ++j) {
      const double w_old = lambda * w;
      w = w_old + 1.0;
      const double delta = a_prev - mean;
      mean += delta / w;
      m2 = lambda * m2 + delta * delta * (w_old / w);
      c += step_at<T>(p, b, L, j - 1);
      const double fj = flow_at<T>(p, b, L, j, n);
      const double bj = fj - c;
      const double gap = mean - bj;
      loss += m2 + w * gap * gap;
      total_weight += w;
      if (grads) store_as(gfl, b * (L + 1) + j, -2.0 * w * gap);
      a_prev = fj - c;  // A[j]
    }
    if (grads) {
      // Backward sweep: the weighted mean of B[i+1..n], C recomputed in reverse.
      const double g = normalize ? 1.0 / total_weight : 1.0;
      double wb = 0.0, mean_b = 0.0, suffix = 0.0;
      double c_next = c;  // C[i+1]
      const double g_last = g * load_as<double>(gfl, b * (L + 1) + n);
      store_as(gfl, b * (L + 1) + n, g_last);
      suffix = g_last;
      for (int64_t i = n - 1; i >= 0; --i) {
        const double b_next = flow_at<T>(p, b, L, i + 1, n) - c_next;
        wb = lambda * wb + 1.0;
        mean_b += (b_next - mean_b) / wb;
        const double c_i = c_next - step_at<T>(p, b, L, i);
        const double a_i = flow_at<T>(p, b, L, i, n) - c_i;
        const double da = 2.0 * wb * (a_i - mean_b);
        const double db = i > 0 ? load_as<double>(gfl, b * (L + 1) + i) : 0.0;
        const double gf = g * (da + db);
        store_as(gpf, b * L + i, -suffix);
        store_as(gpb, b * L + i, suffix);
        store_as(gfl, b * (L + 1) + i, gf);
        suffix += gf;
        c_next = c_i;
      }
    }
  }

  const double g = (normalize && total_weight > 0.0) ? 1.0 / total_weight : 1.0;
  if (pairwise_path && grads) {
    // Scale the raw flow gradients, then dlog_pf[k] = -sum_{t > k} dlogF[t].
    double suffix = 0.0;
    for (int64_t t = n; t >= 0; --t) {
      const double gf = g * load_as<double>(gfl, b * (L + 1) + t);
      store_as(gfl, b * (L + 1) + t, gf);
      if (t < n) {
        store_as(gpf, b * L + t, -suffix);
        store_as(gpb, b * L + t, suffix);
      }
      suffix += gf;
    }
  }
  if (grads) {
    for (int64_t t = n; t < L; ++t) {
      store_as(gpf, b * L + t, 0.0);
      store_as(gpb, b * L + t, 0.0);
    }
  }
  store_as(static_cast<T*>(p.losses), b, g * loss);
}

}  // namespace

void CudaBackend::subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow,
                             const Tensor& log_reward, const Tensor& lengths, const SubTBParams& params,
                             const Tensor& losses, const Tensor& grad_pf, const Tensor& grad_pb,
                             const Tensor& grad_flow) {
  DeviceGuard guard(index_);
  const int64_t B = log_pf.shape()[0], L = log_pf.shape()[1];
  if (B == 0) return;
  const bool grads = grad_pf.defined();
  RowPointers p{log_pf.raw_data(),
                log_pb.raw_data(),
                log_flow.raw_data(),
                log_reward.defined() ? log_reward.raw_data() : nullptr,
                lengths.data<int64_t>(),
                params.mode == SubTBParams::Mode::per_length ? params.coefficients.data<double>() : nullptr,
                losses.raw_data(),
                grads ? grad_pf.raw_data() : nullptr,
                grads ? grad_pb.raw_data() : nullptr,
                grads ? grad_flow.raw_data() : nullptr};
  visit_floating(log_pf.dtype(), "subtb_loss", [&]<class T>() {
    subtb_kernel<T><<<row_blocks(B), kRowThreads, 0, stream_>>>(p, B, L, params.mode, params.lambda,
                                                                 params.normalize_within);
  });
  check_launch("subtb_loss", stream_);
}

}  // namespace subtb::cuda
