#include <catch_amalgamated.hpp>

#include <sqlite3.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/sources/rpm.h"
#include "support.h"

namespace rpm_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::InventoryItem;
using audit::UsageError;
using audit::sources::parse_rpm_header;
using audit::sources::read_rpm_bdb;
using audit::sources::read_rpm_ndb;
using audit::sources::read_rpm_sqlite;
using audit::sources::RpmRecord;
using audit::sources::RpmSource;
using audit::sources::SourceReport;
using audit::sources::SourceStatus;

const std::string kFixture = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/rpm-root.sh";

using audit_test::TempDir;

using audit_test::write;

using audit_test::slurp;

using audit_test::sh;

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    for (;;) {
        std::size_t e = s.find(sep, pos);
        out.push_back(s.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
        if (e == std::string::npos) return out;
        pos = e + 1;
    }
}

SourceReport collect(const stdfs::path& root, std::vector<InventoryItem>& items) {
    audit::fs::Root r(root.string());
    return RpmSource().collect(r, items);
}

const InventoryItem* find(const std::vector<InventoryItem>& items, const std::string& name) {
    for (const auto& i : items)
        if (i.name == name) return &i;
    return nullptr;
}

// What rpm itself reports (rpm-root.sh query), checked item by item against our reading.
void agrees_with_rpm(const std::vector<InventoryItem>& items, const std::string& query) {
    std::size_t packages = 0, files = 0;
    for (const auto& line : split(query, '\n')) {
        if (line.empty()) continue;
        auto f = split(line, '\t');
        INFO(line);
        const InventoryItem* item = find(items, f.at(1));
        REQUIRE(item != nullptr);
        if (f[0] == "P") {
            ++packages;
            std::string evr = (f[2] == "(none)" ? "" : f[2] + ":") + f[3] + "-" + f[4];
            CHECK(item->version == evr);
            CHECK(item->arch == f[5]);
            CHECK(item->publisher == f[6]);
            CHECK(item->extra.value("packager", "") == f[7]);
            CHECK(item->extra.value("install_time", 0u) == std::stoul(f[8]));
            // No FILEDIGESTALGO tag means md5, rpm's original digest.
            CHECK(item->extra.value("file_digest_algo", "") == (f[9] == "(none)" ? "md5"
                                                                : f[9] == "8"    ? "sha256"
                                                                                 : "?"));
            CHECK(item->state == "installed");
        } else {
            ++files;
            REQUIRE(f.size() == 4);
            CHECK(std::count(item->paths.begin(), item->paths.end(), f[2]) == 1);
            if (f[3].empty())
                CHECK_FALSE(item->extra["file_digests"].contains(f[2]));
            else
                CHECK(item->extra["file_digests"].value(f[2], "") == f[3]);
        }
    }
    CHECK(packages == items.size());
    CHECK(files > packages);
}

// What the rpm-root fixture builds: kesl (Kaspersky-named, sha256 digests) and a benign package
// with an epoch, md5 digests and a file name with a space.
struct RealRoot {
    TempDir tmp;
    stdfs::path root = tmp.path / "host";
    std::string query;
    RealRoot() {
        const std::string out = (tmp.path / "rpms").string();
        const std::string kesl =
            sh("bash " + kFixture + " build-rpm " + out +
               " kesl 11.1.0 3393 /opt/kaspersky/kesl/bin/kesl /opt/kaspersky/kesl/lib/libkesl.so");
        const std::string hello =
            sh("RPM_VENDOR='Example Org' RPM_CONF_DIR=/etc/hello RPM_EPOCH=2 RPM_DIGEST_ALGO=1 "
               "RPM_ARCH=noarch bash " +
               kFixture + " build-rpm " + out + " hello 1.0 1 '/usr/bin/hello world'");
        sh("bash " + kFixture + " init " + root.string());
        sh("bash " + kFixture + " install " + root.string() + " " + split(kesl, '\n')[0]);
        sh("bash " + kFixture + " install " + root.string() + " " + split(hello, '\n')[0]);
        query = sh("bash " + kFixture + " query " + root.string());
    }
    stdfs::path sqlite() const { return root / "var/lib/rpm/rpmdb.sqlite"; }
};

