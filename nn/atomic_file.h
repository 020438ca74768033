#pragma once
// Atomic file replacement. The bytes go to a temporary file in the target's directory,
// which is flushed, fsync'ed and renamed over the target; then the directory is
// fsync'ed so that the rename itself is durable. Readers, and a crash at any point, see
// either the old file or the new one, never a mix. A failure before the rename removes
// the temporary file and leaves the old file untouched; a crash may leave a temporary
// file behind, named ".<target name>.tmp.<pid>.<n>".
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace subtb::nn {

// Where write_file_atomically's callback sends the bytes.
class FileSink {
 public:
  FileSink(std::FILE* file, const std::string& path) : file_(file), path_(path) {}
  // Throws naming the file when the bytes cannot all be written.
  void write(const void* data, size_t nbytes);

 private:
  std::FILE* file_;
  const std::string& path_;
};

// Replaces `path` by what `write` writes. Any exception (from `write` or from the file
// system) propagates after the temporary file is removed.
void write_file_atomically(const std::string& path, const std::function<void(FileSink&)>& write);

// Replaces `path` by `text`, atomically (configs, summaries, reports).
void write_text_atomically(const std::string& path, std::string_view text);

}  // namespace subtb::nn
