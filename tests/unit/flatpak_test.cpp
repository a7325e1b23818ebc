#include "audit/sources/flatpak.h"
#include "audit/error.h"
#include "audit/fs/root.h"
#include "support.h"

namespace flatpak_test_cases {  // one namespace per test file: unity builds compile several as one

using namespace audit_test;
using audit::sources::appstream_release_version;
using audit::sources::FlatpakSource;
using audit::sources::parse_keyfile;
using audit::sources::SourceStatus;

// flatpak cannot deploy an app offline without a repository and runtime; the tree is written
// from flatpak's documented layout (flatpak-metadata(5), the deploy directory structure).
TEST_CASE("flatpak metadata key files", "[flatpak]") {
    auto k = parse_keyfile(
        "# "
        "c\n[Application]\nname=com.kaspersky.Test\nruntime=org.gnome.Platform/x86_64/"
        "45\n\n[Context]\nshared=network;\n",
        "m");
    CHECK(k["Application/name"] == "com.kaspersky.Test");
    CHECK(k["Application/runtime"] == "org.gnome.Platform/x86_64/45");
    CHECK(k["Context/shared"] == "network;");
    CHECK_THROWS_WITH(parse_keyfile("name=x\n", "m"), Catch::Matchers::ContainsSubstring("m:1"));
    CHECK_THROWS_AS(parse_keyfile("[Application\n", "m"), audit::UsageError);
    CHECK_THROWS_AS(parse_keyfile(std::string("[A]\nn=\0\n", 8), "m"), audit::UsageError);
    CHECK(appstream_release_version("<component><releases><release version=\"2.1\" date=\"x\"/>"
                                    "<release version=\"2.0\"/></releases>") == "2.1");
    CHECK(appstream_release_version("<release version=\"unterminated") == "");
    CHECK(appstream_release_version("<component/>") == "");
}

TEST_CASE("flatpak source: deployed apps and runtimes", "[flatpak]") {
    TempDir t;
    std::vector<audit::InventoryItem> items;
    CHECK(FlatpakSource().collect(audit::fs::Root(t.str()), items).status == SourceStatus::absent);
    const auto app = t.path / "var/lib/flatpak/app/com.kaspersky.Test";
    const std::string commit = "8c1d2e3f4a5b6c7d8e9f8c1d2e3f4a5b6c7d8e9f8c1d2e3f4a5b6c7d8e9f0a1b";
    write(
        app / "x86_64/stable" / commit / "metadata",
        "[Application]\nname=com.kaspersky.Test\nruntime=org.freedesktop.Platform/x86_64/23.08\n");
    write(app / "x86_64/stable" / commit / "files/share/metainfo/com.kaspersky.Test.metainfo.xml",
          "<component><releases><release version=\"3.2.1\"/></releases></component>");
    stdfs::create_directory_symlink(commit, app / "x86_64/stable/active");
    stdfs::create_directory_symlink("x86_64/stable", app / "current");
    const auto rt = t.path / "var/lib/flatpak/runtime/org.freedesktop.Platform/x86_64/23.08";
    write(rt / "abc/metadata", "[Runtime]\nname=org.freedesktop.Platform\n");
    stdfs::create_directory_symlink("abc", rt / "active");
    const auto broken = t.path / "var/lib/flatpak/app/org.example.Broken/x86_64/stable";
    write(broken / "def/metadata", "junk without a group\n");
    stdfs::create_directory_symlink("def", broken / "active");

    auto rep = FlatpakSource().collect(audit::fs::Root(t.str()), items);
    REQUIRE(rep.status == SourceStatus::ran);
    REQUIRE(items.size() == 3);
    const auto* a = find(items, "com.kaspersky.Test");
    REQUIRE(a != nullptr);
    CHECK(a->version == "3.2.1");
    CHECK(a->arch == "x86_64");
    CHECK(a->extra["commit"] == commit);
    CHECK(a->extra["runtime"] == "org.freedesktop.Platform/x86_64/23.08");
    CHECK(a->purl() == "pkg:generic/flatpak/com.kaspersky.Test@3.2.1?arch=x86_64");
    CHECK(find(items, "org.freedesktop.Platform")->extra["kind"] == "runtime");
    CHECK(find(items, "org.freedesktop.Platform")->version == "23.08");
    CHECK(find(items, "org.example.Broken")->extra["malformed"] == true);
    CHECK(any_contains(rep.warnings, "def/metadata:1") == false);  // shown via the active link
    CHECK(any_contains(rep.warnings, "active/metadata:1"));
}

}  // namespace flatpak_test_cases