// Items without what legitimately differs between databases of the same packages.
std::vector<std::string> comparable(const std::vector<InventoryItem>& items) {
    std::vector<std::string> out;
    for (auto i : items) {
        i.source.clear();
        i.extra.erase("database");
        out.push_back(i.to_json().dump());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string listing(const stdfs::path& root) {
    std::string out;
    for (const auto& e : stdfs::recursive_directory_iterator(root)) {
        out += e.path().string() + " ";
        if (e.is_regular_file())
            out += std::to_string(e.file_size()) + " " +
                   std::to_string(stdfs::last_write_time(e.path()).time_since_epoch().count());
        out += "\n";
    }
    return out;
}

// A header blob laid out as rpm's headerExport does: entries, then an aligned data store.
class HeaderBuilder {
  public:
    HeaderBuilder& str(std::uint32_t tag, const std::string& s) {
        return add(tag, 6, 1, s + '\0', 1);
    }
    HeaderBuilder& strs(std::uint32_t tag, const std::vector<std::string>& v) {
        std::string d;
        for (const auto& s : v) d += s + '\0';
        return add(tag, 8, static_cast<std::uint32_t>(v.size()), d, 1);
    }
    HeaderBuilder& i32(std::uint32_t tag, const std::vector<std::uint32_t>& v) {
        std::string d;
        for (auto x : v) d += be(x);
        return add(tag, 4, static_cast<std::uint32_t>(v.size()), d, 4);
    }
    HeaderBuilder& raw(std::uint32_t tag, std::uint32_t type, std::uint32_t count,
                       const std::string& d, std::size_t align = 1) {
        return add(tag, type, count, d, align);
    }
    std::string build() const {
        std::string index, data;
        for (const auto& e : entries_) {
            while (data.size() % e.align) data += '\0';
            index +=
                be(e.tag) + be(e.type) + be(static_cast<std::uint32_t>(data.size())) + be(e.count);
            data += e.data;
        }
        return be(static_cast<std::uint32_t>(entries_.size())) +
               be(static_cast<std::uint32_t>(data.size())) + index + data;
    }
    static std::string be(std::uint32_t x) {
        return {static_cast<char>(x >> 24), static_cast<char>(x >> 16), static_cast<char>(x >> 8),
                static_cast<char>(x)};
    }

  private:
    struct E {
        std::uint32_t tag, type, count;
        std::string data;
        std::size_t align;
    };
    HeaderBuilder& add(std::uint32_t tag, std::uint32_t type, std::uint32_t count, std::string d,
                       std::size_t align) {
        entries_.push_back({tag, type, count, std::move(d), align});
        return *this;
    }
    std::vector<E> entries_;
};

HeaderBuilder sample() {
    HeaderBuilder b;
    b.str(1000, "kesl")
        .str(1001, "11.1.0")
        .str(1002, "3393")
        .i32(1003, {4})
        .str(1022, "x86_64")
        .str(1011, "Kaspersky Lab")
        .i32(1008, {1700000000})
        .i32(1116, {0, 1, 1})
        .strs(1117, {"kesl", "libkesl.so", "notes"})
        .strs(1118, {"/opt/kaspersky/kesl/bin/", "/opt/kaspersky/kesl/lib/"})
        .strs(1035, {std::string(64, 'A'), std::string(64, 'b'), ""})
        .i32(5011, {8});
    return b;
}

template <typename Fn>
void never_crashes(const std::string& good, std::uint32_t seed, int rounds, Fn&& fn) {
    std::mt19937 rng(seed);
    for (int i = 0; i < rounds; ++i) {
        std::string bad = good;
        int flips = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
        try {
            fn(bad);
        } catch (const UsageError&) {
        }
    }
}

}  // namespace

TEST_CASE("rpm header: the fields an auditor needs", "[rpm]") {
    auto h = parse_rpm_header(sample().build());
    CHECK(h.name == "kesl");
    CHECK(h.version == "11.1.0");
    CHECK(h.release == "3393");
    REQUIRE(h.epoch);
    CHECK(*h.epoch == 4);
    CHECK(h.arch == "x86_64");
    CHECK(h.vendor == "Kaspersky Lab");
    CHECK(h.install_time.value_or(0) == 1700000000u);
    CHECK(h.digest_algo == 8);
    REQUIRE(h.files.size() == 3);
    CHECK(h.files[0].path == "/opt/kaspersky/kesl/bin/kesl");
    CHECK(h.files[0].digest == std::string(64, 'a'));  // lower-cased
    CHECK(h.files[1].path == "/opt/kaspersky/kesl/lib/libkesl.so");
    CHECK(h.files[2].path == "/opt/kaspersky/kesl/lib/notes");
    CHECK(h.files[2].digest.empty());
    CHECK(h.problems.empty());
    CHECK(audit::sources::rpm_digest_algo_name(8) == "sha256");
    CHECK(audit::sources::rpm_digest_algo_name(77) == "algo-77");

    // The lead-in of an .rpm file's header section is accepted too.
    std::string magic("\x8e\xad\xe8\x01\0\0\0\0", 8);
    CHECK(parse_rpm_header(magic + sample().build()).name == "kesl");
}

TEST_CASE("rpm header: an entry added after the region replaces the earlier one", "[rpm]") {
    auto h = parse_rpm_header(sample().i32(1008, {1800000000}).build());
    CHECK(h.install_time.value_or(0) == 1800000000u);
}

TEST_CASE("rpm header: invalid UTF-8 becomes U+FFFD, never invalid JSON", "[rpm]") {
    auto h = parse_rpm_header(sample().str(1011, "Soci\xe9t\xe9").build());
    CHECK(h.vendor == "Soci\xef\xbf\xbdt\xef\xbf\xbd");
    InventoryItem i;
    i.publisher = h.vendor;
    CHECK_NOTHROW(i.to_json().dump());
}

TEST_CASE("rpm header: every truncation is refused", "[rpm]") {
    const std::string good = sample().build();
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO(n);
        CHECK_THROWS_AS(parse_rpm_header(good.substr(0, n)), UsageError);
    }
    CHECK_THROWS_AS(parse_rpm_header(good + "x"), UsageError);
}

