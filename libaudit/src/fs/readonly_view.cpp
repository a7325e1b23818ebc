#include "audit/fs/readonly_view.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <vector>

#include "audit/error.h"
#include "audit/input_file.h"

namespace audit::fs {

namespace {

ReadonlyView no(std::string why) {
    ReadonlyView v;
    v.reason = std::move(why);
    return v;
}

std::string err(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

bool at_or_under(const std::string& path, const std::string& dir) {
    if (dir == "/") return true;
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           path[dir.size()] == '/');
}

struct MountEntry {
    long id = 0;
    std::string point;    // unescaped mount point
    std::string options;  // per-mount options ("ro,noatime,...")
};

bool octal(char c) {
    return c >= '0' && c <= '7';
}

// /proc/self/mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) &&
            octal(s[i + 3])) {
            out +=
                static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool read_mounts(std::vector<MountEntry>& out) {
    // Bounded: a mount table larger than this is refused (the view is then not proven
    // read-only), never read in part.
    constexpr std::size_t kMaxMountinfo = 16u << 20;
    std::string table;
    try {
        table = read_input_file("/proc/self/mountinfo", kMaxMountinfo, "mount table");
    } catch (const Error&) {
        return false;
    }
    if (table.size() > kMaxMountinfo) return false;
    std::istringstream in(table);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        MountEntry e;
        std::string parent, dev, mnt_root, point;
        if (!(fields >> e.id >> parent >> dev >> mnt_root >> point >> e.options)) return false;
        e.point = unescape(point);
        out.push_back(std::move(e));
    }
    return !out.empty();
}

bool has_option(const std::string& options, const std::string& want) {
    std::istringstream in(options);
    std::string o;
    while (std::getline(in, o, ','))
        if (o == want) return true;
    return false;
}

bool read_only(const std::string& path) {
    struct statvfs st {};
    return ::statvfs(path.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

class ViewFd {
  public:
    explicit ViewFd(int fd = -1) : fd_(fd) {}
    ~ViewFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    ViewFd(const ViewFd&) = delete;
    ViewFd& operator=(const ViewFd&) = delete;
    void reset(int fd) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

// Builds the view step by step; a failure half-way takes our mounts away again (the destructor),
// so the process sees the same files as before and falls back to Landlock alone.
class View {
  public:
    View(std::string root, std::string out) : root_(std::move(root)), out_(std::move(out)) {}
    ~View() {
        if (done_) return;
        if (out_bound_) ::umount2(out_.c_str(), MNT_DETACH);
        if (chrooted_ && ::fchdir(old_root_.get()) == 0 && ::chroot(".") == 0) chrooted_ = false;
        if (root_bound_) ::umount2(root_.c_str(), MNT_DETACH);
        if (!cwd_.empty() && ::chdir(cwd_.c_str()) != 0) {
            // the old working directory is gone: nothing better to do
        }
    }
    View(const View&) = delete;
    View& operator=(const View&) = delete;

    ReadonlyView make() {
        // From here on this process has its own copy of the mount table; nothing mounted in it
        // propagates to the host (MS_PRIVATE), and it disappears with the process.
        if (::unshare(CLONE_NEWNS) != 0)
            return no(errno == EINVAL ? err("unshare(CLONE_NEWNS) (threads already running?)")
                                      : err("unshare(CLONE_NEWNS)"));
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            return no(err("making the mounts private"));
        std::vector<MountEntry> before;
        if (!read_mounts(before)) return no(err("cannot read /proc/self/mountinfo"));
        std::set<long> old_ids;
        for (const auto& m : before) old_ids.insert(m.id);
        if (char buf[PATH_MAX]; ::getcwd(buf, sizeof buf)) cwd_ = buf;
        old_root_.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));

        // The output directory as it is now: bound back over the view if the view made it
        // read-only (it lies under the root).
        const bool out_writable = !read_only(out_);
        ViewFd out(::open(out_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (out.get() < 0) return no(err("cannot open " + out_));

        // A detached copy of the root and every mount beneath it, made read-only, noatime and
        // nosuid as a whole before anyone can use it, then attached over the root.
        ViewFd tree(::open_tree(AT_FDCWD, root_.c_str(),
                                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
        if (tree.get() < 0)
            return no(errno == ENOSYS ? err("open_tree (Linux >= 5.12 needed)")
                                      : err("open_tree " + root_));
        mount_attr attr{};
        attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME | MOUNT_ATTR_NOSUID;
        attr.attr_clr = MOUNT_ATTR__ATIME;
        if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
            return no(err("mount_setattr read-only, noatime"));
        if (::move_mount(tree.get(), "", AT_FDCWD, root_.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return no(err("attaching the read-only view over " + root_));
        if (root_ == "/") {
            // Lookups start at the process's root directory, which still is the old "/" (a
            // mount over it is not crossed): make the view this process's root.
            if (old_root_.get() < 0) return no(err("cannot open /"));
            if (::fchdir(tree.get()) != 0) return no(err("chdir into the view"));
            if (::chroot(".") != 0) return no(err("chroot into the view"));
            chrooted_ = true;
        } else {
            root_bound_ = true;
        }
        // Relative paths (--root ., --out ev) are resolved through the view from now on.
        if (!cwd_.empty() && ::chdir(cwd_.c_str()) != 0)
            return no(err("cannot return to the working directory " + cwd_));

        if (out_writable && read_only(out_)) {
            ViewFd copy(
                ::open_tree(out.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
            if (copy.get() < 0) return no(err("open_tree " + out_));
            if (::move_mount(copy.get(), "", AT_FDCWD, out_.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
                return no(err("binding the output directory " + out_ + " writable"));
            out_bound_ = true;
            if (read_only(out_)) return no("the output directory " + out_ + " stays read-only");
        }

        // Check, from the kernel's own table, that every mount of the view is read-only and
        // noatime (all but the output directory's bind), and that the root is one of them.
        std::vector<MountEntry> after;
        if (!read_mounts(after)) return no(err("cannot read /proc/self/mountinfo"));
        bool root_seen = false;
        for (const auto& m : after) {
            if (old_ids.count(m.id) || !at_or_under(m.point, root_)) continue;
            if (out_bound_ && at_or_under(m.point, out_)) continue;
            if (!has_option(m.options, "ro") || !has_option(m.options, "noatime"))
                return no("mount " + m.point + " of the view is '" + m.options +
                          "', not read-only and noatime");
            if (m.point == root_) root_seen = true;
        }
        if (!root_seen) return no("the view of " + root_ + " is not in /proc/self/mountinfo");
        if (!read_only(root_)) return no(root_ + " is not read-only in the view");
        done_ = true;
        ReadonlyView v;
        v.active = true;
        return v;
    }

  private:
    std::string root_, out_, cwd_;
    ViewFd old_root_;
    bool root_bound_ = false, chrooted_ = false, out_bound_ = false, done_ = false;
};

}  // namespace

ReadonlyView make_readonly_view(const std::string& root, const std::string& writable_dir) {
    if (const char* env = std::getenv("AUDIT_READONLY_VIEW"); env && std::strcmp(env, "off") == 0)
        return no("disabled by AUDIT_READONLY_VIEW=off");
    if (::geteuid() != 0) return no("not running as root");
    char buf[PATH_MAX];
    if (!::realpath(root.c_str(), buf)) return no(err("cannot resolve " + root));
    const std::string real_root = buf;
    if (!::realpath(writable_dir.c_str(), buf)) return no(err("cannot resolve " + writable_dir));
    const std::string real_out = buf;
    if (at_or_under(real_root, real_out))
        return no("the output directory " + real_out + " contains the root");
    View view(real_root, real_out);
    return view.make();
}

}  // namespace audit::fs
