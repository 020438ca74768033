// The fused SubTB(lambda) loss on the CPU: one pass forward and one backward per row,
// O(L) work and memory for the geometric weightings, everything in f64 whatever the
// input dtype (the residuals of a long trajectory are differences of large log-flows).
//
// With prefix sums C[t] = sum_{k<t} (log_pf[k] - log_pb[k]), every residual is
//   d(i, j) = A[i] - B[j],  A[i] = logF[i] - C[i] (i < n),  B[j] = logF[j] - C[j] (j > 0)
// so the loss sum_{i<j} w(j-i) d(i, j)^2 needs, for geometric weights lambda^(j-i-1), only a
// running exponentially weighted mean and spread of the A's (forward sweep) and a
// running weighted mean of the B's (backward sweep):
//   sum_{i<j} lambda^(j-i-1) (A[i] - B[j])^2 = M2[j] + W[j] (mean[j] - B[j])^2
// where (W, mean, M2) summarise {A[i] : i < j}. Keeping means instead of raw sums is
// what makes this exact in f64: a loss near zero is never the difference of large sums.
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

namespace {

// Per-thread scratch in f64, sized once for the longest row: A, B and their gradients.
struct RowScratch {
  std::vector<double> a, b, da, db;
  explicit RowScratch(int64_t L) : a(L + 1), b(L + 1), da(L + 1), db(L + 1) {}
  void zero_gradients(int64_t n) {
    std::fill(da.begin(), da.begin() + n + 1, 0.0);
    std::fill(db.begin(), db.begin() + n + 1, 0.0);
  }
};

// The geometric weights' running totals depend only on the position: after k terms the
// total weight is W_k = 1 + lambda + ... + lambda^(k-1) for every row. Tabulating 1 / W_k
// and lambda W_(k-1) / W_k once per call takes every division out of the row loops.
struct GeometricTables {
  std::vector<double> inv_w, carry;  // index k = 1 .. L
  GeometricTables(double lambda, int64_t L) : inv_w(L + 1, 0.0), carry(L + 1, 0.0) {
    double w = 0.0;
    for (int64_t k = 1; k <= L; ++k) {
      const double w_old = lambda * w;
      w = w_old + 1.0;
      inv_w[k] = 1.0 / w;
      carry[k] = w_old / w;
    }
  }
};

// Loss of one row and dLoss/dA, dLoss/dB for the geometric weights, normalised by the
// row's total weight when asked. Requires finite A and B.
double geometric_row(int64_t n, double lambda, bool normalize, const GeometricTables& tab, RowScratch& s) {
  double loss = 0.0, total_weight = 0.0;
  double w = 0.0, mean = 0.0, m2 = 0.0;  // weighted summary of A[0..j-1]
  for (int64_t j = 1; j <= n; ++j) {
    w = lambda * w + 1.0;
    const double delta = s.a[j - 1] - mean;
    mean += delta * tab.inv_w[j];
    m2 = lambda * m2 + delta * delta * tab.carry[j];
    const double gap = mean - s.b[j];
    loss += m2 + w * gap * gap;
    s.db[j] = -2.0 * w * gap;
    total_weight += w;
  }
  s.db[0] = 0.0;
  s.da[n] = 0.0;
  double wb = 0.0, mean_b = 0.0;  // weighted mean of B[i+1..n]
  for (int64_t i = n - 1; i >= 0; --i) {
    wb = lambda * wb + 1.0;
    mean_b += (s.b[i + 1] - mean_b) * tab.inv_w[n - i];
    s.da[i] = 2.0 * wb * (s.a[i] - mean_b);
  }
  if (normalize) {
    const double g = 1.0 / total_weight;
    loss *= g;
    for (int64_t t = 0; t <= n; ++t) {
      s.da[t] *= g;
      s.db[t] *= g;
    }
  }
  return loss;
}

// The same loss summed pair by pair, O(n^2): per-length coefficients, and rows whose
// log-probabilities or flows are not finite (each residual then sums its own segment,
// so a -inf step makes exactly the residuals that cross it infinite).
double pairwise_row(int64_t n, const double* coef, double lambda, bool geometric, bool normalize,
                    const std::vector<double>& flow, const std::vector<double>& step, RowScratch& s) {
  double loss = 0.0, total_weight = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    double segment = 0.0, weight = geometric ? 1.0 : 0.0;
    for (int64_t j = i + 1; j <= n; ++j) {
      segment += step[j - 1];
      if (geometric) {
        if (j > i + 1) weight *= lambda;
      } else {
        weight = coef[j - i - 1];
      }
      if (weight == 0.0) continue;
      const double d = flow[i] + segment - flow[j];
      loss += weight * d * d;
      s.da[i] += 2.0 * weight * d;
      s.db[j] -= 2.0 * weight * d;
      total_weight += weight;
    }
  }
  if (normalize && total_weight > 0.0) {
    const double g = 1.0 / total_weight;
    loss *= g;
    for (int64_t t = 0; t <= n; ++t) {
      s.da[t] *= g;
      s.db[t] *= g;
    }
  }
  return loss;
}

