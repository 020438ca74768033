#pragma once
// The small episode buffer of GFlowVLM's off-policy training (4 episodes in the paper),
// and its rule for expert data: when the model fails a task, the expert's episode of the
// same task (same seed) goes into the buffer beside the model's, so that the GFlowNet
// objectives also see high-reward trajectories it does not yet sample (NumberLine: the
// ground-truth moves; BlackJack: stand at 17 or more, else hit).
//
// First in, first out; draws are uniform with replacement.
#include <cstdint>
#include <deque>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <vector>

#include "gflownet/vlm/episode.h"
#include "tensor/ops/random.h"

namespace subtb::gflownet::vlm {

class EpisodeBuffer {
 public:
  explicit EpisodeBuffer(int64_t capacity = 4);

  int64_t size() const { return static_cast<int64_t>(episodes_.size()); }
  int64_t capacity() const { return capacity_; }
  // Oldest first.
  const Episode& operator[](int64_t i) const;

  // Stores the episode (checked), evicting the oldest beyond the capacity.
  void add(Episode episode);
  // `n` episodes drawn uniformly with replacement (copies); throws on an empty buffer.
  std::vector<Episode> sample(int64_t n, Generator& gen) const;

  // {"capacity", "episodes": [oldest first, as vlm::to_json writes them]}.
  nlohmann::json to_json() const;
  // Replaces the contents with what to_json wrote; throws when the capacities differ or
  // an episode is malformed, and then changes nothing.
  void restore(const nlohmann::json& j);

 private:
  int64_t capacity_;
  std::deque<Episode> episodes_;
};

struct OffPolicyRule {
  bool keep_model_episodes = true;  // store the model's own episodes, successful or not
  bool expert_on_failure = true;    // add the expert's episode when the model's failed
};

// Applies the rule to one finished model episode. `expert` plays the same task with the
// expert and is called only when its episode is wanted; it may return nothing (no expert).
// Returns how many episodes were stored.
int record_episode(EpisodeBuffer& buffer, Episode model_episode, const std::function<std::optional<Episode>()>& expert,
                   const OffPolicyRule& rule = {});

}  // namespace subtb::gflownet::vlm
