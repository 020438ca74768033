#pragma once
// Small helpers shared by the subcommands.
#include <filesystem>
#include <string>

namespace subtb::cli {

// The whole file's bytes; throws naming `command` and the file when it cannot be read.
std::string read_text_file(const std::filesystem::path& path, const std::string& command);

// "42s", "3m07s" or "2h05m": a duration for a progress line.
std::string format_duration(double seconds);

}  // namespace subtb::cli