template <class T>
double load(const T* p, int64_t i) {
  return static_cast<double>(static_cast<compute_t<T>>(p[i]));
}

}  // namespace

void CpuBackend::subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow,
                            const Tensor& log_reward, const Tensor& lengths, const SubTBParams& params,
                            const Tensor& losses, const Tensor& grad_pf, const Tensor& grad_pb,
                            const Tensor& grad_flow) {
  const int64_t B = log_pf.shape()[0], L = log_pf.shape()[1];
  const int64_t* len = lengths.data<int64_t>();
  const double* coef = params.mode == SubTBParams::Mode::per_length ? params.coefficients.data<double>() : nullptr;
  const bool want_grad = grad_pf.defined();

  visit_floating(log_pf.dtype(), "subtb_loss", [&]<class T>() {
    const T* pf = log_pf.data<T>();
    const T* pb = log_pb.data<T>();
    const T* fl = log_flow.data<T>();
    const T* lr = log_reward.defined() ? log_reward.data<T>() : nullptr;
    T* out = losses.data<T>();

    const GeometricTables tables(params.lambda, params.mode == SubTBParams::Mode::geometric ? L : 0);
#pragma omp parallel if (B * L >= kParallelThreshold)
    {
      RowScratch s(L);
      std::vector<double> flow(L + 1), step(L);
#pragma omp for schedule(static)
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n = len[b];
        const T* rpf = pf + b * L;
        const T* rpb = pb + b * L;
        const T* rfl = fl + b * (L + 1);
        const T* rlr = lr != nullptr ? lr + b * (L + 1) : nullptr;
        // log F with the FL intermediate rewards, the per-step log-ratios, and A, B.
        bool finite = true;
        double c = 0.0;
        for (int64_t t = 0; t <= n; ++t) {
          flow[t] = load(rfl, t) + (rlr != nullptr && t < n ? load(rlr, t) : 0.0);
          if (t < n) s.a[t] = flow[t] - c;
          if (t > 0) s.b[t] = flow[t] - c;
          if (t < n) {
            step[t] = load(rpf, t) - load(rpb, t);
            c += step[t];
          }
          finite = finite && std::isfinite(flow[t]) && (t == n || std::isfinite(step[t]));
        }
        if (n == 0 || params.mode != SubTBParams::Mode::geometric || !finite) s.zero_gradients(n);

        double loss = 0.0;
        if (n > 0) {
          switch (params.mode) {
            case SubTBParams::Mode::full_only: {
              // One residual, summed directly (exact also when a step is -inf).
              double d = flow[0] - flow[n];
              for (int64_t t = 0; t < n; ++t) d += step[t];
              loss = d * d;
              s.da[0] = 2.0 * d;
              s.db[n] = -2.0 * d;
              break;
            }
            case SubTBParams::Mode::geometric:
              loss = finite ? geometric_row(n, params.lambda, params.normalize_within, tables, s)
                            : pairwise_row(n, nullptr, params.lambda, true, params.normalize_within, flow, step, s);
              break;
            case SubTBParams::Mode::per_length:
              loss = pairwise_row(n, coef, params.lambda, false, params.normalize_within, flow, step, s);
              break;
          }
        }
        out[b] = T(static_cast<compute_t<T>>(loss));

        if (want_grad) {
          // dL/dlogF[t] = dA[t] + dB[t]; since C[t] enters A[t] and B[t] with a minus sign,
          // dL/dlog_pf[k] = -sum_{t > k} dL/dlogF[t] (a suffix sum), and log_pb the opposite.
          T* gpf = grad_pf.data<T>() + b * L;
          T* gpb = grad_pb.data<T>() + b * L;
          T* gfl = grad_flow.data<T>() + b * (L + 1);
          double suffix = 0.0;
          for (int64_t t = L; t >= 0; --t) {
            const double g = t <= n ? s.da[t] + s.db[t] : 0.0;
            gfl[t] = T(static_cast<compute_t<T>>(g));
            if (t < L) {
              const double gp = t < n ? -suffix : 0.0;
              gpf[t] = T(static_cast<compute_t<T>>(gp));
              gpb[t] = T(static_cast<compute_t<T>>(-gp));
            }
            suffix += g;
          }
        }
      }
    }
  });
}

}  // namespace subtb::cpu
