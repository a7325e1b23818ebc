#include "audit/fs/root.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "audit/error.h"
#include "fs_shared.h"

namespace audit::fs {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) {
        int saved = errno;  // callers read errno after an empty UniqueFd went out of scope
        ::close(fd_);
        errno = saved;
    }
}

namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's own limit (MAXSYMLINKS)
constexpr int kReadFlags = O_RDONLY | O_NOATIME | O_CLOEXEC | O_NONBLOCK;

// "/a/b" -> "a/b"; the root itself -> ".". Not normalized: ".." must apply after the symlink
// before it is resolved (as the kernel does), and both resolvers keep ".." inside the root.
std::string relative_form(std::string_view rel) {
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    return rel.empty() ? std::string(".") : std::string(rel);
}

int sys_openat2(int dirfd, const std::string& path, std::uint64_t flags) {
    open_how how{};
    how.flags = flags;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
}

// Opens with O_NOATIME, retrying without it where the kernel refuses (not the file's owner).
template <typename OpenFn>
UniqueFd open_noatime(int flags, OpenFn&& fn) {
    int fd = fn(flags);
    if (fd < 0 && errno == EPERM && (flags & O_NOATIME)) fd = fn(flags & ~O_NOATIME);
    return UniqueFd(fd);
}

int dup_cloexec(int fd) {
    return ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

// The portable resolver's result: a directory (O_PATH) and a final name that is not a symlink.
struct Resolved {
    UniqueFd parent;
    std::string name;  // "." when the path ends at a directory reached through "." or ".."
    int error = 0;
};

std::deque<std::string> split(std::string_view p) {
    std::deque<std::string> out;
    std::size_t i = 0;
    while (i <= p.size()) {
        std::size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        if (j > i) out.emplace_back(p.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// Component-by-component resolution inside root_fd: every step is openat(O_NOFOLLOW), symlinks
// are read and re-resolved against the root (absolute) or the current directory (relative), and
// ".." never climbs above the root. Mirrors openat2(RESOLVE_IN_ROOT) for kernels without it.
Resolved resolve_portable(int root_fd, std::string_view rel) {
    Resolved r;
    std::vector<UniqueFd> stack;  // directories below the root, innermost last
    auto cur = [&] { return stack.empty() ? root_fd : stack.back().get(); };
    std::deque<std::string> comps = split(rel);
    int links = 0;
    std::string last = ".";
    while (!comps.empty()) {
        std::string c = std::move(comps.front());
        comps.pop_front();
        if (c == ".") continue;
        if (c == "..") {
            if (!stack.empty()) stack.pop_back();
            continue;
        }
        struct stat st {};
        if (::fstatat(cur(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            r.error = errno;
            return r;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++links > kMaxSymlinks) {
                r.error = ELOOP;
                return r;
            }
            std::string target(4096, '\0');
            ssize_t n = ::readlinkat(cur(), c.c_str(), target.data(), target.size());
            if (n < 0 || static_cast<std::size_t>(n) >= target.size()) {
                r.error = n < 0 ? errno : ENAMETOOLONG;
                return r;
            }
            target.resize(static_cast<std::size_t>(n));
            if (!target.empty() && target.front() == '/') stack.clear();
            std::deque<std::string> more = split(target);
            comps.insert(comps.begin(), more.begin(), more.end());
            continue;
        }
        if (comps.empty()) {
            last = c;
            break;
        }
        int fd = ::openat(cur(), c.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            r.error = errno;
            return r;
        }
        stack.emplace_back(fd);
    }
    int pfd = dup_cloexec(cur());
    if (pfd < 0) {
        r.error = errno;
        return r;
    }
    r.parent = UniqueFd(pfd);
    r.name = last;
    return r;
}

}  // namespace

std::string normalize(std::string_view rel) {
    std::vector<std::string> parts;
    for (auto& c : split(rel)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(std::move(c));
    }
    if (parts.empty()) return "/";
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out;
}

Root::Root(const std::string& path, Resolver resolver)
    : path_(path), portable_(resolver == Resolver::portable) {
    int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open root " + path + ": " + std::strerror(errno));
    fd_ = UniqueFd(fd);
    // O_PATH checks nothing: make sure the directory can actually be listed.
    UniqueFd probe(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!probe) throw IoError("cannot read root " + path + ": " + std::strerror(errno));
    struct stat mine {
    }, slash{};
    live_ = ::fstat(fd, &mine) == 0 && ::stat("/", &slash) == 0 && detail::same_inode(mine, slash);
}

UniqueFd Root::open(std::string_view rel, bool directory) const {
    if (rel.find('\0') != std::string_view::npos) {
        errno = EINVAL;  // would silently name a shorter path
        return {};
    }
    const std::string r = relative_form(rel);
    const int flags = kReadFlags | (directory ? O_DIRECTORY : 0);
    bool portable = portable_;

    // First an O_PATH handle: it opens nothing, so its type can be checked before a real open.
    UniqueFd probe;
    Resolved res;
    if (!portable) {
        probe = UniqueFd(sys_openat2(fd(), r, O_PATH | O_CLOEXEC));
        if (!probe && errno == ENOSYS) portable = true;
        if (!probe && !portable) return {};
    }
    if (portable) {
        res = resolve_portable(fd(), r);
        if (res.error != 0) {
            errno = res.error;
            return {};
        }
        probe =
            UniqueFd(::openat(res.parent.get(), res.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!probe) return {};
    }
    struct stat before {};
    if (::fstat(probe.get(), &before) != 0) return {};
    if (S_ISDIR(before.st_mode) && !directory) {
        errno = EISDIR;
        return {};
    }
    if (S_ISREG(before.st_mode) && directory) {
        errno = ENOTDIR;
        return {};
    }
    if (!S_ISDIR(before.st_mode) && !S_ISREG(before.st_mode)) {
        errno = ENXIO;  // FIFOs, sockets and devices are never opened
        return {};
    }

    UniqueFd f =
        portable
            ? open_noatime(flags | O_NOFOLLOW,
                           [&](int fl) { return ::openat(res.parent.get(), res.name.c_str(), fl); })
            : open_noatime(flags, [&](int fl) {
                  return sys_openat2(fd(), r, static_cast<std::uint64_t>(fl));
              });
    if (!f) return {};
    struct stat after {};
    if (::fstat(f.get(), &after) != 0) return {};
    if (!detail::same_inode(before, after)) {
        errno = ESTALE;  // replaced between the check and the open
        return {};
    }
    return f;
}

std::optional<std::string> Root::read_file(std::string_view rel, std::size_t max_bytes) const {
    const std::string shown = normalize(rel);
    UniqueFd f = open(rel, false);
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw IoError("cannot open " + path_ + shown + ": " + std::strerror(errno));
    }
    std::string out;
    // Sizes of pseudo files (sysfs) are not their content length: read to EOF, bounded.
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(f.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw IoError("cannot read " + path_ + shown + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        if (out.size() + static_cast<std::size_t>(n) > max_bytes)
            throw IoError(path_ + shown + " is larger than " + std::to_string(max_bytes) +
                          " bytes");
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

std::optional<std::vector<std::string>> Root::list_dir(std::string_view rel) const {
    const std::string shown = normalize(rel);
    UniqueFd f = open(rel, true);
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw IoError("cannot open directory " + path_ + shown + ": " + std::strerror(errno));
    }
    DIR* d = ::fdopendir(f.get());
    if (d == nullptr) throw IoError("cannot list " + path_ + shown + ": " + std::strerror(errno));
    f.release();
    std::vector<std::string> names;
    int err = 0;
    for (;;) {
        errno = 0;
        dirent* e = ::readdir(d);
        if (e == nullptr) {
            err = errno;
            break;
        }
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        if (names.size() >= detail::kMaxDirEntries) {
            err = E2BIG;
            break;
        }
        names.emplace_back(e->d_name);
    }
    ::closedir(d);
    if (err != 0) throw IoError("cannot list " + path_ + shown + ": " + std::strerror(err));
    std::sort(names.begin(), names.end());
    return names;
}

std::optional<std::string> Root::read_link(std::string_view rel) const {
    const std::string shown = normalize(rel);
    if (shown == "/") return std::nullopt;
    const auto slash = shown.rfind('/');
    const std::string parent = shown.substr(0, slash == 0 ? 1 : slash);
    const std::string name = shown.substr(slash + 1);
    UniqueFd dir = open(parent, true);
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw IoError("cannot open directory " + path_ + parent + ": " + std::strerror(errno));
    }
    std::string target(4096, '\0');
    ssize_t n = ::readlinkat(dir.get(), name.c_str(), target.data(), target.size());
    if (n < 0) {
        if (errno == ENOENT || errno == EINVAL) return std::nullopt;  // EINVAL: not a symlink
        throw IoError("cannot read link " + path_ + shown + ": " + std::strerror(errno));
    }
    if (static_cast<std::size_t>(n) >= target.size())
        throw IoError("link target of " + path_ + shown + " is too long");
    target.resize(static_cast<std::size_t>(n));
    return target;
}

}  // namespace audit::fs
