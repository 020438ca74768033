#include "gflownet/vlm/episode_images.h"

#include <algorithm>

#include "nn/tokenizer/special_tokens.h"
#include "tensor/error.h"

namespace subtb::gflownet::vlm {

std::vector<std::int32_t> prompt_template(const nn::Tokenizer& tokenizer, std::string_view prompt) {
  std::vector<std::int32_t> ids{nn::kBosToken, nn::kImageToken};
  tokenizer.encode_append("\n", ids);
  tokenizer.encode_append(prompt, ids);
  tokenizer.encode_append("\n", ids);
  return ids;
}

std::vector<int64_t> expand_prompt(const nn::VisionLanguageModel& model, std::span<const std::int32_t> prompt) {
  const std::vector<int64_t> wide(prompt.begin(), prompt.end());
  return model.expand_image_tokens(wide);
}

OwnedRender render_state(const subtb::vlm::VlmEnv& env, render::Canvas& canvas) {
  env.render(canvas);
  const auto bytes = canvas.bytes();
  return {canvas.width(), canvas.height(), {bytes.begin(), bytes.end()}};
}

Tensor preprocess_renders(const nn::VisionLanguageModel& model, const std::vector<OwnedRender>& renders) {
  std::vector<nn::RgbImage> views;
  views.reserve(renders.size());
  for (const OwnedRender& r : renders) views.push_back({r.width, r.height, r.pixels});
  return model.preprocess(views);
}

Tensor replay_images(subtb::vlm::VlmEnv& env, const nn::VisionLanguageModel& model, const Episode& episode) {
  render::Canvas canvas;
  std::vector<OwnedRender> renders;
  env.reset(episode.seed);
  renders.push_back(render_state(env, canvas));
  for (const EpisodeStep& step : episode.steps) {
    const auto& actions = env.actions();
    const auto it = std::find(actions.begin(), actions.end(), step.action);
    SUBTB_CHECK(!env.over() && it != actions.end(), "replay_images: episode of seed ", episode.seed, " takes '",
                step.action, "', which task '", env.task().name(), "' does not admit at step ", renders.size() - 1);
    env.step(static_cast<size_t>(it - actions.begin()));
    renders.push_back(render_state(env, canvas));
  }
  return preprocess_renders(model, renders);
}

}  // namespace subtb::gflownet::vlm
