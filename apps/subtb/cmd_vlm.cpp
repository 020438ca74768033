// `subtb vlm train-sft` / `subtb vlm generate`: supervised fine-tuning of the compact VLM
// on an SFT folder (`subtb env sft`), and answering (image, prompt) pairs with a trained
// run (docs/vlm.md).
//
// A run folder holds config.json (model, training and data settings), tokenizer.json,
// metrics.jsonl (one line per log step: step, loss, val_loss, lr, examples_per_second,
// seconds), loss.png, and checkpoints/step-<N>.safetensors (model, optimizer, batch
// generator; the two newest are kept): apps/subtb/supervised_run.h.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/subtb/cli_util.h"
#include "apps/subtb/commands.h"
#include "apps/subtb/supervised_run.h"
#include "gflownet/training_run.h"
#include "nn/checkpoint.h"
#include "nn/tokenizer/special_tokens.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/image_file.h"
#include "nn/vision/vlm_sft.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

namespace fs = std::filesystem;

struct TrainFlags {
  std::string data;
  std::string config = "tiny";
  std::string tokenizer;  // a tokenizer.json; empty: learn one from the examples
  int32_t vocab_size = 1024;
  int64_t steps = 1000;
  int64_t batch = 8;
  double lr = 1e-3;
  int64_t warmup = 20;
  double weight_decay = 0.0;
  uint64_t seed = 0;
  int64_t log_every = 10;
  int64_t eval_every = 100;
  std::string device = "cpu";
  std::string out;
};

struct GenerateFlags {
  std::string run;
  std::vector<std::string> images, prompts;
  int64_t max_new_tokens = 200;
  bool greedy = false;
  double temperature = 0.7;
  double top_p = 0.95;
  uint64_t seed = 0;
  std::string device = "cpu";
};

nn::Tokenizer make_tokenizer(const TrainFlags& f, const std::vector<nn::SftExample>& examples) {
  if (!f.tokenizer.empty()) return nn::Tokenizer::load(f.tokenizer);
  std::vector<std::string> texts;
  for (const nn::SftExample& e : examples) texts.insert(texts.end(), {e.prompt, e.answer});
  return nn::Tokenizer::train(texts, {.vocab_size = f.vocab_size});
}

void run_train(const TrainFlags& f) {
  const std::vector<nn::SftExample> examples = nn::read_sft_examples(f.data);
  const fs::path run =
      f.out.empty() ? fs::path("runs/vlm-" + f.config + "-seed" + std::to_string(f.seed)) : fs::path(f.out);
  fs::create_directories(run);
  const nn::Tokenizer tokenizer = make_tokenizer(f, examples);
  tokenizer.save((run / "tokenizer.json").string());

  nn::VLMConfig model_config = nn::vlm_preset(f.config);
  model_config.language.vocab_size = tokenizer.vocab_size();
  model_config.image_token_id = nn::kImageToken;
  const Device device = Device::parse(f.device);
  Generator init(f.seed);
  nn::VisionLanguageModel model(model_config, {DType::f32, device, &init});
  const nn::VlmSftConfig train_config{.batch = f.batch,
                                      .steps = f.steps,
                                      .warmup = std::min(f.warmup, f.steps - 1),
                                      .lr = f.lr,
                                      .weight_decay = f.weight_decay,
                                      .seed = f.seed};
  const auto t0 = std::chrono::steady_clock::now();
  nn::VlmSftTrainer trainer(model, tokenizer, examples, train_config);
  std::cout << examples.size() << " examples from " << f.data << ", tokenizer of " << tokenizer.vocab_size()
            << " tokens ("
            << format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count())
            << " to load)\n";

  nlohmann::json training = optimizer_json(train_config);
  training["device"] = f.device;
  const nlohmann::json config = {{"model", nlohmann::json::parse(nn::to_json(model_config))},
                                 {"preset", f.config},
                                 {"training", training},
                                 {"data", {{"dir", f.data}, {"examples", examples.size()}}},
                                 {"tokenizer", "tokenizer.json"},
                                 {"log_every", f.log_every},
                                 {"eval_every", f.eval_every}};

  std::cout << "Training a " << f.config << " VLM (" << parameter_count(model) << " parameters) for " << f.steps
            << " steps of " << f.batch << " examples on " << device << "; run folder " << run.string() << "\n";

  SupervisedRunOptions options;
  options.command = "vlm train-sft";
  options.out = run;
  options.config_json = config.dump();
  options.steps = f.steps;
  options.log_every = f.log_every;
  options.eval_every = f.eval_every;
  options.items_per_step = f.batch;
  options.items = "examples";
  options.eval_name = "all examples";
  options.plot.title = "VLM supervised fine-tuning";
  options.plot.x_label = "step";
  options.plot.y_label = "answer NLL (nats / token)";
  run_supervised(supervised_trainer(trainer), options);
}

