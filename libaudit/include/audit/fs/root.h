// A directory tree opened read-only: every access stays inside it and never modifies it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace audit::fs {

// Owns a file descriptor; closes it once.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();
    int get() const noexcept { return fd_; }
    int release() noexcept {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    explicit operator bool() const noexcept { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

// Paths given to Root are root-relative; a leading '/' is allowed and means the root itself.
// Symlinks are resolved inside the root (an absolute link target means root + target) and
// never lead out of it; ".." cannot climb above the root.
class Root {
  public:
    // How paths are resolved inside the root: openat2(RESOLVE_IN_ROOT) where the kernel has it
    // (automatic), or a component-by-component walk with O_NOFOLLOW (portable; also the fallback).
    enum class Resolver { automatic, portable };

    // Throws IoError when not a readable directory.
    explicit Root(const std::string& path, Resolver resolver = Resolver::automatic);
    const std::string& path() const noexcept { return path_; }
    int fd() const noexcept { return fd_.get(); }
    // True when the root is the running system's "/" (live sources such as /proc apply).
    bool is_live() const noexcept { return live_; }

    // Open a regular file or directory read-only (O_NOATIME where permitted). Returns an empty
    // UniqueFd with errno set when it does not exist or cannot be opened; FIFOs, sockets and
    // devices are never opened (errno ENXIO), nor a directory when a file was asked (EISDIR).
    UniqueFd open(std::string_view rel, bool directory = false) const;
    // Whole file, or nullopt when it does not exist. Throws IoError when it exists but cannot be
    // read, is not a regular file, or is larger than max_bytes.
    std::optional<std::string> read_file(std::string_view rel, std::size_t max_bytes) const;
    // Entry names of a directory (sorted, without . and ..); nullopt when it does not exist.
    std::optional<std::vector<std::string>> list_dir(std::string_view rel) const;
    // Target of a symlink, read with readlinkat in its (root-resolved) parent directory; the
    // link itself is never followed. nullopt when the path does not exist or is not a symlink.
    // Throws IoError when it cannot be read or the target is longer than PATH_MAX.
    std::optional<std::string> read_link(std::string_view rel) const;

  private:
    std::string path_;
    UniqueFd fd_;
    bool live_ = false;
    bool portable_ = false;
};

// Canonical form of a root-relative path as recorded in evidence: "/a/b" (no dot segments).
std::string normalize(std::string_view rel);

}  // namespace audit::fs
