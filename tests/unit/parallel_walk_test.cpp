// The parallel walk, the one-read hasher, the files.jsonl serializer, the external sort and the
// bounded-memory file evidence of a scan.
#include <catch_amalgamated.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/fs/digest.h"
#include "audit/fs/file_evidence.h"
#include "audit/fs/parallel_walker.h"
#include "audit/fs/record_sorter.h"
#include "audit/fs/root.h"
#include "audit/fs/walker.h"
#include "audit/manifest/manifest.h"
#include "audit/match/file_filter.h"
#include "support.h"

namespace parallel_walk_test_cases {  // one namespace per test file: unity builds compile several
                                      // as one

namespace {

namespace stdfs = std::filesystem;
using audit::fs::DigestPolicy;
using audit::fs::FileRecord;
using audit::fs::Root;
using audit_test::sh;
using audit_test::TempDir;
using audit_test::write;

template <typename Fn>
auto within_seconds(int seconds, Fn&& fn) {
    auto fut = std::async(std::launch::async, std::forward<Fn>(fn));
    REQUIRE(fut.wait_for(std::chrono::seconds(seconds)) == std::future_status::ready);
    return fut.get();
}

std::string first_word(const std::string& s) {
    return s.substr(0, s.find(' '));
}

// A tree with every kind of entry: nested directories, empty, small and large files (past the
// hasher's buffer and the size at which a file goes to an idle worker), a FIFO, links inside and
// out of the root, and a secret beside the root that nothing may reach.
struct FixtureTree {
    TempDir tmp;
    stdfs::path root;
    FixtureTree() {
        root = tmp.path / "root";
        write(tmp.path / "outside/secret", "SECRET\n");
        for (int d = 0; d < 12; ++d)
            for (int f = 0; f < 20; ++f)
                write(
                    root / ("d" + std::to_string(d)) / ("sub" + std::to_string(f % 3)) /
                        ("f" + std::to_string(f)),
                    std::string(static_cast<std::size_t>(d * 97 + f), static_cast<char>('a' + f)));
        write(root / "big/one.bin", std::string((3u << 20) + 5, '\x5a'));
        write(root / "big/two.bin", std::string((2u << 20) + 1, '\x00'));
        write(root / "big/three.bin", std::string(1u << 20, '\x7f'));
        write(root / "empty", "");
        write(root / "quote\"and\\back\nslash", "odd name\n");
        write(root / "caf\xc3\xa9", "utf-8 name\n");
        stdfs::create_directories(root / "deep/a/b/c/d/e/f");
        write(root / "deep/a/b/c/d/e/f/leaf", "leaf\n");
        REQUIRE(::mkfifo((root / "d3/fifo").c_str(), 0600) == 0);
        stdfs::create_symlink("../../outside", root / "out-rel");
        stdfs::create_symlink(tmp.path / "outside", root / "out-abs");
        stdfs::create_symlink("/outside/secret", root / "d1/abs-inside");
        stdfs::create_symlink("d2", root / "dir-link");
    }
};

std::vector<std::string> lines_of(std::vector<FileRecord> recs) {
    std::vector<std::string> out;
    for (auto& r : recs) {
        std::string l;
        r.append_json(l);
        out.push_back(std::move(l));
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<FileRecord> parallel(const Root& root, const audit::fs::WalkTargets& targets,
                                 const audit::fs::WalkOptions& options, unsigned jobs,
                                 audit::fs::WalkStats* stats = nullptr) {
    std::mutex m;
    std::vector<FileRecord> recs;
    auto s = within_seconds(60, [&] {
        return audit::fs::walk_parallel(root, targets, options, jobs, [&](FileRecord&& r) {
            std::lock_guard lk(m);
            recs.push_back(std::move(r));
        });
    });
    if (stats) *stats = s;
    return recs;
}

}  // namespace

TEST_CASE("digest policy: sha256 by default, lists parsed, unknown names refused", "[fs][digest]") {
    CHECK(DigestPolicy().names() == std::vector<std::string>{"sha256"});
    CHECK(DigestPolicy::parse("sha256,sha384").names() ==
          std::vector<std::string>{"sha256", "sha384"});
    CHECK(DigestPolicy::parse("sha512,sha256").names() ==
          std::vector<std::string>{"sha256", "sha512"});
    CHECK_THROWS_AS(DigestPolicy::parse("md5"), audit::UsageError);
    CHECK_THROWS_AS(DigestPolicy::parse(""), audit::UsageError);
    CHECK_THROWS_AS(DigestPolicy::parse("sha256,"), audit::UsageError);
}

TEST_CASE("the parallel walk records what the sequential walk records, with any number of jobs",
          "[fs][parallel]") {
    FixtureTree t;
    Root root(t.root.string());
    audit::fs::WalkOptions options;
    options.digests = DigestPolicy::parse("sha256,sha384");
    std::vector<FileRecord> seq;
    audit::fs::WalkStats seq_stats;
    within_seconds(60, [&] {
        audit::fs::walk(
            root, "/", options, [&](FileRecord&& r) { seq.push_back(std::move(r)); }, seq_stats);
    });
    const auto expected = lines_of(seq);
    REQUIRE(expected.size() > 250);
    const unsigned jobs = GENERATE(1u, 2u, 4u, 16u);
    CAPTURE(jobs);
    audit::fs::WalkStats stats;
    auto recs = parallel(root, {{"/"}, {}}, options, jobs, &stats);
    CHECK(lines_of(recs) == expected);
    CHECK(stats.files == seq_stats.files);
    CHECK(stats.dirs == seq_stats.dirs);
    CHECK(stats.bytes_hashed == seq_stats.bytes_hashed);
    CHECK(stats.skipped_special == 1);
    CHECK(stats.errors == 0);
}

TEST_CASE("the parallel walk's digests are those of sha256sum, sha384sum and openssl",
          "[fs][parallel]") {
    FixtureTree t;
    Root root(t.root.string());
    audit::fs::WalkOptions options;
    options.digests = DigestPolicy::parse("sha256,sha384,sha512");
    auto recs = parallel(root, {{"/"}, {}}, options, 3);
    std::size_t checked = 0;
    for (const auto& r : recs) {
        if (r.type != "file") {
            CHECK_FALSE(r.digests);
            continue;
        }
        CAPTURE(r.path);
        REQUIRE(r.digests);
        const std::string file = (t.root / r.path.substr(1)).string();
        // Names with quotes or newlines are checked through a symlink-free copy of the name.
        if (r.path.find_first_of("\"\\\n'") != std::string::npos) continue;
        CHECK(r.digests->sha256 == first_word(sh("sha256sum '" + file + "'")));
        CHECK(r.digests->sha384 == first_word(sh("sha384sum '" + file + "'")));
        CHECK(r.digests->sha512 ==
              audit_test::trim_nl(sh("openssl dgst -sha512 -r '" + file + "' | cut -d' ' -f1")));
        ++checked;
    }
    CHECK(checked > 240);
    // The default policy computes sha256 only.
    auto plain = parallel(root, {{"/big"}, {}}, {}, 2);
    for (const auto& r : plain)
        if (r.type == "file") {
            REQUIRE(r.digests);
            CHECK(r.digests->sha256.size() == 64);
            CHECK(r.digests->sha384.empty());
            CHECK(r.digests->sha512.empty());
        }
}

TEST_CASE("the parallel walk follows no link out of the root and does not block on a FIFO",
          "[fs][parallel]") {
    FixtureTree t;
    Root root(t.root.string());
    auto recs = parallel(root, {{"/"}, {"/out-rel/secret", "/d3/fifo", "/dir-link"}}, {}, 4);
    std::map<std::string, FileRecord> by;
    for (auto& r : recs) {
        CHECK(r.path.find("secret") == std::string::npos);
        CHECK(r.path.rfind("/out-rel/", 0) != 0);
        CHECK(r.path.rfind("/out-abs/", 0) != 0);
        CHECK(r.path.rfind("/dir-link/", 0) != 0);
        if (r.digests) CHECK(r.digests->sha256 != audit::fs::sha256_hex("SECRET\n"));
        by[r.path] = r;
    }
    CHECK(by["/out-rel"].type == "symlink");
    CHECK(by["/out-rel"].link_target == "../../outside");
    CHECK(by["/out-abs"].type == "symlink");
    CHECK(by["/dir-link"].type == "symlink");
    CHECK(by["/d3/fifo"].type == "fifo");
    CHECK_FALSE(by["/d3/fifo"].digests);
    CHECK(by["/d1/abs-inside"].type == "symlink");
}

TEST_CASE("parallel inspection of single paths matches inspect()", "[fs][parallel]") {
    FixtureTree t;
    Root root(t.root.string());
    const std::vector<std::string> paths = {"/d1/sub0/f0", "/big",           "/dir-link/sub1/f1",
                                            "/out-rel",    "/no/such/file",  "/d3/fifo",
                                            "/",           "/out-rel/secret"};
    std::vector<FileRecord> expected;
    for (const auto& p : paths) {
        auto r = audit::fs::inspect(root, p);
        if (r.type != "missing") expected.push_back(std::move(r));
    }
    auto recs = parallel(root, {{}, paths}, {}, 2);
    CHECK(lines_of(recs) == lines_of(expected));
    std::set<std::string> got;
    for (const auto& r : recs) got.insert(r.path);
    CHECK(got.count("/dir-link/sub1/f1"));  // parents resolve inside the root
    CHECK_FALSE(got.count("/out-rel/secret"));
    CHECK_FALSE(got.count("/d1/sub0"));  // a directory is described, not descended
}

TEST_CASE("an exception from the sink stops the parallel walk and is rethrown", "[fs][parallel]") {
    FixtureTree t;
    Root root(t.root.string());
    std::atomic<int> calls{0};
    within_seconds(60, [&] {
        CHECK_THROWS_AS(audit::fs::walk_parallel(root, {{"/"}, {}}, {}, 4,
                                                 [&](FileRecord&&) {
                                                     if (++calls == 10)
                                                         throw audit::IoError("disk full");
                                                 }),
                        audit::IoError);
    });
    CHECK(calls >= 10);
}

TEST_CASE("the parallel walk does not cross filesystems and never opens devices",
          "[fs][parallel]") {
    struct stat dev {
    }, pts{};
    if (::stat("/dev", &dev) != 0 || ::stat("/dev/pts", &pts) != 0 || dev.st_dev == pts.st_dev)
        SKIP("no separate /dev/pts mount here");
    Root root("/dev");
    audit::fs::WalkStats stats;
    auto recs = parallel(root, {{"/"}, {}}, {}, 2, &stats);
    bool saw_pts = false;
    for (const auto& r : recs) {
        CHECK(r.path.rfind("/pts/", 0) != 0);
        if (r.path == "/pts") {
            saw_pts = true;
            CHECK(r.skipped == "other-filesystem");
        }
        if (r.type == "char" || r.type == "block") CHECK_FALSE(r.digests);
    }
    CHECK(saw_pts);
    CHECK(stats.skipped_other_fs >= 1);
}

TEST_CASE("files.jsonl lines written directly equal to_json().dump()", "[fs][json]") {
    std::vector<FileRecord> recs(6);
    recs[0].path = "/plain";
    recs[0].type = "file";
    recs[0].size = 123;
    recs[0].mode = 0644;
    recs[0].uid = 1000;
    recs[0].gid = 4294967295u;
    recs[0].mtime = -5;
    recs[0].digests = audit::fs::FileDigests{std::string(64, 'a'), std::string(96, 'b')};
    recs[1].path = std::string("/ctl\x01\x1f\x7f\b\f\n\r\t\"\\/", 16) + "é€😀";
    recs[1].type = "symlink";
    recs[1].link_target = "target \"q\"";
    recs[1].error = "readlink: Permission denied";
    recs[1].unstable = true;
    recs[2].path = "/dir";
    recs[2].type = "dir";
    recs[2].skipped = "other-filesystem";
    recs[3].path = "/bad\xff\xfe-utf8\xc3";  // not UTF-8: replaced, and given exactly in hex
    recs[3].type = "symlink";
    recs[3].link_target = "\xed\xa0\x80";  // an encoded surrogate is not UTF-8 either
    recs[4].path = "/cnsa";
    recs[4].type = "file";
    recs[4].digests = audit::fs::FileDigests{"", std::string(96, 'c'), std::string(128, 'd')};
    recs[5].path = "/overlong\xc0\xaf";
    recs[5].type = "file";
    for (const auto& r : recs) {
        std::string line;
        r.append_json(line);
        CAPTURE(line);
        CHECK(line == r.to_json().dump());
        CHECK_NOTHROW(nlohmann::json::parse(line));
    }
    auto j = recs[3].to_json();
    CHECK(j["path_hex"] == "2f626164fffe2d75746638c3");
    CHECK(j["link_hex"] == "eda080");
    CHECK(j["path"] == "/bad\xef\xbf\xbd\xef\xbf\xbd-utf8\xef\xbf\xbd");
    CHECK_FALSE(recs[0].to_json().contains("path_hex"));
    CHECK_FALSE(recs[4].to_json().contains("sha256"));
    CHECK(recs[4].to_json()["sha512"].get<std::string>().size() == 128);
}

TEST_CASE("the record sorter sorts in bounded memory across many spilled runs", "[fs][sort]") {
    TempDir tmp;
    std::mt19937 rng(42);
    std::vector<std::tuple<std::string, int, std::string>> all;
    // A tiny budget forces hundreds of runs, so the merge needs more than one pass.
    audit::fs::RecordSorter sorter(tmp.str(), 4096);
    for (int i = 0; i < 20000; ++i) {
        std::string key = "/k" + std::to_string(rng() % 15000);
        const int rank = static_cast<int>(rng() % 2);
        std::string line = "{\"n\":" + std::to_string(rng() % 5) + "}";
        all.emplace_back(key, rank, line);
        sorter.add(key, static_cast<std::uint8_t>(rank), line);
    }
    CHECK(sorter.runs_spilled() > 64);
    const std::string out = (tmp.path / "out").string();
    const auto written = sorter.finish(out);
    std::sort(all.begin(), all.end());
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < all.size(); ++i)
        if (i == 0 || std::get<0>(all[i]) != std::get<0>(all[i - 1]))
            expected.push_back(std::get<2>(all[i]));
    CHECK(written == expected.size());
    CHECK(sorter.duplicates_dropped() == all.size() - expected.size());
    std::ifstream in(out);
    std::vector<std::string> got;
    for (std::string l; std::getline(in, l);) got.push_back(l);
    CHECK(got == expected);
    // Run files are gone once merged.
    std::size_t left = 0;
    for (const auto& e : stdfs::directory_iterator(tmp.path)) left += e.path().filename() != "out";
    CHECK(left == 0);
}

TEST_CASE("the record sorter is safe to feed from many threads", "[fs][sort]") {
    TempDir tmp;
    audit::fs::RecordSorter sorter(tmp.str(), 1 << 14);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5000; ++i) {
                char key[32];
                std::snprintf(key, sizeof key, "/%06d", i * 4 + t);
                sorter.add(key, 0, key);
            }
        });
    for (auto& t : threads) t.join();
    CHECK(sorter.finish((tmp.path / "out").string()) == 20000);
    std::ifstream in(tmp.path / "out");
    std::string prev, l;
    std::size_t n = 0;
    while (std::getline(in, l)) {
        CHECK(prev < l);
        prev = l;
        ++n;
    }
    CHECK(n == 20000);
}

