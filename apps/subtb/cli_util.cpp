#include "apps/subtb/cli_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "tensor/error.h"

namespace subtb::cli {

std::string read_text_file(const std::filesystem::path& path, const std::string& command) {
  std::ifstream in(path, std::ios::binary);
  SUBTB_CHECK(in.good(), command, ": cannot open '", path.string(), "'");
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  SUBTB_CHECK(!in.bad(), command, ": cannot read '", path.string(), "'");
  return text;
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(seconds, 0.0));
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

}  // namespace subtb::cli
