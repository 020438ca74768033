#pragma once
// The tasks' own texts as a model reads and writes them: GFlowVLM's prompts and the
// expert's JSON answers along expert episodes. A tokenizer that also learns on these
// encodes the prompts in far fewer tokens (envs/vlm/README.md, "Prompt lengths"), which
// is what lets the household task's prompts fit a compact model's context.
#include <cstdint>
#include <string>
#include <vector>

namespace subtb::vlm {

// For every registered task with an expert (registry.h), the prompt (GFlowVLM's style,
// [DONE] offered, the task's history window) and the expert's answer of each step of
// `episodes_per_task` expert episodes, reset with seeds first_seed, first_seed + 1, ...
// The same arguments give the same texts.
std::vector<std::string> expert_task_texts(int episodes_per_task, std::uint64_t first_seed);

}  // namespace subtb::vlm
