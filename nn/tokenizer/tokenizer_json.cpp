// The tokenizer's JSON file (docs/tokenizer.md):
//   {"format": "subtb.bpe-tokenizer", "version": 1,
//    "special_tokens": ["<pad>", "<bos>", "<eos>", "<image>", "[DONE]", ...],
//    "merges": [[left, right], ...]}
// written one merge per line, so that the file reads and diffs well.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

#include "nn/atomic_file.h"
#include "nn/tokenizer/tokenizer.h"
#include "tensor/error.h"

namespace subtb::nn {

namespace {

constexpr const char* kFormat = "subtb.bpe-tokenizer";
constexpr int kVersion = 1;

template <class... Args>
[[noreturn]] void fail(std::string_view source, const Args&... args) {
  SUBTB_THROW("Tokenizer: ", source, ": ", args...);
}

const nlohmann::json& field(const nlohmann::json& root, const char* name, std::string_view source) {
  const auto it = root.find(name);
  if (it == root.end()) fail(source, "missing field \"", name, "\"");
  return *it;
}

std::vector<std::string> parse_special_tokens(const nlohmann::json& value, std::string_view source) {
  if (!value.is_array()) fail(source, "\"special_tokens\" must be an array of strings, got ", value.type_name());
  std::vector<std::string> tokens;
  for (const nlohmann::json& t : value) {
    if (!t.is_string()) fail(source, "special token ", tokens.size(), " is not a string: ", t.dump());
    tokens.push_back(t.get<std::string>());
  }
  return tokens;
}

std::vector<BpeMerge> parse_merges(const nlohmann::json& value, std::string_view source) {
  if (!value.is_array()) fail(source, "\"merges\" must be an array of [left, right] pairs, got ", value.type_name());
  const auto is_id = [](const nlohmann::json& id) {
    return id.is_number_integer() && id.get<std::int64_t>() >= 0 &&
           id.get<std::int64_t>() <= std::numeric_limits<std::int32_t>::max();
  };
  std::vector<BpeMerge> merges;
  merges.reserve(value.size());
  for (const nlohmann::json& m : value) {
    if (!m.is_array() || m.size() != 2 || !is_id(m[0]) || !is_id(m[1]))
      fail(source, "merge ", merges.size(), " must be a pair of token ids [left, right], got ", m.dump());
    merges.push_back({m[0].get<std::int32_t>(), m[1].get<std::int32_t>()});
  }
  return merges;
}

}  // namespace

std::string Tokenizer::to_json() const {
  std::string out = "{\n  \"format\": \"" + std::string(kFormat) + "\",\n  \"version\": " + std::to_string(kVersion) +
                    ",\n  \"special_tokens\": [";
  for (std::size_t i = 0; i < special_tokens_.size(); ++i)
    out += (i ? ", " : "") + nlohmann::json(special_tokens_[i]).dump();
  out += "],\n  \"merges\": [";
  for (std::size_t i = 0; i < merges_.size(); ++i)
    out +=
        (i ? ",\n    [" : "\n    [") + std::to_string(merges_[i].left) + ", " + std::to_string(merges_[i].right) + "]";
  out += merges_.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

Tokenizer Tokenizer::from_json(std::string_view json, std::string_view source) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json.begin(), json.end());
  } catch (const nlohmann::json::parse_error& e) {
    fail(source, "not valid JSON: ", e.what());
  }
  if (!root.is_object()) fail(source, "expected a JSON object, got ", root.type_name());
  for (const auto& [key, value] : root.items())
    if (key != "format" && key != "version" && key != "special_tokens" && key != "merges")
      fail(source, "unexpected field \"", key, "\" (a tokenizer has format, version, special_tokens and merges)");

  const nlohmann::json& format = field(root, "format", source);
  if (!format.is_string() || format.get<std::string>() != kFormat)
    fail(source, "\"format\" is ", format.dump(), ", expected \"", kFormat, "\" (not a subtb tokenizer file?)");
  const nlohmann::json& version = field(root, "version", source);
  if (!version.is_number_integer()) fail(source, "\"version\" must be an integer, got ", version.dump());
  if (version.get<std::int64_t>() != kVersion)
    fail(source, "unsupported version ", version.dump(), " (this build reads version ", kVersion, ")");

  std::vector<std::string> specials = parse_special_tokens(field(root, "special_tokens", source), source);
  std::vector<BpeMerge> merges = parse_merges(field(root, "merges", source), source);
  try {
    return Tokenizer(std::move(specials), std::move(merges));
  } catch (const Error& e) {
    std::string_view what = e.what();
    if (what.starts_with("Tokenizer: ")) what.remove_prefix(11);  // said once, with the source
    fail(source, what);
  }
}

void Tokenizer::save(const std::string& path) const {
  const std::string json = to_json();
  write_text_atomically(path, json);
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SUBTB_CHECK(in, "Tokenizer::load: cannot open '", path, "': ", std::strerror(errno));
  const std::string json{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  SUBTB_CHECK(!in.bad(), "Tokenizer::load: cannot read '", path, "'");
  return from_json(json, "'" + path + "'");
}

}  // namespace subtb::nn
