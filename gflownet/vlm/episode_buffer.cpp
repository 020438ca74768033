#include "gflownet/vlm/episode_buffer.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "tensor/ops.h"

namespace subtb::gflownet::vlm {

EpisodeBuffer::EpisodeBuffer(int64_t capacity) : capacity_(capacity) {
  SUBTB_CHECK(capacity >= 1, "EpisodeBuffer: capacity must be >= 1, got ", capacity);
}

const Episode& EpisodeBuffer::operator[](int64_t i) const {
  SUBTB_CHECK(i >= 0 && i < size(), "EpisodeBuffer: index ", i, " out of range for ", size(), " episodes");
  return episodes_[static_cast<size_t>(i)];
}

void EpisodeBuffer::add(Episode episode) {
  check_episode(episode);
  episodes_.push_back(std::move(episode));
  if (size() > capacity_) episodes_.pop_front();
}

std::vector<Episode> EpisodeBuffer::sample(int64_t n, Generator& gen) const {
  SUBTB_CHECK(n >= 0, "EpisodeBuffer::sample: n must be >= 0, got ", n);
  SUBTB_CHECK(size() > 0 || n == 0, "EpisodeBuffer::sample: the buffer is empty");
  std::vector<Episode> out;
  if (n == 0) return out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i : randint(0, size(), {n}, DType::i64, kCPU, &gen).to_vector<int64_t>()) out.push_back((*this)[i]);
  return out;
}

nlohmann::json EpisodeBuffer::to_json() const {
  nlohmann::json episodes = nlohmann::json::array();
  for (const Episode& e : episodes_) episodes.push_back(vlm::to_json(e));
  return {{"capacity", capacity_}, {"episodes", episodes}};
}

void EpisodeBuffer::restore(const nlohmann::json& j) {
  std::deque<Episode> restored;
  try {
    const int64_t capacity = j.at("capacity").get<int64_t>();
    SUBTB_CHECK(capacity == capacity_, "EpisodeBuffer::restore: the saved buffer holds ", capacity,
                " episodes, this one ", capacity_);
    for (const nlohmann::json& e : j.at("episodes")) restored.push_back(episode_from_json(e));
  } catch (const nlohmann::json::exception& err) {
    SUBTB_THROW("EpisodeBuffer::restore: malformed buffer: ", err.what());
  }
  SUBTB_CHECK(static_cast<int64_t>(restored.size()) <= capacity_, "EpisodeBuffer::restore: ", restored.size(),
              " episodes exceed the capacity ", capacity_);
  episodes_ = std::move(restored);
}

int record_episode(EpisodeBuffer& buffer, Episode model_episode, const std::function<std::optional<Episode>()>& expert,
                   const OffPolicyRule& rule) {
  const bool failed = !model_episode.success;
  int stored = 0;
  if (rule.keep_model_episodes) {
    buffer.add(std::move(model_episode));
    ++stored;
  }
  if (failed && rule.expert_on_failure && expert) {
    if (std::optional<Episode> e = expert()) {
      e->source = EpisodeSource::expert;
      buffer.add(std::move(*e));
      ++stored;
    }
  }
  return stored;
}

}  // namespace subtb::gflownet::vlm
