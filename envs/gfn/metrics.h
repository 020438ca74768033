#pragma once
// Evaluation metrics of the GFlowNet experiments that need no tensors: distances between
// an empirical (or policy-induced) and the exact terminal distribution, the sampling
// noise floor of the L1 estimate, rank correlation, and the top-k reward of the unique
// objects seen so far.
#include <cstdint>
#include <span>
#include <unordered_set>
#include <string>
#include <vector>

namespace subtb::gfn {

// The two L1 conventions in use: torchgfn sums |p - q| over the states (in [0, 2]); the
// 2021 hypergrid code takes the mean over the states (the sum divided by their number).
enum class L1Convention { sum, mean };

double l1_distance(std::span<const double> p, std::span<const double> q, L1Convention convention = L1Convention::sum);

// Jensen-Shannon divergence in nats: KL(p || m) / 2 + KL(q || m) / 2, m = (p + q) / 2.
double jensen_shannon(std::span<const double> p, std::span<const double> q);

// The noise floor: the expected L1 between the empirical distribution of `samples` exact
// draws from p and p itself. Each count is Binomial(N, p_i), so the expectation is the
// sum of binomial mean absolute deviations, which de Moivre's formula gives exactly:
//   E|X - N p| = 2 (m + 1) C(N, m + 1) p^(m+1) (1 - p)^(N - m),  m = floor(N p).
// A learned sampler's L1 from N samples cannot be expected below this.
double expected_sampling_l1(std::span<const double> p, std::int64_t samples,
                            L1Convention convention = L1Convention::sum);

// The same floor by simulation: the mean L1 over `repeats` multinomial draws of `samples`
// from p (Rng(seed)). For checks, and for statistics without a closed form.
double simulated_sampling_l1(std::span<const double> p, std::int64_t samples, int repeats, std::uint64_t seed,
                             L1Convention convention = L1Convention::sum);

// Spearman's rank correlation (ties get their average rank, as scipy.stats.spearmanr);
// NaN when either input is constant.
double spearman(std::span<const double> x, std::span<const double> y);

// Keeps the unique objects seen (terminal state rows) and the k best log-rewards among
// them: the FL-GFN paper's "mean of the top-100 rewards among all unique sets sampled".
class UniqueTopK {
 public:
  UniqueTopK(int k, int state_dim);

  // states: [B, state_dim] terminal rows; log_rewards: [B]. A row seen before is ignored.
  void add(std::span<const std::int32_t> states, std::span<const double> log_rewards);

  std::int64_t num_unique() const { return static_cast<std::int64_t>(seen_.size()); }
  // Mean of exp(log R) and of log R over the best min(k, num_unique) objects; NaN when none.
  double mean_reward() const;
  double mean_log_reward() const;
  // The best log-rewards, highest first.
  std::vector<double> top_log_rewards() const;

 private:
  int k_;
  int state_dim_;
  std::unordered_set<std::string> seen_;  // rows as raw bytes
  std::vector<double> heap_;              // min-heap of the best k log-rewards
};

}  // namespace subtb::gfn
