// `subtb lm train` / `subtb lm generate`: a small LLaMA-shaped language model trained on a
// text file (or the built-in synthetic corpus) with a byte-level BPE tokenizer learned
// from the same text, and sampling from a trained run.
//
// A run folder holds config.json (model, training and data settings), tokenizer.json,
// metrics.jsonl (one line per log step: step, loss, val_loss, lr, tokens_per_second,
// seconds), loss.png, model.safetensors (the weights under Hugging Face's LLaMA names,
// rewritten at every evaluation) and checkpoints/step-<N>.safetensors (model, optimizer
// and window generator, nn/checkpoint.h; the two newest are kept), apps/subtb/supervised_run.h.
// `lm train --resume <folder>` continues a run from its newest checkpoint exactly as if it had
// never stopped. `lm generate --run <folder>` reads config.json, tokenizer.json and
// model.safetensors.
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
#include "nn/generation.h"
#include "nn/lm_trainer.h"
#include "nn/safetensors.h"
#include "nn/text/synthetic_corpus.h"
#include "nn/tokenizer/tokenizer.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

namespace fs = std::filesystem;

struct TrainFlags {
  std::string text;  // a file; empty: the synthetic corpus
  int64_t corpus_bytes = 400'000;
  std::string config = "tiny";
  int32_t vocab_size = 1024;
  int64_t steps = 1000;
  int64_t batch = 16;
  int64_t seq_len = 0;  // 0: the config's max_seq_len
  double lr = 3e-3;
  int64_t warmup = 50;
  double weight_decay = 0.1;
  double val_fraction = 0.05;
  uint64_t seed = 0;
  int64_t log_every = 10;
  int64_t eval_every = 100;
  std::string out;
  std::string resume;  // a run folder to continue
};

struct GenerateFlags {
  std::string run;
  std::vector<std::string> prompts;
  int64_t max_new_tokens = 100;
  bool greedy = false;
  double temperature = 0.8;
  int64_t top_k = 0;
  double top_p = 0.95;
  std::vector<std::string> stop;
  uint64_t seed = 0;
};

std::vector<int64_t> widen(const std::vector<int32_t>& ids) { return {ids.begin(), ids.end()}; }

// The flags of the run saved in `given.resume`'s config.json; flags other than --resume
// would change what the run computes, so they are refused.
TrainFlags resumed_flags(const TrainFlags& given, const CLI::App& command) {
  for (const CLI::Option* option : command.get_options()) {
    SUBTB_CHECK(option->count() == 0 || option->get_name() == "--resume", "lm train --resume: ", option->get_name(),
                " is not allowed: a resumed run keeps the settings saved in '", given.resume, "/config.json'");
  }
  const nlohmann::json saved =
      nlohmann::json::parse(read_text_file(fs::path(given.resume) / "config.json", "lm train --resume"));
  TrainFlags f;
  try {
    const nlohmann::json& training = saved.at("training");
    const nlohmann::json& data = saved.at("data");
    const std::string text = data.at("text").get<std::string>();
    f.text = text == "synthetic" ? "" : text;
    f.corpus_bytes = data.at("corpus_bytes").get<int64_t>();
    f.val_fraction = data.at("val_fraction").get<double>();
    f.config = saved.at("preset").get<std::string>();
    f.steps = training.at("steps").get<int64_t>();
    f.batch = training.at("batch").get<int64_t>();
    f.seq_len = training.at("seq_len").get<int64_t>();
    f.lr = training.at("lr").get<double>();
    f.warmup = training.at("warmup").get<int64_t>();
    f.weight_decay = training.at("weight_decay").get<double>();
    f.seed = training.at("seed").get<uint64_t>();
    f.log_every = saved.at("log_every").get<int64_t>();
    f.eval_every = saved.at("eval_every").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("lm train --resume: '", given.resume, "/config.json' is not an lm run's config: ", e.what());
  }
  f.out = given.resume;
  f.resume = given.resume;
  return f;
}

