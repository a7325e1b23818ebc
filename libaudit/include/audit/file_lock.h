#pragma once
// Small file-system helpers shared by the evidence, trust and kit code.
#include <string>
#include <string_view>

namespace audit {

// An exclusive flock(2) on PATH.lock (created 0600, parent directories too), held for the
// object's lifetime: serializes the tools that read and rewrite one state file, so that two
// started at once cannot interleave a read and a write. Throws IoError.
class FileLock {
  public:
    explicit FileLock(const std::string& path);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    int fd_ = -1;
};

// A relative path that stays beneath its base: not empty, no leading '/', no backslash or NUL,
// no empty, "." or ".." segment. Used for bundle entry names and kit manifest paths.
bool safe_relative_path(std::string_view path);

}  // namespace audit
