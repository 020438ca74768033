// LoRA: adapters on the named Linears, a frozen base, merged equal to unmerged.
#include "autograd/grad_mode.h"
#include "nn/lora.h"
#include "tests/nn/tiny_lm.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::tiny_lm_config;
using testing::values;

TEST(LoRA, AdaptsNamedLinearsAndFreezesTheBase) {
  Generator gen(1);
  nn::CausalLM lm(tiny_lm_config(), {DType::f64, kCPU, &gen});
  const Tensor tokens = from_vector<int64_t>({1, 5, 2, 7, 3, 3}, Shape{2, 3});
  const std::vector<double> base = values(lm.forward(tokens));

  const std::vector<std::string> adapted = nn::apply_lora(lm, {"q_proj", "v_proj"}, {4, 8.0, 0.0, &gen});
  EXPECT_EQ(adapted, (std::vector<std::string>{"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                               "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"}));
  const auto state = lm.state_dict();
  EXPECT_EQ(state.at("model.layers.1.self_attn.v_proj.lora.A").shape(), (Shape{4, 16}));
  EXPECT_EQ(state.at("model.layers.1.self_attn.v_proj.lora.B").shape(), (Shape{8, 4}));
  const std::vector<Tensor> trainable = nn::trainable_parameters(lm);
  EXPECT_EQ(trainable.size(), 8u);

  // B starts at zero: the adapted model computes the base model exactly.
  const Tensor logits = lm.forward(tokens);
  EXPECT_EQ(values(logits), base);

  sum(logits).backward();
  for (const auto& [name, p] : lm.named_parameters()) {
    const bool is_lora = name.find(".lora.") != std::string::npos;
    EXPECT_EQ(p.grad().defined(), is_lora) << name;
  }
  EXPECT_THROW_MSG(nn::apply_lora(lm, {"q_proj"}), "already has an adapter");
  EXPECT_THROW_MSG(nn::apply_lora(lm, {"qkv"}), "no Linear", "qkv");
}

TEST(LoRA, MergedEqualsUnmerged) {
  Generator gen(2);
  nn::CausalLM lm(tiny_lm_config(), {DType::f64, kCPU, &gen});
  const Tensor tokens = from_vector<int64_t>({1, 5, 2, 7, 3, 3}, Shape{2, 3});
  const Tensor base = lm.forward(tokens);
  nn::apply_lora(lm, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"},
                 {2, 4.0, 0.1, &gen});
  {
    NoGradGuard no_grad;
    for (Tensor& p : nn::trainable_parameters(lm)) p.copy_(randn(p.shape(), DType::f64, kCPU, &gen, 0.0, 0.3));
  }
  lm.eval();  // dropout off: the merged weight stands for the adapter exactly
  const Tensor unmerged = lm.forward(tokens);
  EXPECT_FALSE(all_close(unmerged, base, 1e-3));  // the adapters change the model
  const std::vector<double> q_before = values((*lm.model->layers)[0].self_attn->q_proj->weight);

  nn::merge_lora(lm);
  EXPECT_TRUE(all_close(lm.forward(tokens), unmerged, 1e-12));
  EXPECT_FALSE(all_close((*lm.model->layers)[0].self_attn->q_proj->weight, q_before, 1e-3));

  nn::unmerge_lora(lm);
  EXPECT_TRUE(all_close((*lm.model->layers)[0].self_attn->q_proj->weight, q_before, 1e-14));
  EXPECT_TRUE(all_close(lm.forward(tokens), unmerged, 1e-12));
}

}  // namespace
}  // namespace subtb
