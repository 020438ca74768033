#include "gflownet/vlm/scoring.h"

#include <algorithm>
#include <chrono>

#include "gflownet/vlm/episode_images.h"
#include "nn/log_probs.h"
#include "nn/tokenizer/special_tokens.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace subtb::gflownet::vlm {

ScoredEpisodes score_episodes(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer, subtb::vlm::VlmEnv& env,
                              const std::vector<Episode>& episodes, const ScoreOptions& options) {
  SUBTB_CHECK(!episodes.empty(), "score_episodes: no episodes");
  SUBTB_CHECK(options.temperature > 0, "score_episodes: temperature ", options.temperature, " must be positive");
  const Device device = model.language_model->parameters().front().device();
  ScoredEpisodes out;
  out.collated = collate(episodes, DType::f32, device);
  const int64_t b = static_cast<int64_t>(episodes.size());
  const int64_t s = out.collated.log_reward.shape()[1] - 1;
  const int64_t t_answers = out.collated.answer_tokens.shape()[1];

  // One sequence per state: its prompt, then the step's answer when the state has one.
  std::vector<std::vector<int64_t>> sequences;
  std::vector<int64_t> prompt_lengths;
  std::vector<Tensor> images;
  const auto replay_start = std::chrono::steady_clock::now();
  for (const Episode& episode : episodes) {
    images.push_back(replay_images(env, model, episode));
    for (size_t t = 0; t <= episode.steps.size(); ++t) {
      const bool last = t == episode.steps.size();
      // The stopping state's prompt is not stored: it is where the replay left the task.
      std::vector<int64_t> seq = last ? expand_prompt(model, prompt_template(tokenizer, env.prompt()))
                                      : expand_prompt(model, episode.steps[t].prompt);
      prompt_lengths.push_back(static_cast<int64_t>(seq.size()));
      if (!last) seq.insert(seq.end(), episode.steps[t].answer.begin(), episode.steps[t].answer.end());
      sequences.push_back(std::move(seq));
    }
  }
  out.replay_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - replay_start).count();
  const int64_t rows = static_cast<int64_t>(sequences.size());
  size_t longest = 0;
  for (const auto& seq : sequences) longest = std::max(longest, seq.size());
  const int64_t l = static_cast<int64_t>(longest);
  SUBTB_CHECK(l <= model.config().language.max_seq_len, "score_episodes: a state's prompt and answer take ", l,
              " tokens, beyond the LM's max_seq_len ", model.config().language.max_seq_len);

  // Right padding: a padded row computes what it would alone.
  std::vector<int64_t> tokens(static_cast<size_t>(rows * l), nn::kPadToken);
  std::vector<uint8_t> valid(tokens.size(), 0), answer(tokens.size(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const auto& seq = sequences[static_cast<size_t>(r)];
    const auto at = tokens.begin() + r * l;
    std::copy(seq.begin(), seq.end(), at);
    std::fill_n(valid.begin() + r * l, seq.size(), 1);
    std::fill(answer.begin() + r * l + prompt_lengths[static_cast<size_t>(r)],
              answer.begin() + r * l + static_cast<int64_t>(seq.size()), 1);
  }
  // Where each answer token of the collated layout [B, T], and each state's last prompt
  // position [B, S + 1], sits in the flattened [rows * L] pass. Padding points at 0.
  std::vector<int64_t> token_source(static_cast<size_t>(b * t_answers), 0);
  std::vector<int64_t> state_source(static_cast<size_t>(b * (s + 1)), 0);
  int64_t row = 0;
  for (int64_t e = 0; e < b; ++e) {
    const Episode& episode = episodes[static_cast<size_t>(e)];
    int64_t column = 0;
    // Every state has a row, the stopping state's included: `row` must step past it too.
    for (size_t t = 0; t <= episode.steps.size(); ++t, ++row) {
      const int64_t prompt_end = row * l + prompt_lengths[static_cast<size_t>(row)];
      state_source[static_cast<size_t>(e * (s + 1) + static_cast<int64_t>(t))] = prompt_end - 1;
      if (t == episode.steps.size()) continue;  // the stopping state has no answer
      for (size_t k = 0; k < episode.steps[t].answer.size(); ++k) {
        token_source[static_cast<size_t>(e * t_answers + column++)] = prompt_end + static_cast<int64_t>(k);
      }
    }
  }
  SUBTB_CHECK(row == rows, "score_episodes: laid out ", row, " state rows of ", rows);

  const Shape shape{rows, l};
  const Tensor token_tensor = from_vector(tokens, shape, device);
  const Tensor hidden =
      model.hidden_states(token_tensor, cat(images, 0), from_buffer(valid.data(), shape, DType::b8, device));
  // The LM head and the log-softmax run over the rows that predict an answer token and the
  // states' last prompt positions only: a few percent of rows * L when prompts are long.
  const auto head = [&](const Tensor& h) { return model.language_model->logits(h) / options.temperature; };
  const Tensor per_token =
      nn::continuation_log_probs(hidden, head, token_tensor, from_buffer(answer.data(), shape, DType::b8, device));
  out.token_log_probs =
      index_select(per_token.reshape({rows * l}), 0, from_vector(token_source, device)).reshape({b, t_answers});
  const int64_t dim = hidden.shape()[2];
  const Tensor states = from_vector(state_source, device);
  out.state_hidden = index_select(hidden.reshape({rows * l, dim}), 0, states).reshape({b, s + 1, dim});
  const Tensor first_answer_logits = model.language_model->logits(out.state_hidden);  // [B, S + 1, V]
  out.batch.log_pf = step_log_pf(out.token_log_probs, out.collated.answer, s, options.lambda_cot);
  out.batch.log_done = done_log_probs(first_answer_logits, options.temperature);
  out.batch.log_reward = out.collated.log_reward;
  out.batch.lengths = out.collated.lengths;
  return out;
}

}  // namespace subtb::gflownet::vlm
