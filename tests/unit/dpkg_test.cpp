#include <catch_amalgamated.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/sources/dpkg.h"
#include "support.h"

namespace dpkg_test_cases {  // one namespace per test file: unity builds compile several as one

namespace {

namespace stdfs = std::filesystem;
using audit::InventoryItem;
using audit::sources::DpkgSource;
using audit::sources::parse_dpkg_status;
using audit::sources::SourceStatus;

using audit_test::TempDir;

using audit_test::write;

using audit_test::sh;

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t nl = s.find('\n', pos);
        if (nl == std::string::npos) nl = s.size();
        if (nl > pos) out.push_back(s.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

const InventoryItem* find(const std::vector<InventoryItem>& items, const std::string& name) {
    for (const auto& i : items)
        if (i.name == name) return &i;
    return nullptr;
}

using audit_test::any_contains;

const std::string kStatus = R"(Package: kesl
Status: install ok installed
Priority: optional
Section: misc
Maintainer: Kaspersky Lab <support@kaspersky.com>
Architecture: amd64
Version: 11.1.0-3393
Conffiles:
 /etc/opt/kaspersky/kesl.conf 196a4d68607ba4bc31ce539152a525b6
 /etc/opt/kaspersky/old name.conf 0123456789abcdef0123456789abcdef obsolete
Description: Kaspersky Endpoint Security
 Long description.
 .
 More.

Package: klnagent64
Status: deinstall ok config-files
Maintainer: Kaspersky Lab <support@kaspersky.com>
Architecture: amd64
Version: 14.0.0-1

package: libfoo1
status: install reinstreq half-installed
architecture: amd64
source: foo (1.0-1)
version: 1.0-1
)";

}  // namespace

TEST_CASE("dpkg status stanzas become inventory items", "[dpkg]") {
    std::vector<std::string> warnings;
    auto items = parse_dpkg_status(kStatus, "/var/lib/dpkg/status", warnings);
    CHECK(warnings.empty());
    REQUIRE(items.size() == 3);
    const auto& k = items[0];
    CHECK(k.ecosystem == "deb");
    CHECK(k.name == "kesl");
    CHECK(k.version == "11.1.0-3393");
    CHECK(k.arch == "amd64");
    CHECK(k.publisher == "Kaspersky Lab <support@kaspersky.com>");
    CHECK(k.state == "installed");
    CHECK(k.installed());
    CHECK(k.source == "/var/lib/dpkg/status:1");
    REQUIRE(k.extra["conffiles"].size() == 2);
    CHECK(k.extra["conffiles"][0]["path"] == "/etc/opt/kaspersky/kesl.conf");
    CHECK(k.extra["conffiles"][0]["md5"] == "196a4d68607ba4bc31ce539152a525b6");
    CHECK(k.extra["conffiles"][1]["path"] == "/etc/opt/kaspersky/old name.conf");
    CHECK(k.extra["conffiles"][1]["obsolete"] == true);
    CHECK(items[1].state == "config-files");
    CHECK_FALSE(items[1].installed());
    CHECK(items[1].source == "/var/lib/dpkg/status:16");
    CHECK(items[2].name == "libfoo1");  // field names are case-insensitive
    CHECK(items[2].state == "half-installed");
    CHECK(items[2].extra["flag"] == "reinstreq");
    CHECK(items[2].extra["source_package"] == "foo (1.0-1)");
}

TEST_CASE("every dpkg state stays distinct", "[dpkg]") {
    for (std::string state :
         {"not-installed", "config-files", "half-installed", "unpacked", "half-configured",
          "triggers-awaited", "triggers-pending", "installed"}) {
        std::vector<std::string> warnings;
        auto items = parse_dpkg_status(
            "Package: p1\nStatus: install ok " + state + "\nVersion: 1\n", "s", warnings);
        REQUIRE(items.size() == 1);
        CHECK(items[0].state == state);
        CHECK(warnings.empty());
    }
}

TEST_CASE("malformed stanzas become warnings, never silent skips or crashes", "[dpkg]") {
    std::string text = kStatus + "\n";
    text += "Status: install ok installed\nVersion: 1\n\n";  // missing Package
    text +=
        "Package: huge\nStatus: install ok installed\nDescription: " + std::string(200000, 'x') +
        "\n\n";
    static const char junk[] =
        "Package: junk\n\x01\x02\x00\xff\xfe binary\x00 junk\nVersion: 2\n\n";
    text += std::string(junk, sizeof junk - 1);
    text += " continuation without a field\nPackage: orphan-cont\n\n";
    text += "Package: ../../etc/passwd\nStatus: install ok installed\n\n";
    text += "Package: truncated\nStatus: install ok inst";  // cut mid-stanza, no final newline
    std::vector<std::string> w;
    auto items = parse_dpkg_status(text, "/var/lib/dpkg/status", w);
    CHECK(find(items, "kesl"));
    CHECK(any_contains(w, "without a Package field"));
    REQUIRE(find(items, "huge"));
    CHECK(find(items, "huge")->state == "installed");
    CHECK(any_contains(w, "line longer than"));
    REQUIRE(find(items, "junk"));
    CHECK(find(items, "junk")->version == "2");
    CHECK(any_contains(w, "binary"));
    CHECK(any_contains(w, "continuation line without a field"));
    CHECK_FALSE(find(items, "../../etc/passwd"));
    CHECK(any_contains(w, "invalid Package name"));
    // A broken record of a product still counts: state unknown, not absent.
    REQUIRE(find(items, "truncated"));
    CHECK(find(items, "truncated")->state == "unknown");
    CHECK(find(items, "truncated")->installed());
    CHECK(any_contains(w, "malformed Status"));
    for (const auto& s : w) CHECK(s.find("/var/lib/dpkg/status") != std::string::npos);
}

TEST_CASE("text that is not a status file at all is refused", "[dpkg]") {
    std::vector<std::string> w;
    CHECK(parse_dpkg_status("", "s", w).empty());
    CHECK(parse_dpkg_status("\n\n  \n", "s", w).empty());
    CHECK_THROWS_AS(parse_dpkg_status(std::string("\x7f"
                                                  "ELF\x02\x01\x01\x00\x00",
                                                  9),
                                      "s", w),
                    audit::UsageError);
    CHECK_THROWS_AS(parse_dpkg_status("just some prose\nwithout fields\n", "s", w),
                    audit::UsageError);
    CHECK_THROWS_AS(parse_dpkg_status("Version: 1\nStatus: install ok installed\n", "s", w),
                    audit::UsageError);
}

TEST_CASE("random corruption of a status file never crashes the parser", "[dpkg]") {
    std::mt19937 rng(1701);
    std::size_t parsed = 0, refused = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string t = kStatus;
        int edits = 1 + static_cast<int>(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            std::size_t at = rng() % (t.size() + 1);
            switch (rng() % 4) {
                case 0:
                    if (at < t.size()) t[at] = static_cast<char>(rng() & 0xff);
                    break;
                case 1:
                    t.insert(at, 1, static_cast<char>(rng() & 0xff));
                    break;
                case 2:
                    t.erase(at, rng() % 40);
                    break;
                default:
                    t.resize(at);  // truncation
            }
        }
        std::vector<std::string> w;
        try {
            auto items = parse_dpkg_status(t, "s", w);
            for (const auto& it : items) CHECK_FALSE(it.name.empty());
            CHECK(w.size() <= 201);
            ++parsed;
        } catch (const audit::UsageError&) {
            ++refused;
        }
    }
    CHECK(parsed > 0);
}

