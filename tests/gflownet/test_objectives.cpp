// The objectives' exact oracles on a small enumerable DAG (a 3 x 3 grid where every state
// may exit): with flows built from the rewards and a uniform P_B every objective and its
// gradient vanish, and perturbing a flow makes each positive. Plus composite == fused
// SubTB, gradchecks and error messages.
#include "gflownet/objectives.h"

#include <cmath>
#include <map>
#include <random>

#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using testing::all_close;

constexpr int kH = 3;  // grid side: states (x, y) in [0, 2]^2

struct Grid {
  double R[kH][kH];  // rewards
  double F[kH][kH];  // exact state flows
  static int parents(int x, int y) { return (x > 0) + (y > 0); }

  Grid() {
    for (int x = 0; x < kH; ++x)
      for (int y = 0; y < kH; ++y) R[x][y] = 0.25 + 0.5 * ((x * 7 + y * 3) % 5);
    // F(s) = R(s) + sum over children c of F(c) P_B(s | c), P_B uniform over parents.
    for (int x = kH - 1; x >= 0; --x) {
      for (int y = kH - 1; y >= 0; --y) {
        F[x][y] = R[x][y];
        if (x + 1 < kH) F[x][y] += F[x + 1][y] / parents(x + 1, y);
        if (y + 1 < kH) F[x][y] += F[x][y + 1] / parents(x, y + 1);
      }
    }
  }
  double log_z() const {
    double z = 0;
    for (auto& row : R)
      for (double r : row) z += r;
    return std::log(z);
  }
};

// Every trajectory of the grid: a monotone path from (0, 0) to some state, then exit.
struct PaddedBatch {
  int64_t B = 0, L = 0;
  std::vector<double> pf, pb, flow, flow_tilde, reward_states, log_reward, pf_stop;
  std::vector<int64_t> lengths, move_lengths;
};

PaddedBatch all_trajectories(const Grid& g) {
  std::vector<std::vector<std::pair<int, int>>> paths;
  std::vector<std::pair<int, int>> path{{0, 0}};
  auto extend = [&](auto&& self) -> void {
    paths.push_back(path);
    auto [x, y] = path.back();
    if (x + 1 < kH) {
      path.push_back({x + 1, y});
      self(self);
      path.pop_back();
    }
    if (y + 1 < kH) {
      path.push_back({x, y + 1});
      self(self);
      path.pop_back();
    }
  };
  extend(extend);
  PaddedBatch b;
  b.B = static_cast<int64_t>(paths.size());
  b.L = 2 * (kH - 1) + 1;  // moves + exit
  const int64_t L = b.L;
  b.pf.assign(b.B * L, -INFINITY);
  b.pb.assign(b.B * L, -INFINITY);
  b.flow.assign(b.B * (L + 1), NAN);
  b.flow_tilde.assign(b.B * (L + 1), NAN);
  b.reward_states.assign(b.B * (L + 1), NAN);
  b.pf_stop.assign(b.B * (L + 1), NAN);
  for (int64_t r = 0; r < b.B; ++r) {
    const auto& p = paths[r];
    const int64_t moves = static_cast<int64_t>(p.size()) - 1;
    b.lengths.push_back(moves + 1);
    b.move_lengths.push_back(moves);
    for (int64_t t = 0; t <= moves; ++t) {
      auto [x, y] = p[t];
      b.flow[r * (L + 1) + t] = std::log(g.F[x][y]);
      b.flow_tilde[r * (L + 1) + t] = std::log(g.F[x][y] / g.R[x][y]);
      b.reward_states[r * (L + 1) + t] = std::log(g.R[x][y]);
      b.pf_stop[r * (L + 1) + t] = std::log(g.R[x][y] / g.F[x][y]);
      if (t < moves) {
        auto [nx, ny] = p[t + 1];
        const double pb = 1.0 / Grid::parents(nx, ny);
        b.pf[r * L + t] = std::log(g.F[nx][ny] * pb / g.F[x][y]);
        b.pb[r * L + t] = std::log(pb);
      }
    }
    auto [x, y] = p.back();
    b.pf[r * L + moves] = std::log(g.R[x][y] / g.F[x][y]);  // the exit step
    b.pb[r * L + moves] = 0.0;
    b.flow[r * (L + 1) + moves + 1] = std::log(g.R[x][y]);  // the sink entry holds log R(x)
    b.flow_tilde[r * (L + 1) + moves + 1] = std::log(g.R[x][y]);
    b.log_reward.push_back(std::log(g.R[x][y]));
  }
  return b;
}