TEST_CASE("rpm header: malformed entries are refused with the reason", "[rpm]") {
    auto refused = [](const std::string& blob, const std::string& why) {
        INFO(why);
        CHECK_THROWS_WITH(parse_rpm_header(blob), Catch::Matchers::ContainsSubstring(why));
    };
    refused(HeaderBuilder().str(1001, "1.0").build(), "no NAME");
    refused(HeaderBuilder().str(1000, "a/b").build(), "not a package name");
    refused(HeaderBuilder().str(1000, "").build(), "no NAME");
    refused(HeaderBuilder().i32(1000, {1}).build(), "not a string");
    refused(HeaderBuilder().str(1000, "x").raw(1003, 4, 1, std::string("\0\0\0\1", 4), 1).build(),
            "misaligned");
    refused(HeaderBuilder().str(1000, "x").raw(1003, 4, 3, std::string(4, '\0'), 4).build(),
            "runs past");
    refused(HeaderBuilder().raw(1000, 6, 1, "kesl").build(), "runs past");
    refused(HeaderBuilder().str(1000, "x").raw(1117, 8, 5, std::string("a\0b\0", 4)).build(),
            "runs past");
    refused(HeaderBuilder().str(1000, "x").raw(1004, 6, 2, std::string("a\0b\0", 4)).build(),
            "count 2");
    refused(HeaderBuilder().str(1000, "x").raw(1004, 10, 1, "a").build(), "unknown type");
    refused(HeaderBuilder().str(1000, "x").raw(1004, 6, 0, std::string("a\0", 2)).build(),
            "count 0");

    // Index entries and data length out of proportion to the bytes.
    std::string huge = HeaderBuilder::be(0x01000000) + HeaderBuilder::be(0);
    refused(huge, "entry count");
    std::string blob = sample().build();
    refused(blob.substr(0, 4) + HeaderBuilder::be(0x7fffffff) + blob.substr(8), "data length");
    std::string past = blob;  // first entry's offset far past the data store
    past.replace(8 + 8, 4, HeaderBuilder::be(0x00ffffff));
    refused(past, "past the data store");
}

