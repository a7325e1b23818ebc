// Landlock self-confinement, checked in a child process (confinement cannot be undone).
#include <catch_amalgamated.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "audit/fs/landlock.h"
#include "support.h"

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
