#include "audit/core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "audit/error.h"

namespace audit::core {

namespace {

std::string errno_text(int e) {
    return std::strerror(e);
}

void fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open directory " + dir + ": " + errno_text(errno));
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0 && e != EINVAL)
        throw IoError("cannot fsync directory " + dir + ": " + errno_text(e));
}

// A chmod that failed (errno e) on a file system that keeps no Unix modes: FAT and exFAT (a kit
// stick: the kernel refuses modes it cannot show) and FUSE drivers of them (fusefat: ENOSYS).
bool keeps_no_modes(int fd, int e) {
    if (e != EPERM && e != ENOSYS && e != EOPNOTSUPP) return false;
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0) return false;
    const auto type = static_cast<unsigned long>(fs.f_type);
    return type == 0x4d44UL /* MSDOS */ || type == 0x2011BAB0UL /* exFAT */ ||
           type == 0x65735546UL /* FUSE */;
}

}  // namespace

std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

AtomicFile::AtomicFile(const std::string& target) : target_(target) {
    auto slash = target.rfind('/');
    std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
    path_ = dir_of(target) + "/." + base + ".tmp-XXXXXX";
    fd_ = ::mkostemp(path_.data(), O_CLOEXEC);
    if (fd_ < 0)
        throw IoError("cannot create a file in " + dir_of(target) + ": " + errno_text(errno));
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
}

void AtomicFile::write(std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw IoError("cannot write " + target_ + ": " + errno_text(errno));
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void AtomicFile::commit(bool no_replace, unsigned mode) {
    const std::string& target = target_;
    if (::fchmod(fd_, mode) != 0 && !keeps_no_modes(fd_, errno))
        throw IoError("cannot chmod " + path_ + ": " + errno_text(errno));
    if (::fsync(fd_) != 0) throw IoError("cannot write " + target + ": " + errno_text(errno));
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw IoError("cannot write " + target + ": " + errno_text(errno));
    if (no_replace) {
        // link(2) fails with EEXIST instead of silently replacing an existing bundle.
        if (::link(path_.c_str(), target.c_str()) == 0) {
            ::unlink(path_.c_str());
        } else {
            int e = errno;
            if (e == EEXIST) throw IoError(target + " already exists; refusing to replace it");
            // FAT and exFAT (a kit stick) have no hard links: rename without replacing.
            if (e != EPERM && e != EOPNOTSUPP)
                throw IoError("cannot create " + target + ": " + errno_text(e));
            if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) !=
                0) {
                e = errno;
                if (e == EEXIST) throw IoError(target + " already exists; refusing to replace it");
                if (e != EINVAL && e != ENOSYS)
                    throw IoError("cannot create " + target + ": " + errno_text(e));
                // No RENAME_NOREPLACE either (some FUSE file systems): the scan holds the
                // kit's lock, so nothing of ours races this check.
                struct stat st {};
                if (::lstat(target.c_str(), &st) == 0)
                    throw IoError(target + " already exists; refusing to replace it");
                if (::rename(path_.c_str(), target.c_str()) != 0)
                    throw IoError("cannot create " + target + ": " + errno_text(errno));
            }
        }
    } else if (::rename(path_.c_str(), target.c_str()) != 0) {
        throw IoError("cannot create " + target + ": " + errno_text(errno));
    }
    committed_ = true;
    fsync_dir(dir_of(target));
}

void write_file_atomic(const std::string& path, std::string_view bytes, bool no_replace,
                       unsigned mode) {
    AtomicFile tmp(path);
    tmp.write(bytes);
    tmp.commit(no_replace, mode);
}

}  // namespace audit::core
