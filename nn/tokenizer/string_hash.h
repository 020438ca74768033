#pragma once
// A string hash for unordered containers that look strings up by std::string_view
// without building a std::string (C++20 heterogeneous lookup).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace subtb::nn {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// How often each word occurs in a corpus.
using WordCounts = StringMap<std::int64_t>;

}  // namespace subtb::nn
