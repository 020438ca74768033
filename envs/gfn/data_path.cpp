#include "envs/gfn/data_path.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "tensor/error.h"

namespace subtb::gfn {

namespace fs = std::filesystem;

namespace {

// dir/data/name for dir and each of its ancestors.
void add_ancestors(fs::path dir, std::string_view name, std::vector<fs::path>& candidates) {
  while (!dir.empty()) {
    candidates.push_back(dir / "data" / name);
    const fs::path parent = dir.parent_path();
    if (parent == dir) break;
    dir = parent;
  }
}

}  // namespace

std::string find_data_file(std::string_view name) {
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("SUBTB_DATA_DIR"); dir && *dir) candidates.push_back(fs::path(dir) / name);
  std::error_code error;
  if (const fs::path cwd = fs::current_path(error); !error) add_ancestors(cwd, name, candidates);
  if (const fs::path exe = fs::read_symlink("/proc/self/exe", error); !error) {
    add_ancestors(exe.parent_path(), name, candidates);
  }
  std::string tried;
  for (const fs::path& candidate : candidates) {
    if (fs::is_regular_file(candidate, error)) return candidate.string();
    tried += "\n  " + candidate.string();
  }
  SUBTB_THROW("find_data_file: data file '", name, "' not found (set SUBTB_DATA_DIR); looked at:", tried);
}

}  // namespace subtb::gfn
