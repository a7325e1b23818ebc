#include "audit/fs/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace audit::fs {

namespace {

// Rights newer than the kernel headers of the build machine (Debian 12 knows ABI 2).
constexpr std::uint64_t kTruncate = 1ULL << 14;  // ABI 3
constexpr std::uint64_t kIoctlDev = 1ULL << 15;  // ABI 5

constexpr std::uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

std::uint64_t handled_for(int abi) {
    std::uint64_t all =
        LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
        LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
        LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
        LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
        LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
    if (abi >= 2) all |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) all |= kTruncate;
    if (abi >= 5) all |= kIoctlDev;
    return all;
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

Confinement off(int abi, std::string why) {
    Confinement c;
    c.abi = abi;
    c.reason = std::move(why);
    return c;
}

bool add_rule(int ruleset, const std::string& path, std::uint64_t access, std::string& error) {
    Fd dir(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (dir.get() < 0) {
        error = "cannot open " + path + ": " + std::strerror(errno);
        return false;
    }
    landlock_path_beneath_attr rule{};
    rule.allowed_access = access;
    rule.parent_fd = dir.get();
    if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
        error = "landlock_add_rule " + path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace

nlohmann::json Confinement::to_json() const {
    nlohmann::json j = {{"method", method}, {"landlock", active}, {"abi", abi}};
    if (!active) j["reason"] = reason;
    if (!view_reason.empty()) j["readonly_view"] = view_reason;
    return j;
}

Confinement confine(const std::string& read_root, const std::string& write_dir) {
    if (const char* env = std::getenv("AUDIT_LANDLOCK"); env && std::strcmp(env, "off") == 0)
        return off(0, "disabled by AUDIT_LANDLOCK=off");
    long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) return off(0, std::string("kernel has no Landlock: ") + std::strerror(errno));
    const std::uint64_t handled = handled_for(static_cast<int>(abi));
    landlock_ruleset_attr attr{};
    attr.handled_access_fs = handled;
    Fd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0)));
    if (ruleset.get() < 0)
        return off(static_cast<int>(abi),
                   std::string("landlock_create_ruleset: ") + std::strerror(errno));
    std::string error;
    // Directory rules only may carry directory rights; both paths are directories here.
    if (!add_rule(ruleset.get(), read_root, kRead, error) ||
        !add_rule(ruleset.get(), write_dir, handled & ~LANDLOCK_ACCESS_FS_EXECUTE, error))
        return off(static_cast<int>(abi), error);
    // The process's own /proc entries (sanitizer runtimes read /proc/self/maps at exit).
    std::string ignored;
    add_rule(ruleset.get(), "/proc/self", kRead, ignored);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return off(static_cast<int>(abi), std::string("no_new_privs: ") + std::strerror(errno));
    if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0)
        return off(static_cast<int>(abi),
                   std::string("landlock_restrict_self: ") + std::strerror(errno));
    Confinement c;
    c.active = true;
    c.abi = static_cast<int>(abi);
    c.method = "landlock";
    return c;
}

Confinement confine(const std::string& read_root, const std::string& write_dir,
                    const ReadonlyView& view) {
    Confinement c = confine(read_root, write_dir);
    if (view.active)
        c.method = "mount_namespace";
    else
        c.view_reason = view.reason.empty() ? "not tried" : view.reason;
    return c;
}

}  // namespace audit::fs