TEST_CASE("rpm header: a damaged file list keeps the package and says so", "[rpm]") {
    auto h = parse_rpm_header(HeaderBuilder()
                                  .str(1000, "x")
                                  .str(1001, "1")
                                  .str(1002, "1")
                                  .i32(1116, {0, 7})
                                  .strs(1117, {"a", "b"})
                                  .strs(1118, {"/d/"})
                                  .build());
    CHECK(h.name == "x");
    CHECK(h.files.empty());
    REQUIRE(h.problems.size() == 1);
    CHECK(h.problems[0].find("out of range") != std::string::npos);

    auto g = parse_rpm_header(sample().strs(1035, {"zz", "ab", ""}).build());
    CHECK(g.files.size() == 3);
    CHECK(g.files[0].digest.empty());
    CHECK(g.files[1].digest == "ab");
    REQUIRE(g.problems.size() == 1);
    auto k = parse_rpm_header(sample().strs(1035, {"ab"}).build());
    CHECK(k.files.size() == 3);
    CHECK(k.problems.size() == 1);
}

TEST_CASE("rpm header: random corruption never crashes the parser", "[rpm]") {
    never_crashes(sample().build(), 42, 20000, [](const std::string& b) { parse_rpm_header(b); });
}

TEST_CASE("RpmSource agrees with rpm on a root rpm itself installed into (sqlite)", "[rpm]") {
    RealRoot r;
    // Nothing is written under the root: no -wal or -shm appears, nothing changes.
    stdfs::remove(r.sqlite().string() + "-wal");
    stdfs::remove(r.sqlite().string() + "-shm");
    const std::string before = listing(r.root);
    std::vector<InventoryItem> items;
    auto rep = collect(r.root, items);
    CHECK(listing(r.root) == before);
    INFO(rep.to_json().dump());
    REQUIRE(rep.status == SourceStatus::ran);
    CHECK(rep.warnings.empty());
    REQUIRE(items.size() == 2);
    CHECK(rep.items == 2);
    agrees_with_rpm(items, r.query);

    const InventoryItem* kesl = find(items, "kesl");
    REQUIRE(kesl != nullptr);
    CHECK(kesl->version == "11.1.0-3393");
    CHECK(kesl->publisher == "Kaspersky Lab");
    CHECK(kesl->purl() == "pkg:rpm/rocky/kesl@11.1.0-3393?arch=x86_64");
    CHECK(kesl->extra["database"] == "sqlite");
    CHECK(kesl->extra["file_digest_algo"] == "sha256");
    CHECK(kesl->extra["summary"] == "kesl test fixture");
    CHECK(kesl->source.rfind("/var/lib/rpm/rpmdb.sqlite#hnum=", 0) == 0);
    // The digest rpm recorded is the sha256 of the bytes it installed.
    for (const auto& [path, digest] : kesl->extra["file_digests"].items())
        CHECK(split(sh("sha256sum '" + (r.root.string() + path) + "'"), ' ')[0] ==
              digest.get<std::string>());
    const InventoryItem* hello = find(items, "hello");
    REQUIRE(hello != nullptr);
    CHECK(hello->version == "2:1.0-1");
    CHECK(hello->purl() == "pkg:rpm/rocky/hello@1.0-1?arch=noarch&epoch=2");
    CHECK(hello->extra["file_digest_algo"] == "md5");

    // A write-ahead log that is not one is not applied, and the scan says so.
    write(r.sqlite().string() + "-wal", std::string(100, 'w'));
    items.clear();
    rep = collect(r.root, items);
    CHECK(rep.status == SourceStatus::ran);
    CHECK(items.size() == 2);
    REQUIRE(rep.warnings.size() == 1);
    CHECK(rep.warnings[0] ==
          "/var/lib/rpm/rpmdb.sqlite: write-ahead log not applied: no WAL magic");
}

