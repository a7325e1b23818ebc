// The walk's io_uring path (fs/read_ring.cpp, the parallel walk's ring_chunk): the ring refuses
// every opcode outside openat/read/close, Landlock still decides what its opens may reach, and
// the io_uring and posix walks of one tree give byte-identical records, unstable ones included.
#include <catch_amalgamated.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "audit/error.h"
#include "audit/fs/digest.h"
#include "audit/fs/landlock.h"
#include "audit/fs/parallel_walker.h"
#include "audit/fs/read_ring.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
#include "support.h"

namespace io_ring_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::fs::IoPath;
using audit::fs::ReadRing;
using audit_test::TempDir;
using audit_test::write;

// A ring, or a skip saying why the kernel gives none (the walk then records posix).
std::unique_ptr<ReadRing> ring_or_skip() {
    std::string why;
    auto ring = ReadRing::create(8, why);
    if (!ring) SKIP("no io_uring here: " + why);
    return ring;
}

struct Walked {
    std::vector<std::string> lines;  // sorted files.jsonl lines
    audit::fs::WalkStats stats;
};

Walked walk_with(const std::string& root_dir, IoPath io, unsigned jobs,
                 std::function<void(const std::string&)> after_read = {}) {
    audit::fs::Root root(root_dir);
    audit::fs::WalkOptions opt;
    opt.io = io;
    opt.digests = audit::fs::DigestPolicy::parse("sha256,sha384");
    opt.after_read = std::move(after_read);
    Walked w;
    std::mutex m;
    audit::fs::WalkTargets t;
    t.subtrees = {"/"};
    w.stats = audit::fs::walk_parallel(root, t, opt, jobs, [&](audit::fs::FileRecord&& r) {
        std::string line;
        r.append_json(line);
        std::lock_guard lk(m);
        w.lines.push_back(std::move(line));
    });
    std::sort(w.lines.begin(), w.lines.end());
    return w;
}

// Files of every size class the ring path treats apart: empty, small, the batch limit and one
// byte past it, past the hasher's buffer; more than one chunk of entries in one directory; a
// symlink and a FIFO (never opened); nested directories.
void make_tree(const stdfs::path& d) {
    write(d / "empty", "");
    write(d / "one", "x");
    for (std::size_t size : {4095u, 65536u, 65537u, 300000u}) {
        std::string bytes(size, '\0');
        for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131) % 251);
        write(d / ("size" + std::to_string(size)), bytes);
    }
    for (int i = 0; i < 150; ++i)
        write(d / "many" / ("f" + std::to_string(i)),
              std::string(static_cast<std::size_t>(i * 37), 'a'));
    write(d / "a" / "b" / "c" / "deep", "deep");
    stdfs::create_symlink("one", d / "link");
    REQUIRE(::mkfifo((d / "fifo").c_str(), 0644) == 0);
}

}  // namespace

TEST_CASE("io paths by name: auto, uring, posix (audit-scan --io)", "[fs][io_uring]") {
    CHECK(audit::fs::io_path_from_string("auto") == IoPath::automatic);
    CHECK(audit::fs::io_path_from_string("uring") == IoPath::uring);
    CHECK(audit::fs::io_path_from_string("posix") == IoPath::posix);
    CHECK_THROWS_AS(audit::fs::io_path_from_string("aio"), audit::UsageError);
    CHECK(std::string(audit::fs::io_path_name(IoPath::uring)) == "uring");
}

