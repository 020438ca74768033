#pragma once
// A built-in training text: English-like sentences generated from a seed, about the
// worlds of the VLM tasks (numbers on a line, arithmetic, playing cards and their sums,
// objects in the rooms of a house, and answers in the tasks' JSON style). A tokenizer
// and a small language model can train on it with nothing downloaded. The grammar is
// small, so a model learns it quickly; the numbers are computed, so the sentences are
// true ("seven plus five is twelve").
//
// The text is paragraphs of a few sentences on one topic, separated by blank lines,
// ASCII only. The same seed gives the same bytes on every platform.
#include <cstddef>
#include <cstdint>
#include <string>

namespace subtb::nn {

// Whole paragraphs until the text holds at least `min_bytes` bytes (it stops at the
// end of that paragraph, a few hundred bytes later at most).
std::string synthetic_corpus(std::uint64_t seed, std::size_t min_bytes = 400'000);

}  // namespace subtb::nn
