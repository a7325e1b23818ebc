// Landlock self-confinement and the read-only view of the root, checked in a child process
// (neither can be undone).
#include <catch_amalgamated.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "audit/fs/landlock.h"
#include "audit/fs/readonly_view.h"
#include "support.h"

namespace landlock_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

// Runs body in a forked child; returns its exit status (body's return value).
template <typename F>
int in_child(F body) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(body());
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

bool landlock_available() {
    return in_child([] {
               auto c = audit::fs::confine("/", "/tmp");
               return c.active ? 0 : 1;
           }) == 0;
}

}  // namespace

TEST_CASE("confine: reads under the root, writes only under the output directory", "[landlock]") {
    audit_test::TempDir t;
    audit_test::write(t.path / "root/etc/file", "data");
    std::filesystem::create_directories(t.path / "out");
    if (!landlock_available()) {
        auto c = audit::fs::confine("/nonexistent-root", "/nonexistent-out");
        CHECK_FALSE(c.active);
        CHECK_FALSE(c.reason.empty());
        SKIP("the kernel has no Landlock: " << c.reason);
    }
    const std::string root = (t.path / "root").string(), out = (t.path / "out").string();
    // Exit codes: 0 all as expected; 10+ which expectation failed.
    int rc = in_child([&] {
        auto c = audit::fs::confine(root, out);
        if (!c.active || c.abi < 1) return 10;
        if (!c.to_json().at("landlock").get<bool>()) return 11;
        int fd = ::open((root + "/etc/file").c_str(), O_RDONLY);
        if (fd < 0) return 12;  // reading the root stays possible
        ::close(fd);
        fd = ::open((root + "/etc/file").c_str(), O_WRONLY);
        if (fd >= 0 || errno != EACCES) return 13;  // no write to a file of the root
        fd = ::open((root + "/etc/new").c_str(), O_WRONLY | O_CREAT, 0644);
        if (fd >= 0) return 14;  // no new file in the root
        if (::unlink((root + "/etc/file").c_str()) == 0) return 15;
        if (::mkdir((root + "/d").c_str(), 0755) == 0) return 16;
        fd = ::open("/etc/hostname", O_RDONLY);
        if (fd >= 0) return 17;  // nothing outside the two trees
        fd = ::open((out + "/bundle").c_str(), O_WRONLY | O_CREAT, 0644);
        if (fd < 0) return 18;  // the output directory is writable
        ::close(fd);
        if (::rename((out + "/bundle").c_str(), (out + "/bundle2").c_str()) != 0) return 19;
        return 0;
    });
    CHECK(rc == 0);
    CHECK(audit_test::slurp(t.path / "root/etc/file") == "data");
}

TEST_CASE("confine: AUDIT_LANDLOCK=off is recorded", "[landlock]") {
    int rc = in_child([] {
        ::setenv("AUDIT_LANDLOCK", "off", 1);
        auto c = audit::fs::confine("/", "/tmp");
        auto j = c.to_json();
        return !c.active && j.at("landlock") == false &&
                       j.at("reason").get<std::string>().find("AUDIT_LANDLOCK") != std::string::npos
                   ? 0
                   : 1;
    });
    CHECK(rc == 0);
}

namespace {

// Access time of path itself (a symlink's own, not its target's), in nanoseconds.
long long atime_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec;
}

void set_old_atime(const std::string& path) {
    timespec times[2] = {{1577836800, 0}, {0, UTIME_OMIT}};  // 2020-01-01, mtime kept
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

// Mount-table lines of pid ("self" or a number) whose mount point is path.
std::vector<std::string> mounts_at(const std::string& pid, const std::string& path) {
    std::ifstream in("/proc/" + pid + "/mountinfo");
    std::vector<std::string> found;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string id, parent, dev, root, point;
        f >> id >> parent >> dev >> root >> point;
        if (point == path) found.push_back(line);
    }
    return found;
}

void touch_target(const std::string& link, const std::string& file) {
    char buf[256];
    (void)::readlink(link.c_str(), buf, sizeof buf);
    int fd = ::open(file.c_str(), O_RDONLY);
    if (fd >= 0) {
        (void)::read(fd, buf, sizeof buf);
        ::close(fd);
    }
}

}  // namespace