TEST_CASE("RpmSource reads Berkeley DB Packages files that db_load wrote and rpm's bdb_ro reads",
          "[rpm]") {
    RealRoot r;
    std::vector<InventoryItem> reference;
    REQUIRE(collect(r.root, reference).status == SourceStatus::ran);
    // Little endian with 4 KiB pages; big endian with 512-byte pages, so headers overflow.
    for (const auto& [lorder, pagesize] :
         std::vector<std::pair<std::string, std::string>>{{"1234", "4096"}, {"4321", "512"}}) {
        INFO(lorder << " " << pagesize);
        TempDir t;
        stdfs::path host = t.path / "host";
        stdfs::copy(r.root, host, stdfs::copy_options::recursive);
        stdfs::path db = host / "var/lib/rpm";
        stdfs::remove_all(db);
        sh("bash " + kFixture + " to-bdb " + r.sqlite().string() + " " + db.string() + " " +
           lorder + " " + pagesize);
        // rpm itself reads the same packages from the file db_load wrote.
        CHECK(sh("bash " + kFixture + " query-bdb " + db.string()) == r.query);
        std::vector<InventoryItem> items;
        auto rep = collect(host, items);
        INFO(rep.to_json().dump());
        REQUIRE(rep.status == SourceStatus::ran);
        CHECK(rep.warnings.empty());
        agrees_with_rpm(items, r.query);
        CHECK(comparable(items) == comparable(reference));
        CHECK(items[0].extra["database"] == "bdb");

        const std::string bytes = slurp(db / "Packages");
        std::vector<std::string> w;
        CHECK(read_rpm_bdb(bytes, w).size() ==
              2);  // key 0 (rpm's instance counter) is not a package
        for (std::size_t n : {std::size_t{0}, std::size_t{100}, std::size_t{600}, bytes.size() - 1})
            CHECK_THROWS_AS(read_rpm_bdb(bytes.substr(0, n), w), UsageError);
        const std::size_t ps = std::stoul(pagesize);
        std::size_t overflow_pages = 0;
        for (std::size_t at = ps; at + ps <= bytes.size(); at += ps)
            overflow_pages += bytes[at + 25] == 7;
        CHECK(overflow_pages > 0);  // headers larger than a quarter page live in overflow chains
        std::string cycle = bytes;  // page 1's next-page link points at itself
        cycle.replace(ps + 16, 4,
                      lorder == "1234" ? std::string("\1\0\0\0", 4) : std::string("\0\0\0\1", 4));
        CHECK_THROWS_WITH(read_rpm_bdb(cycle, w), Catch::Matchers::ContainsSubstring("twice"));
        std::string typed = bytes;  // page 1 is no longer a hash page
        typed[ps + 25] = 5;
        CHECK_THROWS_WITH(read_rpm_bdb(typed, w),
                          Catch::Matchers::ContainsSubstring("not a hash page"));
        never_crashes(bytes, 7, 3000, [](const std::string& b) {
            std::vector<std::string> ww;
            for (const auto& rec : read_rpm_bdb(b, ww)) {
                try {
                    parse_rpm_header(rec.blob);
                } catch (const UsageError&) {
                }
            }
        });
    }
}

TEST_CASE("RpmSource reads ndb Packages.db laid out from rpm's format", "[rpm]") {
    RealRoot r;
    std::vector<InventoryItem> reference;
    REQUIRE(collect(r.root, reference).status == SourceStatus::ran);
    TempDir t;
    stdfs::path host = t.path / "host";
    stdfs::copy(r.root, host, stdfs::copy_options::recursive);
    stdfs::remove_all(host / "var/lib/rpm");
    // SUSE's place for it, with var/lib/rpm a link there: one database, read once.
    stdfs::path db = host / "usr/lib/sysimage/rpm";
    sh("bash " + kFixture + " to-ndb " + r.sqlite().string() + " " + db.string());
    stdfs::create_symlink("../../usr/lib/sysimage/rpm", host / "var/lib/rpm");
    std::vector<InventoryItem> items;
    auto rep = collect(host, items);
    INFO(rep.to_json().dump());
    REQUIRE(rep.status == SourceStatus::ran);
    CHECK(rep.warnings.empty());
    agrees_with_rpm(items, r.query);
    CHECK(comparable(items) == comparable(reference));
    CHECK(items[0].source.rfind("/usr/lib/sysimage/rpm/Packages.db#pkgidx=", 0) == 0);

    const std::string bytes = slurp(db / "Packages.db");
    REQUIRE(read_rpm_ndb(bytes).size() == 2);
    CHECK_THROWS_WITH(read_rpm_ndb("RpmQ" + bytes.substr(4)),
                      Catch::Matchers::ContainsSubstring("magic"));
    CHECK_THROWS_AS(read_rpm_ndb(bytes.substr(0, 4000)), UsageError);
    CHECK_THROWS_AS(read_rpm_ndb(bytes.substr(0, bytes.size() - 16)), UsageError);
    std::string slot = bytes;  // first slot's block count runs past the end
    slot.replace(32 + 12, 4, std::string("\xff\xff\0\0", 4));
    CHECK_THROWS_WITH(read_rpm_ndb(slot), Catch::Matchers::ContainsSubstring("outside"));

    // One damaged blob: the other package is still read and reported, but the database was not
    // read completely (the damaged one could be the product), so the source failed, saying why.
    std::string blob = bytes;
    blob[4096 + 16 + 40] ^= 1;
    auto records = read_rpm_ndb(blob);
    REQUIRE(records.size() == 2);
    CHECK(records[0].damage == "blob damaged: adler32 mismatch");
    CHECK(records[0].blob.empty());
    CHECK(records[1].damage.empty());
    write(db / "Packages.db", blob);
    items.clear();
    rep = collect(host, items);
    CHECK(rep.status == SourceStatus::failed);
    CHECK(rep.error ==
          "/usr/lib/sysimage/rpm/Packages.db: 1 of 2 package headers could not be read (see "
          "warnings)");
    CHECK(items.size() == 1);
    CHECK(rep.items == 1);
    REQUIRE(rep.warnings.size() == 1);
    CHECK(rep.warnings[0] ==
          "/usr/lib/sysimage/rpm/Packages.db#pkgidx=" + std::to_string(records[0].key) +
              ": header unreadable: blob damaged: adler32 mismatch");

    never_crashes(bytes, 9, 3000, [](const std::string& b) {
        std::vector<std::string> ww;
        read_rpm_ndb(b);
    });
}

