#pragma once
// LoRA (Hu et al., 2021): a frozen Linear y = x W^T + b learns a low-rank update
//   y = x W^T + b + (alpha / rank) * dropout(x) A^T B^T,  A: [rank, in], B: [out, rank]
// with A drawn as a Linear weight (kaiming-uniform) and B = 0, so training starts from the
// base model exactly. Merging folds the update into W (W += (alpha / rank) B A) for
// inference at the base cost; unmerging takes it out again.
//
// The adapter hangs under its Linear as "lora": "model.layers.0.self_attn.q_proj.lora.A".
#include <memory>
#include <string>
#include <vector>

#include "nn/init.h"
#include "nn/linear.h"
#include "tensor/ops/random.h"

namespace subtb::nn {

struct LoRAConfig {
  int64_t rank = 8;
  double alpha = 16.0;
  double dropout = 0.0;      // on the adapter's input, while training
  Generator* gen = nullptr;  // A's initialisation and the dropout masks; nullptr: the default
};

class LoRA : public LinearAdapter {
 public:
  // `base` owns the adapter (Linear::set_adapter), so it outlives it.
  LoRA(Linear& base, const LoRAConfig& config);

  // x: [..., in] -> [..., out]; undefined while merged.
  Tensor delta(const Tensor& x) override;

  void merge();
  void unmerge();
  bool merged() const { return merged_; }
  double scale() const { return scale_; }

  Tensor A;  // [rank, in]
  Tensor B;  // [out, rank]

 private:
  // W +/-= scale * B A, without history.
  void fold(double sign);

  Linear* base_;
  double scale_, dropout_;
  Generator* gen_;
  bool merged_ = false;
};

// Attaches a LoRA to every Linear of `model` whose own name (the last part of its dotted
// path, e.g. "q_proj") is in `targets`, and freezes every other parameter of the model.
// Returns the dotted paths of the adapted Linears; throws when no Linear matches, or
// when one already has an adapter.
std::vector<std::string> apply_lora(Module& model, const std::vector<std::string>& targets,
                                    const LoRAConfig& config = {});

// Merges / unmerges every LoRA of the model (those already in that state are left alone).
void merge_lora(Module& model);
void unmerge_lora(Module& model);

// Marks every parameter of the module as not requiring grad.
void freeze(Module& module);
// The parameters that require grad: what an optimizer of a partly frozen model takes.
std::vector<Tensor> trainable_parameters(const Module& module);

}  // namespace subtb::nn