void run_train(const TrainFlags& given, const CLI::App& command) {
  const TrainFlags f = given.resume.empty() ? given : resumed_flags(given, command);
  const bool resume = !f.resume.empty();
  const std::string text = f.text.empty() ? nn::synthetic_corpus(f.seed, static_cast<size_t>(f.corpus_bytes))
                                          : read_text_file(f.text, "lm train");
  const fs::path run =
      f.out.empty() ? fs::path("runs/lm-" + f.config + "-seed" + std::to_string(f.seed)) : fs::path(f.out);
  fs::create_directories(run);

  const auto t0 = std::chrono::steady_clock::now();
  const nn::Tokenizer tokenizer =
      resume ? nn::Tokenizer::load((run / "tokenizer.json").string())
             : nn::Tokenizer::train(std::vector<std::string>{text}, {.vocab_size = f.vocab_size});
  if (!resume) tokenizer.save((run / "tokenizer.json").string());
  const std::vector<int64_t> stream = widen(tokenizer.encode(text));
  std::cout << "Tokenizer: " << tokenizer.vocab_size() << " tokens, " << text.size() << " bytes -> " << stream.size()
            << " tokens ("
            << format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) << ")\n";

  nn::CausalLMConfig model_config = nn::lm_preset(f.config);
  model_config.vocab_size = tokenizer.vocab_size();
  nn::LMTrainingConfig train_config;
  train_config.batch = f.batch;
  train_config.seq_len = f.seq_len > 0 ? f.seq_len : model_config.max_seq_len;
  train_config.steps = f.steps;
  train_config.warmup = std::min(f.warmup, f.steps - 1);
  train_config.lr = f.lr;
  train_config.weight_decay = f.weight_decay;
  train_config.seed = f.seed;

  const size_t val_size = static_cast<size_t>(static_cast<double>(stream.size()) * f.val_fraction);
  const bool with_val = val_size > static_cast<size_t>(train_config.seq_len) + 1;
  const size_t train_size = stream.size() - (with_val ? val_size : 0);
  std::vector<int64_t> train(stream.begin(), stream.begin() + static_cast<ptrdiff_t>(train_size));
  std::vector<int64_t> val(with_val
                               ? std::vector<int64_t>(stream.begin() + static_cast<ptrdiff_t>(train_size), stream.end())
                               : std::vector<int64_t>());

  Generator init(f.seed);
  nn::CausalLM model(model_config, {DType::f32, kCPU, &init});
  nn::LMTrainer trainer(model, std::move(train), std::move(val), train_config);

  nlohmann::json training = optimizer_json(train_config);
  training["seq_len"] = train_config.seq_len;
  const nlohmann::json config = {{"model", nlohmann::json::parse(nn::to_json(model_config))},
                                 {"preset", f.config},
                                 {"training", training},
                                 {"data",
                                  {{"text", f.text.empty() ? "synthetic" : f.text},
                                   {"corpus_bytes", f.corpus_bytes},
                                   {"bytes", text.size()},
                                   {"tokens", stream.size()},
                                   {"val_fraction", with_val ? f.val_fraction : 0.0},
                                   {"tokenizer", "tokenizer.json"}}},
                                 {"log_every", f.log_every},
                                 {"eval_every", f.eval_every}};
  if (resume) {
    const nlohmann::json saved = nlohmann::json::parse(read_text_file(run / "config.json", "lm train --resume"));
    SUBTB_CHECK(saved == config, "lm train --resume: the data of '", run.string(),
                "' changed since the run started (its text file, or the tokenizer): the rebuilt config ", config.dump(),
                " differs from the saved ", saved.dump());
  }

  std::cout << (resume ? "Resuming a " : "Training a ") << f.config << " model (" << parameter_count(model)
            << " parameters) for " << f.steps << " steps of " << trainer.tokens_per_step() << " tokens; run folder "
            << run.string() << "\n";

  SupervisedRunOptions options;
  options.command = resume ? "lm train --resume" : "lm train";
  options.out = run;
  options.config_json = config.dump();
  options.steps = f.steps;
  options.log_every = f.log_every;
  options.eval_every = f.eval_every;
  options.items_per_step = trainer.tokens_per_step();
  options.items = "tokens";
  options.eval_name = "validation";
  options.plot.title = "Language model training";
  options.plot.x_label = "step";
  options.plot.y_label = "cross-entropy (nats / token)";
  options.resume = resume;
  options.on_checkpoint = [&] { nn::save_safetensors((run / "model.safetensors").string(), model.state_dict()); };
  run_supervised(supervised_trainer(trainer), options);

  nn::GenerationConfig sample;
  sample.max_new_tokens = std::min<int64_t>(60, model_config.max_seq_len - 8);
  sample.temperature = 0.8;
  sample.top_p = 0.95;
  sample.gen = &init;
  const std::vector<int32_t> prompt = tokenizer.encode("The");
  const nn::GeneratedRow row = nn::generate(model, {widen(prompt)}, sample)[0];
  const std::vector<int32_t> ids(row.tokens.begin(), row.tokens.end());
  std::cout << "Sample: The" << tokenizer.decode(ids) << "\n";
}