struct Tensors {
  Tensor pf, pb, flow, flow_tilde, reward_states, log_reward, pf_stop, lengths, move_lengths;
};

Tensors to_tensors(const PaddedBatch& b, bool grad) {
  auto leaf = [&](const std::vector<double>& v, const Shape& s) {
    Tensor t = from_vector<double>(v, s);
    return grad ? t.requires_grad_() : t;
  };
  return {leaf(b.pf, {b.B, b.L}),
          from_vector<double>(b.pb, Shape{b.B, b.L}),
          leaf(b.flow, {b.B, b.L + 1}),
          leaf(b.flow_tilde, {b.B, b.L + 1}),
          from_vector<double>(b.reward_states, Shape{b.B, b.L + 1}),
          from_vector<double>(b.log_reward, Shape{b.B}),
          leaf(b.pf_stop, {b.B, b.L + 1}),
          from_vector<int64_t>(b.lengths),
          from_vector<int64_t>(b.move_lengths)};
}

// Every objective on the grid batch, keyed by name.
std::map<std::string, Tensor> all_losses(const Tensors& t, const Grid& g, double log_z_shift) {
  std::map<std::string, Tensor> out;
  const Tensor log_z = scalar_tensor(g.log_z() + log_z_shift, DType::f64);
  out["tb"] = trajectory_balance(t.pf, t.pb, t.lengths, t.log_reward, log_z);
  out["var_tb"] = variance_trajectory_balance(t.pf, t.pb, t.lengths, t.log_reward);
  out["db"] = detailed_balance(t.pf, t.pb, t.flow, t.lengths);
  out["db_trajectory"] = detailed_balance(t.pf, t.pb, t.flow, t.lengths, TransitionReduction::trajectory_sum_mean);
  out["fl_db"] = detailed_balance(t.pf, t.pb, t.flow_tilde, t.lengths, TransitionReduction::transition_mean, {},
                                  t.reward_states);
  out["fl_subtb"] = subtb_loss(t.pf, t.pb, t.flow_tilde, t.lengths, {}, t.reward_states);
  out["modified_db"] = modified_detailed_balance(t.pf, t.pb, t.pf_stop, t.reward_states, t.move_lengths);
  for (SubTBWeighting w : {SubTBWeighting::geometric_within, SubTBWeighting::equal_within, SubTBWeighting::equal,
                           SubTBWeighting::geometric, SubTBWeighting::tb, SubTBWeighting::db}) {
    out["subtb_" + std::string(to_string(w))] = subtb_loss(t.pf, t.pb, t.flow, t.lengths, {0.9, w});
    out["subtb_composite_" + std::string(to_string(w))] = subtb_loss_composite(t.pf, t.pb, t.flow, t.lengths, {0.9, w});
  }
  return out;
}

// Flow matching on the grid's edge flows: in/out flows of every non-initial state, exit flows of every state.
Tensor grid_flow_matching(const Grid& g, double perturb) {
  std::vector<double> in, out, exit_flows, rewards;
  int64_t n = 0;
  for (int x = 0; x < kH; ++x) {
    for (int y = 0; y < kH; ++y) {
      exit_flows.push_back(std::log(g.R[x][y]) + (x == 1 && y == 1 ? perturb : 0.0));
      rewards.push_back(std::log(g.R[x][y]));
      if (x == 0 && y == 0) continue;
      const double pb = 1.0 / Grid::parents(x, y);
      in.push_back(x > 0 ? std::log(g.F[x][y] * pb) : -INFINITY);
      in.push_back(y > 0 ? std::log(g.F[x][y] * pb) : -INFINITY);
      out.push_back(x + 1 < kH ? std::log(g.F[x + 1][y] / Grid::parents(x + 1, y)) : -INFINITY);
      out.push_back(y + 1 < kH ? std::log(g.F[x][y + 1] / Grid::parents(x, y + 1)) : -INFINITY);
      out.push_back(std::log(g.R[x][y]));
      ++n;
    }
  }
  return flow_matching(from_vector<double>(in, Shape{n, 2}), from_vector<double>(out, Shape{n, 3}),
                       from_vector<double>(exit_flows), from_vector<double>(rewards));
}

