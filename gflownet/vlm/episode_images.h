#pragma once
// What the model sees of an episode's states: the prompt in the SFT template of
// nn/vision/vlm_sft.h and the rendered image. Episodes store prompts with the template's
// single <image> marker (expand_prompt() gives the model's P placeholders) and no images:
// replay_images() renders them again by resetting the task with the episode's seed and
// replaying its actions.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "envs/render/canvas.h"
#include "envs/vlm/vlm_env.h"
#include "gflownet/vlm/episode.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"

namespace subtb::gflownet::vlm {

// <bos> <image> "\n" prompt "\n", the image as one marker.
std::vector<std::int32_t> prompt_template(const nn::Tokenizer& tokenizer, std::string_view prompt);
// The template's marker replaced by the model's image placeholders.
std::vector<int64_t> expand_prompt(const nn::VisionLanguageModel& model, std::span<const std::int32_t> prompt);

// A copy of a rendered frame (the canvas is reused from state to state).
struct OwnedRender {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};
OwnedRender render_state(const subtb::vlm::VlmEnv& env, render::Canvas& canvas);
// [N, 3, S, S] in the model's dtype and device.
Tensor preprocess_renders(const nn::VisionLanguageModel& model, const std::vector<OwnedRender>& renders);

// The images of states s_0 .. s_n of `episode`, [n + 1, 3, S, S]; `env` is left in s_n.
// Throws when a stored action is not admissible where the replay reaches it (the episode
// is of another task).
Tensor replay_images(subtb::vlm::VlmEnv& env, const nn::VisionLanguageModel& model, const Episode& episode);

}  // namespace subtb::gflownet::vlm
