#include "audit/fs/walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "walk_internal.h"

namespace audit::fs {

namespace {

constexpr std::size_t kMaxLinkTarget = 65536;

// Anything that shows the content may have moved under us while it was read.
bool unchanged(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace

namespace detail {

std::string errtext(const char* what, int e) {
    return std::string(what) + ": " + std::strerror(e);
}

const char* type_of(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISSOCK(m)) return "socket";
    if (S_ISCHR(m)) return "char";
    if (S_ISBLK(m)) return "block";
    return "unknown";
}

void fill(FileRecord& rec, const struct stat& st) {
    rec.type = type_of(st.st_mode);
    rec.size = static_cast<std::uint64_t>(st.st_size);
    rec.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
    rec.uid = st.st_uid;
    rec.gid = st.st_gid;
    rec.mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec);
}

std::string read_link(int dirfd, const char* name, std::string& error) {
    std::string target(4096, '\0');
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name, target.data(), target.size());
        if (n < 0) {
            error = errtext("readlink", errno);
            return {};
        }
        if (static_cast<std::size_t>(n) < target.size()) {
            target.resize(static_cast<std::size_t>(n));
            return target;
        }
        if (target.size() >= kMaxLinkTarget) {
            error = "readlink: target too long";
            return {};
        }
        target.resize(target.size() * 2);
    }
}

std::string join(const std::string& dir, std::string_view name) {
    std::string out;
    out.reserve(dir.size() + 1 + name.size());
    if (dir != "/") out = dir;
    out += '/';
    out += name;
    return out;
}

void hash_opened(FileHasher& hasher, int fd, const struct stat& before, FileRecord& rec,
                 std::uint64_t& bytes_hashed, const FileHasher::FirstRead* first,
                 const WalkOptions* options) {
    const auto size = static_cast<std::uint64_t>(before.st_size);
    auto r = first ? hasher.hash(fd, size, *first) : hasher.hash(fd, size);
    if (r.error != 0) {
        rec.error = errtext("read", r.error);
        return;
    }
    if (options && options->after_read) options->after_read(rec.path);
    struct stat after {};
    if (r.grew || ::fstat(fd, &after) != 0 || !unchanged(before, after) ||
        r.bytes != static_cast<std::uint64_t>(before.st_size))
        rec.unstable = true;
    rec.digests = std::move(r.digests);
    bytes_hashed += r.bytes;
}

}  // namespace detail

namespace {

using namespace detail;

// Hashes name (in dirfd) whose lstat was st; fills digests, error, unstable.
void hash_entry(FileHasher& hasher, int dirfd, const char* name, const struct stat& st,
                FileRecord& rec, WalkStats& stats) {
    UniqueFd f(open_read_only(dirfd, name, 0, static_cast<long>(st.st_uid)));
    if (!f) {
        rec.error = errtext("open", errno);
        return;
    }
    struct stat before {};
    if (::fstat(f.get(), &before) != 0) {
        rec.error = errtext("fstat", errno);
        return;
    }
    if (!S_ISREG(before.st_mode) || !same_inode(st, before)) {
        rec.error = "replaced while being opened";
        rec.unstable = true;
        return;
    }
    hash_opened(hasher, f.get(), before, rec, stats.bytes_hashed);
}

// Names in a directory, byte order; the fd stays usable (the listing uses a duplicate).
bool list(int dirfd, std::vector<std::string>& names, std::string& error) {
    // A duplicate: readdir moves only the shared offset, openat on dirfd does not care.
    int fd = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        error = errtext("opendir", errno);
        return false;
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
        error = errtext("opendir", errno);
        ::close(fd);
        return false;
    }
    for (;;) {
        errno = 0;
        dirent* e = ::readdir(d);
        if (e == nullptr) {
            if (errno != 0) error = errtext("readdir", errno);
            break;
        }
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        if (names.size() >= kMaxDirEntries) {
            error = "readdir: too many entries";
            break;
        }
        names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return error.empty();
}

struct Walk {
    const WalkOptions& options;
    const std::function<void(FileRecord&&)>& sink;
    WalkStats& stats;
    dev_t start_dev = 0;
    std::unique_ptr<FileHasher> hasher;

    void emit(FileRecord& rec) {
        if (!rec.error.empty()) ++stats.errors;
        sink(std::move(rec));
    }

