#include "envs/vlm/task_texts.h"

#include <algorithm>
#include <optional>

#include "envs/vlm/registry.h"
#include "envs/vlm/vlm_env.h"
#include "tensor/error.h"

namespace subtb::vlm {

std::vector<std::string> expert_task_texts(int episodes_per_task, std::uint64_t first_seed) {
  SUBTB_CHECK(episodes_per_task >= 0, "expert_task_texts: episodes_per_task ", episodes_per_task, " is negative");
  EnvOptions options;
  options.prompt = PromptStyle::gflowvlm;
  options.done_action = true;
  std::vector<std::string> texts;
  for (const std::string& name : task_names()) {
    VlmEnv env(make_task(name), options);
    for (int e = 0; e < episodes_per_task; ++e) {
      env.reset(first_seed + static_cast<std::uint64_t>(e));
      // The expert's last answer, after a won episode, is "[DONE]" on the final state.
      for (bool done = false; !done;) {
        const std::optional<ExpertAnswer> answer = env.expert();
        if (!answer.has_value()) break;
        texts.push_back(env.prompt());
        texts.push_back(answer->answer.dump());
        done = env.over() || answer->action == done_action_text;
        if (!done) {
          const std::vector<std::string>& actions = env.actions();
          const auto at = std::find(actions.begin(), actions.end(), answer->action);
          SUBTB_CHECK(at != actions.end(), "expert_task_texts: the expert of '", name, "' chose '", answer->action,
                      "', which is not admissible");
          env.step(static_cast<std::size_t>(at - actions.begin()));
        }
      }
    }
  }
  return texts;
}

}  // namespace subtb::vlm