TEST(ObjectiveOracles, ExactFlowsGiveZeroLossAndZeroGradient) {
  const Grid g;
  EXPECT_NEAR(std::log(g.F[0][0]), g.log_z(), 1e-12);  // the source's flow is Z
  const PaddedBatch b = all_trajectories(g);
  EXPECT_EQ(b.B, 19);  // sum over end states (x, y) of the C(x + y, x) monotone paths
  for (auto& [name, loss] : all_losses(to_tensors(b, /*grad=*/false), g, 0.0)) {
    EXPECT_NEAR(loss.item(), 0.0, 1e-24) << name;
  }
  EXPECT_NEAR(grid_flow_matching(g, 0.0).item(), 0.0, 1e-24);
  // Gradients vanish too (each objective on a fresh graph).
  const std::map<std::string, Tensor> names = all_losses(to_tensors(b, false), g, 0.0);
  for (const auto& [name, unused] : names) {
    const Tensors t = to_tensors(b, /*grad=*/true);
    Tensor loss = all_losses(t, g, 0.0).at(name);
    loss.backward();
    for (const Tensor* leaf : {&t.pf, &t.flow, &t.flow_tilde, &t.pf_stop}) {
      if (!leaf->grad().defined()) continue;
      EXPECT_TRUE(all_close(leaf->grad(), std::vector<double>(static_cast<size_t>(leaf->numel()), 0.0), 1e-12))
          << name;
    }
  }
}

TEST(ObjectiveOracles, PerturbedFlowsGivePositiveLoss) {
  const Grid g;
  PaddedBatch b = all_trajectories(g);
  // Raise log P_F of the first step and the flow of s_1 in every other trajectory (not
  // all of them: a shift shared by every trajectory is invisible to Var-TB).
  for (int64_t r = 0; r < b.B; r += 2) {
    b.pf[r * b.L] += 0.05;
    b.flow[r * (b.L + 1) + 1] += 0.05;
    b.flow_tilde[r * (b.L + 1) + 1] += 0.05;
    b.pf_stop[r * (b.L + 1) + 1] += 0.05;
  }
  for (auto& [name, loss] : all_losses(to_tensors(b, false), g, 0.1)) EXPECT_GT(loss.item(), 1e-6) << name;
  EXPECT_GT(grid_flow_matching(g, 0.1).item(), 1e-6);
}

PaddedBatch random_padded(int64_t B, int64_t L, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  PaddedBatch b;
  b.B = B;
  b.L = L;
  for (int64_t r = 0; r < B; ++r) b.lengths.push_back(r == 1 ? 0 : 1 + static_cast<int64_t>(rng() % L));
  for (int64_t i = 0; i < B * L; ++i) {
    b.pf.push_back(-std::abs(normal(rng)));
    b.pb.push_back(-std::abs(normal(rng)));
  }
  for (int64_t i = 0; i < B * (L + 1); ++i) {
    b.flow.push_back(normal(rng));
    b.flow_tilde.push_back(normal(rng));
    b.reward_states.push_back(normal(rng));
    b.pf_stop.push_back(-std::abs(normal(rng)));
  }
  for (int64_t r = 0; r < B; ++r) {
    b.log_reward.push_back(normal(rng));
    b.move_lengths.push_back(std::max<int64_t>(b.lengths[r] - 1, 0));
  }
  return b;
}

TEST(SubTBComposite, EqualsTheFusedLossAndGradients) {
  const PaddedBatch b = random_padded(6, 9, 77);
  for (double lambda : {0.0, 0.7, 1.0, 1.3}) {
    for (SubTBWeighting w : {SubTBWeighting::geometric_within, SubTBWeighting::equal_within, SubTBWeighting::equal,
                             SubTBWeighting::geometric, SubTBWeighting::tb, SubTBWeighting::db}) {
      for (bool fl : {false, true}) {
        SCOPED_TRACE(::testing::Message() << to_string(w) << " lambda " << lambda << " fl " << fl);
        const Tensors a = to_tensors(b, true), c = to_tensors(b, true);
        const Tensor rs = fl ? a.reward_states : Tensor();
        Tensor fused = subtb_loss(a.pf, a.pb, a.flow, a.lengths, {lambda, w}, rs);
        Tensor composite = subtb_loss_composite(c.pf, c.pb, c.flow, c.lengths, {lambda, w}, rs);
        EXPECT_NEAR(fused.item(), composite.item(), 1e-10 * (1 + std::abs(composite.item())));
        fused.backward();
        composite.backward();
        EXPECT_TRUE(all_close(a.pf.grad(), c.pf.grad(), 1e-10, 1e-9));
        EXPECT_TRUE(all_close(a.flow.grad(), c.flow.grad(), 1e-10, 1e-9));
      }
    }
  }
}