void run_generate(const GenerateFlags& f) {
  SUBTB_CHECK(f.images.size() == f.prompts.size(), "vlm generate: ", f.images.size(), " --image and ", f.prompts.size(),
              " --prompt given; give one prompt per image");
  const fs::path run = f.run;
  const nlohmann::json config = nlohmann::json::parse(read_text_file(run / "config.json", "vlm generate"));
  SUBTB_CHECK(config.contains("model") && config.at("model").contains("vision"), "vlm generate: '",
              (run / "config.json").string(), "' has no VLM config: is it a `vlm train-sft` run folder?");
  const nn::VLMConfig model_config = nn::vlm_config_from_json(config.at("model").dump());
  const nn::Tokenizer tokenizer = nn::Tokenizer::load((run / "tokenizer.json").string());
  const Device device = Device::parse(f.device);
  nn::VisionLanguageModel model(model_config, {DType::f32, device});
  const fs::path checkpoint = gflownet::last_checkpoint(run);
  nn::load_checkpoint(checkpoint.string(), nn::TrainingState{model});

  std::vector<nn::OwnedImage> decoded;
  std::vector<nn::RgbImage> views;
  std::vector<std::vector<int64_t>> prompts;
  for (size_t i = 0; i < f.images.size(); ++i) decoded.push_back(nn::read_image(f.images[i]));
  for (size_t i = 0; i < f.images.size(); ++i) {
    views.push_back(decoded[i].view());
    prompts.push_back(nn::vlm_prompt_tokens(tokenizer, model, f.prompts[i]));
  }
  Generator gen(f.seed);
  nn::GenerationConfig g;
  g.max_new_tokens = f.max_new_tokens;
  g.greedy = f.greedy;
  g.temperature = f.temperature;
  g.top_p = f.top_p;
  g.stop_token_ids = {nn::kEosToken};
  g.pad_token_id = nn::kPadToken;
  g.gen = &gen;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<nn::GeneratedRow> rows = model.generate(prompts, model.preprocess(views), g);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t generated = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<int32_t> ids(rows[i].tokens.begin(), rows[i].tokens.end());
    if (!ids.empty() && ids.back() == nn::kEosToken) ids.pop_back();
    generated += rows[i].tokens.size();
    std::cout << tokenizer.decode(ids) << "\n";
    if (i + 1 < rows.size()) std::cout << "---\n";
  }
  std::fprintf(stderr, "(%zu tokens in %.2fs, checkpoint %s)\n", generated, seconds,
               checkpoint.filename().string().c_str());
}

}  // namespace

void add_vlm_commands(CLI::App& app) {
  static TrainFlags t;
  static GenerateFlags g;
  CLI::App* vlm = app.add_subcommand("vlm", "Fine-tune the compact vision-language model and query it");
  vlm->require_subcommand(1);

  CLI::App* train = vlm->add_subcommand(
      "train-sft", "Supervised fine-tuning on an SFT folder of (image, prompt, answer) examples, writing a run folder");
  train->add_option("--data", t.data, "SFT folder written by `subtb env sft`")
      ->required()
      ->check(CLI::ExistingDirectory);
  train->add_option("--config", t.config, "Model size: tiny, small or base")
      ->check(CLI::IsMember({"tiny", "small", "base"}))
      ->capture_default_str();
  train->add_option("--tokenizer", t.tokenizer, "A tokenizer.json to use (default: learn one from the examples)")
      ->check(CLI::ExistingFile);
  train->add_option("--vocab-size", t.vocab_size, "Vocabulary of the tokenizer learned from the examples")
      ->check(CLI::Range(512, 1 << 20))
      ->capture_default_str();
  train->add_option("--steps", t.steps, "Training steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--batch", t.batch, "Examples per step")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  train->add_option("--lr", t.lr, "Peak AdamW learning rate")->check(CLI::Range(1e-8, 10.0))->capture_default_str();
  train->add_option("--warmup", t.warmup, "Linear warmup steps")->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_option("--weight-decay", t.weight_decay, "AdamW weight decay")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  train->add_option("--seed", t.seed, "Random seed (weights, batches)")->capture_default_str();
  train->add_option("--log-every", t.log_every, "Print and record every N steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--eval-every", t.eval_every, "Score every example, plot and checkpoint every N steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--device", t.device, "cpu or cuda[:N]")->capture_default_str();
  train->add_option("--out", t.out, "Run folder (default runs/vlm-<config>-seed<seed>)");
  train->callback([] { run_train(t); });

  CLI::App* gen = vlm->add_subcommand("generate", "Answer (image, prompt) pairs with a trained run's model");
  gen->add_option("--run", g.run, "Run folder of `subtb vlm train-sft`")->required()->check(CLI::ExistingDirectory);
  gen->add_option("--image", g.images, "Image file (PNG; repeat for a batch)")->required()->check(CLI::ExistingFile);
  gen->add_option("--prompt", g.prompts, "Prompt text, one per --image, in the same order")->required();
  gen->add_option("--max-new-tokens", g.max_new_tokens, "Tokens to generate per prompt")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  gen->add_flag("--greedy", g.greedy, "Take the most likely token at each step");
  gen->add_option("--temperature", g.temperature, "Sampling temperature")
      ->check(CLI::Range(1e-6, 100.0))
      ->capture_default_str();
  gen->add_option("--top-p", g.top_p, "Nucleus sampling mass")->check(CLI::Range(1e-6, 1.0))->capture_default_str();
  gen->add_option("--seed", g.seed, "Sampling seed")->capture_default_str();
  gen->add_option("--device", g.device, "cpu or cuda[:N]")->capture_default_str();
  gen->callback([] { run_generate(g); });
}

}  // namespace subtb::cli
