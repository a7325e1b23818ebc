#include <catch_amalgamated.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
#include "support.h"

namespace fs_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::fs::Root;

using audit_test::TempDir;

using audit_test::write;

// stdout of a shell command that must succeed.
using audit_test::sh;

std::string first_word(const std::string& s) {
    return s.substr(0, s.find(' '));
}

// Runs fn on another thread; fails instead of hanging when it blocks (a FIFO opened for reading).
template <typename Fn>
auto within_seconds(int seconds, Fn&& fn) {
    auto fut = std::async(std::launch::async, std::forward<Fn>(fn));
    REQUIRE(fut.wait_for(std::chrono::seconds(seconds)) == std::future_status::ready);
    return fut.get();
}

// root/ with links that try to leave it, and a secret next to it that they must not reach.
struct EscapeTree {
    TempDir tmp;
    stdfs::path root;
    EscapeTree() {
        root = tmp.path / "root";
        write(root / "etc/target", "inside\n");
        write(root / "etc/passwd", "fake passwd\n");
        write(tmp.path / "outside/secret", "SECRET\n");
        stdfs::create_symlink("/etc/target", root / "etc/abs");
        stdfs::create_symlink("../../../../../../etc/passwd", root / "etc/climb");
        stdfs::create_symlink("../../outside/secret", root / "etc/escape");
        stdfs::create_symlink(tmp.path / "outside/secret", root / "etc/escape-abs");
        stdfs::create_symlink("/etc/shadow", root / "etc/dangling");
        stdfs::create_directories(root / "dir");
        stdfs::create_symlink("/etc", root / "dir/etc-link");
        stdfs::create_symlink("loop2", root / "loop1");
        stdfs::create_symlink("loop1", root / "loop2");
    }
};

}  // namespace

TEST_CASE("normalize gives /-rooted paths without dot segments", "[fs]") {
    using audit::fs::normalize;
    CHECK(normalize("") == "/");
    CHECK(normalize("/") == "/");
    CHECK(normalize(".") == "/");
    CHECK(normalize("etc/passwd") == "/etc/passwd");
    CHECK(normalize("//etc///x/") == "/etc/x");
    CHECK(normalize("/a/./b/../c") == "/a/c");
    CHECK(normalize("../../../etc") == "/etc");
}

TEST_CASE("Root resolves symlinks inside the root and never escapes it", "[fs]") {
    EscapeTree t;
    auto resolver = GENERATE(Root::Resolver::automatic, Root::Resolver::portable);
    CAPTURE(resolver == Root::Resolver::portable);
    Root root(t.root.string(), resolver);
    CHECK_FALSE(root.is_live());
    CHECK(root.read_file("etc/target", 100) == "inside\n");
    CHECK(root.read_file("/etc/abs", 100) == "inside\n");        // absolute target = root + target
    CHECK(root.read_file("etc/climb", 100) == "fake passwd\n");  // ".." stops at the root
    CHECK(root.read_file("../../../etc/passwd", 100) == "fake passwd\n");
    CHECK(root.read_file("dir/etc-link/target", 100) == "inside\n");
    CHECK(root.read_file("dir/etc-link/../etc/abs", 100) == "inside\n");
    // The secret exists next to the root: reaching it would be an escape.
    CHECK_FALSE(root.read_file("etc/escape", 100).has_value());
    CHECK_FALSE(root.read_file("etc/escape-abs", 100).has_value());
    CHECK_FALSE(root.read_file("etc/dangling", 100).has_value());  // the host's /etc/shadow
    CHECK_FALSE(root.read_file("no/such/file", 100).has_value());
    CHECK_FALSE(root.read_file("etc/target/below-a-file", 100).has_value());
    CHECK_THROWS_AS(root.read_file("loop1", 100), audit::IoError);
    CHECK_THROWS_AS(root.read_file("etc", 100), audit::IoError);       // a directory
    CHECK_THROWS_AS(root.read_file("etc/target", 3), audit::IoError);  // over the bound

    auto fd = root.open("dir/etc-link", true);
    CHECK(fd);
    auto names = root.list_dir("/etc");
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"abs", "climb", "dangling", "escape", "escape-abs",
                                             "passwd", "target"});
    CHECK_FALSE(root.list_dir("nope").has_value());
}