TEST_CASE("the file filter keeps every record a file rule can match, and only those",
          "[match][filter]") {
    auto m = audit::manifest::parse_manifest(R"(
schema = 1
id = "acme"
name = "Acme"
vendor = "Acme"
version = "1"
[[rule]]
id = "path"
confidence = "strong"
kind = "path"
paths = ["/opt/acme/**", "/**/acme-agent"]
[[rule]]
id = "unit"
confidence = "strong"
kind = "service"
units = ["acme*"]
[[rule]]
id = "hash"
confidence = "definitive"
kind = "file_hash"
sha384 = [")" + std::string(96, 'A') + R"("]
)",
                                             "acme.toml");
    audit::match::FileFilter filter({m});
    auto rec = [](std::string path, std::string sha384 = "") {
        FileRecord r;
        r.path = std::move(path);
        r.type = "file";
        if (!sha384.empty()) r.digests = audit::fs::FileDigests{std::string(64, '0'), sha384};
        return r;
    };
    CHECK(filter.may_match(rec("/opt/acme/bin/x")));
    CHECK(filter.may_match(rec("/usr/sbin/acme-agent")));
    CHECK(filter.may_match(rec("/etc/systemd/system/anything.service")));
    CHECK(filter.may_match(rec("/usr/share/x", std::string(96, 'a'))));
    CHECK_FALSE(filter.may_match(rec("/usr/share/x", std::string(96, 'b'))));
    CHECK_FALSE(filter.may_match(rec("/opt/acmeX/bin/x")));
    CHECK_FALSE(filter.may_match(rec("/usr/share/doc/acme/README")));
    // A sha384 hash set needs sha384 digests whatever the scan's policy.
    CHECK(filter.digests_needed().has(audit::fs::DigestAlgorithm::sha384));
    CHECK_FALSE(filter.digests_needed().has(audit::fs::DigestAlgorithm::sha256));
}