    // name inside dirfd, recorded as path; descends into directories.
    void entry(int dirfd, const char* name, const std::string& path, std::uint64_t depth) {
        FileRecord rec;
        rec.path = path;
        struct stat st {};
        if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rec.type = errno == ENOENT ? "missing" : "unknown";
            rec.error = errtext("lstat", errno);
            emit(rec);
            return;
        }
        fill(rec, st);
        if (S_ISREG(st.st_mode)) {
            ++stats.files;
            if (options.hash) {
                if (!hasher) hasher = std::make_unique<FileHasher>(options.digests);
                hash_entry(*hasher, dirfd, name, st, rec, stats);
            }
            emit(rec);
        } else if (S_ISLNK(st.st_mode)) {
            ++stats.files;
            rec.link_target = read_link(dirfd, name, rec.error);
            emit(rec);
        } else if (S_ISDIR(st.st_mode)) {
            directory(dirfd, name, st, rec, depth);
        } else {
            ++stats.files;
            ++stats.skipped_special;  // never opened: reading a FIFO or a device could block or act
            emit(rec);
        }
    }

    void directory(int dirfd, const char* name, const struct stat& st, FileRecord& rec,
                   std::uint64_t depth) {
        ++stats.dirs;
        if (options.one_filesystem && st.st_dev != start_dev) {
            rec.skipped = "other-filesystem";
            ++stats.skipped_other_fs;
            emit(rec);
            return;
        }
        if (depth >= options.max_depth) {
            rec.skipped = "max-depth";
            emit(rec);
            return;
        }
        UniqueFd d(open_read_only(dirfd, name, O_DIRECTORY, static_cast<long>(st.st_uid)));
        struct stat now {};
        std::vector<std::string> names;
        if (!d) {
            rec.error = errtext("open", errno);
        } else if (::fstat(d.get(), &now) != 0 || !same_inode(st, now)) {
            rec.error = "replaced while being opened";
            rec.unstable = true;
        } else {
            list(d.get(), names, rec.error);
        }
        const std::string path = rec.path;
        emit(rec);  // pre-order, also when the listing was cut short
        for (const auto& n : names) entry(d.get(), n.c_str(), join(path, n), depth + 1);
    }
};

}  // namespace

nlohmann::json WalkStats::to_json() const {
    nlohmann::json j = {{"files", files},
                        {"dirs", dirs},
                        {"bytes_hashed", bytes_hashed},
                        {"errors", errors},
                        {"skipped_special", skipped_special},
                        {"skipped_other_fs", skipped_other_fs}};
    if (!io.empty()) j["io"] = io;
    return j;
}

void walk(const Root& root, std::string_view rel, const WalkOptions& options,
          const std::function<void(FileRecord&&)>& sink, WalkStats& stats) {
    const std::string path = normalize(rel);
    Walk w{options, sink, stats, 0, nullptr};
    if (path == "/") {
        struct stat st {};
        if (::fstat(root.fd(), &st) != 0) return;
        w.start_dev = st.st_dev;
        // The root itself, reached as "." of its O_PATH handle.
        FileRecord rec;
        rec.path = "/";
        fill(rec, st);
        w.directory(root.fd(), ".", st, rec, 0);
        return;
    }
    const std::size_t slash = path.rfind('/');
    const std::string parent = slash == 0 ? "/" : path.substr(0, slash);
    const std::string name = path.substr(slash + 1);
    UniqueFd dir = root.open(parent, true);
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR) return;
        FileRecord rec;
        rec.path = path;
        rec.type = "unknown";
        rec.error = errtext("open parent", errno);
        w.emit(rec);
        return;
    }
    struct stat st {};
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
        return;
    w.start_dev = st.st_dev;
    w.entry(dir.get(), name.c_str(), path, 0);
}

FileRecord inspect(const Root& root, std::string_view rel, bool hash, const DigestPolicy& digests) {
    FileRecord out;
    bool got = false;
    WalkOptions options;
    options.hash = hash;
    options.digests = digests;
    options.max_depth = 0;  // the entry itself, never its children
    WalkStats stats;
    walk(
        root, rel, options,
        [&](FileRecord&& r) {
            if (!got) out = std::move(r);
            got = true;
        },
        stats);
    if (!got) {
        out.path = normalize(rel);
        out.type = "missing";
    }
    // A directory inspected alone was not "skipped": depth 0 is what was asked.
    if (out.skipped == "max-depth") out.skipped.clear();
    return out;
}

}  // namespace audit::fs
