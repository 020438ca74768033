#include "nn/generation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/grad_mode.h"
#include "nn/eval_mode.h"
#include "tensor/ops.h"

namespace subtb::nn {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void check_config(const GenerationConfig& c) {
  SUBTB_CHECK(c.max_new_tokens > 0, "generate: max_new_tokens must be positive, got ", c.max_new_tokens);
  SUBTB_CHECK(c.greedy || (c.temperature > 0 && std::isfinite(c.temperature)),
              "generate: temperature must be positive and finite, got ", c.temperature);
  SUBTB_CHECK(c.top_k >= 0, "generate: top_k must be non-negative, got ", c.top_k);
  SUBTB_CHECK(c.top_p > 0 && c.top_p <= 1, "generate: top_p must lie in (0, 1], got ", c.top_p);
  SUBTB_CHECK(c.stop_strings.empty() || c.decode, "generate: stop_strings need a decode function");
  for (const std::string& s : c.stop_strings) SUBTB_CHECK(!s.empty(), "generate: an empty stop string");
}

// Sets to -inf, in one row of logits, every entry that top-k or top-p leaves out.
void filter_row(double* row, int64_t V, int64_t top_k, double top_p) {
  if (top_k > 0 && top_k < V) {
    std::vector<double> sorted(row, row + V);
    std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[top_k - 1];
    for (int64_t v = 0; v < V; ++v)
      if (row[v] < kth) row[v] = kNegInf;  // ties with the k-th stay, as in PyTorch's top-k filters
  }
  if (top_p < 1.0) {
    std::vector<int64_t> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return row[a] > row[b]; });
    const double max = row[order[0]];
    double total = 0;
    for (int64_t v = 0; v < V; ++v) total += std::exp(row[v] - max);
    // Keep the most likely tokens up to and including the one whose cumulative
    // probability reaches top_p (at least one, since top_p > 0).
    double cumulative = 0;
    size_t kept = 0;
    while (kept < order.size() && cumulative < top_p * total) cumulative += std::exp(row[order[kept++]] - max);
    for (size_t i = kept; i < order.size(); ++i) row[order[i]] = kNegInf;
  }
}

bool ends_row(GeneratedRow& row, int64_t token, const GenerationConfig& c) {
  if (std::find(c.stop_token_ids.begin(), c.stop_token_ids.end(), token) != c.stop_token_ids.end()) {
    row.finish = FinishReason::stop_token;
    return true;
  }
  if (!c.stop_strings.empty()) {
    const std::string text = c.decode(row.tokens);
    for (const std::string& stop : c.stop_strings) {
      if (text.find(stop) != std::string::npos) {
        row.finish = FinishReason::stop_string;
        return true;
      }
    }
  }
  return false;
}

// The decoding loop after the prompt: `logits` are the last prompt column's [B, V], and
// the cache holds the prompt.
std::vector<GeneratedRow> decode(CausalLM& model, KVCache& cache, Tensor logits, const GenerationConfig& c) {
  const int64_t B = logits.shape()[0];
  std::vector<GeneratedRow> rows(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), false);
  const Device device = model.model->embed_tokens->weight.device();
  for (int64_t step = 0;; ++step) {
    const std::vector<int64_t> chosen = choose_tokens(logits, c);
    std::vector<int64_t> feed(static_cast<size_t>(B), c.pad_token_id);
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      rows[b].tokens.push_back(chosen[b]);
      feed[b] = chosen[b];
      done[b] = ends_row(rows[b], chosen[b], c);
    }
    const bool all_done = std::all_of(done.begin(), done.end(), [](bool d) { return d; });
    if (all_done || step + 1 == c.max_new_tokens) break;
    // Finished rows are fed padding that no later query attends to.
    std::vector<bool> real(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) real[b] = !done[b];
    logits = model.forward(from_vector(feed, Shape{B, 1}, device), &cache, from_vector(real, Shape{B, 1}, device))
                 .select(1, 0);
  }
  return rows;
}

std::vector<GeneratedRow> run(CausalLM& model, int64_t B, int64_t T, const GenerationConfig& c,
                              const std::function<Tensor(KVCache&)>& prefill) {
  check_config(c);
  SUBTB_CHECK(T + c.max_new_tokens <= model.config().max_seq_len, "generate: ", T, " prompt columns and ",
              c.max_new_tokens, " new tokens exceed max_seq_len ", model.config().max_seq_len);
  EvalModeGuard eval(model);
  NoGradGuard no_grad;
  KVCache cache = model.make_cache(B, T + c.max_new_tokens);
  const Tensor logits = prefill(cache);  // [B, T, V]
  return decode(model, cache, logits.select(1, T - 1), c);
}

}  // namespace

std::vector<int64_t> choose_tokens(const Tensor& logits, const GenerationConfig& c) {
  SUBTB_CHECK(logits.dim() == 2 && is_floating(logits.dtype()), "generate: logits ", describe(logits),
              " are not floating [B, V]");
  const int64_t B = logits.shape()[0], V = logits.shape()[1];
  std::vector<double> values = logits.to(kCPU).to(DType::f64).contiguous().to_vector<double>();
  std::vector<int64_t> chosen(static_cast<size_t>(B));
  if (c.greedy) {
    for (int64_t b = 0; b < B; ++b) {
      const double* row = values.data() + b * V;
      chosen[b] = std::max_element(row, row + V) - row;  // the first of equal maxima
    }
    return chosen;
  }
  for (int64_t b = 0; b < B; ++b) {
    double* row = values.data() + b * V;
    for (int64_t v = 0; v < V; ++v) row[v] /= c.temperature;
    filter_row(row, V, c.top_k, c.top_p);
  }
  return categorical(from_vector(values, Shape{B, V}), c.gen).to_vector<int64_t>();
}

std::vector<GeneratedRow> generate(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                   const GenerationConfig& c) {
  SUBTB_CHECK(!prompts.empty(), "generate: no prompts");
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t T = 0;
  for (size_t b = 0; b < prompts.size(); ++b) {
    SUBTB_CHECK(!prompts[b].empty(), "generate: prompt ", b, " is empty");
    T = std::max<int64_t>(T, static_cast<int64_t>(prompts[b].size()));
  }
  // Left padding: every prompt ends in column T - 1.
  std::vector<int64_t> tokens(static_cast<size_t>(B * T), c.pad_token_id);
  std::vector<bool> real(static_cast<size_t>(B * T), false);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t pad = T - static_cast<int64_t>(prompts[b].size());
    for (int64_t t = pad; t < T; ++t) {
      tokens[b * T + t] = prompts[b][t - pad];
      real[b * T + t] = true;
    }
  }
  const Device device = model.model->embed_tokens->weight.device();
  const Tensor token_tensor = from_vector(tokens, Shape{B, T}, device);
  const Tensor valid = from_vector(real, Shape{B, T}, device);
  return run(model, B, T, c, [&](KVCache& cache) { return model.forward(token_tensor, &cache, valid); });
}

std::vector<GeneratedRow> generate_from_embeddings(CausalLM& model, const Tensor& embeds, const Tensor& valid,
                                                   const GenerationConfig& c) {
  SUBTB_CHECK(embeds.dim() == 3 && embeds.shape()[0] > 0 && embeds.shape()[1] > 0, "generate: prompt embeddings ",
              describe(embeds), " are not a non-empty [B, T, dim]");
  return run(model, embeds.shape()[0], embeds.shape()[1], c,
             [&](KVCache& cache) { return model.forward_embeddings(embeds, &cache, valid); });
}

}  // namespace subtb::nn