TEST_CASE("rpmdb.sqlite: what rpm committed to the write-ahead log is read", "[rpm]") {
    RealRoot r;
    // Another process reading the database (PackageKit, a second rpm) keeps SQLite from
    // checkpointing when rpm closes: rpm -e's transaction then lives only in rpmdb.sqlite-wal.
    sqlite3* keeper = nullptr;
    REQUIRE(sqlite3_open_v2(r.sqlite().c_str(), &keeper, SQLITE_OPEN_READONLY, nullptr) ==
            SQLITE_OK);
    REQUIRE(sqlite3_exec(keeper, "BEGIN; SELECT count(*) FROM Packages", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sh("bash " + kFixture + " erase " + r.root.string() + " kesl");
    const std::string wal = slurp(r.sqlite().string() + "-wal");
    const std::string image = slurp(r.sqlite());
    const std::string query = sh("bash " + kFixture + " query " + r.root.string());
    sqlite3_close(keeper);
    REQUIRE(wal.size() > 32);
    REQUIRE(query.find("\tkesl\t") == std::string::npos);

    std::vector<std::string> w;
    CHECK(read_rpm_sqlite(image, "", w).size() == 2);  // the main file alone still lists kesl
    auto records = read_rpm_sqlite(image, wal, w);
    CHECK(w.empty());
    REQUIRE(records.size() == 1);
    CHECK(parse_rpm_header(records[0].blob).name == "hello");

    // Through the source, on a copy of the files as they were while the keeper was open.
    TempDir t;
    write(t.path / "var/lib/rpm/rpmdb.sqlite", image);
    write(t.path / "var/lib/rpm/rpmdb.sqlite-wal", wal);
    std::vector<InventoryItem> items;
    auto rep = collect(t.path, items);
    CHECK(rep.status == SourceStatus::ran);
    CHECK(rep.warnings.empty());
    REQUIRE(items.size() == 1);
    CHECK(items[0].name == "hello");

    // A frame whose checksum breaks ends the log there, as in SQLite: nothing after it counts.
    std::string torn = wal;
    torn[32 + 24 + 100] ^= 1;
    w.clear();
    CHECK(read_rpm_sqlite(image, torn, w).size() == 2);
    std::string salted = wal;  // a log from before the last reset: its salts no longer match
    salted[16] ^= 1;
    w.clear();
    CHECK(read_rpm_sqlite(image, salted, w).size() == 2);
    CHECK(w.size() == 1);  // the header's own checksum now fails
    never_crashes(wal, 13, 300, [&](const std::string& b) {
        std::vector<std::string> ww;
        read_rpm_sqlite(image, b, ww);
    });
}

// The rpmdb.sqlite reader is this project's own (SQLite is not linked into audit-scan): it must
// return what SQLite itself returns for "SELECT hnum, blob FROM Packages ORDER BY hnum", on
// databases SQLite wrote in the layouts it can write.
struct SqliteLayout {
    std::string name;
    std::string pragmas;  // before any table: page size, encoding, auto-vacuum
    int reserved = 0;     // bytes reserved at the end of each page
    std::string create;
    int rows = 0;
    std::size_t max_blob = 0;
    bool shuffled = false;  // hnum inserted out of order (hnum not the rowid)
    std::string after;      // SQL run after the inserts (deletes, schema changes)
};

void expect_sqlite_rows(const SqliteLayout& l) {
    INFO(l.name);
    TempDir t;
    const std::string path = (t.path / "rpmdb.sqlite").string();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, l.pragmas.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    if (l.reserved) {
        int n = l.reserved;
        REQUIRE(sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n) == SQLITE_OK);
    }
    REQUIRE(sqlite3_exec(db, ("BEGIN;" + l.create).c_str(), nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    std::mt19937 rng(20261130);
    sqlite3_stmt* ins = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "INSERT INTO Packages(hnum, blob) VALUES(?, ?)", -1, &ins,
                               nullptr) == SQLITE_OK);
    for (int i = 0; i < l.rows; ++i) {
        // Sizes log-uniform up to max_blob: most rows fit a page, some span overflow chains.
        const double e = std::uniform_real_distribution<double>(0, std::log(l.max_blob + 1.0))(rng);
        std::string blob(static_cast<std::size_t>(std::exp(e)) - 1, '\0');
        for (auto& c : blob) c = static_cast<char>(rng());
        const int hnum = l.shuffled ? (i * 7919) % l.rows + 1 : i + 1;
        sqlite3_bind_int(ins, 1, hnum);
        sqlite3_bind_blob(ins, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
        REQUIRE(sqlite3_step(ins) == SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    REQUIRE(sqlite3_exec(db, ("COMMIT;" + l.after).c_str(), nullptr, nullptr, nullptr) ==
            SQLITE_OK);

    std::vector<RpmRecord> want;
    sqlite3_stmt* q = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum", -1, &q,
                               nullptr) == SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const sqlite3_int64 key = sqlite3_column_int64(q, 0);
        if (key <= 0 || key > 0xffffffffLL) {
            want.push_back({0, {}, "row hnum=" + std::to_string(key) + " out of range"});
            continue;
        }
        const auto hnum = static_cast<std::uint32_t>(key);
        if (sqlite3_column_type(q, 1) != SQLITE_BLOB) {
            want.push_back({hnum, {}, "row holds no blob"});
            continue;
        }
        auto bytes = static_cast<const char*>(sqlite3_column_blob(q, 1));
        want.push_back({hnum, std::string(bytes ? bytes : "", sqlite3_column_bytes(q, 1)), {}});
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    REQUIRE(want.size() > 10);

    std::vector<std::string> w;
    const auto got = read_rpm_sqlite(slurp(path), "", w);
    CHECK(w.empty());
    REQUIRE(got.size() == want.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i].key != want[i].key || got[i].blob != want[i].blob ||
            got[i].damage != want[i].damage)
            ++differ;
    CHECK(differ == 0);
}

TEST_CASE("rpmdb.sqlite: the reader returns SQLite's own rows for every layout SQLite writes",
          "[rpm]") {
    const std::string rpm_schema =
        "CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,"
        "blob BLOB NOT NULL);";
    for (const auto& l : std::vector<SqliteLayout>{
             {"rpm's schema, 4 KiB pages, overflow chains", "PRAGMA page_size=4096;", 0, rpm_schema,
              400, 60000, false, ""},
             {"512-byte pages with 32 reserved bytes: a deep tree", "PRAGMA page_size=512;", 32,
              rpm_schema, 3000, 2000, false, ""},
             {"64 KiB pages, UTF-16le, auto-vacuum, deleted rows",
              "PRAGMA page_size=65536; PRAGMA encoding='UTF-16le'; PRAGMA auto_vacuum=FULL;", 0,
              rpm_schema, 300, 200000, false, "DELETE FROM Packages WHERE hnum % 3 = 0;"},
             {"UTF-16be, columns in another order",
              "PRAGMA page_size=1024; PRAGMA encoding='UTF-16be';", 0,
              "CREATE TABLE \"Packages\" (blob BLOB, extra TEXT, `hnum` INTEGER PRIMARY KEY);", 500,
              5000, false, ""},
             {"hnum a column of its own, rows out of order", "", 0,
              "CREATE TABLE Packages (hnum INT, blob BLOB);", 500, 3000, true,
              "INSERT INTO Packages VALUES(0, x'00'); INSERT INTO Packages VALUES(100000, "
              "'text');"},
             {"PRIMARY KEY as a table constraint", "PRAGMA page_size=2048;", 8,
              "CREATE TABLE Packages (hnum INTEGER, blob BLOB, PRIMARY KEY (hnum));", 500, 8000,
              false, ""},
             {"a column added later: old rows hold no blob", "", 0,
              "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);", 300, 3000, false,
              "ALTER TABLE Packages RENAME COLUMN blob TO old; ALTER TABLE Packages ADD COLUMN "
              "blob BLOB; UPDATE Packages SET blob = old WHERE hnum % 2 = 0;"},
         })
        expect_sqlite_rows(l);

    // A WITHOUT ROWID table is not read as one with rowids.
    TempDir t;
    const std::string p = (t.path / "x.sqlite").string();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(p.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB) WITHOUT ROWID;"
                         "INSERT INTO Packages VALUES(1, x'01');",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    std::vector<std::string> w;
    CHECK_THROWS_AS(read_rpm_sqlite(slurp(p), "", w), UsageError);
}

TEST_CASE("rpmdb.sqlite: damaged images are refused, never read as empty", "[rpm]") {
    RealRoot r;
    const std::string image = slurp(r.sqlite());
    std::vector<std::string> w;
    REQUIRE(read_rpm_sqlite(image, "", w).size() == 2);
    CHECK_THROWS_WITH(
        read_rpm_sqlite(
            "not a database at all, just text that is long enough" + std::string(100, ' '), "", w),
        Catch::Matchers::ContainsSubstring("not an SQLite"));
    CHECK_THROWS_AS(read_rpm_sqlite(image.substr(0, image.size() / 3), "", w), UsageError);

    // A database without rpm's table, and one where Packages is a view.
    TempDir t;
    for (const auto& [sql, why] : std::vector<std::pair<std::string, std::string>>{
             {"CREATE TABLE other(x);", "no Packages table"},
             {"CREATE TABLE t(hnum, blob); CREATE VIEW Packages AS SELECT * FROM t;",
              "not a table"}}) {
        const std::string p = (t.path / "x.sqlite").string();
        stdfs::remove(p);
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(p.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
        CHECK_THROWS_WITH(read_rpm_sqlite(slurp(p), "", w),
                          Catch::Matchers::ContainsSubstring(why));
    }
    never_crashes(image, 11, 300, [](const std::string& b) {
        std::vector<std::string> ww;
        read_rpm_sqlite(b, "", ww);
    });
}

TEST_CASE("RpmSource: absent without a database, failed when it cannot be read", "[rpm]") {
    TempDir t;
    std::vector<InventoryItem> items;
    CHECK(collect(t.path, items).status == SourceStatus::absent);

    // An rpm directory without a database is still absent, but noted.
    stdfs::create_directories(t.path / "var/lib/rpm");
    auto rep = collect(t.path, items);
    CHECK(rep.status == SourceStatus::absent);
    CHECK(rep.warnings.size() == 1);

    for (const auto& [file, bytes] : std::vector<std::pair<std::string, std::string>>{
             {"rpmdb.sqlite", "SQLite format 3" + std::string(200, '\0')},
             {"Packages", std::string(8192, 'x')},
             {"Packages.db", std::string("RpmP") + std::string(60, '\0')}}) {
        INFO(file);
        TempDir h;
        write(h.path / "var/lib/rpm" / file, bytes);
        items.clear();
        rep = collect(h.path, items);
        CHECK(rep.status == SourceStatus::failed);
        CHECK(rep.error.rfind("/var/lib/rpm/" + file + ": ", 0) == 0);
        CHECK(items.empty());
    }

    // Headers that cannot be parsed: a broken database, not an empty one.
    RealRoot r;
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(r.sqlite().c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "UPDATE Packages SET blob = x'00000001'", nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(db);
    items.clear();
    rep = collect(r.root, items);
    CHECK(rep.status == SourceStatus::failed);
    CHECK(rep.error.find("2 of 2 package headers could not be read") != std::string::npos);
    CHECK(items.empty());
    CHECK(rep.warnings.size() == 2);
}

}  // namespace rpm_test_cases