TEST_CASE("DpkgSource: absent without a database, failed when it cannot be read", "[dpkg]") {
    TempDir tmp;
    DpkgSource src;
    std::vector<InventoryItem> out;
    {
        auto rep = src.collect(audit::fs::Root(tmp.path.string()), out);
        CHECK(rep.status == SourceStatus::absent);
        CHECK(rep.to_json()["status"] == "absent");
    }
    stdfs::create_directories(tmp.path / "var/lib/dpkg/status");  // a directory, not a file
    {
        auto rep = src.collect(audit::fs::Root(tmp.path.string()), out);
        CHECK(rep.status == SourceStatus::failed);
        CHECK_FALSE(rep.error.empty());
        CHECK(rep.to_json()["error"] == rep.error);
    }
    stdfs::remove(tmp.path / "var/lib/dpkg/status");
    REQUIRE(::mkfifo((tmp.path / "var/lib/dpkg/status").c_str(), 0644) == 0);
    {
        auto rep = src.collect(audit::fs::Root(tmp.path.string()), out);
        CHECK(rep.status == SourceStatus::failed);
    }
    stdfs::remove(tmp.path / "var/lib/dpkg/status");
    write(tmp.path / "var/lib/dpkg/status", std::string(4096, '\0'));
    {
        auto rep = src.collect(audit::fs::Root(tmp.path.string()), out);
        CHECK(rep.status == SourceStatus::failed);
        CHECK(rep.error.find("not a dpkg status file") != std::string::npos);
    }
    CHECK(out.empty());
}

TEST_CASE("DpkgSource applies dpkg's pending journal", "[dpkg]") {
    TempDir tmp;
    write(tmp.path / "var/lib/dpkg/status", kStatus);
    write(tmp.path / "var/lib/dpkg/updates/0000",
          "Package: kesl\nStatus: deinstall ok config-files\nArchitecture: amd64\n"
          "Version: 11.1.0-3393\n");
    write(tmp.path / "var/lib/dpkg/updates/tmp.i", "Package: ignored\n");
    std::vector<InventoryItem> out;
    auto rep = DpkgSource().collect(audit::fs::Root(tmp.path.string()), out);
    CHECK(rep.status == SourceStatus::ran);
    REQUIRE(find(out, "kesl"));
    CHECK(find(out, "kesl")->state == "config-files");
    CHECK(find(out, "kesl")->source == "/var/lib/dpkg/updates/0000:1");
    CHECK_FALSE(find(out, "ignored"));
    CHECK(any_contains(rep.warnings, "journal"));
}

