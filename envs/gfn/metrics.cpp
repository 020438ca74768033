#include "envs/gfn/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "envs/gfn/rng.h"
#include "tensor/error.h"

namespace subtb::gfn {

namespace {

void check_same_size(const char* call, std::span<const double> p, std::span<const double> q) {
  SUBTB_CHECK(p.size() == q.size(), call, ": distributions of ", p.size(), " and ", q.size(), " states");
}

double apply(L1Convention convention, double sum, std::size_t states) {
  return convention == L1Convention::sum || states == 0 ? sum : sum / static_cast<double>(states);
}

// p log(p / m) with 0 log 0 = 0.
double kl_term(double p, double m) { return p > 0 ? p * std::log(p / m) : 0.0; }

// Average ranks (1-based) with ties sharing the mean of their positions.
std::vector<double> ranks(std::span<const double> v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double rank = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t t = i; t <= j; ++t) r[order[t]] = rank;
    i = j + 1;
  }
  return r;
}

}  // namespace

double l1_distance(std::span<const double> p, std::span<const double> q, L1Convention convention) {
  check_same_size("l1_distance", p, q);
  double sum = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) sum += std::abs(p[i] - q[i]);
  return apply(convention, sum, p.size());
}

double jensen_shannon(std::span<const double> p, std::span<const double> q) {
  check_same_size("jensen_shannon", p, q);
  double js = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double m = 0.5 * (p[i] + q[i]);
    js += 0.5 * (kl_term(p[i], m) + kl_term(q[i], m));
  }
  return js;
}

double expected_sampling_l1(std::span<const double> p, std::int64_t samples, L1Convention convention) {
  SUBTB_CHECK(samples > 0, "expected_sampling_l1: needs samples > 0, got ", samples);
  const double n = static_cast<double>(samples);
  double sum = 0.0;
  for (double pi : p) {
    SUBTB_CHECK(pi >= 0 && pi <= 1, "expected_sampling_l1: probability ", pi, " outside [0, 1]");
    if (pi == 0.0 || pi == 1.0) continue;  // the count is certain
    const double m = std::floor(n * pi);
    if (m >= n) continue;  // N p rounds to N only when p is 1 up to rounding
    // log of 2 (m+1) C(N, m+1) p^(m+1) (1-p)^(N-m), then divided by N for frequencies.
    const double log_mad = std::log(2.0) + std::log(m + 1) + std::lgamma(n + 1) - std::lgamma(m + 2) -
                           std::lgamma(n - m) + (m + 1) * std::log(pi) + (n - m) * std::log1p(-pi);
    sum += std::exp(log_mad) / n;
  }
  return apply(convention, sum, p.size());
}

// Multinomial draws by inverting the cumulative distribution with a binary search.
double simulated_sampling_l1(std::span<const double> p, std::int64_t samples, int repeats, std::uint64_t seed,
                             L1Convention convention) {
  SUBTB_CHECK(samples > 0 && repeats > 0, "simulated_sampling_l1: needs samples > 0 and repeats > 0, got ", samples,
              " and ", repeats);
  std::vector<double> cumulative(p.size());
  std::partial_sum(p.begin(), p.end(), cumulative.begin());
  const double total = cumulative.empty() ? 0.0 : cumulative.back();
  SUBTB_CHECK(std::abs(total - 1.0) < 1e-9, "simulated_sampling_l1: probabilities sum to ", total);
  Rng rng(seed);
  std::vector<double> counts(p.size());
  double mean = 0.0;
  for (int r = 0; r < repeats; ++r) {
    std::fill(counts.begin(), counts.end(), 0.0);
    for (std::int64_t s = 0; s < samples; ++s) {
      const double u = rng.uniform01() * total;
      const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
      counts[std::min(static_cast<std::size_t>(it - cumulative.begin()), p.size() - 1)] += 1.0;
    }
    for (double& c : counts) c /= static_cast<double>(samples);
    mean += l1_distance(counts, p, convention);
  }
  return mean / repeats;
}

double spearman(std::span<const double> x, std::span<const double> y) {
  check_same_size("spearman", x, y);
  const std::vector<double> rx = ranks(x), ry = ranks(y);
  const double n = static_cast<double>(x.size());
  const double mean = (n + 1) / 2;  // of any full set of ranks
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

UniqueTopK::UniqueTopK(int k, int state_dim) : k_(k), state_dim_(state_dim) {
  SUBTB_CHECK(k >= 1 && state_dim >= 1, "UniqueTopK: needs k >= 1 and state_dim >= 1, got ", k, " and ", state_dim);
}

void UniqueTopK::add(std::span<const std::int32_t> states, std::span<const double> log_rewards) {
  const std::size_t dim = static_cast<std::size_t>(state_dim_);
  SUBTB_CHECK(states.size() == log_rewards.size() * dim, "UniqueTopK::add: ", states.size(),
              " state values for ", log_rewards.size(), " rewards of states of ", dim);
  for (std::size_t row = 0; row < log_rewards.size(); ++row) {
    const char* bytes = reinterpret_cast<const char*>(states.data() + row * dim);
    if (!seen_.emplace(bytes, dim * sizeof(std::int32_t)).second) continue;
    if (heap_.size() < static_cast<std::size_t>(k_)) {
      heap_.push_back(log_rewards[row]);
      std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
    } else if (log_rewards[row] > heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
      heap_.back() = log_rewards[row];
      std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
    }
  }
}

double UniqueTopK::mean_reward() const {
  if (heap_.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (double v : heap_) sum += std::exp(v);
  return sum / static_cast<double>(heap_.size());
}

double UniqueTopK::mean_log_reward() const {
  if (heap_.empty()) return std::numeric_limits<double>::quiet_NaN();
  return std::accumulate(heap_.begin(), heap_.end(), 0.0) / static_cast<double>(heap_.size());
}

std::vector<double> UniqueTopK::top_log_rewards() const {
  std::vector<double> top = heap_;
  std::sort(top.begin(), top.end(), std::greater<>());
  return top;
}

}  // namespace subtb::gfn