TEST(Objectives, Gradcheck) {
  const PaddedBatch b = random_padded(4, 5, 3);
  const Tensors t = to_tensors(b, false);
  auto check = [&](const char* name, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                   const std::vector<Tensor>& inputs) {
    EXPECT_TRUE(testing::gradcheck_ok(f, inputs)) << name;
  };
  const ResidualLoss huber{ResidualLoss::Kind::huber, 0.5};
  check("tb", [&](const std::vector<Tensor>& x) { return trajectory_balance(x[0], x[1], t.lengths, x[2], x[3]); },
        {t.pf, t.pb, from_vector<double>({0.3, -1.0, 2.0, 0.5}), scalar_tensor(0.7, DType::f64)});
  check("tb_huber",
        [&](const std::vector<Tensor>& x) { return trajectory_balance(x[0], x[1], t.lengths, x[2], x[3], huber); },
        {t.pf, t.pb, from_vector<double>({0.3, -1.0, 2.0, 0.5}), scalar_tensor(0.7, DType::f64)});
  check("var_tb",
        [&](const std::vector<Tensor>& x) { return variance_trajectory_balance(x[0], x[1], t.lengths, x[2]); },
        {t.pf, t.pb, from_vector<double>({0.3, -1.0, 2.0, 0.5})});
  check("db", [&](const std::vector<Tensor>& x) { return detailed_balance(x[0], x[1], x[2], t.lengths); },
        {t.pf, t.pb, t.flow});
  check("fl_db_trajectory",
        [&](const std::vector<Tensor>& x) {
          return detailed_balance(x[0], x[1], x[2], t.lengths, TransitionReduction::trajectory_sum_mean, huber, x[3]);
        },
        {t.pf, t.pb, t.flow, t.reward_states});
  check("modified_db",
        [&](const std::vector<Tensor>& x) { return modified_detailed_balance(x[0], x[1], x[2], x[3], t.lengths); },
        {t.pf, t.pb, t.flow, t.reward_states});
  check("subtb_composite_absolute",
        [&](const std::vector<Tensor>& x) {
          return subtb_loss_composite(x[0], x[1], x[2], t.lengths, {}, Tensor(), {ResidualLoss::Kind::absolute});
        },
        {t.pf, t.pb, t.flow});
  check("flow_matching",
        [&](const std::vector<Tensor>& x) { return flow_matching(x[0], x[1], x[2], x[3]); },
        {from_vector<double>({0.1, -INFINITY, 0.5, 0.2}, Shape{2, 2}), from_vector<double>({0.3, 1.0, -0.2, 0.4}, Shape{2, 2}),
         from_vector<double>({0.1, 0.9}), from_vector<double>({0.0, 1.0})});
}

TEST(Objectives, PaddingWithInfinityAndNaNIsIgnored) {
  PaddedBatch b = random_padded(3, 6, 9);
  const double before = detailed_balance(to_tensors(b, false).pf, to_tensors(b, false).pb, to_tensors(b, false).flow,
                                         to_tensors(b, false).lengths)
                            .item();
  for (int64_t r = 0; r < b.B; ++r) {
    for (int64_t t = b.lengths[r]; t < b.L; ++t) b.pf[r * b.L + t] = -INFINITY;
    for (int64_t t = b.lengths[r] + 1; t <= b.L; ++t) b.flow[r * (b.L + 1) + t] = NAN;
  }
  const Tensors t = to_tensors(b, true);
  Tensor loss = detailed_balance(t.pf, t.pb, t.flow, t.lengths);
  EXPECT_DOUBLE_EQ(loss.item(), before);
  loss.backward();
  for (double v : testing::values(t.pf.grad())) EXPECT_TRUE(std::isfinite(v));
  for (double v : testing::values(t.flow.grad())) EXPECT_TRUE(std::isfinite(v));
}

TEST(Objectives, ErrorsNameTheProblem) {
  const Tensors t = to_tensors(random_padded(2, 3, 1), false);
  EXPECT_THROW_MSG(trajectory_balance(t.pf, t.pb, t.lengths, t.log_reward, zeros({3}, DType::f64)),
                   "trajectory_balance", "log_z", "[3]");
  EXPECT_THROW_MSG(detailed_balance(t.pf, t.pb, t.pf, t.lengths), "detailed_balance", "log_flow", "[2, 4]");
  EXPECT_THROW_MSG(modified_detailed_balance(t.pf, t.pb.narrow(1, 0, 2), t.flow, t.flow, t.lengths),
                   "modified_detailed_balance", "log_pb");
  EXPECT_THROW_MSG(flow_matching(zeros({2, 2}), zeros({3, 2}), zeros({1}), zeros({1})), "flow_matching", "[2, 2]",
                   "[3, 2]");
  EXPECT_THROW_MSG(apply_residual_loss(zeros({1}), {ResidualLoss::Kind::huber, -1.0}), "huber", "delta");
}

}  // namespace
}  // namespace subtb::gflownet