TEST_CASE("file evidence streams a sorted files.jsonl and keeps only selected records",
          "[fs][evidence]") {
    FixtureTree t;
    TempDir out;
    Root root(t.root.string());
    std::string first;
    for (unsigned jobs : {1u, 3u}) {
        audit::fs::FileEvidence ev(root, out.str(), {}, jobs, [](const FileRecord& r) {
            return r.path.rfind("/d1/", 0) == 0;
        });
        std::vector<std::string> failed;
        ev.walk({"/"}, failed);
        ev.inspect({"/d2/sub0/f0", "/dir-link/sub0/f0"});  // a walked path, a new one
        CHECK(failed.empty());
        CHECK(std::all_of(ev.kept().begin(), ev.kept().end(),
                          [](const FileRecord& r) { return r.path.rfind("/d1/", 0) == 0; }));
        CHECK(ev.kept().size() == 24);  // 3 subdirs, 20 files, 1 link
        const std::string path = ev.finish();
        const std::string text = audit_test::slurp(path);
        std::vector<std::string> paths;
        std::istringstream in(text);
        for (std::string l; std::getline(in, l);)
            paths.push_back(nlohmann::json::parse(l)["path"].get<std::string>());
        CHECK(std::is_sorted(paths.begin(), paths.end()));
        CHECK(std::adjacent_find(paths.begin(), paths.end()) == paths.end());
        CHECK(std::count(paths.begin(), paths.end(), "/dir-link/sub0/f0") == 1);
        CHECK(ev.lines() == paths.size());
        if (first.empty())
            first = text;
        else
            CHECK(text == first);  // the same bytes whatever the number of jobs
    }
    // The scratch directories are gone with their owners.
    CHECK(stdfs::is_empty(out.path));
}