void run_generate(const GenerateFlags& f) {
  const fs::path run = f.run;
  const nlohmann::json config = nlohmann::json::parse(read_text_file(run / "config.json", "lm generate"));
  SUBTB_CHECK(config.contains("model"), "lm generate: '", (run / "config.json").string(),
              "' has no model config: is it an lm run folder?");
  const nn::CausalLMConfig model_config = nn::lm_config_from_json(config.at("model").dump());
  const nn::Tokenizer tokenizer = nn::Tokenizer::load((run / "tokenizer.json").string());
  nn::CausalLM model(model_config);
  model.load_state_dict(nn::load_safetensors((run / "model.safetensors").string()).tensors);

  Generator gen(f.seed);
  nn::GenerationConfig g;
  g.max_new_tokens = f.max_new_tokens;
  g.greedy = f.greedy;
  g.temperature = f.temperature;
  g.top_k = f.top_k;
  g.top_p = f.top_p;
  g.stop_token_ids = {nn::kEosToken};
  g.stop_strings = f.stop;
  g.decode = [&](const std::vector<int64_t>& ids) {
    return tokenizer.decode(std::vector<int32_t>(ids.begin(), ids.end()));
  };
  g.pad_token_id = nn::kPadToken;
  g.gen = &gen;

  const std::vector<std::string> prompts = f.prompts.empty() ? std::vector<std::string>{"The"} : f.prompts;
  std::vector<std::vector<int64_t>> encoded;
  for (const std::string& p : prompts) {
    encoded.push_back(widen(tokenizer.encode(p, /*allow_special=*/true)));
    SUBTB_CHECK(!encoded.back().empty(), "lm generate: an empty prompt");
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<nn::GeneratedRow> rows = nn::generate(model, encoded, g);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t generated = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    generated += rows[i].tokens.size();
    std::cout << prompts[i] << g.decode(rows[i].tokens) << "\n";
    if (i + 1 < rows.size()) std::cout << "---\n";
  }
  std::fprintf(stderr, "(%zu tokens in %.2fs: %.1f tokens/s)\n", generated, seconds,
               static_cast<double>(generated) / seconds);
}

}  // namespace

void add_lm_commands(CLI::App& app) {
  static TrainFlags t;
  static GenerateFlags g;
  CLI::App* lm = app.add_subcommand("lm", "Train a small language model and sample from it");
  lm->require_subcommand(1);

  CLI::App* train = lm->add_subcommand("train", "Train a tokenizer and a causal LM on a text, writing a run folder");
  train->add_option("--text", t.text, "Training text file (default: the built-in synthetic corpus)")
      ->check(CLI::ExistingFile);
  train->add_option("--corpus-bytes", t.corpus_bytes, "Size of the synthetic corpus")
      ->check(CLI::Range(int64_t{10'000}, int64_t{1} << 32))
      ->capture_default_str();
  train->add_option("--config", t.config, "Model size: tiny, small or base")
      ->check(CLI::IsMember({"tiny", "small", "base"}))
      ->capture_default_str();
  train->add_option("--vocab-size", t.vocab_size, "Tokenizer vocabulary (bytes + special tokens + merges)")
      ->check(CLI::Range(512, 1 << 20))
      ->capture_default_str();
  train->add_option("--steps", t.steps, "Training steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--batch", t.batch, "Sequences per step")->check(CLI::Range(1, 1 << 16))->capture_default_str();
  train->add_option("--seq-len", t.seq_len, "Tokens per sequence (default: the config's max_seq_len)")
      ->check(CLI::Range(1, 1 << 16));
  train->add_option("--lr", t.lr, "Peak AdamW learning rate")->check(CLI::Range(1e-8, 10.0))->capture_default_str();
  train->add_option("--warmup", t.warmup, "Linear warmup steps")->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_option("--weight-decay", t.weight_decay, "AdamW weight decay (matrices only)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  train->add_option("--val-fraction", t.val_fraction, "Share of the text held out for validation")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  train->add_option("--seed", t.seed, "Random seed (corpus, weights, batches)")->capture_default_str();
  train->add_option("--log-every", t.log_every, "Print and record every N steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--eval-every", t.eval_every, "Validate, plot and checkpoint every N steps")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--out", t.out, "Run folder (default runs/lm-<config>-seed<seed>)");
  train
      ->add_option("--resume", t.resume,
                   "Continue the run in this folder from its newest checkpoint, with its saved settings")
      ->check(CLI::ExistingDirectory);
  train->callback([train] { run_train(t, *train); });

  CLI::App* gen = lm->add_subcommand("generate", "Continue prompts with a trained run's model");
  gen->add_option("--run", g.run, "Run folder of `subtb lm train`")->required()->check(CLI::ExistingDirectory);
  gen->add_option("--prompt", g.prompts, "Prompt text (repeat for a batch; default \"The\")");
  gen->add_option("--max-new-tokens", g.max_new_tokens, "Tokens to generate per prompt")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  gen->add_flag("--greedy", g.greedy, "Take the most likely token at each step");
  gen->add_option("--temperature", g.temperature, "Sampling temperature")
      ->check(CLI::Range(1e-6, 100.0))
      ->capture_default_str();
  gen->add_option("--top-k", g.top_k, "Sample among the k most likely tokens (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  gen->add_option("--top-p", g.top_p, "Nucleus sampling mass")->check(CLI::Range(1e-6, 1.0))->capture_default_str();
  gen->add_option("--stop", g.stop, "Stop a row when its text contains this string (repeatable)");
  gen->add_option("--seed", g.seed, "Sampling seed")->capture_default_str();
  gen->callback([] { run_generate(g); });
}

}  // namespace subtb::cli