TEST_CASE("DpkgSource agrees with dpkg-query on a root dpkg itself installed into", "[dpkg]") {
    if (std::system("command -v dpkg-deb >/dev/null && command -v dpkg >/dev/null") != 0)
        SKIP("dpkg is not installed");
    TempDir tmp;
    const std::string fixture = std::string(AUDIT_SOURCE_DIR) + "/tests/fixtures/dpkg-root.sh";
    const std::string root = (tmp.path / "root").string();
    const std::string admin = root + "/var/lib/dpkg";
    auto deb = lines(sh("bash " + fixture + " build-deb " + tmp.path.string() +
                        "/debs kesl 11.1.0-3393 /opt/kaspersky/kesl/bin/kesl "
                        "/opt/kaspersky/kesl/lib/libkesl.so"));
    REQUIRE(deb.size() == 1);
    auto other = lines(sh("DEB_ARCH=amd64 DEB_MAINTAINER='Someone <a@b.c>' bash " + fixture +
                          " build-deb " + tmp.path.string() + "/debs hello 2.10-3 /usr/bin/hello"));
    sh("DPKG_ROOT_BARE=1 bash " + fixture + " init " + root);
    {
        std::vector<InventoryItem> out;
        auto rep = DpkgSource().collect(audit::fs::Root(root), out);
        CHECK(rep.status == SourceStatus::ran);  // an empty database is not an absent one
        CHECK(out.empty());
    }
    sh("bash " + fixture + " install " + root + " " + deb[0]);
    sh("bash " + fixture + " install " + root + " " + other[0]);

    std::vector<InventoryItem> out;
    auto rep = DpkgSource().collect(audit::fs::Root(root), out);
    CHECK(rep.status == SourceStatus::ran);
    CHECK(rep.warnings.empty());
    CHECK(rep.items == 2);

    // Name, version, arch, state, maintainer as dpkg-query reads them.
    auto q = lines(sh("dpkg-query --admindir=" + admin +
                      " -W -f='${Package}|${Version}|${Architecture}|${db:Status-Status}|"
                      "${Maintainer}\\n'"));
    REQUIRE(q.size() == out.size());
    for (const auto& row : q) {
        CAPTURE(row);
        auto name = row.substr(0, row.find('|'));
        const auto* item = find(out, name);
        REQUIRE(item);
        CHECK(item->name + "|" + item->version + "|" + item->arch + "|" + item->state + "|" +
                  item->publisher ==
              row);
    }
    const auto* kesl = find(out, "kesl");
    REQUIRE(kesl);
    CHECK(kesl->extra["distro"] == "debian");
    CHECK(kesl->purl() == "pkg:deb/debian/kesl@11.1.0-3393?arch=all");

    // Paths: dpkg-query -L lists "/." first; we leave the root out.
    auto listed = lines(sh("dpkg-query --admindir=" + admin + " -L kesl"));
    std::vector<std::string> expected;
    for (const auto& p : listed)
        if (p != "/.") expected.push_back(p);
    CHECK(kesl->paths == expected);
    CHECK(std::count(kesl->paths.begin(), kesl->paths.end(), "/opt/kaspersky/kesl/bin/kesl") == 1);

    // md5sums: what dpkg recorded is the md5 of the bytes it installed.
    REQUIRE(kesl->md5sums.size() == 3);  // two payload files and the unit; conffiles are apart
    for (const auto& [path, md5] : kesl->md5sums) {
        CAPTURE(path);
        auto sum = sh("md5sum '" + root + path + "'");
        CHECK(md5 == sum.substr(0, 32));
    }
    CHECK(kesl->md5sums.count("/lib/systemd/system/kesl.service"));

    // Conffiles, against dpkg-query's view.
    auto conf = lines(sh("dpkg-query --admindir=" + admin + " -W -f='${Conffiles}\\n' kesl"));
    REQUIRE(conf.size() == 1);
    REQUIRE(kesl->extra["conffiles"].size() == 1);
    CHECK(" " + kesl->extra["conffiles"][0]["path"].get<std::string>() + " " +
              kesl->extra["conffiles"][0]["md5"].get<std::string>() ==
          conf[0]);

    // Remove: the configuration stays behind, and the state says so.
    sh("bash " + fixture + " remove " + root + " kesl");
    out.clear();
    rep = DpkgSource().collect(audit::fs::Root(root), out);
    CHECK(rep.status == SourceStatus::ran);
    REQUIRE(find(out, "kesl"));
    CHECK(find(out, "kesl")->state == "config-files");
    CHECK(sh("dpkg-query --admindir=" + admin + " -W -f='${db:Status-Status}' kesl") ==
          "config-files");
    CHECK_FALSE(find(out, "kesl")->installed());
    CHECK(find(out, "kesl")->extra.contains("conffiles"));

    // Purge: gone from the database.
    sh("bash " + fixture + " purge " + root + " kesl");
    out.clear();
    rep = DpkgSource().collect(audit::fs::Root(root), out);
    CHECK(rep.status == SourceStatus::ran);
    CHECK_FALSE(find(out, "kesl"));
    CHECK(find(out, "hello"));
    CHECK(std::system(("dpkg-query --admindir=" + admin + " -W kesl >/dev/null 2>&1").c_str()) !=
          0);
}

}  // namespace dpkg_test_cases