TEST_CASE("a bundle streams a content file from disk", "[evidence][bundle]") {
    TempDir tmp;
    auto key = audit::crypto::SigningKey::generate(audit::crypto::KeyProfile::ed25519);
    const std::string big = [] {
        std::string s;
        for (int i = 0; i < 200000; ++i) s += "{\"path\":\"/f" + std::to_string(i) + "\"}\n";
        return s;
    }();
    write(tmp.path / "files.jsonl.src", big);
    auto w = audit::evidence::write_bundle(
        tmp.str(), "b.evidence.tar.zst", {{"host.json", "{}\n"}},
        {{"files.jsonl", (tmp.path / "files.jsonl.src").string()}}, {{"bundle_id", "b"}}, key, 0);
    const std::string listing = sh("tar --zstd -tvf '" + w.path + "'");
    CHECK(listing.find("statement.dsse.json") < listing.find("files.jsonl"));
    CHECK(listing.find("files.jsonl") < listing.find("host.json"));
    const std::string extracted = sh("tar --zstd -xOf '" + w.path + "' files.jsonl");
    CHECK(extracted == big);
    CHECK_THROWS_AS(audit::evidence::write_bundle(
                        tmp.str(), "c.evidence.tar.zst", {{"files.jsonl", "x"}},
                        {{"files.jsonl", (tmp.path / "x").string()}}, {{"bundle_id", "c"}}, key, 0),
                    audit::UsageError);
}

}  // namespace parallel_walk_test_cases
