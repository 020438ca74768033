#include "gflownet/vlm/task_tokenizer.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "envs/vlm/task_texts.h"
#include "nn/text/synthetic_corpus.h"

namespace subtb::gflownet::vlm {

nn::Tokenizer train_task_tokenizer(const TaskTokenizerOptions& options) {
  // The corpus's paragraphs are its documents: merges never cross a blank line.
  const std::string corpus = nn::synthetic_corpus(0, options.corpus_bytes);
  std::vector<std::string> docs;
  for (std::size_t start = 0; start < corpus.size();) {
    const std::size_t end = std::min(corpus.find("\n\n", start), corpus.size());
    docs.push_back(corpus.substr(start, end - start));
    start = end + 2;
  }
  // Seeds far from evaluation's 0, 1, ... (the texts are only tokenized, never trained on).
  for (std::string& text : subtb::vlm::expert_task_texts(options.expert_episodes_per_task, 1'000'000)) {
    docs.push_back(std::move(text));
  }
  return nn::Tokenizer::train(docs, {.vocab_size = options.vocab_size});
}

}  // namespace subtb::gflownet::vlm
