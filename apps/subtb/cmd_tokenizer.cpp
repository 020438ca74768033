// `subtb tokenizer`: train a byte-level BPE tokenizer, encode and decode with it, and
// write the built-in corpus (docs/tokenizer.md).
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "apps/subtb/cli_util.h"
#include "apps/subtb/commands.h"
#include "nn/atomic_file.h"
#include "nn/text/synthetic_corpus.h"
#include "nn/tokenizer/tokenizer.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

struct TrainFlags {
  std::vector<std::string> files;
  std::string out;
  std::int32_t vocab_size = 1024;
  std::int64_t min_frequency = 2;
  std::vector<std::string> specials;
  std::uint64_t corpus_seed = 0;
  std::size_t corpus_bytes = 400'000;
};

// A token's bytes as a C-like string literal, so that spaces, newlines and bytes that are
// not printable ASCII show.
std::string escaped(const std::string& bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += {'\\', c};
    } else if (b < 0x20 || b >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", b);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void train(const TrainFlags& flags) {
  std::vector<std::string> texts;
  for (const std::string& path : flags.files) texts.push_back(read_text_file(path, "tokenizer train"));
  if (flags.files.empty()) texts.push_back(nn::synthetic_corpus(flags.corpus_seed, flags.corpus_bytes));
  std::size_t bytes = 0;
  for (const std::string& t : texts) bytes += t.size();

  const auto start = std::chrono::steady_clock::now();
  const nn::Tokenizer tok = nn::Tokenizer::train(
      texts,
      {.vocab_size = flags.vocab_size, .min_frequency = flags.min_frequency, .extra_special_tokens = flags.specials});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tok.save(flags.out);

  std::size_t tokens = 0;
  for (const std::string& t : texts) tokens += tok.encode(t).size();
  std::cout << "Trained on " << bytes << " bytes ("
            << (flags.files.empty()
                    ? "the built-in corpus, seed " + std::to_string(flags.corpus_seed)
                    : std::to_string(flags.files.size()) + (flags.files.size() == 1 ? " file" : " files"))
            << ") in " << seconds << " s: " << tok.vocab_size() << " tokens = 256 bytes + "
            << tok.special_tokens().size() << " special + " << tok.merges().size() << " merges";
  if (tok.vocab_size() < flags.vocab_size)
    std::cout << " (no pair of tokens occurs " << flags.min_frequency << " times any more)";
  std::cout << ".\n"
            << static_cast<double>(bytes) / static_cast<double>(std::max<std::size_t>(tokens, 1))
            << " bytes per token on the training text. Wrote " << flags.out << "\n";
}

}  // namespace

void add_tokenizer_commands(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("tokenizer", "Train a byte-level BPE tokenizer, and encode or decode with one");
  cmd->require_subcommand(1);

  static TrainFlags train_flags;
  CLI::App* train_cmd = cmd->add_subcommand(
      "train", "Learn a tokenizer from text files (the built-in corpus when none is given) and save it as JSON");
  train_cmd->add_option("files", train_flags.files, "Training text files, read as bytes")->check(CLI::ExistingFile);
  train_cmd->add_option("--out", train_flags.out, "Where the tokenizer is written (JSON)")->required();
  train_cmd
      ->add_option("--vocab-size", train_flags.vocab_size,
                   "Vocabulary size to reach: 256 bytes + special tokens + merges")
      ->check(CLI::Range(261, 1 << 24))
      ->capture_default_str();
  train_cmd->add_option("--min-frequency", train_flags.min_frequency, "A pair seen fewer times is never merged")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
      ->capture_default_str();
  train_cmd->add_option("--special", train_flags.specials,
                        "Special tokens beyond <pad> <bos> <eos> <image> [DONE] (ids 261, 262, ...)");
  train_cmd->add_option("--corpus-seed", train_flags.corpus_seed, "Seed of the built-in corpus")->capture_default_str();
  train_cmd->add_option("--corpus-bytes", train_flags.corpus_bytes, "Size of the built-in corpus")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
      ->capture_default_str();
  train_cmd->callback([] { train(train_flags); });

  static std::string tokenizer_path;
  static std::string text;
  static bool allow_special = false;
  static bool show = false;
  CLI::App* encode_cmd = cmd->add_subcommand("encode", "Print the token ids of a text");
  encode_cmd->add_option("text", text, "The text (standard input when absent)");
  encode_cmd->add_option("--tokenizer", tokenizer_path, "The tokenizer's JSON file")
      ->required()
      ->check(CLI::ExistingFile);
  encode_cmd->add_flag("--special", allow_special, "Read special tokens in the text (<bos>, <image>, ...) as such");
  encode_cmd->add_flag("--show", show, "One token per line: its id and its bytes");
  encode_cmd->callback([encode_cmd] {
    const nn::Tokenizer tok = nn::Tokenizer::load(tokenizer_path);
    if (encode_cmd->count("text") == 0) text.assign(std::istreambuf_iterator<char>(std::cin), {});
    const std::vector<std::int32_t> ids = tok.encode(text, allow_special);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (show) {
        std::cout << ids[i] << "\t" << escaped(tok.token_bytes(ids[i])) << (tok.is_special(ids[i]) ? "\tspecial" : "")
                  << "\n";
      } else {
        std::cout << (i ? " " : "") << ids[i];
      }
    }
    if (!show) std::cout << "\n";
  });

  static std::vector<std::int32_t> ids;
  CLI::App* decode_cmd = cmd->add_subcommand("decode", "Print the text of token ids, byte for byte");
  decode_cmd->add_option("ids", ids, "Token ids")->required();
  decode_cmd->add_option("--tokenizer", tokenizer_path, "The tokenizer's JSON file")
      ->required()
      ->check(CLI::ExistingFile);
  decode_cmd->callback([] {
    const std::string bytes = nn::Tokenizer::load(tokenizer_path).decode(ids);
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
  });

  static std::string corpus_out;
  static std::uint64_t corpus_seed = 0;
  static std::size_t corpus_bytes = 400'000;
  CLI::App* corpus_cmd = cmd->add_subcommand("corpus", "Write the built-in training corpus to a file");
  corpus_cmd->add_option("--out", corpus_out, "Where the text is written")->required();
  corpus_cmd->add_option("--seed", corpus_seed, "Seed of the text")->capture_default_str();
  corpus_cmd->add_option("--bytes", corpus_bytes, "Size of the text (whole paragraphs, at least this many bytes)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
      ->capture_default_str();
  corpus_cmd->callback([] {
    const std::string corpus = nn::synthetic_corpus(corpus_seed, corpus_bytes);
    nn::write_file_atomically(corpus_out, [&](nn::FileSink& sink) { sink.write(corpus.data(), corpus.size()); });
    std::cout << "Wrote " << corpus.size() << " bytes to " << corpus_out << "\n";
  });
}

}  // namespace subtb::cli
