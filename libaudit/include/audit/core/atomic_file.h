// The one way the toolkit replaces or creates a file: a temporary file beside the target, fsync,
// rename (or link, refusing to replace), fsync of the directory. A reader sees the old file or the
// whole new one, never a part, even after a power cut.
#pragma once

#include <string>
#include <string_view>

namespace audit::core {

// A temporary file beside target (".NAME.tmp-XXXXXX"), removed unless committed. For writers that
// stream (a bundle's archive) into fd(); write_file_atomic below for bytes already in memory.
class AtomicFile {
  public:
    // IoError when the temporary file cannot be created.
    explicit AtomicFile(const std::string& target);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    int fd() const { return fd_; }
    const std::string& path() const { return path_; }
    // Writes all of bytes to fd() (IoError naming target otherwise).
    void write(std::string_view bytes);
    // chmod (tolerated on file systems without modes: FAT, exFAT, FUSE), fsync, close, move into
    // place at target, fsync the directory. With no_replace an existing target is an IoError
    // ("TARGET already exists; refusing to replace it"), also on FAT (no hard links).
    void commit(bool no_replace, unsigned mode);

  private:
    std::string target_;
    std::string path_;
    int fd_ = -1;
    bool committed_ = false;
};

// Atomically writes bytes to path. When no_replace, an existing file is an error (IoError).
void write_file_atomic(const std::string& path, std::string_view bytes, bool no_replace = false,
                       unsigned mode = 0644);

// The directory part of path ("." when none, "/" for a file in the root).
std::string dir_of(const std::string& path);

}  // namespace audit::core