TEST_CASE("the walk's ring refuses a write: only openat, read and close pass", "[fs][io_uring]") {
    auto ring = ring_or_skip();
    TempDir dir;
    write(dir.path / "victim", "original");
    // A descriptor open for writing, made outside the ring: the ring itself still may not write.
    const int wfd = ::open((dir.path / "victim").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(wfd >= 0);
    CHECK(ring->write_for_test(wfd, "EVIL", 4) == -EACCES);
    ::close(wfd);
    CHECK(audit_test::slurp(dir.path / "victim") == "original");
    // What it may do still works: open read-only, read at the position, close.
    const int dfd = ::open(dir.str().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(dfd >= 0);
    int fd = -1;
    REQUIRE(ring->open_read(dfd, "victim", false, 7));
    REQUIRE(ring->run([&](std::uint64_t tag, int res) {
        CHECK(tag == 7);
        fd = res;
    }) == 0);
    REQUIRE(fd >= 0);
    CHECK((::fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    char buf[16] = {};
    int got = -1;
    REQUIRE(ring->read(fd, buf, sizeof buf, 8));
    REQUIRE(ring->run([&](std::uint64_t, int res) { got = res; }) == 0);
    CHECK(got == 8);
    CHECK(std::string(buf, 8) == "original");
    int closed = -1;
    REQUIRE(ring->close(fd, 9));
    REQUIRE(ring->run([&](std::uint64_t, int res) { closed = res; }) == 0);
    CHECK(closed == 0);
    ::close(dfd);
    // The ring never followed a final symlink either.
    stdfs::create_symlink("victim", dir.path / "link");
    const int dfd2 = ::open(dir.str().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int res = 0;
    REQUIRE(ring->open_read(dfd2, "link", false, 1));
    REQUIRE(ring->run([&](std::uint64_t, int r) { res = r; }) == 0);
    CHECK(res == -ELOOP);
    ::close(dfd2);
}

TEST_CASE("Landlock confines the ring's opens as it confines open(2)", "[fs][io_uring]") {
    auto probe = ring_or_skip();
    probe.reset();
    TempDir allowed, outside, out;
    write(allowed.path / "f", "in");
    write(outside.path / "g", "out");
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Child: confined for good, then the ring tries both files. Exit codes tell the parent.
        const auto c = audit::fs::confine(allowed.str(), out.str());
        if (!c.active) ::_exit(77);
        std::string why;
        auto ring = ReadRing::create(8, why);
        if (!ring) ::_exit(78);
        int in = -1, far = -1;
        const std::string inside_name = (allowed.path / "f").string();  // alive until run()
        const std::string outside_name = (outside.path / "g").string();
        ring->open_read(AT_FDCWD, inside_name.c_str(), false, 1);
        ring->open_read(AT_FDCWD, outside_name.c_str(), false, 2);
        ring->run([&](std::uint64_t tag, int res) { (tag == 1 ? in : far) = res; });
        if (in < 0) ::_exit(static_cast<unsigned char>(100 - in));
        if (far != -EACCES) ::_exit(11);
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) SKIP("no Landlock in this kernel");
    if (WEXITSTATUS(status) == 78) SKIP("no io_uring once confined");
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the io_uring and posix walks give byte-identical records", "[fs][io_uring]") {
    TempDir dir;
    make_tree(dir.path);
    const Walked posix = walk_with(dir.str(), IoPath::posix, 1);
    CHECK(posix.stats.io == "posix");
    CHECK(posix.lines.size() == 1 + 10 + 150 + 3);  // /, its 10 entries, many/*, a/b, a/b/c, deep
    for (unsigned jobs : {1u, 2u}) {
        const Walked uring = walk_with(dir.str(), IoPath::uring, jobs);
        CHECK(uring.lines == posix.lines);
        CHECK(uring.stats.files == posix.stats.files);
        CHECK(uring.stats.bytes_hashed == posix.stats.bytes_hashed);
        if (audit::fs::noatime_everywhere()) {
            std::string why;
            if (ReadRing::create(8, why))
                CHECK(uring.stats.io == "io_uring");
            else
                CHECK(uring.stats.io == "posix (io_uring unavailable: " + why + ")");
        } else {
            CHECK(uring.stats.io == "posix (io_uring: only with CAP_FOWNER)");
        }
    }
}

TEST_CASE("a file changed between its read and the stat after it is unstable on both paths",
          "[fs][io_uring]") {
    // The change is made by the walk's own hook at that exact point: no timing involved.
    auto changer = [](const TempDir& d) {
        return [&d](const std::string& path) {
            if (path != "/one" && path != "/many/f3" && path != "/size300000") return;
            const int fd = ::open((d.path / path.substr(1)).c_str(), O_WRONLY | O_APPEND);
            REQUIRE(fd >= 0);
            REQUIRE(::write(fd, "+", 1) == 1);
            ::close(fd);
        };
    };
    TempDir one, two;  // the same tree twice: each walk changes its own
    make_tree(one.path);
    make_tree(two.path);
    const Walked posix = walk_with(one.str(), IoPath::posix, 1, changer(one));
    const Walked uring = walk_with(two.str(), IoPath::uring, 2, changer(two));
    // mtimes of the two copies differ: compare every line without its mtime.
    auto strip = [](std::vector<std::string> lines) {
        for (auto& l : lines) {
            const auto at = l.find("\"mtime\":");
            REQUIRE(at != std::string::npos);
            const auto end = l.find_first_of(",}", at);
            l.erase(at, end - at);
        }
        std::sort(lines.begin(), lines.end());  // by path again: the mtimes no longer order them
        return lines;
    };
    CHECK(strip(uring.lines) == strip(posix.lines));
    int unstable = 0;
    for (const auto& l : uring.lines)
        if (l.find("\"unstable\":true") != std::string::npos) ++unstable;
    CHECK(unstable == 3);
}

TEST_CASE("the io path auto reads the posix way", "[fs][io_uring]") {
    // The benchmark found no gain in the ring (README "Speed"): auto is posix, and says so. The
    // fallback of --io uring when the kernel refuses io_uring is tests/e2e/io_uring_walk.sh's
    // (io_uring_setup failed by strace's fault injection).
    TempDir dir;
    make_tree(dir.path);
    const Walked a = walk_with(dir.str(), IoPath::automatic, 2);
    const Walked b = walk_with(dir.str(), IoPath::posix, 2);
    CHECK(a.lines == b.lines);
    CHECK(a.stats.io == "posix");
}

TEST_CASE("a sink that throws stops the io_uring walk with no descriptor left open",
          "[fs][io_uring]") {
    // The throw comes with the first file over the batch limit: it is hashed in the middle of
    // its chunk, while the chunk's small files are open and queued for their batched read.
    TempDir dir;
    make_tree(dir.path);
    auto open_fds = [] {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : stdfs::directory_iterator("/proc/self/fd")) ++n;
        return n;
    };
    const std::size_t before = open_fds();
    audit::fs::Root root(dir.str());
    audit::fs::WalkOptions opt;
    opt.io = IoPath::uring;
    audit::fs::WalkTargets t;
    t.subtrees = {"/"};
    CHECK_THROWS_WITH(audit::fs::walk_parallel(root, t, opt, 1,
                                               [&](audit::fs::FileRecord&& r) {
                                                   if (r.type == "file" && r.size > 65536)
                                                       throw std::runtime_error("sink full");
                                               }),
                      "sink full");
    CHECK(open_fds() == before + 1);  // the root's own descriptor
}

}  // namespace io_ring_test_cases