TEST_CASE("readonly view: the root read-only and noatime, in this process only", "[landlock]") {
    if (::geteuid() != 0) SKIP("needs root (a mount namespace)");
    audit_test::TempDir t;
    // The root's real path (mountinfo names it so); the output directory lies under the root.
    const std::string root = std::filesystem::canonical(t.path).string() + "/root";
    const std::string out = root + "/var/evidence";
    audit_test::write(root + "/etc/file", "data");
    std::filesystem::create_directories(out);
    REQUIRE(::symlink("file", (root + "/etc/link").c_str()) == 0);

    // Control: without the view, reading does update the access times here (relatime, an old
    // atime); on a noatime filesystem the atime half of the test cannot tell anything.
    set_old_atime(root + "/etc/link");
    set_old_atime(root + "/etc/file");
    const long long old_atime = atime_of(root + "/etc/link");
    touch_target(root + "/etc/link", root + "/etc/file");
    const bool atime_updates =
        atime_of(root + "/etc/link") != old_atime && atime_of(root + "/etc/file") != old_atime;
    set_old_atime(root + "/etc/link");
    set_old_atime(root + "/etc/file");
    const auto host_mounts_before = mounts_at("self", root);

    int ready[2], go[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(go) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(ready[0]);
        ::close(go[1]);
        // Exit codes: 0 all as expected; 10+ which expectation failed.
        int rc = [&] {
            const auto view = audit::fs::make_readonly_view(root, out);
            if (!view.active || !view.reason.empty()) return 10;
            const auto c = audit::fs::confine(root, out, view);
            if (c.method != "mount_namespace") return 11;
            if (c.to_json().at("method") != "mount_namespace") return 12;
            touch_target(root + "/etc/link", root + "/etc/file");
            int fd = ::open((root + "/etc/new").c_str(), O_WRONLY | O_CREAT, 0644);
            if (fd >= 0) return 13;  // nothing can be created in the root
            fd = ::open((root + "/etc/file").c_str(), O_WRONLY);
            if (fd >= 0) return 14;
            fd = ::open((out + "/bundle").c_str(), O_WRONLY | O_CREAT, 0644);
            if (fd < 0) return 15;  // the output directory under the root stays writable
            if (::write(fd, "b", 1) != 1) return 16;
            ::close(fd);
            return 0;
        }();
        char c = static_cast<char>(rc);
        (void)!::write(ready[1], &c, 1);
        (void)!::read(go[0], &c, 1);  // the parent looks at both mount tables meanwhile
        ::_exit(rc);
    }
    ::close(ready[1]);
    ::close(go[0]);
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    const auto child_mounts = mounts_at(std::to_string(pid), root);
    const auto host_mounts = mounts_at("self", root);
    REQUIRE(::write(go[1], &c, 1) == 1);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    ::close(ready[0]);
    ::close(go[1]);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // The child saw its root read-only and noatime; this process (the host) saw no new mount.
    REQUIRE_FALSE(child_mounts.empty());
    CHECK(child_mounts.back().find(" ro,") != std::string::npos);
    CHECK(child_mounts.back().find("noatime") != std::string::npos);
    CHECK(host_mounts == host_mounts_before);
    // What the child wrote under the output directory is on the real filesystem.
    CHECK(audit_test::slurp(out + "/bundle") == "b");
    CHECK_FALSE(std::filesystem::exists(root + "/etc/new"));
    if (atime_updates) {
        CHECK(atime_of(root + "/etc/link") == old_atime);
        CHECK(atime_of(root + "/etc/file") == old_atime);
    } else {
        WARN("this filesystem does not update access times: the atime checks tell nothing");
    }
}

TEST_CASE("readonly view: refused, with a reason, where it cannot hold", "[landlock]") {
    audit_test::TempDir t;
    const std::string root = std::filesystem::canonical(t.path).string();
    std::filesystem::create_directories(root + "/r");
    int rc = in_child([&] {
        // The output directory contains the root: the root could not stay read-only.
        auto v = audit::fs::make_readonly_view(root + "/r", root);
        if (v.active || v.reason.empty()) return 10;
        if (::geteuid() == 0 && v.reason.find("contains the root") == std::string::npos) return 11;
        auto c = audit::fs::confine(root + "/r", root, v);
        if (c.method == "mount_namespace") return 12;
        if (c.to_json().at("readonly_view") != v.reason) return 13;
        ::setenv("AUDIT_READONLY_VIEW", "off", 1);
        v = audit::fs::make_readonly_view(root + "/r", "/tmp");
        if (v.active || v.reason.find("AUDIT_READONLY_VIEW") == std::string::npos) return 14;
        return 0;
    });
    CHECK(rc == 0);
}

}  // namespace landlock_test_cases
