#include "nn/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tensor/error.h"

namespace subtb::nn {

namespace {

[[noreturn]] void throw_errno(const std::string& what, int err) {
  SUBTB_THROW("write_file_atomically: ", what, ": ", std::strerror(err));
}

// The temporary file: closed, and removed unless committed, on every exit path.
class TempFile {
 public:
  explicit TempFile(const std::filesystem::path& target) {
    static std::atomic<uint64_t> counter{0};
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    // O_EXCL never reuses a name; a stale file from a crashed run just moves us on.
    const std::string prefix = str(".", target.filename().string(), ".tmp.", ::getpid(), ".");
    for (int attempt = 0; attempt < 1000; ++attempt) {
      path_ = (dir / str(prefix, counter++)).string();
      const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        file_ = ::fdopen(fd, "wb");
        if (!file_) {
          const int err = errno;
          ::close(fd);
          ::unlink(path_.c_str());
          throw_errno("cannot open '" + path_ + "'", err);
        }
        return;
      }
      if (errno != EEXIST) throw_errno("cannot create a temporary file in '" + dir.string() + "'", errno);
    }
    SUBTB_THROW("write_file_atomically: no free temporary file name next to '", target.string(), "'");
  }
  ~TempFile() {
    if (file_) std::fclose(file_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  std::FILE* file() const { return file_; }
  const std::string& path() const { return path_; }

  // Flushes the bytes to the disk and closes the file.
  void sync_and_close() {
    if (std::fflush(file_) != 0) throw_errno("cannot write '" + path_ + "'", errno);
    if (::fsync(::fileno(file_)) != 0) throw_errno("cannot fsync '" + path_ + "'", errno);
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fclose(f) != 0) throw_errno("cannot close '" + path_ + "'", errno);
  }
  void rename_to(const std::string& target) {
    if (std::rename(path_.c_str(), target.c_str()) != 0)
      throw_errno("cannot rename '" + path_ + "' over '" + target + "'", errno);
    committed_ = true;
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

void sync_directory(const std::filesystem::path& target) {
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw_errno("'" + target.string() + "' is in place, but its directory cannot be opened to sync it", errno);
  // Some file systems cannot sync a directory (EINVAL): the rename is then as durable as
  // they make it.
  const int rc = ::fsync(fd), err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL)
    throw_errno("'" + target.string() + "' is in place, but its directory cannot be synced", err);
}

}  // namespace

void FileSink::write(const void* data, size_t nbytes) {
  if (nbytes > 0 && std::fwrite(data, 1, nbytes, file_) != nbytes)
    throw_errno("cannot write " + std::to_string(nbytes) + " bytes for '" + path_ + "'", errno);
}

void write_file_atomically(const std::string& path, const std::function<void(FileSink&)>& write) {
  const std::filesystem::path target(path);
  SUBTB_CHECK(target.has_filename(), "write_file_atomically: '", path, "' does not name a file");
  TempFile temp(target);
  FileSink sink(temp.file(), path);
  write(sink);
  temp.sync_and_close();
  temp.rename_to(path);
  sync_directory(target);
}

void write_text_atomically(const std::string& path, std::string_view text) {
  write_file_atomically(path, [&](FileSink& sink) { sink.write(text.data(), text.size()); });
}

}  // namespace subtb::nn