TEST_CASE("Root never opens FIFOs and does not block on them", "[fs]") {
    TempDir tmp;
    REQUIRE(::mkfifo((tmp.path / "fifo").c_str(), 0644) == 0);
    auto resolver = GENERATE(Root::Resolver::automatic, Root::Resolver::portable);
    Root root(tmp.path.string(), resolver);
    int err = within_seconds(10, [&] {
        auto fd = root.open("fifo");
        return fd ? 0 : errno;
    });
    CHECK(err == ENXIO);
    within_seconds(10, [&] { CHECK_THROWS_AS(root.read_file("fifo", 10), audit::IoError); });
}

TEST_CASE("Root of a missing path or a file throws IoError", "[fs]") {
    TempDir tmp;
    write(tmp.path / "f", "x");
    CHECK_THROWS_AS(Root((tmp.path / "missing").string()), audit::IoError);
    CHECK_THROWS_AS(Root((tmp.path / "f").string()), audit::IoError);
}

TEST_CASE("the real / is live", "[fs]") {
    CHECK(Root("/").is_live());
    TempDir tmp;
    CHECK_FALSE(Root(tmp.path.string()).is_live());
}

TEST_CASE("walk records every entry in byte order, hashes files once, never follows links",
          "[fs]") {
    TempDir tmp;
    const auto r = tmp.path;
    write(r / "b/file.bin", std::string(3 * 1024 * 1024 + 17, '\x5a'));  // crosses buffer edges
    write(r / "a.txt", "hello\n");
    write(r / "B", "upper case sorts first\n");
    write(r / "empty", "");
    stdfs::create_directories(r / "b/c/d");
    REQUIRE(::mkfifo((r / "b/fifo").c_str(), 0600) == 0);
    stdfs::create_symlink("/etc/passwd", r / "b/abs-link");
    stdfs::create_symlink("../../outside", r / "b/out-link");
    stdfs::create_symlink("c", r / "b/dir-link");
    ::chmod((r / "a.txt").c_str(), 0640);

    Root root(r.string());
    audit::fs::WalkStats stats;
    std::vector<audit::fs::FileRecord> recs;
    audit::fs::WalkOptions cnsa;
    cnsa.digests = audit::fs::DigestPolicy::parse("sha256,sha384");
    within_seconds(30, [&] {
        audit::fs::walk(
            root, "/", cnsa, [&](audit::fs::FileRecord&& rec) { recs.push_back(std::move(rec)); },
            stats);
    });
    std::vector<std::string> paths;
    std::map<std::string, audit::fs::FileRecord> by;
    for (const auto& rec : recs) {
        paths.push_back(rec.path);
        by[rec.path] = rec;
    }
    CHECK(paths == std::vector<std::string>{"/", "/B", "/a.txt", "/b", "/b/abs-link", "/b/c",
                                            "/b/c/d", "/b/dir-link", "/b/fifo", "/b/file.bin",
                                            "/b/out-link", "/empty"});
    CHECK(by["/"].type == "dir");
    CHECK(by["/b/c"].type == "dir");
    CHECK(by["/b/fifo"].type == "fifo");
    CHECK_FALSE(by["/b/fifo"].digests);
    CHECK(by["/b/abs-link"].type == "symlink");
    CHECK(by["/b/abs-link"].link_target == "/etc/passwd");
    CHECK_FALSE(by["/b/abs-link"].digests);
    CHECK(by["/b/out-link"].link_target == "../../outside");
    CHECK(by["/b/dir-link"].type == "symlink");  // not descended
    CHECK(by["/a.txt"].mode == 0640);
    CHECK(by["/a.txt"].size == 6);
    CHECK(by["/a.txt"].uid == ::geteuid());
    CHECK(by["/empty"].digests->sha256 ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    for (const char* p : {"/a.txt", "/b/file.bin", "/B"}) {
        CAPTURE(p);
        const auto file = (r / (p + 1)).string();
        REQUIRE(by[p].digests);
        CHECK(by[p].digests->sha256 == first_word(sh("sha256sum '" + file + "'")));
        CHECK(by[p].digests->sha384 == first_word(sh("sha384sum '" + file + "'")));
        CHECK(by[p].error.empty());
        CHECK_FALSE(by[p].unstable);
    }
    CHECK(stats.dirs == 4);
    CHECK(stats.skipped_special == 1);
    CHECK(stats.errors == 0);
    CHECK(stats.bytes_hashed == 6 + 23 + 3 * 1024 * 1024 + 17);

    auto j = by["/b/abs-link"].to_json();
    CHECK(j["link"] == "/etc/passwd");
    CHECK_FALSE(j.contains("sha256"));
    j = by["/a.txt"].to_json();
    CHECK(j["sha384"].get<std::string>().size() == 96);
    CHECK_FALSE(j.contains("error"));
    CHECK_FALSE(j.contains("unstable"));
}

TEST_CASE("walk of a subtree starts below the root and a missing start gives nothing", "[fs]") {
    TempDir tmp;
    write(tmp.path / "opt/x/bin/y", "y");
    stdfs::create_symlink("/opt/x", tmp.path / "xlink");
    Root root(tmp.path.string());
    std::vector<std::string> paths;
    audit::fs::WalkStats stats;
    auto sink = [&](audit::fs::FileRecord&& rec) { paths.push_back(rec.path); };
    audit::fs::walk(root, "opt/x", {}, sink, stats);
    CHECK(paths == std::vector<std::string>{"/opt/x", "/opt/x/bin", "/opt/x/bin/y"});
    paths.clear();
    audit::fs::walk(root, "/nope", {}, sink, stats);
    CHECK(paths.empty());
    // The start itself is a symlink: recorded, not followed.
    audit::fs::walk(root, "/xlink", {}, sink, stats);
    CHECK(paths == std::vector<std::string>{"/xlink"});
    paths.clear();
    audit::fs::WalkOptions shallow;
    shallow.max_depth = 1;
    std::vector<audit::fs::FileRecord> recs;
    audit::fs::walk(
        root, "/opt", shallow, [&](audit::fs::FileRecord&& r) { recs.push_back(r); }, stats);
    REQUIRE(recs.size() == 2);
    CHECK(recs[1].path == "/opt/x");
    CHECK(recs[1].skipped == "max-depth");
}

TEST_CASE("inspect describes one path without following it", "[fs]") {
    TempDir tmp;
    write(tmp.path / "real/f", "abc");
    stdfs::create_symlink("/real/f", tmp.path / "link");
    stdfs::create_symlink("/real", tmp.path / "dirlink");
    Root root(tmp.path.string());
    auto f = audit::fs::inspect(root, "/real/f");
    CHECK(f.type == "file");
    REQUIRE(f.digests);
    CHECK(f.digests->sha256 == audit::fs::sha256_hex("abc"));
    CHECK(f.digests->sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(audit::fs::sha384_hex("abc") ==
          "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca"
          "134c825a7");
    auto l = audit::fs::inspect(root, "/link");
    CHECK(l.type == "symlink");
    CHECK(l.link_target == "/real/f");
    CHECK_FALSE(l.digests);
    // Parent components resolve inside the root, the final one is not followed.
    auto through = audit::fs::inspect(root, "/dirlink/f");
    CHECK(through.type == "file");
    CHECK(through.path == "/dirlink/f");
    auto d = audit::fs::inspect(root, "/real");
    CHECK(d.type == "dir");
    CHECK(d.skipped.empty());
    auto m = audit::fs::inspect(root, "/real/missing");
    CHECK(m.type == "missing");
    CHECK_FALSE(audit::fs::inspect(root, "/real/f", false).digests);
}

TEST_CASE("a file whose size does not match what was read is unstable", "[fs]") {
    // procfs reports size 0 for files with content: the before/after check must notice.
    Root proc("/proc/self");
    auto rec = audit::fs::inspect(proc, "status");
    CHECK(rec.type == "file");
    CHECK(rec.unstable);
    CHECK(rec.to_json()["unstable"] == true);
}

TEST_CASE("walk does not cross filesystems and never opens devices", "[fs]") {
    struct stat dev {
    }, pts{};
    if (::stat("/dev", &dev) != 0 || ::stat("/dev/pts", &pts) != 0 || dev.st_dev == pts.st_dev)
        SKIP("no separate /dev/pts mount here");
    Root root("/dev");
    std::vector<audit::fs::FileRecord> recs;
    audit::fs::WalkStats stats;
    within_seconds(30, [&] {
        audit::fs::walk(
            root, "/", {}, [&](audit::fs::FileRecord&& r) { recs.push_back(std::move(r)); }, stats);
    });
    bool saw_pts = false, saw_null = false;
    for (const auto& r : recs) {
        if (r.path == "/pts") {
            saw_pts = true;
            CHECK(r.skipped == "other-filesystem");
        }
        CHECK(r.path.rfind("/pts/", 0) != 0);
        if (r.path == "/null") {
            saw_null = true;
            CHECK(r.type == "char");
            CHECK_FALSE(r.digests);
        }
    }
    CHECK(saw_pts);
    CHECK(saw_null);
    CHECK(stats.skipped_other_fs >= 1);
}

TEST_CASE("unreadable files and directories become records with an error", "[fs]") {
    // As root, permissions do not stop reads: drop to nobody in a child to make them real.
    TempDir tmp;
    ::chmod(tmp.path.c_str(), 0755);
    write(tmp.path / "t/secret", "s");
    write(tmp.path / "t/closed/inner", "i");
    write(tmp.path / "t/open", "o");
    ::chmod((tmp.path / "t/secret").c_str(), 0000);
    ::chmod((tmp.path / "t/closed").c_str(), 0000);
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(p[0]);
        if (::geteuid() == 0 &&
            (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0))
            ::_exit(3);
        std::string out;
        try {
            Root root(tmp.path.string());
            audit::fs::WalkStats stats;
            audit::fs::walk(
                root, "/t", {},
                [&](audit::fs::FileRecord&& r) { out += r.to_json().dump() + "\n"; }, stats);
            out += nlohmann::json(stats.to_json()).dump() + "\n";
        } catch (const std::exception& e) {
            out = std::string("exception ") + e.what();
        }
        if (::write(p[1], out.data(), out.size()) < 0) ::_exit(4);
        ::_exit(0);
    }
    ::close(p[1]);
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<std::size_t>(n));
    ::close(p[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    std::map<std::string, nlohmann::json> by;
    nlohmann::json stats;
    std::size_t pos = 0;
    while (pos < got.size()) {
        std::size_t nl = got.find('\n', pos);
        auto j = nlohmann::json::parse(got.substr(pos, nl - pos));
        pos = nl + 1;
        if (j.contains("path"))
            by[j["path"]] = j;
        else
            stats = j;
    }
    REQUIRE(by.count("/t/secret"));
    CHECK(by["/t/secret"]["type"] == "file");
    CHECK(by["/t/secret"]["error"].get<std::string>().find("Permission denied") !=
          std::string::npos);
    CHECK_FALSE(by["/t/secret"].contains("sha256"));
    REQUIRE(by.count("/t/closed"));
    CHECK(by["/t/closed"]["error"].get<std::string>().find("Permission denied") !=
          std::string::npos);
    CHECK_FALSE(by.count("/t/closed/inner"));
    CHECK(by["/t/open"].contains("sha256"));
    CHECK(stats["errors"] == 2);
}

}  // namespace fs_test_cases
