#include <sys/stat.h>

#include "audit/error.h"
#include "audit/fs/root.h"
#include "audit/sources/apk.h"
#include "support.h"

namespace apk_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::ApkSource;
using audit::sources::parse_apk_installed;
using audit::sources::SourceStatus;

namespace {

// apk-tools is not packaged in Debian 12: this database is written from the format of
// apk-tools' database (the APKINDEX "X:value" lines; F: a directory, R: a file in it).
const std::string kInstalled = R"(C:Q1abcdefabcdefabcdefabcdefabcdefabcdef=
P:musl
V:1.2.4-r2
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1697048893
c:c6c1c8c3f4b4f4b4
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1abc=
R:libc.musl-x86_64.so.1

C:Q1zzz=
P:kesl
V:11.1.0-r0
A:x86_64
T:repackaged for a test
m:Kaspersky Lab <support@example.invalid>
F:opt/kaspersky/kesl/bin
R:kesl
)";

}  // namespace

TEST_CASE("apk installed database stanzas become items", "[apk]") {
    std::vector<std::string> w;
    auto items = parse_apk_installed(kInstalled, "/lib/apk/db/installed", w);
    CHECK(w.empty());
    REQUIRE(items.size() == 2);
    CHECK(items[0].name == "musl");
    CHECK(items[0].version == "1.2.4-r2");
    CHECK(items[0].arch == "x86_64");
    CHECK(items[0].publisher == "Timo Teräs <timo.teras@iki.fi>");
    CHECK(items[0].paths ==
          std::vector<std::string>{"/lib/ld-musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1"});
    CHECK(items[0].source == "/lib/apk/db/installed:1");
    CHECK(items[1].source == "/lib/apk/db/installed:20");
    CHECK(items[1].paths == std::vector<std::string>{"/opt/kaspersky/kesl/bin/kesl"});
    items[1].extra["distro"] = "alpine";
    CHECK(items[1].purl() == "pkg:apk/alpine/kesl@11.1.0-r0?arch=x86_64");
}

TEST_CASE("apk: malformed stanzas are warned about, junk is refused", "[apk]") {
    std::vector<std::string> w;
    auto items = parse_apk_installed("P:a\nV:1\nthis is junk\n\nV:2\n\nP:b\nV:3\nR:x/y\n", "db", w);
    REQUIRE(items.size() == 2);
    CHECK(items[0].extra["malformed"] == true);
    CHECK(any_contains(w, "db:3"));
    CHECK(any_contains(w, "without P: or V:"));
    CHECK(any_contains(w, "R: is not a file name"));
    w.clear();
    CHECK_THROWS_AS(parse_apk_installed("junk\nmore junk\n", "db", w), audit::UsageError);
    CHECK_THROWS_AS(parse_apk_installed(std::string("P:\0\x01\x02", 5), "db", w),
                    audit::UsageError);
    CHECK(parse_apk_installed("", "db", w).empty());
}

TEST_CASE("apk source coverage: ran, absent, failed", "[apk]") {
    TempDir t;
    std::vector<audit::InventoryItem> items;
    CHECK(ApkSource().collect(audit::fs::Root(t.str()), items).status == SourceStatus::absent);
    write(t.path / "lib/apk/db/installed", kInstalled);
    write(t.path / "etc/os-release", "ID=alpine\nVERSION_ID=3.19.0\n");
    auto rep = ApkSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::ran);
    CHECK(rep.items == 2);
    REQUIRE(items.size() == 2);
    CHECK(items[0].purl() == "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64");
    write(t.path / "lib/apk/db/installed", "\x01\x02garbage\n");
    items.clear();
    rep = ApkSource().collect(audit::fs::Root(t.str()), items);
    CHECK(rep.status == SourceStatus::failed);
    CHECK(items.empty());
}

}  // namespace apk_test_cases
